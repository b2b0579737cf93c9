"""The figures of one scored test split, drawn into a run's (or a fuse output's) `figures/`: per model
`roc_<model>.png` and `confusion_<model>.png` (with its row-normalised twin), and `reliability.png`
with every model's reliability curve (and each temperature-scaled one). The scores come from
mmfusion/evaluation/scoring.py (score_models); this module only draws them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmfusion.evaluation.metrics import roc_curves
from mmfusion.evaluation.scoring import eval_settings, reliability_curves
from mmfusion.reporting import figures


def draw_scores(
    y,
    probs: dict,
    present: dict,
    classes: list[str],
    scores: dict,
    cfg,
    fig_dir: Path,
    temperatures: dict | None = None,
    logprobs: dict | None = None,
) -> None:
    """ROC and confusion figures of every model in `scores` (score_models' result for the same
    arguments) and the reliability diagram of them all."""
    y = np.asarray(y)
    fig_dir.mkdir(parents=True, exist_ok=True)
    for name, p in probs.items():
        keep = present.get(name, np.ones(len(y), bool))
        res = scores[name]
        figures.plot_roc(
            roc_curves(y[keep], p[keep], len(classes)),
            res["auc"],
            classes,
            f"ROC, {name} model",
            fig_dir / f"roc_{name}.png",
        )
        figures.plot_confusion(res["confusion"], classes, f"Confusion, {name} model", fig_dir / f"confusion_{name}.png")
    curves = reliability_curves(y, probs, present, eval_settings(cfg)["ece_bins"], temperatures, logprobs)
    figures.plot_reliability(curves, fig_dir / "reliability.png")
