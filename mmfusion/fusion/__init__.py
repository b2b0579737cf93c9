"""Decision-level fusion: the registry of rules and the one path that `train`, `fuse` and `predict`
share (`fuse_splits`: fit a rule, after optional temperature scaling `fusion.calibrate`, on the
validation split or training accuracies, then fuse every split). Pure numpy; the fused class is the
argmax (eq. 14; ties go to the lowest class index).

- base.py: the `Rule` base class and the helpers every rule uses;
- weighted.py: the paper's rules, `equal` and `accuracy`;
- rules.py: rules fitted on the validation split, `per_class`, `product`, `stacking`, `ensemble_selection`;
- robustness.py: fusion with modalities dropped from test samples.
"""

from __future__ import annotations

import numpy as np

from mmfusion.errors import ConfigError
from mmfusion.fusion.base import Rule, accuracy_weights, equal_weights, predict, weighted_average
from mmfusion.fusion.rules import EnsembleSelection, PerClass, Product, Stacking
from mmfusion.fusion.weighted import Accuracy, Equal

# name -> rule class; one conf/fusion/<name>.yaml each
FUSIONS: dict[str, type[Rule]] = {
    "equal": Equal,
    "accuracy": Accuracy,
    "per_class": PerClass,
    "product": Product,
    "stacking": Stacking,
    "ensemble_selection": EnsembleSelection,
}
__all__ = ["FUSIONS", "Rule", "accuracy_weights", "equal_weights", "predict", "weighted_average", "fuse_splits",
           "fit_rule", "combine_probs", "needs_val", "get_rule"]


def rule_class(cfg) -> type[Rule]:
    name = cfg.name
    if name not in FUSIONS:
        raise ConfigError(f"fusion.name={name!r} is not known; choose one of {sorted(FUSIONS)}")
    return FUSIONS[name]


def get_rule(cfg) -> Rule:
    return rule_class(cfg)(cfg)


def needs_val(cfg) -> bool:
    """Whether this fusion config is fitted on a validation split (checked before any training)."""
    return rule_class(cfg).fitted_on_val(cfg)


def fit_rule(cfg, val_probs, val_y, train_acc) -> dict:
    """Fit the configured rule, after per-modality temperature scaling when `fusion.calibrate` is on
    (the temperatures then join the params and `combine_probs` applies them first)."""
    from mmfusion.evaluation import calibration

    temps = None
    if cfg.get("calibrate", False):
        if val_probs is None or val_y is None or len(val_y) == 0:
            raise ConfigError("fusion.calibrate=true fits temperatures on a validation split: set dataset.val_fraction > 0")
        temps = [calibration.fit_temperature(p, val_y) for p in val_probs]
        val_probs = [calibration.apply_temperature(p, t) for p, t in zip(val_probs, temps)]
    params = get_rule(cfg).fit(val_probs, val_y, train_acc)
    return {**params, "temperatures": temps} if temps is not None else params


def combine_probs(cfg, params: dict, probs, present=None) -> np.ndarray:
    """Fused (n, q) probabilities of the configured rule with fitted params (temperatures first)."""
    from mmfusion.evaluation import calibration

    temps = params.get("temperatures")
    if temps is not None:
        probs = [calibration.apply_temperature(p, t) for p, t in zip(probs, temps)]
    return get_rule(cfg).combine(probs, params, present)


def fuse_splits(cfg, probs: dict, y: dict, present: dict, train_acc: list, names: list[str]):
    """Fit on `val` (when there is one) and fuse every split: probs[split][m] (n, q) with NaN rows where
    absent, y[split], present[split][m]. Returns (params, {split: fused})."""
    has_val = "val" in probs and len(y["val"]) > 0
    val_probs = [probs["val"][m] for m in names] if has_val else None
    params = fit_rule(cfg, val_probs, y["val"] if has_val else None, train_acc)
    fused = {s: combine_probs(cfg, params, [probs[s][m] for m in names], [present[s][m] for m in names])
             for s in probs}
    return params, fused
