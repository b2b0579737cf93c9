"""Figures of one run and of `mmfusion report` (matplotlib, Agg backend): ROC curves and confusion
matrices through scikit-learn's RocCurveDisplay / ConfusionMatrixDisplay, training curves and
reliability diagrams. Accuracy against time is drawn by figures_hours.py, the missing-modality curves
by robustness.py, a search's history and importances by search_section.py; all save through `save`.

Every figure is saved twice (`save`): a PNG at 160 dpi and an SVG of the same name beside it (text
kept as text, editable), laid out by matplotlib (tight layout; constrained for the per-class ROC
grid and the robustness panels) so that titles and tick labels are never clipped. A confusion matrix comes as counts
(`confusion_<x>.png`) and row-normalised (`confusion_<x>_normalized.png`: each true class sums to 1,
i.e. per-class recall on the diagonal, with a 0-1 colour bar).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay  # noqa: E402

from mmfusion.rundir.files import write_atomic  # noqa: E402

DPI = 160
MARKERS = "os^vDxP*"
LINESTYLES = ("-", "--", ":", "-.")
NORMALIZED = "_normalized"  # suffix of the row-normalised confusion matrix


def new_figure(figsize) -> tuple:
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def save(fig, path: Path) -> list[Path]:
    """PNG at DPI and an SVG beside it (same stem); closes the figure. Returns both paths. (Tight
    layout once, not the constrained engine at each of the two renderings: a third less time.)"""
    path = Path(path)
    svg = path.with_suffix(".svg")
    try:
        if fig.get_layout_engine() is None:
            fig.tight_layout()
        # whole or as before (temporary file, then rename); a failed write names the file
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
        with plt.rc_context({"svg.fonttype": "none"}):
            write_atomic(svg, lambda tmp: fig.savefig(tmp, format="svg"))
    finally:
        plt.close(fig)
    return [path, svg]


def normalized_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + NORMALIZED + path.suffix)


def line_style(i: int) -> dict:
    """Marker and line style of the i-th line: lines that coincide stay distinguishable (smaller,
    hollow markers drawn over bigger filled ones, another dash pattern)."""
    return {
        "marker": MARKERS[i % len(MARKERS)],
        "ls": LINESTYLES[i % len(LINESTYLES)],
        "ms": 9 - 2 * (i % 3),
        "mfc": "none" if i % 2 else None,
    }


def plot_roc(curves: dict, auc: dict, classes: list[str], title: str, path: Path) -> None:
    """One-vs-rest ROC of each class (curves: {class index: (fpr, tpr)}) with RocCurveDisplay."""
    fig, ax = new_figure((5.2, 4.8))
    for i, (k, (fpr, tpr)) in enumerate(curves.items()):
        a = auc.get(classes[k])
        RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=a, name=classes[k]).plot(
            ax=ax, curve_kwargs={"ls": LINESTYLES[i % len(LINESTYLES)]}, plot_chance_level=i == len(curves) - 1
        )
    ax.set(title=title, xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
    ax.legend(loc="lower right", fontsize=7)
    save(fig, path)


def plot_roc_folds(folds: list[tuple[str, np.ndarray, np.ndarray]], classes: list[str], title: str, path: Path) -> None:
    """Cross-validation ROC: one panel per class (one-vs-rest); a thin line per fold and the pooled
    out-of-fold curve of each repeat in bold. folds: [(repeat label, y, probs)] of every fold; the
    folds of one repeat share its label and are pooled under it."""
    from sklearn.metrics import roc_auc_score, roc_curve

    q = len(classes)
    cols = min(q, 4)
    rows = -(-q // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.3 * rows + 0.4), squeeze=False, layout="constrained")
    repeats = list(dict.fromkeys(label for label, _, _ in folds))
    for k, cls in enumerate(classes):
        ax = axes[k // cols][k % cols]
        for label, y, p in folds:
            pos = y == k
            if pos.any() and (~pos).any():
                fpr, tpr, _ = roc_curve(pos, p[:, k])
                ax.plot(fpr, tpr, color="grey", lw=0.7, alpha=0.6)
        for i, rep in enumerate(repeats):
            y = np.concatenate([y for label, y, _ in folds if label == rep])
            p = np.concatenate([p for label, _, p in folds if label == rep])
            pos = y == k
            if not (pos.any() and (~pos).any()):
                continue
            fpr, tpr, _ = roc_curve(pos, p[:, k])
            RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=roc_auc_score(pos, p[:, k]), name=rep).plot(
                ax=ax, curve_kwargs={"lw": 1.8, "ls": LINESTYLES[i % len(LINESTYLES)]}, plot_chance_level=i == 0
            )
        ax.plot([], [], color="grey", lw=0.7, label="single folds")
        ax.set(title=cls, xlim=(-0.01, 1.01), ylim=(-0.01, 1.01))
        ax.legend(loc="lower right", fontsize=6)
    for k in range(q, rows * cols):
        axes[k // cols][k % cols].set_axis_off()
    fig.suptitle(title, fontsize=10)
    save(fig, path)


def row_normalized(cm) -> np.ndarray:
    """Each true class's row divided by its total (a class absent from the test split stays 0)."""
    cm = np.asarray(cm, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)


def plot_confusion(cm, classes: list[str], title: str, path: Path) -> list[Path]:
    """Counts at `path` and the row-normalised matrix beside it (normalized_path), ConfusionMatrixDisplay."""
    cm = np.asarray(cm)
    written = []
    for matrix, fmt, out, what in (
        (cm, "d", Path(path), "counts"),
        (row_normalized(cm), ".2f", normalized_path(path), "row-normalised"),
    ):
        fig, ax = new_figure((5.2, 4.6))
        disp = ConfusionMatrixDisplay(confusion_matrix=matrix, display_labels=classes)
        disp.plot(ax=ax, cmap="Blues", values_format=fmt, colorbar=what != "counts")
        if what == "row-normalised":
            disp.im_.set_clim(0, 1)
        ax.set_xticks(ax.get_xticks(), ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(f"{title}\n({what})", fontsize=10)
        written += save(fig, out)
    return written


def _epochs_axis(ax) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")


def plot_history(history: dict, title: str, path: Path) -> None:
    """Accuracy and loss per epoch of one model, training (solid) and validation (dashed)."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
    for key, ax in (("accuracy", ax_acc), ("loss", ax_loss)):
        for prefix, style, marker in (("", "-", "o"), ("val_", "--", "s")):
            values = history.get(prefix + key)
            if values:
                epochs = np.arange(1, len(values) + 1)
                ax.plot(
                    epochs, values, style, marker=marker, ms=3, label=("validation " if prefix else "training ") + key
                )
        _epochs_axis(ax)
        ax.set_ylabel(key)
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no epochs (not a neural model)", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(title)
    save(fig, path)


_PAIR = re.compile(r"(\S+?)=(\S+)")


def varying_labels(labels: list[str]) -> tuple[dict[str, str], str | None]:
    """Legend entries naming only the override keys whose values differ between the labels
    ("a=1 b=2", "a=1 b=3" -> "2", "3" under the title "b"); labels that are not key=value pairs stay."""
    parsed = {label: dict(_PAIR.findall(label)) for label in labels}
    keys = list(dict.fromkeys(k for d in parsed.values() for k in d))
    varied = [k for k in keys if len({d.get(k) for d in parsed.values()}) > 1]
    if not varied or not all(parsed.values()):
        return {label: label for label in labels}, None
    if len(varied) == 1:
        return {label: str(d.get(varied[0], "-")) for label, d in parsed.items()}, varied[0]
    return {label: " ".join(f"{k}={d.get(k, '-')}" for k in varied) for label, d in parsed.items()}, None


def curves_figure(curves: dict, title: str):
    """Training accuracy and loss per epoch, one line per label (e.g. learning rate): the legend names
    only what varied, every line has its own marker and dash so that equal lines stay visible."""
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
    names, legend_title = varying_labels(list(curves))
    for i, (label, c) in enumerate(curves.items()):
        epochs = np.arange(1, len(c["accuracy"]) + 1)
        style = line_style(i)
        ax_acc.plot(epochs, c["accuracy"], label=names[label], **style)
        ax_loss.plot(epochs, c["loss"], label=names[label], **style)
    for ax in (ax_acc, ax_loss):
        _epochs_axis(ax)
    ax_acc.set_ylabel("training accuracy")
    losses = np.concatenate([np.asarray(c["loss"], float) for c in curves.values()])
    log_scale = len(losses) and losses.min() > 0 and losses.max() / losses.min() > 10  # over a decade
    ax_loss.set(ylabel="training loss", yscale="log" if log_scale else "linear")
    if len(curves) > 1:
        ax_acc.legend(fontsize=7, title=legend_title, title_fontsize=7)
    fig.suptitle(title)
    return fig


def plot_curves(curves: dict, title: str, path: Path) -> None:
    save(curves_figure(curves, title), path)


def plot_reliability(curves: dict, path: Path, title: str = "Reliability on the test split") -> None:
    """curves: {label: calibration.reliability(...) dict}; the diagonal is perfect calibration."""
    fig, ax = new_figure((5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect")
    for i, (label, r) in enumerate(curves.items()):
        ax.plot(r["confidence"], r["accuracy"], label=label, **{**line_style(i), "ms": 3})
    ax.set(xlabel="Confidence (max. probability)", ylabel="Accuracy", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="upper left", fontsize=8)
    save(fig, path)
