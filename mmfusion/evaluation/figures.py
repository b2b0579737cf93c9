"""Figures (matplotlib, Agg backend): ROC curves, confusion matrices, training curves, reliability
diagrams and accuracy against the missing-modality rate."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mmfusion import rundir  # noqa: E402


def save(fig, path: Path) -> None:
    """Write the figure whole (temporary file, then rename) and close it; a failed write names the file."""
    try:
        rundir.write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format=Path(path).suffix[1:] or "png"))
    finally:
        plt.close(fig)


def plot_roc(curves: dict, auc: dict, classes: list[str], title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for k, (fpr, tpr) in curves.items():
        a = auc.get(classes[k])
        ax.plot(fpr, tpr, label=f"{classes[k]} (AUC {a:.4f})" if a is not None else classes[k])
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save(fig, path)


def plot_confusion(cm, classes: list[str], title: str, path: Path) -> None:
    cm = np.asarray(cm)
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(cm, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                color="white" if cm[i, j] > cm.max() / 2 else "black",
                fontsize=9,
            )
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(ticks, classes, fontsize=8)
    ax.set(xlabel="Predicted", ylabel="True", title=title)
    fig.tight_layout()
    save(fig, path)


def plot_history(history: dict, title: str, path: Path) -> None:
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
    for key, ax in (("accuracy", ax_acc), ("loss", ax_loss)):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + key)
            if values:
                ax.plot(np.arange(1, len(values) + 1), values, style, label=(prefix or "train_") + key)
        ax.set(xlabel="epoch", ylabel=key)
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no epochs (not a neural model)", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)


def plot_curves(curves: dict, title: str, path: Path) -> None:
    """Training accuracy and loss per epoch, one line per label (e.g. learning rate)."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, c in curves.items():
        epochs = np.arange(1, len(c["accuracy"]) + 1)
        ax_acc.plot(epochs, c["accuracy"], label=label)
        ax_loss.plot(epochs, c["loss"], label=label)
    ax_acc.set(xlabel="epoch", ylabel="training accuracy")
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log")
    ax_acc.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)


def plot_accuracy_vs_time(table, models: list[str], path: Path) -> None:
    """Accuracy (mean, shaded +/- std over seeds) against hours since the fault onset, one line per model."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    hours = np.asarray(table.index, dtype=float)
    for m in models:
        mean, std = table[(m, "mean")].to_numpy(float) * 100, np.nan_to_num(table[(m, "std")].to_numpy(float)) * 100
        style = "--" if m == "text" else "-"
        ax.plot(hours, mean, style, marker="o", label=m)
        ax.fill_between(hours, mean - std, mean + std, alpha=0.15)
    ax.set(xlabel="hours since the fault onset", ylabel="test accuracy (%)", title="Early diagnosis")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save(fig, path)


def plot_reliability(curves: dict, path: Path, title: str = "Reliability on the test split") -> None:
    """curves: {label: calibration.reliability(...) dict}; the diagonal is perfect calibration."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect")
    for label, r in curves.items():
        ax.plot(r["confidence"], r["accuracy"], marker="o", ms=3, label=label)
    ax.set(xlabel="Confidence (max. probability)", ylabel="Accuracy", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    save(fig, path)


JOINT_LINES = ("joint", "joint network")  # the jointly trained network's line (robustness tables, joint_summary.py)


def robustness_figure(table: pd.DataFrame):
    """table: columns rule, drop, rate, accuracy; one panel per dropped modality, one line per rule, and
    the joint network's own line (rule `joint`) when the table has it. The y axis is each line's own test
    accuracy: the fused one for a rule, the network's for the joint line."""
    drops = list(dict.fromkeys(table["drop"]))
    has_joint = table["rule"].isin(JOINT_LINES).any()
    fig, axes = plt.subplots(1, len(drops), figsize=(4.2 * len(drops), 3.8), sharey=True, squeeze=False)
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
    fig.tight_layout()
    return fig


def plot_robustness(table: pd.DataFrame, path: Path) -> None:
    fig = robustness_figure(table)
    save(fig, path)
