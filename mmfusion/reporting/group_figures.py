"""The figures of `mmfusion report` per group of runs: Fig. 5 (training curves, one line per group),
Fig. 6 (ROC of the first seed) and Fig. 7 (confusion matrices summed over seeds), and the section of
a group of single-split runs that shows them beside its Table III. Cross-validation groups are shown
by pooled_section.py instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.evaluation.metrics import roc_curves
from mmfusion.reporting import figures
from mmfusion.reporting.sections import auc_table
from mmfusion.reporting.tables import to_markdown
from mmfusion.rundir.records import read_predictions


def training_figures(groups, out: Path) -> list[str]:
    """Fig. 5: training accuracy and loss per epoch, one line per group (e.g. learning rate), per modality."""
    names = []
    modalities = sorted({m for jobs in groups.values() for m in jobs[0]["metrics"]["modalities"]})
    for m in modalities:
        curves = {}
        for label, jobs in groups.items():
            hists = [
                pd.read_csv(j["dir"] / "history" / f"{m}.csv")
                for j in jobs
                if (j["dir"] / "history" / f"{m}.csv").exists()
            ]
            hists = [h for h in hists if len(h) and {"accuracy", "loss"} <= set(h.columns)]  # non-neural: no epochs
            if hists:
                n = min(len(h) for h in hists)
                curves[label] = {k: np.mean([h[k].to_numpy()[:n] for h in hists], axis=0) for k in ("accuracy", "loss")}
        if curves:
            name = f"fig5_training_{m}.png"
            figures.plot_curves(curves, f"Training of the {m} model (mean over seeds)", out / name)
            names.append(name)
    return names


def model_figures(label: str, jobs, out: Path, slug: str) -> list[str]:
    """Fig. 6 (ROC, first seed) and Fig. 7 (confusion matrices pooled over seeds) of every model."""
    first = jobs[0]
    pred = read_predictions(first["dir"])
    classes = first["metrics"]["classes"]
    names = []
    for m in first["metrics"]["models"]:
        y, p = pred.y("test"), pred.proba("test", m)
        keep = ~np.isnan(p).any(axis=1)
        curves = roc_curves(y[keep], p[keep], len(classes))
        figures.plot_roc(
            curves,
            first["metrics"]["models"][m]["auc"],
            classes,
            f"ROC, {m} (seed {first['metrics']['seed']})",
            out / f"fig6_roc_{m}_{slug}.png",
        )
        cm = np.sum([j["metrics"]["models"][m]["confusion"] for j in jobs], axis=0)
        cm_name = f"fig7_confusion_{m}_{slug}.png"
        figures.plot_confusion(cm, classes, f"{m}, {len(jobs)} seed(s) summed", out / cm_name)
        names += [f"fig6_roc_{m}_{slug}.png", cm_name, figures.normalized_path(Path(cm_name)).name]
    return names


def group_section(label: str, jobs, fig_dir: Path, slug: str) -> list[str]:
    """A group of single-split runs: its seeds, Table III (one run: [CI]; several: mean ± std over seeds)
    and its Fig. 6 and Fig. 7."""
    seeds = ", ".join(str(j["metrics"]["seed"]) for j in jobs)
    lines = [
        f"## Group `{label}`",
        "",
        f"Seeds: {seeds}.",
        "",
        "### One-vs-rest AUC (Table III layout, " + ("[CI])" if len(jobs) == 1 else "mean ± std)"),
        "",
        to_markdown(auc_table(jobs)),
    ]
    names = model_figures(label, jobs, fig_dir, slug)
    lines += ["### ROC curves (Fig. 6, first seed) and confusion matrices (Fig. 7, pooled over seeds)", ""]
    return lines + [f"![{n}](report_figures/{n})" for n in names] + [""]
