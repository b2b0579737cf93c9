"""Uncertainty of test-set figures: percentile bootstrap CIs of accuracy and AUC, McNemar's test.

Bootstrap: `resamples` draws of the test samples with replacement (numpy Generator seeded by `seed`,
the same draws for every model of a run, so their intervals are comparable); a CI is the
((1-level)/2, (1+level)/2) percentiles of the statistic over the draws. A draw with no positive or no
negative of a class gives no AUC for it and is left out of that class's (and the macro) interval.
McNemar: exact two-sided binomial test on the discordant pairs (b: A right and B wrong; c: the reverse).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, rankdata


def _interval(values: np.ndarray, level: float) -> list[float] | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return [float(lo), float(hi)]


def auc_rows(pos: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """One-vs-rest AUC of each row (Mann-Whitney, ties counted half); NaN where a row lacks a class."""
    ranks = rankdata(scores, axis=1)
    n_pos = pos.sum(axis=1)
    n_neg = pos.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * pos).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def draws(n: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng([int(seed), 2024]).integers(0, n, size=(int(resamples), n))


def bootstrap(y, probs, classes: list[str], resamples: int = 1000, level: float = 0.95, seed: int = 0,
              idx: np.ndarray | None = None) -> dict:
    """CIs of accuracy, per-class AUC and macro AUC: {"accuracy_ci", "auc_ci": {class: ci}, "macro_auc_ci"}."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    if resamples <= 0 or not len(y):
        return {"accuracy_ci": None, "auc_ci": {c: None for c in classes}, "macro_auc_ci": None}
    idx = draws(len(y), resamples, seed) if idx is None else idx
    yb = y[idx]
    acc = (p.argmax(axis=1)[idx] == yb).mean(axis=1)
    per_class = np.stack([auc_rows(yb == k, p[idx, k]) for k in range(len(classes))], axis=1)  # (B, q)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(per_class)
        macro = np.where(valid.any(axis=1), np.nansum(per_class, axis=1) / np.maximum(valid.sum(axis=1), 1), np.nan)
    return {
        "accuracy_ci": _interval(acc, level),
        "auc_ci": {c: _interval(per_class[:, k], level) for k, c in enumerate(classes)},
        "macro_auc_ci": _interval(macro, level),
    }


def mcnemar(y, pred_a, pred_b) -> dict:
    """Exact McNemar test of two classifiers on the same samples: is A's accuracy different from B's?"""
    y, a, b = (np.asarray(v, dtype=np.int64) for v in (y, pred_a, pred_b))
    only_a = int(np.sum((a == y) & (b != y)))
    only_b = int(np.sum((a != y) & (b == y)))
    n = only_a + only_b
    p = float(binomtest(only_a, n, 0.5).pvalue) if n else 1.0
    return {"a_right_b_wrong": only_a, "a_wrong_b_right": only_b, "p_value": p, "method": "exact binomial"}


def fused_vs_best(y, probs: dict, present: dict, names: list[str]) -> dict | None:
    """McNemar of `fused` against the single modality with the highest test accuracy (on the samples
    that modality has; the best on test is the strongest rival, so the test is conservative for fused)."""
    singles = [m for m in names if m != "fused"]
    if "fused" not in probs or not singles:
        return None
    y = np.asarray(y)

    def acc(m):
        keep = present[m]
        return float(np.mean(probs[m][keep].argmax(axis=1) == y[keep])) if keep.any() else -1.0

    best = max(singles, key=acc)  # ties: the first in `names`
    keep = present[best]
    res = mcnemar(y[keep], probs["fused"][keep].argmax(axis=1), probs[best][keep].argmax(axis=1))
    return {"a": "fused", "b": best, "n": int(keep.sum()), **res}


def versus_best(y, probs: dict, present: dict, a: str, rivals: list[str]) -> dict | None:
    """McNemar of model `a` against the rival with the highest test accuracy (each rival on the samples
    it has); None when `a` or every rival is absent."""
    rivals = [r for r in rivals if r in probs and r != a]
    if a not in probs or not rivals:
        return None
    y = np.asarray(y)

    def acc(m):
        keep = present.get(m, np.ones(len(y), bool))
        return float(np.mean(probs[m][keep].argmax(axis=1) == y[keep])) if keep.any() else -1.0

    best = max(rivals, key=acc)  # ties: the first listed
    keep = present.get(best, np.ones(len(y), bool))
    res = mcnemar(y[keep], probs[a][keep].argmax(axis=1), probs[best][keep].argmax(axis=1))
    return {"a": a, "b": best, "n": int(keep.sum()), **res}
