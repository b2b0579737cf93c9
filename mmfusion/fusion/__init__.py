"""Decision-level fusion rules: pure numpy over a list of (n, q) probability arrays.

Each rule has `fit(val_probs, val_y, train_acc) -> params` (plain numbers, saved in metrics.json) and
`combine(probs, params, present) -> (n, q)` fused probabilities; the fused class is the argmax
(eq. 14; ties go to the lowest class index). `present` is an optional list of (n,) boolean masks:
a missing modality gets weight 0 for that sample and the remaining weights are renormalised.
`FUSIONS` registers every rule (the validation-fitted ones live in fusion_rules.py); `fuse_splits`
fits a rule (after optional temperature scaling, `fusion.calibrate`) and fuses every split, the one
path that `train`, `fuse` and `predict` share.
"""

from __future__ import annotations

import numpy as np

from mmfusion.errors import ConfigError, DataError


def _stack(probs) -> np.ndarray:
    p = np.stack([np.asarray(a, dtype=np.float64) for a in probs])  # (m, n, q)
    if p.ndim != 3:
        raise ValueError(f"expected a list of (n, q) arrays, got shape {p.shape}")
    return p


def _presence(present, m: int, n: int) -> np.ndarray:
    if present is None:
        return np.ones((m, n), dtype=bool)
    mask = np.stack([np.asarray(a, dtype=bool) for a in present])
    if mask.shape != (m, n):
        raise ValueError(f"presence masks have shape {mask.shape}, expected {(m, n)}")
    return mask


def weighted_average(probs, weights, present=None) -> np.ndarray:
    """P = sum_i w_i p_i (eq. 13), with weights renormalised over the modalities present per sample."""
    p = _stack(probs)
    m, n, _ = p.shape
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (m,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {m} non-negative numbers with a positive sum, got {w.tolist()}")
    mask = _presence(present, m, n)
    ww = w[:, None] * mask  # (m, n)
    total = ww.sum(axis=0)
    if (total <= 0).any():
        raise DataError(f"{int((total <= 0).sum())} sample(s) have no modality present (or only zero-weight ones)")
    p = np.where(mask[:, :, None], p, 0.0)  # an absent modality's row may hold NaN: it never counts
    return np.einsum("mn,mnq->nq", ww / total, p)


def equal_weights(m: int) -> np.ndarray:
    return np.full(m, 1.0 / m)


def accuracy_weights(accuracies) -> np.ndarray:
    """w_i = acc_i / sum_j acc_j (eq. 10)."""
    acc = np.asarray(accuracies, dtype=np.float64)
    if (acc < 0).any() or acc.sum() <= 0:
        raise ValueError(f"accuracies must be non-negative with a positive sum, got {acc.tolist()}")
    return acc / acc.sum()


def predict(fused: np.ndarray) -> np.ndarray:
    """The fused class, eq. 14 (np.argmax: ties go to the lowest class index)."""
    return np.argmax(fused, axis=1)


def _accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == y))


class Equal:
    """w_i = 1 / N."""

    def __init__(self, cfg=None):
        self.cfg = cfg

    def fit(self, val_probs, val_y, train_acc) -> dict:
        return {"weights": equal_weights(len(train_acc)).tolist()}

    def combine(self, probs, params, present=None) -> np.ndarray:
        return weighted_average(probs, params["weights"], present)


class Accuracy(Equal):
    """w_i = acc_i / sum_j acc_j, acc_i the training accuracy (the paper) or the validation accuracy."""

    def fit(self, val_probs, val_y, train_acc) -> dict:
        weights = str(self.cfg.get("weights") or "train_accuracy") if self.cfg is not None else "train_accuracy"
        source = weights.removesuffix("_accuracy")  # recorded in params as before: train | val
        if weights == "train_accuracy":
            acc = list(train_acc)
        elif weights == "val_accuracy":
            if val_probs is None or val_y is None or len(val_y) == 0:
                raise ConfigError(
                    "fusion.weights=val_accuracy needs a validation split: set dataset.val_fraction > 0"
                )
            acc = [_accuracy(p, np.asarray(val_y)) for p in val_probs]
        else:
            raise ConfigError(f"fusion.weights must be train_accuracy or val_accuracy for fusion=accuracy, got {weights!r}")
        return {"weights": accuracy_weights(acc).tolist(), "accuracies": [float(a) for a in acc], "weights_from": source}


# name -> rule class (or "module:Class", imported on first use); one conf/fusion/<name>.yaml each
FUSIONS = {
    "equal": Equal,
    "accuracy": Accuracy,
    "per_class": "mmfusion.fusion.rules:PerClass",
    "product": "mmfusion.fusion.rules:Product",
    "stacking": "mmfusion.fusion.rules:Stacking",
    "ensemble_selection": "mmfusion.fusion.rules:EnsembleSelection",
}


def get_rule(cfg):
    name = cfg.name
    if name not in FUSIONS:
        raise ConfigError(f"fusion.name={name!r} is not known; choose one of {sorted(FUSIONS)}")
    rule = FUSIONS[name]
    if isinstance(rule, str):
        import importlib

        module, cls = rule.split(":")
        rule = getattr(importlib.import_module(module), cls)
    return rule(cfg)


def needs_val(cfg) -> bool:
    """Whether this fusion config is fitted on a validation split (checked before any training)."""
    return (cfg.name in ("per_class", "stacking", "ensemble_selection") or bool(cfg.get("calibrate", False))
            or cfg.get("weights") == "val_accuracy")


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
