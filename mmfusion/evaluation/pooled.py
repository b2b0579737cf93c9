"""Pooled out-of-fold evaluation of a cross-validation sweep (`dataset.cv.folds=K`), for `report`.

Over the K folds of one repeat (one seed) every unit (unique text, unique run; a sample where samples
are their own units) is tested exactly once, so the folds' test predictions pool into one
out-of-fold set. A statistic of the sweep is the mean over repeats of the statistic of each repeat's
pooled set. Intervals come from a cluster bootstrap over the units, drawn once and shared by every
repeat and model: a draw counts each unit c_u times (drawn within its class, which the design fixes),
and a pair weighs the product of its units' counts (stats.cluster_weights); the paired difference fused minus the best single model uses the
same draws. Reads only run directories.
"""

from __future__ import annotations

import numpy as np

from mmfusion.evaluation import stats
from mmfusion.evaluation.metrics import evaluate
from mmfusion.rundir.files import PREDICTIONS
from mmfusion.rundir.records import Predictions, read_predictions


def _load(job: dict, models: list[str], modalities: list[str]) -> dict:
    """One job's test arrays: its predictions.npz, or `job["pred"]` where the caller merged arrays of
    several files (a run's and its `fuse fusion=all` rules', reporting/hours.py)."""
    if "pred" in job:
        pred = Predictions(job["dir"] / PREDICTIONS, job["pred"])
    else:
        pred = read_predictions(job["dir"])
    out = {
        "y": pred.y("test"),
        "ids": pred.ids("test"),
        "probs": {m: pred.proba("test", m) for m in models},
        "present": {m: pred.present("test", m) for m in models},
        "units": {m: u.astype(str) for m in modalities if (u := pred.units("test", m)) is not None},
    }
    if not out["units"]:  # runs from before units were saved: each test sample is its own unit
        out["units"] = {"sample": out["ids"].astype(str)}
    return out


def _concat(parts: list[dict], models: list[str]) -> dict:
    keys = list(parts[0]["units"])
    return {
        "y": np.concatenate([p["y"] for p in parts]),
        "probs": {m: np.concatenate([p["probs"][m] for p in parts]) for m in models},
        "present": {m: np.concatenate([p["present"][m] for p in parts]) for m in models},
        "units": {k: np.concatenate([p["units"][k] for p in parts]) for k in keys},
    }


def _draws(repeats: list[dict], resamples: int, seed: int) -> list[np.ndarray]:
    """(B, n_r) weights per repeat from one draw of the units shared by all repeats; units are drawn
    within their class (the design fixes the pairs per class)."""
    rng = np.random.default_rng([int(seed), 2025])
    weights = [np.ones((resamples, len(r["y"]))) for r in repeats]
    seen = []
    for key in repeats[0]["units"]:
        arrays = [r["units"][key] for r in repeats]
        if any(all(np.array_equal(a, b) for a, b in zip(arrays, s)) for s in seen):
            continue  # the same clustering twice (samples that are their own units) counts once
        seen.append(arrays)
        labels = np.concatenate([r["y"] for r in repeats]).astype(str)
        keyed = np.char.add(np.char.add(labels, "\x1f"), np.concatenate(arrays).astype(str))
        _, first, codes = np.unique(keyed, return_index=True, return_inverse=True)
        counts = stats.stratified_counts(codes, labels[first], resamples, rng)  # (B, pairs over repeats)
        start = 0
        for i, a in enumerate(arrays):
            weights[i] *= counts[:, start : start + len(a)]
            start += len(a)
    return weights


def _interval(values: np.ndarray, level: float) -> list[float] | None:
    return stats._interval(np.asarray(values, dtype=float), level)


def _by_seed(jobs: list[dict]) -> tuple[int, dict[int, list], list[int]]:
    """(folds, {seed: its jobs} for the seeds with every fold finished, the seeds lacking a fold)."""
    by_seed: dict[int, list] = {}
    for j in jobs:
        by_seed.setdefault(int(j["metrics"]["seed"]), []).append(j)
    folds = int(jobs[0]["metrics"]["dataset"]["cv_folds"])
    complete = {s: js for s, js in by_seed.items() if len({j["metrics"]["dataset"]["cv_fold"] for j in js}) == folds}
    return folds, complete, sorted(set(by_seed) - set(complete))


def _repeats(complete: dict[int, list], models: list[str], modalities: list[str]) -> tuple[list[dict], list[dict]]:
    """(each seed's folds pooled into one out-of-fold set, in seed order; each fold's accuracies)."""
    repeats, per_fold = [], []
    for s, js in sorted(complete.items()):
        js = sorted(js, key=lambda j: j["metrics"]["dataset"]["cv_fold"])
        parts = [_load(j, models, modalities) for j in js]
        repeats.append(_concat(parts, models))
        for j in js:
            per_fold.append(
                {
                    "seed": s,
                    "fold": j["metrics"]["dataset"]["cv_fold"],
                    "n": j["metrics"]["models"][models[0]]["n"],
                    **{m: j["metrics"]["models"][m]["accuracy"] for m in models},
                }
            )
    return repeats, per_fold


def _score(m: str, repeats: list[dict], weights, classes: list, level: float) -> tuple[dict, np.ndarray | None]:
    """One model's pooled figures (mean over repeats; intervals from the shared draws) and its (B,)
    accuracy draws averaged over repeats (None without draws)."""
    evals, acc_b, auc_b = [], [], []
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    for i, r in enumerate(repeats):
        keep = r["present"][m]
        y, p = r["y"][keep], r["probs"][m][keep]
        e = evaluate(y, p, classes)
        evals.append(e)
        confusion += np.asarray(e["confusion"])
        if weights is not None:
            w = weights[i][:, keep]
            total = w.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                acc_b.append(np.where(total > 0, (w * (p.argmax(1) == y)).sum(1) / total, np.nan))
            auc_b.append(np.stack([stats.weighted_auc(y == k, p[:, k], w) for k in range(len(classes))], axis=1))
    res = {
        "accuracy": float(np.mean([e["accuracy"] for e in evals])),
        "accuracy_per_repeat": [e["accuracy"] for e in evals],
        "auc": {c: _mean([e["auc"][c] for e in evals]) for c in classes},
        "macro_auc": _mean([e["macro_auc"] for e in evals]),
        "confusion": confusion.tolist(),
        "n": int(sum(e["n"] for e in evals)),
    }
    if weights is None:
        return res, None
    acc_draws = np.mean(acc_b, axis=0)
    auc_mean = np.mean(auc_b, axis=0)  # (B, q), averaged over repeats
    res["accuracy_ci"] = _interval(acc_draws, level)
    res["auc_ci"] = {c: _interval(auc_mean[:, k], level) for k, c in enumerate(classes)}
    res["macro_auc_ci"] = _interval(np.nanmean(auc_mean, axis=1), level)
    return res, acc_draws


def pool(
    jobs: list[dict],
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    contrast: tuple[str, list[str]] | None = None,
) -> dict:
    """Pooled out-of-fold figures of the jobs of one group (folds x repeats). `contrast` (a, rivals):
    a minus the rival with the highest pooled accuracy, from the same draws, and McNemar per repeat;
    by default ("fused", the single-modality models) when the runs have a fused model."""
    m0 = jobs[0]["metrics"]
    models, classes, modalities = list(m0["models"]), list(m0["classes"]), list(m0["modalities"])
    folds, complete, incomplete = _by_seed(jobs)
    if not complete:
        return {"error": f"no seed has all {folds} folds finished", "incomplete_seeds": incomplete}
    repeats, per_fold = _repeats(complete, models, modalities)
    weights = _draws(repeats, resamples, seed) if resamples > 0 else None
    out = {
        "repeats": len(repeats),
        "folds": folds,
        "seeds": sorted(complete),
        "incomplete_seeds": incomplete,
        "pairs_per_repeat": int(np.mean([len(r["y"]) for r in repeats])),
        "units_covered": {k: int(len(np.unique(repeats[0]["units"][k]))) for k in repeats[0]["units"]},
        "per_fold": per_fold,
        "models": {},
    }
    acc_draws = {}
    for m in models:
        out["models"][m], draws = _score(m, repeats, weights, classes, level)
        if draws is not None:
            acc_draws[m] = draws
    if contrast is None and "fused" in models:
        contrast = ("fused", [m for m in models if m in modalities])  # not the joint network, no single model
    if contrast is not None and contrast[1]:
        out["comparison"] = _contrast(out, repeats, acc_draws, weights, level, *contrast)
    return out


def _contrast(out, repeats, acc_draws, weights, level, a: str, rivals: list[str]) -> dict:
    best = max(rivals, key=lambda m: out["models"][m]["accuracy"])  # ties: the first listed
    diff = {"a": a, "b": best, "difference": out["models"][a]["accuracy"] - out["models"][best]["accuracy"]}
    if weights is not None:
        ci = _interval(acc_draws[a] - acc_draws[best], level)
        diff.update({"difference_ci": ci, "resolved": bool(ci is not None and (ci[0] > 0 or ci[1] < 0))})
    mc = [
        stats.mcnemar(r["y"], r["probs"][a].argmax(1), r["probs"][best].argmax(1))
        for r in repeats
        if r["present"][best].all() and r["present"][a].all()
    ]
    if mc:
        diff["mcnemar_p_per_repeat"] = [c["p_value"] for c in mc]
        diff["mcnemar_per_repeat"] = mc
    return diff


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None
