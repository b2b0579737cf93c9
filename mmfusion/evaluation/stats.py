"""Uncertainty of test-set figures: percentile bootstrap CIs of accuracy and AUC, McNemar's test.

Bootstrap: `resamples` draws with replacement (numpy Generator seeded by `seed`, the same draws for
every model of a run, so their intervals are comparable, and a paired difference can be taken draw
by draw); a CI is the ((1-level)/2, (1+level)/2) percentiles of the statistic over the draws.
Cluster bootstrap (`cluster_weights`): test pairs are not independent when a few unique texts and
runs are resampled into many pairs, so the draws resample the units behind them: each clustering
(text ids, run ids) is resampled on its own and a pair counts (its text's count) x (its run's count)
times (the "pigeonhole" bootstrap of crossed factors, Owen 2007); with one clustering (samples that
are their own units) it is the ordinary bootstrap. With `strata` (the class of each pair: the design
fixes the pairs per class), units are drawn within their class, so each draw keeps the design's
class composition. A draw is a (resamples, n) matrix of weights. A draw with no positive or no
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


def _counts(codes: np.ndarray, n_units: int, resamples: int, rng) -> np.ndarray:
    """(B, n): how often each sample's unit is drawn when n_units units are drawn with replacement."""
    pick = rng.integers(0, n_units, size=(resamples, n_units)) + np.arange(resamples)[:, None] * n_units
    per_unit = np.bincount(pick.ravel(), minlength=resamples * n_units).reshape(resamples, n_units)
    return per_unit[:, codes].astype(np.float64)


def stratified_counts(codes: np.ndarray, unit_stratum: np.ndarray, resamples: int, rng) -> np.ndarray:
    """(B, n): like _counts, but each stratum's units are drawn from that stratum only (as many as it
    has), so every draw keeps the design's units per stratum (e.g. per class)."""
    per_unit = np.zeros((resamples, len(unit_stratum)))
    rows = np.arange(resamples)[:, None] * len(unit_stratum)
    for s in np.unique(unit_stratum):
        members = np.flatnonzero(unit_stratum == s)
        pick = members[rng.integers(0, len(members), size=(resamples, len(members)))]
        per_unit += np.bincount((pick + rows).ravel(), minlength=per_unit.size).reshape(per_unit.shape)
    return per_unit[:, codes]


def cluster_weights(units, resamples: int, seed: int, strata=None) -> np.ndarray:
    """(B, n) weights of a cluster bootstrap: `units` is a list of (n,) unit-id arrays (e.g. text ids,
    run ids); identical clusterings count once; None or [] -> every sample is its own unit. `strata`
    (n,) (e.g. the class of each pair, fixed by the design): units are drawn within their stratum."""
    clusterings = []
    for u in units or []:
        u = np.asarray(u).astype(str)
        if not any(np.array_equal(u, c) for c in clusterings):
            clusterings.append(u)
    rng = np.random.default_rng([int(seed), 2024])
    if not clusterings:
        return None
    w = np.ones((int(resamples), len(clusterings[0])))
    for u in clusterings:
        if strata is None:
            _, codes = np.unique(u, return_inverse=True)
            w *= _counts(codes, int(codes.max()) + 1, int(resamples), rng)
        else:
            st = np.asarray(strata).astype(str)
            keys, first, codes = np.unique(
                np.char.add(np.char.add(st, "\x1f"), u), return_index=True, return_inverse=True
            )
            w *= stratified_counts(codes, st[first], int(resamples), rng)
    return w


def weighted_auc(pos: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One-vs-rest AUC per draw with sample weights w (B, n): P(score_pos > score_neg) + ties / 2."""
    order = np.argsort(scores, kind="stable")
    s, pos = scores[order], pos[order]
    w = w[:, order]
    wneg, wpos = w * ~pos, w * pos
    cum = np.concatenate([np.zeros((len(w), 1)), np.cumsum(wneg, axis=1)], axis=1)  # (B, n+1)
    _, start, size = np.unique(s, return_index=True, return_counts=True)
    first = np.repeat(start, size)  # each sorted sample's tie group: [first, first + size)
    end = first + np.repeat(size, size)
    below, tied = cum[:, first], cum[:, end] - cum[:, first]
    n_pos, n_neg = wpos.sum(axis=1), wneg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (wpos * (below + 0.5 * tied)).sum(axis=1) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def bootstrap(
    y,
    probs,
    classes: list[str],
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    idx: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> dict:
    """CIs of accuracy, per-class AUC and macro AUC: {"accuracy_ci", "auc_ci": {class: ci}, "macro_auc_ci"}.
    weights (B, n): a cluster bootstrap's draws (cluster_weights); else samples are drawn (idx)."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    if resamples <= 0 or not len(y):
        return {"accuracy_ci": None, "auc_ci": {c: None for c in classes}, "macro_auc_ci": None}
    if weights is not None:
        total = weights.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = (weights * (p.argmax(axis=1) == y)).sum(axis=1) / total
        acc = np.where(total > 0, acc, np.nan)
        per_class = np.stack([weighted_auc(y == k, p[:, k], weights) for k in range(len(classes))], axis=1)
    else:
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


def paired_difference(y, pred_a, pred_b, weights: np.ndarray | None, level: float = 0.95) -> dict | None:
    """Accuracy of A minus accuracy of B on the same samples, with its CI from the same (cluster)
    bootstrap draws (B, n) that the models' own intervals use; None without draws."""
    if weights is None or not len(weights):
        return None
    y, a, b = (np.asarray(v, dtype=np.int64) for v in (y, pred_a, pred_b))
    d = (a == y).astype(float) - (b == y)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        diffs = np.where(total > 0, (weights * d).sum(axis=1) / total, np.nan)
    ci = _interval(diffs, level)
    return {
        "difference": float(d.mean()),
        "difference_ci": ci,
        "resolved": bool(ci is not None and (ci[0] > 0 or ci[1] < 0)),
    }


def fused_vs_best(
    y, probs: dict, present: dict, names: list[str], weights: np.ndarray | None = None, level: float = 0.95
) -> dict | None:
    """McNemar of `fused` against the single modality with the highest test accuracy (on the samples
    that modality has; the best on test is the strongest rival, so the test is conservative for fused),
    and, with bootstrap `weights` (B, n), the CI of the accuracy difference fused minus that modality."""
    singles = [m for m in names if m != "fused"]
    if "fused" not in probs or not singles:
        return None
    y = np.asarray(y)

    def acc(m):
        keep = present[m]
        return float(np.mean(probs[m][keep].argmax(axis=1) == y[keep])) if keep.any() else -1.0

    best = max(singles, key=acc)  # ties: the first in `names`
    keep = present[best]
    a, b = probs["fused"][keep].argmax(axis=1), probs[best][keep].argmax(axis=1)
    res = mcnemar(y[keep], a, b)
    diff = paired_difference(y[keep], a, b, weights[:, keep] if weights is not None else None, level)
    return {"a": "fused", "b": best, "n": int(keep.sum()), **res, **(diff or {})}


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
