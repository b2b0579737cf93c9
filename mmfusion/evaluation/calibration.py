"""Calibration of class probabilities: temperature scaling and the scores that judge it.

Temperature scaling (Guo et al., 2017) on probabilities: p_T(k) = p(k)^(1/T) / sum_j p(j)^(1/T), i.e.
softmax(log p / T); one T > 0 per modality, fitted on the validation split by minimising the negative
log-likelihood. T > 1 softens over-confident models, T < 1 sharpens; the argmax never changes.
Scores (lower is better): NLL (mean -log p(true class)), Brier (mean squared distance to the one-hot
label, summed over classes) and ECE (expected calibration error: the |accuracy - confidence| gap of
`bins` equal-width confidence bins, weighted by their share of samples). Pure numpy/scipy.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

EPS = 1e-12  # probabilities are clipped to [EPS, 1] before taking logs


def _log(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0))


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T), row by row; NaN rows (an absent modality) stay NaN."""
    p = np.asarray(probs, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p).all(axis=1)
    z = _log(p[ok]) / float(temperature)
    e = np.exp(z - z.max(axis=1, keepdims=True)) if ok.any() else z
    out[ok] = e / e.sum(axis=1, keepdims=True)
    return out


def nll(y, probs) -> float:
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    return float(-np.mean(_log(p[np.arange(len(y)), y]))) if len(y) else float("nan")


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


def scores(y, probs, bins: int = 10) -> dict:
    return {"nll": nll(y, probs), "brier": brier(y, probs), "ece": ece(y, probs, bins)}


def fit_temperature(probs, y, bounds=(0.05, 20.0)) -> float:
    """The T minimising the NLL of softmax(log p / T) on (probs, y); searched on log T (bounded)."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    keep = np.isfinite(p).all(axis=1)
    p, y = p[keep], y[keep]
    if not len(y):
        return 1.0
    res = minimize_scalar(lambda t: nll(y, apply_temperature(p, np.exp(t))),
                          bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-6})
    return float(np.exp(res.x))
