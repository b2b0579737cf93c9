"""Figures of fusion and calibration: reliability diagram, accuracy against the missing-modality rate."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def plot_reliability(curves: dict, path: Path, title: str = "Reliability on the test split") -> None:
    """curves: {label: calibration.reliability(...) dict}; the diagonal is perfect calibration."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect")
    for label, r in curves.items():
        ax.plot(r["confidence"], r["accuracy"], marker="o", ms=3, label=label)
    ax.set(xlabel="Confidence (max. probability)", ylabel="Accuracy", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_robustness(table: pd.DataFrame, path: Path) -> None:
    """table: columns rule, drop, rate, accuracy; one panel per dropped modality, one line per rule."""
    drops = list(dict.fromkeys(table["drop"]))
    fig, axes = plt.subplots(1, len(drops), figsize=(4.2 * len(drops), 3.8), sharey=True, squeeze=False)
    for ax, drop in zip(axes[0], drops):
        part = table[table["drop"] == drop]
        for i, (rule, rows) in enumerate(part.groupby("rule", sort=False)):  # styles vary: equal lines stay visible
            ax.plot(rows["rate"] * 100, rows["accuracy"], marker="os^vDx"[i % 6], ls=("-", "--", ":", "-.")[i % 4],
                    ms=7 - i % 4, label=rule)
        ax.set(xlabel=f"test samples missing {drop} (%)", title=f"drop {drop}")
    axes[0][0].set_ylabel("fused accuracy")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
