"""Missing-modality robustness, drawn and written: the table of fusion/robustness.py (each rule's test
accuracy with a share of the test samples missing a modality) as tables/robustness.{csv,md} and
figures/robustness.{png,svg} of a `mmfusion fuse ... robustness.enabled=true` output directory, and
the per-group figures of joint_summary.py. The maths stays in mmfusion/fusion/robustness.py.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmfusion.reporting.figures import plt, save
from mmfusion.reporting.tables import to_markdown

JOINT_LINES = ("joint", "joint network")  # the jointly trained network's line (robustness tables, joint_summary.py)


def robustness_figure(table: pd.DataFrame):
    """table: columns rule, drop, rate, accuracy; one panel per dropped modality, one line per rule, and
    the joint network's own line (rule `joint`) when the table has it. The y axis is each line's own test
    accuracy: the fused one for a rule, the network's for the joint line."""
    drops = list(dict.fromkeys(table["drop"]))
    has_joint = table["rule"].isin(JOINT_LINES).any()
    fig, axes = plt.subplots(
        1, len(drops), figsize=(4.2 * len(drops), 3.8), sharey=True, squeeze=False, layout="constrained"
    )
    for ax, drop in zip(axes[0], drops):
        part = table[table["drop"] == drop]
        for i, (rule, rows) in enumerate(part.groupby("rule", sort=False)):  # styles vary: equal lines stay visible
            joint = rule in JOINT_LINES
            ax.plot(
                rows["rate"] * 100,
                rows["accuracy"],
                marker="*" if joint else "os^vDx"[i % 6],
                ls="-" if joint else ("-", "--", ":", "-.")[i % 4],
                ms=9 if joint else 7 - i % 4,
                lw=2.2 if joint else 1.5,
                color="black" if joint else None,
                label="joint network" if rule == "joint" else rule,
            )
        if drop == "either":
            ax.set(xlabel="test samples left with one modality (%)", title="all modalities but one missing")
        else:
            ax.set(xlabel=f"test samples missing {drop} (%)", title=f"{drop} missing")
    axes[0][0].set_ylabel("test accuracy")
    axes[0][-1].legend(fontsize=8, title="fusion rule" if not has_joint else None, title_fontsize=8)
    what = "decision-level rules and the joint network" if has_joint else "decision-level fusion rules"
    fig.suptitle(f"Missing modalities: test accuracy of the {what}", fontsize=10)
    return fig


def plot_robustness(table: pd.DataFrame, path: Path) -> None:
    save(robustness_figure(table), path)


def write_robustness(table: pd.DataFrame, out_dir: Path) -> None:
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "tables" / "robustness.csv", index=False)
    wide = table.pivot_table(index=["drop", "rate"], columns="rule", values="accuracy", sort=False)
    wide.index = [f"{d} {r:.0%}" for d, r in wide.index]
    wide.index.name = "missing"
    (out_dir / "tables" / "robustness.md").write_text(to_markdown(wide))
    plot_robustness(table, out_dir / "figures" / "robustness.png")
