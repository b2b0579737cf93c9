"""What every fusion rule shares: the `Rule` base class and the numpy helpers (pure numpy).

A rule holds its fitted parameters: `rule.fitted(val_probs, val_y, train_acc, val_logprobs)` fits it
(after per-modality temperature scaling when `calibrate` is on) and keeps the result in `rule.params`
(plain numbers, saved in metrics.json; `get_rule(cfg, params)` rebuilds a fitted rule from them);
`rule.proba(probs, present, logprobs)` and `rule.log_proba(...)` fuse with them. Each rule writes two
hooks, its maths: `fit(val_probs, val_y, train_acc) -> params` and `combine(probs, params, present) ->
(n, q)` (and optionally `combine_log`, exact in log space). `fitted_on_val(cfg)` says before any
training whether the configured rule needs a validation split. `present` is an optional list of (n,)
boolean masks: a missing modality gets weight 0 for that sample and the remaining weights are
renormalised.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig

from mmfusion.errors import DataError
from mmfusion.schemas import over_defaults, registry
from mmfusion.schemas.check.val_split import require_val_split
from mmfusion.schemas.fusion import RuleSchema


class Rule:
    """Base of every rule; `fits_on_val = True` for rules always fitted on the validation split."""

    fits_on_val = False

    def __init__(self, cfg=None, params: dict | None = None):
        self.cfg = self.settings(cfg)
        self.params = params  # the fitted parameters (None: not fitted yet)

    @classmethod
    def schema(cls) -> type:
        """The dataclass registered for this rule (mmfusion/schemas/fusion.py): its keys and defaults."""
        return registry.schema_of("fusion", cls) or RuleSchema

    @classmethod
    def settings(cls, cfg=None) -> DictConfig:
        """`cfg` over the schema's defaults: a rule built without a config, or from some of its keys,
        reads the same values as `fusion=<name>` would give. Keys the schema does not know (a saved
        config of an older run) are left out."""
        return over_defaults(cls.schema(), cfg)

    @classmethod
    def fitted_on_val(cls, cfg) -> bool:
        """Whether this configuration is fitted on validation data (temperature scaling counts too)."""
        return cls.fits_on_val or cls.settings(cfg).calibrate

    def fit(self, val_probs, val_y, train_acc) -> dict:
        raise NotImplementedError

    def combine(self, probs, params, present=None) -> np.ndarray:
        raise NotImplementedError

    # --- the fitted rule ---------------------------------------------------------------------------------

    def fitted(self, val_probs, val_y, train_acc, val_logprobs=None) -> Rule:
        """Fit this rule and keep its parameters, after per-modality temperature scaling when
        `calibrate` is on (the temperatures, fitted on the log-probabilities, join the params)."""
        from mmfusion import probability

        temps = None
        if self.cfg.calibrate:
            if val_probs is None or val_y is None or len(val_y) == 0:
                require_val_split(None, "fusion.calibrate=true fits temperatures on a validation split")
            val_log = _logs(val_probs, val_logprobs)
            temps = [probability.fit_temperature(lp, val_y) for lp in val_log]
            val_probs = [np.exp(probability.temper_log(lp, t)) for lp, t in zip(val_log, temps)]
        params = self.fit(val_probs, val_y, train_acc)
        self.params = {**params, "temperatures": temps} if temps is not None else params
        return self

    def proba(self, probs, present=None, logprobs=None) -> np.ndarray:
        """Fused (n, q) probabilities with the fitted parameters (temperatures first)."""
        params = self._params()
        if params.get("temperatures") is not None:
            probs = [np.exp(lp) for lp in self._tempered(probs, logprobs)]
        return self.combine(probs, params, present)

    def log_proba(self, probs, present=None, logprobs=None) -> np.ndarray:
        """Fused (n, q) log-probabilities: in log space for the rules that define `combine_log` (weighted
        averages, product, stacking, per-class), else the log of `proba`."""
        from mmfusion.probability import as_log

        logs = self._tempered(probs, logprobs)
        if hasattr(self, "combine_log"):
            return self.combine_log(logs, self._params(), present)
        return as_log(self.combine([np.exp(lp) for lp in logs], self._params(), present))

    def _params(self) -> dict:
        if self.params is None:
            raise RuntimeError(f"fusion rule {type(self).__name__} is not fitted: call fitted() first")
        return self.params

    def _tempered(self, probs, logprobs) -> list[np.ndarray]:
        """Per-modality log-probabilities after the fitted temperatures (if any)."""
        from mmfusion import probability

        logs = _logs(probs, logprobs)
        temps = self._params().get("temperatures")
        return [probability.temper_log(lp, t) for lp, t in zip(logs, temps)] if temps is not None else logs


def _logs(probs, logprobs) -> list[np.ndarray]:
    from mmfusion.probability import as_log

    return [as_log(p, lp) for p, lp in zip(probs, logprobs if logprobs is not None else [None] * len(probs))]


def need_val(val_probs, val_y, rule: str) -> tuple[np.ndarray, np.ndarray]:
    if val_probs is None or val_y is None or len(val_y) == 0:
        require_val_split(None, f"fusion={rule} is fitted on a validation split")
    return stack(val_probs), np.asarray(val_y, dtype=np.int64)


def stack(probs) -> np.ndarray:
    p = np.stack([np.asarray(a, dtype=np.float64) for a in probs])  # (m, n, q)
    if p.ndim != 3:
        raise ValueError(f"expected a list of (n, q) arrays, got shape {p.shape}")
    return p


def presence(present, m: int, n: int) -> np.ndarray:
    if present is None:
        return np.ones((m, n), dtype=bool)
    mask = np.stack([np.asarray(a, dtype=bool) for a in present])
    if mask.shape != (m, n):
        raise ValueError(f"presence masks have shape {mask.shape}, expected {(m, n)}")
    return mask


def present_weights(weights, mask: np.ndarray) -> np.ndarray:
    """(m, n) weights per sample, renormalised over the modalities present; refuses samples with none."""
    ww = np.asarray(weights, dtype=np.float64)[:, None] * mask
    total = ww.sum(axis=0)
    if (total <= 0).any():
        raise DataError(f"{int((total <= 0).sum())} sample(s) have no modality present (or only zero-weight ones)")
    return ww / total


def weighted_average(probs, weights, present=None) -> np.ndarray:
    """P = sum_i w_i p_i (eq. 13), with weights renormalised over the modalities present per sample."""
    p = stack(probs)
    m, n, _ = p.shape
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (m,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be {m} non-negative numbers with a positive sum, got {w.tolist()}")
    mask = presence(present, m, n)
    p = np.where(mask[:, :, None], p, 0.0)  # an absent modality's row may hold NaN: it never counts
    return np.einsum("mn,mnq->nq", present_weights(w, mask), p)


def log_weighted_average(logprobs, weights, present=None) -> np.ndarray:
    """log of eq. 13 computed in log space: logsumexp_i(log w_i + log p_i), exact where p_i underflow."""
    from scipy.special import logsumexp

    lp = stack(logprobs)
    m, n, _ = lp.shape
    mask = presence(present, m, n)
    w = present_weights(weights, mask)
    with np.errstate(divide="ignore"):
        lw = np.log(w)  # -inf for absent / zero-weight modalities
    terms = np.where(mask[:, :, None] & (w[:, :, None] > 0), lw[:, :, None] + np.nan_to_num(lp, nan=0.0), -np.inf)
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


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == y))
