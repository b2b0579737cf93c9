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


def log_weighted_average(logprobs, weights, present=None) -> np.ndarray:
    """log of eq. 13 computed in log space: logsumexp_i(log w_i + log p_i), exact where p_i underflow."""
    from scipy.special import logsumexp

    lp = _stack(logprobs)
    m, n, _ = lp.shape
    w = np.asarray(weights, dtype=np.float64)
    mask = _presence(present, m, n)
    ww = w[:, None] * mask
    total = ww.sum(axis=0)
    if (total <= 0).any():
        raise DataError(f"{int((total <= 0).sum())} sample(s) have no modality present (or only zero-weight ones)")
    with np.errstate(divide="ignore"):
        lw = np.log(ww / total)  # -inf for absent / zero-weight modalities
    terms = np.where(mask[:, :, None] & (ww[:, :, None] > 0), lw[:, :, None] + np.nan_to_num(lp, nan=0.0), -np.inf)
    return logsumexp(terms, axis=0)


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

    def combine_log(self, logprobs, params, present=None) -> np.ndarray:
        return log_weighted_average(logprobs, params["weights"], present)


class Accuracy(Equal):
    """w_i = acc_i / sum_j acc_j, acc_i the training accuracy (the paper) or the validation accuracy."""

    def fit(self, val_probs, val_y, train_acc) -> dict:
        source = str(self.cfg.get("weights_from", "train")) if self.cfg is not None else "train"
        if source == "train":
            acc = list(train_acc)
        elif source == "val":
            if val_probs is None or val_y is None or len(val_y) == 0:
                raise ConfigError(
                    "fusion.weights_from=val needs a validation split: set dataset.val_fraction > 0"
                )
            acc = [_accuracy(p, np.asarray(val_y)) for p in val_probs]
        else:
            raise ConfigError(f"fusion.weights_from must be 'train' or 'val', got {source!r}")
        return {"weights": accuracy_weights(acc).tolist(), "accuracies": [float(a) for a in acc], "weights_from": source}


# name -> rule class (or "module:Class", imported on first use); one conf/fusion/<name>.yaml each
FUSIONS = {
    "equal": Equal,
    "accuracy": Accuracy,
    "per_class": "mmfusion.fusion_rules:PerClass",
    "product": "mmfusion.fusion_rules:Product",
    "stacking": "mmfusion.fusion_rules:Stacking",
    "ensemble_selection": "mmfusion.fusion_rules:EnsembleSelection",
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
            or cfg.get("weights_from") == "val" or cfg.get("weights") == "val_accuracy")


def _logs(probs, logprobs) -> list[np.ndarray]:
    from mmfusion.calibration import as_log

    return [as_log(p, lp) for p, lp in zip(probs, logprobs if logprobs is not None else [None] * len(probs))]


def fit_rule(cfg, val_probs, val_y, train_acc, val_logprobs=None) -> dict:
    """Fit the configured rule, after per-modality temperature scaling when `fusion.calibrate` is on
    (the temperatures, fitted on the log-probabilities, join the params; `combine_probs` applies them)."""
    from mmfusion import calibration

    temps = None
    if cfg.get("calibrate", False):
        if val_probs is None or val_y is None or len(val_y) == 0:
            raise ConfigError("fusion.calibrate=true fits temperatures on a validation split: set dataset.val_fraction > 0")
        val_log = _logs(val_probs, val_logprobs)
        temps = [calibration.fit_temperature(lp, val_y) for lp in val_log]
        val_probs = [np.exp(calibration.temper_log(lp, t)) for lp, t in zip(val_log, temps)]
    params = get_rule(cfg).fit(val_probs, val_y, train_acc)
    return {**params, "temperatures": temps} if temps is not None else params


def _tempered(params: dict, probs, logprobs) -> list[np.ndarray]:
    """Per-modality log-probabilities after the fitted temperatures (if any)."""
    from mmfusion import calibration

    logs = _logs(probs, logprobs)
    temps = params.get("temperatures")
    return [calibration.temper_log(lp, t) for lp, t in zip(logs, temps)] if temps is not None else logs


def combine_probs(cfg, params: dict, probs, present=None, logprobs=None) -> np.ndarray:
    """Fused (n, q) probabilities of the configured rule with fitted params (temperatures first)."""
    if params.get("temperatures") is not None:
        probs = [np.exp(lp) for lp in _tempered(params, probs, logprobs)]
    return get_rule(cfg).combine(probs, params, present)


def combine_log(cfg, params: dict, probs, present=None, logprobs=None) -> np.ndarray:
    """Fused (n, q) log-probabilities: in log space for the rules that define `combine_log` (weighted
    averages, product, stacking, per-class), else the log of `combine_probs`."""
    from mmfusion.calibration import as_log

    rule = get_rule(cfg)
    logs = _tempered(params, probs, logprobs)
    if hasattr(rule, "combine_log"):
        return rule.combine_log(logs, params, present)
    return as_log(rule.combine([np.exp(lp) for lp in logs], params, present))


def fuse_splits(cfg, probs: dict, y: dict, present: dict, train_acc: list, names: list[str],
                logprobs: dict | None = None):
    """Fit on `val` (when there is one) and fuse every split: probs[split][m] (n, q) with NaN rows where
    absent, y[split], present[split][m], optional logprobs[split][m]. Returns (params, {split: fused});
    with `logprobs`, (params, {split: fused}, {split: fused log-probabilities})."""
    has_val = "val" in probs and len(y["val"]) > 0
    val_probs = [probs["val"][m] for m in names] if has_val else None
    val_log = [logprobs["val"][m] for m in names] if has_val and logprobs is not None else None
    params = fit_rule(cfg, val_probs, y["val"] if has_val else None, train_acc, val_log)
    lp = (lambda s: [logprobs[s][m] for m in names]) if logprobs is not None else (lambda s: None)
    fused = {s: combine_probs(cfg, params, [probs[s][m] for m in names], [present[s][m] for m in names], lp(s))
             for s in probs}
    if logprobs is None:
        return params, fused
    fused_log = {s: combine_log(cfg, params, [probs[s][m] for m in names], [present[s][m] for m in names], lp(s))
                 for s in probs}
    return params, fused, fused_log
