"""The section of a cross-validation group on the `mmfusion report` page: its out-of-fold predictions
pooled (mmfusion/evaluation/pooled.py) into Tables IV and III with cluster-bootstrap intervals, the fused
model against the best single one, Fig. 7 over every unit, the pooled ROC with each fold's curve, and
each fold's accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.reporting import figures
from mmfusion.reporting.sections import with_ci
from mmfusion.reporting.tables import to_markdown
from mmfusion.rundir.records import read_predictions


def fold_predictions(jobs, seeds: list[int], model: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(repeat label, y, probs)] of each fold's test samples that the model has, repeats in `seeds`."""
    out = []
    for j in sorted(jobs, key=lambda j: (j["metrics"]["seed"], j["metrics"]["dataset"]["cv_fold"])):
        if int(j["metrics"]["seed"]) not in seeds:
            continue
        pred = read_predictions(j["dir"])
        y, p = pred.y("test"), pred.proba("test", model)
        keep = pred.present("test", model)
        out.append((f"pooled, seed {j['metrics']['seed']}", y[keep], p[keep]))
    return out


def pooled_section(label: str, pool: dict, fig_dir: Path, slug: str, classes: list[str], jobs=None) -> list[str]:
    """Cross-validation: pooled Tables IV and III with intervals, Fig. 7 over every unit, the pooled
    out-of-fold ROC with each fold's curve (when the jobs are given), folds."""
    if "models" not in pool:
        return [f"## Group `{label}`: cross-validation not pooled", "", f"{pool['error']}.", ""]
    lines = _pooled_heading(label, pool) + _pooled_tables(pool, classes)
    lines += _pooled_figures(pool, fig_dir, slug, classes, jobs)
    return lines + ["### Per fold", "", to_markdown(_per_fold(pool))]


def _pooled_heading(label: str, pool: dict) -> list[str]:
    covered = ", ".join(
        f"{n} unique {'texts' if k == 'text' else 'series runs' if k == 'series' else 'samples'}"
        for k, n in pool["units_covered"].items()
    )
    return [
        f"## Group `{label}`: {pool['folds']}-fold cross-validation, pooled out of fold",
        "",
        f"Repeats (seeds): {', '.join(map(str, pool['seeds']))}; about {pool['pairs_per_repeat']} test pairs per "
        f"repeat, covering {covered} (each tested exactly once per repeat)."
        + (f" Seeds with unfinished folds, left out: {pool['incomplete_seeds']}." if pool["incomplete_seeds"] else ""),
        "",
        "Intervals: 95% cluster bootstrap over the units (texts, runs), the same draws for every model "
        "and repeat; figures are means over repeats.",
        "",
    ]


def _comparison_line(c: dict) -> str:
    """Fused minus the best single model, its interval and McNemar's p per repeat."""
    line = f"Fused minus {c['b']} (the best single model): {c['difference'] * 100:+.2f} points"
    if c.get("difference_ci"):
        lo, hi = c["difference_ci"]
        line += f", 95% interval [{lo * 100:+.2f}, {hi * 100:+.2f}]: " + (
            "resolved (excludes 0)." if c["resolved"] else "not resolved (includes 0)."
        )
    if c.get("mcnemar_p_per_repeat"):
        line += " McNemar p per repeat: " + ", ".join(f"{p:.3g}" for p in c["mcnemar_p_per_repeat"]) + "."
    return line


def _pooled_tables(pool: dict, classes: list[str]) -> list[str]:
    """Table IV (accuracy and macro AUC with intervals), the comparison line, Table III (AUC per class)."""
    acc = pd.DataFrame(
        {
            m: [with_ci(r["accuracy"], r.get("accuracy_ci")), with_ci(r["macro_auc"], r.get("macro_auc_ci"), 1, 4)]
            for m, r in pool["models"].items()
        },
        index=["accuracy %", "macro AUC"],
    )
    acc.index.name = "Table IV (pooled)"
    lines = [to_markdown(acc)]
    if pool.get("comparison"):
        lines += [_comparison_line(pool["comparison"]), ""]
    auc = pd.DataFrame(
        {
            m: [with_ci(r["auc"][k], (r.get("auc_ci") or {}).get(k), 1, 4) for k in classes]
            for m, r in pool["models"].items()
        },
        index=classes,
    )
    auc.index.name = "Table III (pooled AUC)"
    return lines + [to_markdown(auc)]


def _pooled_figures(pool: dict, fig_dir: Path, slug: str, classes: list[str], jobs) -> list[str]:
    """Fig. 7 over every unit (counts and row-normalised) and, with the jobs, the pooled ROC per model."""
    names = []
    for m in pool["models"]:
        name = f"fig7_confusion_{m}_{slug}_pooled.png"
        figures.plot_confusion(
            pool["models"][m]["confusion"], classes, f"{m}, out of fold, {pool['repeats']} repeat(s)", fig_dir / name
        )
        names += [name, figures.normalized_path(Path(name)).name]
    lines = ["### Confusion matrices over every unit (Fig. 7, out of fold; counts and row-normalised)", ""]
    lines += [f"![{n}](report_figures/{n})" for n in names] + [""]
    if not jobs:
        return lines
    rocs = []
    for m in pool["models"]:
        name = f"fig6_roc_{m}_{slug}_pooled.png"
        folds_m = fold_predictions(jobs, pool["seeds"], m)
        figures.plot_roc_folds(
            folds_m, classes, f"ROC, {m}: pooled out of fold (bold) and single folds", fig_dir / name
        )
        rocs.append(name)
    lines += ["### ROC curves, pooled out of fold with each fold's curve (Fig. 6)", ""]
    return lines + [f"![{n}](report_figures/{n})" for n in rocs] + [""]


def _per_fold(pool: dict) -> pd.DataFrame:
    """Each fold's accuracy in % per model."""
    folds = pd.DataFrame(pool["per_fold"]).set_index(["seed", "fold"])
    shown = folds.copy()
    for m in pool["models"]:
        shown[m] = [f"{v * 100:.2f}" for v in folds[m]]
    shown.index = [f"seed {a}, fold {b}" for a, b in folds.index]
    shown.index.name = "per fold (accuracy %)"
    return shown
