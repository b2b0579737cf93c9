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

from mmfusion.fusion.base import Rule, accuracy_weights, equal_weights, predict, weighted_average
from mmfusion.fusion.rules import EnsembleSelection, PerClass, Product, Stacking
from mmfusion.fusion.weighted import Accuracy, Equal
from mmfusion.schemas import registry

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
    "needs_val",
    "get_rule",
]


def rule_class(cfg) -> type[Rule]:
    return registry.lookup("fusion", cfg.name)


def get_rule(cfg, params: dict | None = None) -> Rule:
    """The configured rule; with `params` (a run's metrics.json), the rule fitted with them."""
    rule = registry.build("fusion", cfg)
    rule.params = params
    return rule


def needs_val(cfg) -> bool:
    """Whether this fusion config is fitted on a validation split (checked before any training); a
    cross-fitted rule (`fusion.fit_on=crossfit`) is fitted on out-of-fold training predictions instead."""
    cls = rule_class(cfg)
    return cls.fitted_on_val(cfg) and cls.settings(cfg).fit_on != "crossfit"


def fit_rule(cfg, val_probs, val_y, train_acc, val_logprobs=None) -> Rule:
    """The configured rule, fitted (Rule.fitted: temperature scaling first when `fusion.calibrate` is on)."""
    return get_rule(cfg).fitted(val_probs, val_y, train_acc, val_logprobs)


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
    rule = get_rule(cfg)  # built once: fitted below, then fuses every split
    if rule.cfg.fit_on == "crossfit":
        from mmfusion.fusion import crossfit

        fit = crossfit.fit_set(rule.cfg, oof, probs, y, logprobs, names)
        rule.fitted(fit["probs"], fit["y"], fit["acc"], fit["logprobs"])
        if crossfit.fits_anything(type(rule), cfg):  # equal weights: nothing was fitted, nothing to record
            rule.params["crossfit"] = fit["record"]
    else:
        has_val = "val" in probs and len(y["val"]) > 0
        val_probs = [probs["val"][m] for m in names] if has_val else None
        val_log = [logprobs["val"][m] for m in names] if has_val and logprobs is not None else None
        rule.fitted(val_probs, y["val"] if has_val else None, train_acc, val_log)
    lp = (lambda s: [logprobs[s][m] for m in names]) if logprobs is not None else (lambda s: None)
    fused = {s: rule.proba([probs[s][m] for m in names], [present[s][m] for m in names], lp(s)) for s in probs}
    if logprobs is None:
        return rule.params, fused
    fused_log = {s: rule.log_proba([probs[s][m] for m in names], [present[s][m] for m in names], lp(s)) for s in probs}
    return rule.params, fused, fused_log
