"""Decision-level fusion: the rules by name (`FUSIONS`, a view of mmfusion.schemas.registry) and the one
path that `train`, `fuse` and `predict` share (`fuse_splits`: fit a rule, after optional temperature
scaling `fusion.calibrate`, on the validation split or training accuracies, then fuse every split). Pure numpy; the fused class is the
argmax (eq. 14; ties go to the lowest class index).

- base.py: the `Rule` base class and the helpers every rule uses;
- weighted.py: the paper's rules, `equal` and `accuracy`;
- rules.py: rules fitted on the validation split, `per_class`, `product`, `stacking`, `ensemble_selection`;
- robustness.py: fusion with modalities dropped from test samples;
- crossfit.py: `fusion.fit_on=crossfit`, rules fitted on out-of-fold predictions of the training split.
"""

from __future__ import annotations

import numpy as np

from mmfusion.fusion.base import Rule, accuracy_weights, equal_weights, predict, weighted_average
from mmfusion.fusion.rules import EnsembleSelection, PerClass, Product, Stacking
from mmfusion.fusion.weighted import Accuracy, Equal
from mmfusion.schemas import registry
from mmfusion.schemas.check.val_split import require_val_split

# name -> rule class, a live view of the registry (each schema in mmfusion/schemas/fusion.py names its
# rule; one conf/fusion/<name>.yaml each), in the order tables list the rules
FUSIONS = registry.Catalogue("fusion")
__all__ = [
    "FUSIONS",
    "Accuracy",
    "EnsembleSelection",
    "Equal",
    "PerClass",
    "Product",
    "Stacking",
    "Rule",
    "accuracy_weights",
    "equal_weights",
    "predict",
    "weighted_average",
    "fuse_splits",
    "fit_rule",
    "combine_probs",
    "combine_log",
    "needs_val",
    "get_rule",
]


def rule_class(cfg) -> type[Rule]:
    return registry.lookup("fusion", cfg.name)


def get_rule(cfg) -> Rule:
    return registry.build("fusion", cfg)


def needs_val(cfg) -> bool:
    """Whether this fusion config is fitted on a validation split (checked before any training); a
    cross-fitted rule (`fusion.fit_on=crossfit`) is fitted on out-of-fold training predictions instead."""
    cls = rule_class(cfg)
    return cls.fitted_on_val(cfg) and cls.settings(cfg).fit_on != "crossfit"


def _logs(probs, logprobs) -> list[np.ndarray]:
    from mmfusion.probability import as_log

    return [as_log(p, lp) for p, lp in zip(probs, logprobs if logprobs is not None else [None] * len(probs))]


def fit_rule(cfg, val_probs, val_y, train_acc, val_logprobs=None) -> dict:
    """Fit the configured rule, after per-modality temperature scaling when `fusion.calibrate` is on
    (the temperatures, fitted on the log-probabilities, join the params; `combine_probs` applies them)."""
    from mmfusion import probability

    temps = None
    rule = get_rule(cfg)
    if rule.cfg.calibrate:
        if val_probs is None or val_y is None or len(val_y) == 0:
            require_val_split(None, "fusion.calibrate=true fits temperatures on a validation split")
        val_log = _logs(val_probs, val_logprobs)
        temps = [probability.fit_temperature(lp, val_y) for lp in val_log]
        val_probs = [np.exp(probability.temper_log(lp, t)) for lp, t in zip(val_log, temps)]
    params = rule.fit(val_probs, val_y, train_acc)
    return {**params, "temperatures": temps} if temps is not None else params


def _tempered(params: dict, probs, logprobs) -> list[np.ndarray]:
    """Per-modality log-probabilities after the fitted temperatures (if any)."""
    from mmfusion import probability

    logs = _logs(probs, logprobs)
    temps = params.get("temperatures")
    return [probability.temper_log(lp, t) for lp, t in zip(logs, temps)] if temps is not None else logs


def combine_probs(cfg, params: dict, probs, present=None, logprobs=None) -> np.ndarray:
    """Fused (n, q) probabilities of the configured rule with fitted params (temperatures first)."""
    if params.get("temperatures") is not None:
        probs = [np.exp(lp) for lp in _tempered(params, probs, logprobs)]
    return get_rule(cfg).combine(probs, params, present)


def combine_log(cfg, params: dict, probs, present=None, logprobs=None) -> np.ndarray:
    """Fused (n, q) log-probabilities: in log space for the rules that define `combine_log` (weighted
    averages, product, stacking, per-class), else the log of `combine_probs`."""
    from mmfusion.probability import as_log

    rule = get_rule(cfg)
    logs = _tempered(params, probs, logprobs)
    if hasattr(rule, "combine_log"):
        return rule.combine_log(logs, params, present)
    return as_log(rule.combine([np.exp(lp) for lp in logs], params, present))


def fuse_splits(
    cfg,
    probs: dict,
    y: dict,
    present: dict,
    train_acc: list,
    names: list[str],
    logprobs: dict | None = None,
    oof: dict | None = None,
):
    """Fit on `val` (when there is one) and fuse every split: probs[split][m] (n, q) with NaN rows where
    absent, y[split], present[split][m], optional logprobs[split][m]. Returns (params, {split: fused});
    with `logprobs`, (params, {split: fused}, {split: fused log-probabilities}). With
    `fusion.fit_on=crossfit` the rule is fitted on `oof` (out-of-fold training predictions, crossfit.py)
    followed by `val`, and params gets `crossfit` (K, the samples it was fitted on)."""
    if get_rule(cfg).cfg.fit_on == "crossfit":
        from mmfusion.fusion import crossfit

        fit = crossfit.fit_set(get_rule(cfg).cfg, oof, probs, y, logprobs, names)
        params = fit_rule(cfg, fit["probs"], fit["y"], fit["acc"], fit["logprobs"])
        if crossfit.fits_anything(rule_class(cfg), cfg):  # equal weights: nothing was fitted, nothing to record
            params["crossfit"] = fit["record"]
    else:
        has_val = "val" in probs and len(y["val"]) > 0
        val_probs = [probs["val"][m] for m in names] if has_val else None
        val_log = [logprobs["val"][m] for m in names] if has_val and logprobs is not None else None
        params = fit_rule(cfg, val_probs, y["val"] if has_val else None, train_acc, val_log)
    lp = (lambda s: [logprobs[s][m] for m in names]) if logprobs is not None else (lambda s: None)
    fused = {
        s: combine_probs(cfg, params, [probs[s][m] for m in names], [present[s][m] for m in names], lp(s))
        for s in probs
    }
    if logprobs is None:
        return params, fused
    fused_log = {
        s: combine_log(cfg, params, [probs[s][m] for m in names], [present[s][m] for m in names], lp(s)) for s in probs
    }
    return params, fused, fused_log
