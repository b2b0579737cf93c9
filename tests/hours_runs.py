"""Small fake sweeps of `dataset.series.window.length` for the accuracy-against-hours report, written
with the project's own run-directory writers (mmfusion/rundir/): no training, no simulation.

Each job has four base models (`series`, `series_conv1d`, `text`, `text_tfidf_logreg`), the run's rule
`fused`, the joint network `joint`, and (where asked) a finished `fuse/all-<stamp>` folder with every
rule of mmfusion.fusion.FUSIONS, as `mmfusion fuse <job> fusion=all` writes it. The probabilities are
drawn so that each line is right on a known share of the samples; the tests recompute the pooled
accuracies from the arrays (`PROBS`), not from these shares.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from mmfusion.fusion import FUSIONS
from mmfusion.rundir.files import METRICS, PREDICTIONS, write_json, write_npz, write_text
from mmfusion.rundir.markers import mark_complete
from mmfusion.rundir.records import Metrics, write_metrics

CLASSES = ["a", "b", "c"]
BASE = ["series", "series_conv1d", "text", "text_tfidf_logreg"]
WINDOWS = {10: 0.5, 20: 1.0}  # window length -> hours since onset (x 0.05 h)
PER_FOLD = 12  # test pairs per fold


def _probs(rng, y: np.ndarray, share: float) -> np.ndarray:
    """(n, q) probabilities whose argmax is y on about `share` of the samples, another class elsewhere."""
    n, q = len(y), len(CLASSES)
    right = rng.random(n) < share
    top = np.where(right, y, (y + rng.integers(1, q, n)) % q)
    p = rng.dirichlet(np.ones(q), n) * 0.4
    p[np.arange(n), top] += 1.0
    return p / p.sum(1, keepdims=True)


def _share(model: str, length: int) -> float:
    early = length == 10
    return {
        "series": 0.4 if early else 0.7,
        "series_conv1d": 0.45 if early else 0.75,
        "text": 0.8,
        "text_tfidf_logreg": 0.85,
        "fused": 0.82 if early else 0.9,
        "joint": 0.7 if early else 0.8,
    }.get(model, 0.8 if early else 0.92)


def write_job(
    job: Path,
    length: int,
    seed: int,
    fold: int | None,
    folds: int,
    refused: bool,
    rng,
    joint: bool = True,
    units: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """One finished job (and its fuse/all-* folder when `refused`); returns its test arrays by line."""
    n = PER_FOLD
    y = np.arange(n) % len(CLASSES)
    present_text = np.ones(n, bool)
    present_text[0] = False  # one pair without its text: the text models leave it out
    models = BASE + ["fused"] + (["joint"] if joint else [])
    probs = {m: _probs(rng, y, _share(m, length)) for m in models}
    for m in ("text", "text_tfidf_logreg"):
        probs[m][~present_text] = np.nan
    present = {m: (present_text if m.startswith("text") else np.ones(n, bool)) for m in models}
    texts, runs = units or (np.array([f"t{i}" for i in range(n)]), np.array([f"r{i}" for i in range(n)]))
    arrays = {"classes": np.asarray(CLASSES), "y_test": y, "ids_test": np.arange(n).astype(str)}
    arrays |= {"units_test_text": texts, "units_test_series": runs}
    arrays |= {f"present_test_{m}": present[m] for m in BASE}
    arrays |= {f"proba_test_{m}": p for m, p in probs.items()}
    dataset = {"series_info": {"window_start": 0, "window_length": length, "sample_interval_h": 0.05}}
    if fold is not None:
        dataset |= {"cv_folds": folds, "cv_fold": fold}
    results = {m: _scores(y, probs[m], present[m]) for m in models}
    metrics = Metrics(
        classes=list(CLASSES),
        modalities=list(BASE),
        models=results,
        train_accuracy={m: 1.0 for m in BASE},
        fusion={"name": "accuracy", "params": {}},
        dataset=dataset,
        seed=seed,
        joint={"name": "lstm"} if joint else None,
    )
    job.mkdir(parents=True)
    over = [f"dataset.series.window.length={length}", f"seed={seed}"] + (
        [f"dataset.cv.fold={fold}"] if fold is not None else []
    )
    (job / ".hydra").mkdir()
    write_text(job / ".hydra" / "overrides.yaml", yaml.safe_dump(over))
    write_npz(job / PREDICTIONS, arrays)
    write_metrics(job, metrics)
    mark_complete(job)
    shown = {m: (probs[m], present[m]) for m in models}
    if refused:
        out = job / "fuse" / "all-20260101-000000"
        out.mkdir(parents=True)
        rules = {r: _probs(rng, y, _share(r, length) - 0.05 * i) for i, r in enumerate(FUSIONS)}
        fuse_arrays = {k: v for k, v in arrays.items() if not k.endswith("_fused")}
        fuse_arrays |= {f"proba_test_{r}": p for r, p in rules.items()}
        write_npz(out / PREDICTIONS, fuse_arrays)
        ones = np.ones(n, bool)
        write_json(
            out / METRICS,
            {
                "classes": CLASSES,
                "modalities": BASE,
                "models": {m: results[m] for m in BASE},
                "rules": {r: _scores(y, p, ones) for r, p in rules.items()},
                "joint": None,
            },
        )
        mark_complete(out)
        shown |= {f"rule {r}": (p, ones) for r, p in rules.items()}
    return {"y": y, "lines": shown}


def _scores(y, p, present) -> dict:
    from mmfusion.evaluation.metrics import evaluate

    return evaluate(y[present], p[present], CLASSES)


def cv_sweep(root: Path, seeds=(0, 1), folds: int = 2, refused: bool = True) -> dict:
    """A cross-validated sweep: every window x seed x fold a job; returns {(hours, seed): [fold arrays]}."""
    rng = np.random.default_rng(7)
    out: dict = {}
    i = 0
    for length, hours in WINDOWS.items():
        for seed in seeds:
            for fold in range(folds):
                tag = f"f{fold}"  # each fold tests other texts and runs; every repeat the same ones
                units = (
                    np.array([f"t{tag}_{k}" for k in range(PER_FOLD)]),
                    np.array([f"r{tag}_{k // 2}" for k in range(PER_FOLD)]),  # two pairs per run
                )
                job = write_job(root / str(i), length, seed, fold, folds, refused, rng, units=units)
                out.setdefault((hours, seed), []).append(job)
                i += 1
    return out


def split_sweep(root: Path, seeds=(0,), refused: bool = True) -> dict:
    """A single-split sweep (no cross-validation): every window x seed a job."""
    rng = np.random.default_rng(11)
    out: dict = {}
    for i, (length, seed) in enumerate((w, s) for w in WINDOWS for s in seeds):
        out.setdefault(WINDOWS[length], []).append(write_job(root / str(i), length, seed, None, 1, refused, rng))
    return out
