"""Scores of one set of test probabilities, shared by `train` and `fuse` (so that re-fusing a run
with its own rule reproduces its metrics exactly).

Per model (each modality on the test samples that have it, and `fused` on all): accuracy, AUC,
confusion (evaluate.py), NLL / Brier / ECE (calibration.py), cluster-bootstrap CIs over the units
behind the test pairs (stats.py; the same draws for every model and the paired difference); the
reliability curves that mmfusion/reporting/run_figures.py draws beside `roc_<model>.png` and
`confusion_<model>.png`.
"""

from __future__ import annotations

import numpy as np

from mmfusion import probability
from mmfusion.evaluation import calibration, stats
from mmfusion.evaluation.metrics import evaluate


def eval_settings(cfg):
    """`evaluation.*` (bootstrap, ci_level, ece_bins; defaults in mmfusion/schemas/run.py)."""
    return cfg.evaluation


def draw_weights(cfg, n: int, units=None, strata=None):
    """The bootstrap draws (B, n) shared by every model and the paired difference of one test set:
    resampling the units behind the pairs (`units`: list of (n,) id arrays, e.g. text and run ids),
    or the samples themselves when no units are known; `strata` (the labels): drawn within each class.
    None when evaluation.bootstrap is 0."""
    ev = eval_settings(cfg)
    if ev["bootstrap"] <= 0 or not n:
        return None
    return stats.cluster_weights(list(units or []) or [np.arange(n)], ev["bootstrap"], int(cfg.seed), strata)


def score_models(
    y,
    probs: dict,
    present: dict,
    classes: list[str],
    cfg,
    temperatures: dict | None = None,
    logprobs: dict | None = None,
    units=None,
    weights=None,
) -> dict:
    """{model: metrics}; present[m] masks the samples a modality model has (fused: all); logprobs[m]
    (when given) makes the NLL and the calibrated scores exact (no log of a rounded probability)."""
    ev = eval_settings(cfg)
    y = np.asarray(y)
    weights = draw_weights(cfg, len(y), units, y) if weights is None else weights
    results = {}
    for name, p in probs.items():
        keep = present.get(name, np.ones(len(y), bool))
        yk, pk = y[keep], p[keep]
        res = evaluate(yk, pk, classes)
        lk = probability.as_log(p, (logprobs or {}).get(name))[keep]
        res.update(calibration.scores(yk, pk, ev["ece_bins"], lk))
        res.update(
            stats.bootstrap(
                yk,
                pk,
                classes,
                ev["bootstrap"],
                ev["ci_level"],
                int(cfg.seed),
                weights=weights[:, keep] if weights is not None else None,
            )
        )
        if temperatures and name in temperatures:
            cal_log = probability.temper_log(lk, temperatures[name])
            res["calibrated"] = {
                "temperature": float(temperatures[name]),
                **calibration.scores(yk, np.exp(cal_log), ev["ece_bins"], cal_log),
            }
        results[name] = res
    return results


def reliability_curves(
    y, probs: dict, present: dict, bins: int, temperatures: dict | None = None, logprobs: dict | None = None
) -> dict:
    """{label: calibration.reliability(...)} of every model on the samples it has, and of each
    temperature-scaled model (`<model> (T=<t>)`), in score_models' order."""
    y = np.asarray(y)
    curves = {}
    for name, p in probs.items():
        keep = present.get(name, np.ones(len(y), bool))
        yk, pk = y[keep], p[keep]
        curves[name] = calibration.reliability(yk, pk, bins)
        if temperatures and name in temperatures:
            lk = probability.as_log(p, (logprobs or {}).get(name))[keep]
            cal = np.exp(probability.temper_log(lk, temperatures[name]))
            curves[f"{name} (T={temperatures[name]:.2f})"] = calibration.reliability(yk, cal, bins)
    return curves


def compare(y, probs: dict, present: dict, names: list[str], weights=None, level: float = 0.95) -> dict | None:
    """McNemar's test of the fused model against the best single modality (None without fusion), and
    the CI of their accuracy difference from the bootstrap draws `weights` (draw_weights)."""
    return stats.fused_vs_best(
        y, probs, {**{n: np.ones(len(y), bool) for n in probs}, **present}, names, weights, level
    )


def joint_comparisons(y, probs: dict, present: dict, singles: list[str], rules: list[str]) -> list[dict]:
    """McNemar of the jointly trained model against the best single model and the best decision-level
    rule (by test accuracy); empty without a `joint` model."""
    if "joint" not in probs:
        return []
    out = [stats.versus_best(y, probs, present, "joint", singles), stats.versus_best(y, probs, present, "joint", rules)]
    return [c for c in out if c is not None]
