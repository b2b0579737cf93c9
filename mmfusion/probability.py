"""Probability maths on class probabilities, below the models, the fusion rules and evaluation.

Everything works on log-probabilities (the models' log-softmax outputs, kept in predictions.npz as
`logproba_*`), never on clipped probabilities: a confidently wrong model (p(true) ~ 1e-15) keeps its
true log-likelihood, so neither the NLL nor the fitted temperature is biased. Where only
probabilities exist (older runs), their unclipped logs are used.
Temperature scaling (Guo et al., 2017): p_T = softmax(log p / T); one T > 0 per modality, fitted on
the validation split by minimising the negative log-likelihood. T > 1 softens over-confident models,
T < 1 sharpens; the argmax never changes. Pure numpy/scipy.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def log_softmax(z) -> np.ndarray:
    """Row-wise log-softmax of logits (float64; rows that are all NaN stay NaN)."""
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        s = z - m
        return s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))


def as_log(probs, logprobs=None) -> np.ndarray:
    """The log-probabilities: `logprobs` when given, else log(probs) unclipped (0 -> -inf)."""
    if logprobs is not None:
        return np.asarray(logprobs, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(probs, dtype=np.float64))


def temper_log(logprobs, temperature: float) -> np.ndarray:
    """log softmax(log p / T), row by row; NaN rows (an absent modality) stay NaN."""
    lp = np.asarray(logprobs, dtype=np.float64)
    out = np.full_like(lp, np.nan)
    ok = ~np.isnan(lp).any(axis=1)
    if ok.any():
        out[ok] = log_softmax(lp[ok] / float(temperature))
    return out


def apply_temperature(probs: np.ndarray, temperature: float, logprobs=None) -> np.ndarray:
    """softmax(log p / T) as probabilities (from `logprobs` when given); NaN rows stay NaN."""
    return np.exp(temper_log(as_log(probs, logprobs), temperature))


def nll(y, probs, logprobs=None) -> float:
    """Mean -log p(true class), from `logprobs` when given (exact), else from unclipped log(probs)."""
    y = np.asarray(y, dtype=np.int64)
    if not len(y):
        return float("nan")
    lp = as_log(probs, logprobs)
    return float(-np.mean(lp[np.arange(len(y)), y]))


def fit_temperature(logprobs, y, bounds=(0.05, 20.0)) -> float:
    """The T minimising the NLL of softmax(log p / T) on (log-probabilities, y); searched on log T
    (bounded). Rows with NaN (an absent modality) are left out."""
    lp = np.asarray(logprobs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    keep = ~np.isnan(lp).any(axis=1)
    lp, y = lp[keep], y[keep]
    if not len(y):
        return 1.0
    res = minimize_scalar(
        lambda t: nll(y, None, temper_log(lp, np.exp(t))),
        bounds=(np.log(bounds[0]), np.log(bounds[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))
