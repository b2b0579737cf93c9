"""Calibration scores of class probabilities: Brier, the reliability diagram's bins and ECE.

Brier (mean squared distance to the one-hot label, summed over classes) and ECE (expected calibration
error: the |accuracy - confidence| gap of `bins` equal-width confidence bins, weighted by their share
of samples), lower is better; `scores` adds the NLL. The log-probability maths they share with the
models and fusion rules (log-softmax, temperature scaling, NLL) is mmfusion/probability.py.
"""

from __future__ import annotations

import numpy as np

from mmfusion.probability import nll


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
