"""Figures of early diagnosis (`mmfusion report` on a window-length sweep): accuracy against hours
since the fault onset, one line per model (sections.time_section) and per model and fusion rule with
intervals (hours.hours_section). Saved as PNG and SVG by figures.save.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.reporting.figures import line_style, new_figure, plt, save


def plot_accuracy_vs_time(table, models: list[str], path: Path) -> None:
    """Accuracy (mean, shaded +/- std over seeds) against hours since the fault onset, one line per model."""
    fig, ax = new_figure((7, 4.5))
    hours = np.asarray(table.index, dtype=float)
    for i, m in enumerate(models):
        mean, std = table[(m, "mean")].to_numpy(float) * 100, np.nan_to_num(table[(m, "std")].to_numpy(float)) * 100
        ax.plot(hours, mean, label=m, **line_style(i))
        ax.fill_between(hours, mean - std, mean + std, alpha=0.15)
    ax.set(xlabel="hours since the fault onset", ylabel="test accuracy (%)", title="Early diagnosis")
    ax.legend(fontsize=7, loc="lower right")
    save(fig, path)


HOURS_PANELS = (("base model", "run's rule", "joint network"), ("run's rule", "fuse fusion=all rule", "joint network"))
_RULE_DASHES = (":", "-.", (0, (5, 1.5)), (0, (3, 1, 1, 1, 1, 1)), "--", (0, (1, 1)))
_RULE_COLOURS = ("C4", "C5", "C6", "C8", "C9", "navy")  # not the joint network's black, not grey


def _hours_style(kind: str, line: str, i: int) -> dict:
    """Base models: solid (series) or dashed (text), a marker each; the run's rule black, bold; the
    `fuse fusion=all` rules dotted / dash-dotted with their own markers; the joint network black, starred."""
    if kind == "run's rule":
        return {"color": "black", "lw": 2.2, "ls": "-", "marker": "o", "ms": 6}
    if kind == "joint network":
        return {"color": "black", "lw": 1.8, "ls": (0, (6, 2)), "marker": "*", "ms": 11}
    if kind == "base model":
        text = line.rsplit(": ", 1)[-1].startswith("text")
        return {"color": f"C{i % 10}", "ls": "--" if text else "-", "marker": "os^vDxP*"[i % 8], "ms": 6, "lw": 1.4}
    return {"color": _RULE_COLOURS[i % 6], "ls": _RULE_DASHES[i % 6], "marker": "sDv^<>hp"[i % 8], "ms": 6, "lw": 1.4}


def accuracy_vs_hours_figure(df: pd.DataFrame):
    """df: one row per line and hours (hours.hours_table: hours since onset, kind, line, accuracy,
    ci_lo, ci_hi). Two panels sharing the y axis: the base models, and the fusion rules (the run's own
    rule and the joint network in both, as references); error bars are the rows' intervals, the points of
    one hours value set slightly apart so that they stay readable. One panel when no run was re-fused."""
    has_rules = (df["kind"] == "fuse fusion=all rule").any()
    panels = HOURS_PANELS if has_rules else (HOURS_PANELS[0],)
    titles = ("base models", "fusion rules") if has_rules else ("base models and fusion",)
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6.4 * len(panels), 5.6), sharey=True, squeeze=False, layout="constrained"
    )
    hours = np.sort(df["hours since onset"].unique().astype(float))
    log_x = hours.min() > 0 and hours.max() / hours.min() >= 4  # 0.5, 1, 2, 5 h: evenly apart on a log axis
    span = (np.log(hours.max() / hours.min()) if log_x else hours.max() - hours.min()) or 1.0
    for ax, kinds, title in zip(axes[0], panels, titles):
        part = df[df["kind"].isin(kinds)]
        lines = list(dict.fromkeys(part["line"]))
        counters: dict[str, int] = {}
        for n, line in enumerate(lines):
            rows = part[part["line"] == line].sort_values("hours since onset")
            kind = rows["kind"].iloc[0]
            i = counters[kind] = counters.get(kind, -1) + 1
            shift = (n - (len(lines) - 1) / 2) * 0.008 * span  # points of one hours value set apart
            x = rows["hours since onset"].to_numpy(float)
            x = x * np.exp(shift) if log_x else x + shift
            acc = rows["accuracy"].to_numpy(float) * 100
            lo, hi = rows["ci_lo"].to_numpy(float) * 100, rows["ci_hi"].to_numpy(float) * 100
            err = np.nan_to_num(np.vstack([acc - lo, hi - acc]))
            style = _hours_style(kind, line, i)
            label = "joint network" if line == "joint" else "fused (run's rule)" if line == "fused" else line
            ax.errorbar(x, acc, yerr=err, capsize=3, elinewidth=0.8, label=label, mfc="white", **style)
        ax.set(xlabel="hours since the fault onset", title=title)
        if log_x:
            ax.set_xscale("log")
            ax.set_xticks(hours, [f"{h:g}" for h in hours])
            ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3)
    axes[0][0].set_ylabel("test accuracy (%)")
    intervals = ", ".join(sorted(set(df.get("interval", pd.Series(dtype=str)))))
    fig.suptitle(f"Accuracy against hours since the fault onset (error bars: {intervals or 'none'})", fontsize=10)
    return fig


def plot_accuracy_vs_hours(df: pd.DataFrame, path: Path) -> list[Path]:
    return save(accuracy_vs_hours_figure(df), path)
