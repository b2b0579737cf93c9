"""Calibration of class probabilities: temperature scaling and the scores that judge it.

Everything works on log-probabilities (the models' log-softmax outputs, kept in predictions.npz as
`logproba_*`), never on clipped probabilities: a confidently wrong model (p(true) ~ 1e-15) keeps its
true log-likelihood, so neither the NLL nor the fitted temperature is biased. Where only
probabilities exist (older runs), their unclipped logs are used.
Temperature scaling (Guo et al., 2017): p_T = softmax(log p / T); one T > 0 per modality, fitted on
the validation split by minimising the negative log-likelihood. T > 1 softens over-confident models, T < 1 sharpens; the argmax never changes.
Scores (lower is better): NLL (mean -log p(true class)), Brier (mean squared distance to the one-hot
label, summed over classes) and ECE (expected calibration error: the |accuracy - confidence| gap of
`bins` equal-width confidence bins, weighted by their share of samples). Pure numpy/scipy.
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


def brier(y, probs) -> float:
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1))) if len(y) else float("nan")


def reliability(y, probs, bins: int = 10) -> dict:
    """Per confidence bin: mean confidence, accuracy and count (empty bins are left out)."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    conf, correct = p.max(axis=1), (p.argmax(axis=1) == y).astype(float)
    which = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)  # (0, 1/b], (1/b, 2/b], ...
    out = {"confidence": [], "accuracy": [], "count": []}
    for b in range(bins):
        sel = which == b
        if sel.any():
            out["confidence"].append(float(conf[sel].mean()))
            out["accuracy"].append(float(correct[sel].mean()))
            out["count"].append(int(sel.sum()))
    return out


def ece(y, probs, bins: int = 10) -> float:
    r = reliability(y, probs, bins)
    n = sum(r["count"])
    if not n:
        return float("nan")
    return float(sum(c * abs(a - f) for c, a, f in zip(r["count"], r["accuracy"], r["confidence"])) / n)


def scores(y, probs, bins: int = 10, logprobs=None) -> dict:
    return {"nll": nll(y, probs, logprobs), "brier": brier(y, probs), "ece": ece(y, probs, bins)}


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
