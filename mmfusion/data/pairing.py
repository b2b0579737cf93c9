"""The one shared step after the sources: stratified splitting and assembling a Dataset.

Sources only produce raw arrays or texts for one modality; how modalities are paired and how samples
are split happens here, the same for every source (the splitting and fold assignment: splits.py).
"""

from __future__ import annotations

import logging

import numpy as np

from mmfusion.arrays import Rows
from mmfusion.data.dataset import Dataset, Split
from mmfusion.data.splits import (  # noqa: F401 (cv_settings is re-exported: sources import it from here)
    _draw,
    _fold_units,
    _split_counts,
    _split_units,
    check_fractions,
    cv_settings,
    fold_of_units,
    stratified_folds,
    stratified_split,
    text_key,
)
from mmfusion.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def assert_every_class_present(splits: dict[str, Split], classes: list[str]) -> None:
    for name, split in splits.items():
        counts = np.bincount(split.y, minlength=len(classes))
        empty = [classes[k] for k, c in enumerate(counts) if c == 0]
        if empty:
            raise DataError(
                f"the {name} split has no samples of class(es) {empty}; increase the number of "
                f"samples per class or change dataset.test_fraction / dataset.val_fraction."
            )


def make_dataset(
    classes: list[str],
    x: dict[str, np.ndarray],
    y: np.ndarray,
    ids: np.ndarray,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    info: dict | None = None,
    present: dict[str, np.ndarray] | None = None,
    cv: tuple[int, int] | None = None,
) -> Dataset:
    """Split aligned samples (every modality already paired sample by sample) into a Dataset; each
    sample is its own unit. cv=(K, k): fold k of a stratified K-fold instead of the single split.

    Numeric modalities become Rows views, so the splits index one array instead of copying it."""
    x = {k: Rows(v) if isinstance(v, np.ndarray) and v.dtype != object else v for k, v in x.items()}
    full = Split(x=x, y=y, ids=ids, present=dict(present or {}))
    if cv is None:
        parts = stratified_split(full.y, test_fraction, val_fraction, seed, classes)
    else:
        parts = stratified_folds(full.y, cv, val_fraction, seed, classes)
    splits = {name: full.subset(idx) for name, idx in parts.items()}
    assert_every_class_present(splits, classes)
    info = dict(info or {})
    if cv is not None:
        info.update({"cv_folds": cv[0], "cv_fold": cv[1]})
    return Dataset(classes=list(classes), splits=splits, info=info)


# --- pairing two independent single-modality pools by label (the paper's protocol) --------------


def pair_by_label(
    classes: list[str],
    texts,
    series,
    samples_per_class: int,
    test_fraction: float,
    val_fraction: float,
    split_before_resampling: bool,
    seed: int,
    cv: tuple[int, int] | None = None,
) -> Dataset:
    """Pair a TextData and a SeriesData that share only labels: `samples_per_class` pairs per class.

    split_before_resampling=True (honest): unique texts and runs are split first, so no text or run is
    on both sides; each split is then filled by resampling within itself. False (the paper's looser
    protocol): pairs are resampled from all data, then split, so duplicates can straddle the split.
    cv=(K, k): the units (unique texts, unique runs) of each class are dealt into K folds; fold k's
    units are the test side (at least one pair per unit, so over the K folds every unit is tested
    exactly once), the other folds' units train (val carved from them); pairs are drawn within a side.
    """
    if cv is not None:
        if not split_before_resampling:
            raise ConfigError(
                "dataset.cv.folds needs dataset.split_before_resampling=true: folds are made of "
                "unique texts and runs, which the paper's protocol resamples before splitting"
            )
        if series.split is not None:
            raise ConfigError(
                "dataset.cv.folds: this series source fixes its own train/test split "
                "(e.g. braatz); use dataset.cv.folds=null with it"
            )
        test_fraction = 1.0 / cv[0]
    check_fractions(test_fraction, val_fraction)
    rng = np.random.default_rng([seed, 7])
    counts = _split_counts(samples_per_class, test_fraction, val_fraction)
    t_groups = np.asarray([text_key(t) for t in texts.texts], dtype=object)  # case, spacing, punctuation aside
    s_groups = np.asarray(series.run_ids).astype(str)
    first_row = {}
    for g, i in zip(t_groups, texts.ids):  # a text unit is named by the first row that holds it
        first_row.setdefault(g, str(i))
    t_units = np.asarray([first_row[g] for g in t_groups])
    by_split: dict[str, list] = {s: [] for s in counts if counts[s] > 0}
    t_fold, s_fold = {}, {}  # cv: unit -> fold, shared by the classes (a text may be filed under two)
    t_side, s_side = {}, {}  # unit -> split (or val / train within the training folds), shared likewise
    if cv is not None:  # dealt from their own generator, so every fold k sees the same assignment
        fold_rng = np.random.default_rng([seed, 13])
        for k in range(len(classes)):
            fold_of_units(t_groups[texts.y == k], cv[0], fold_rng, t_fold)
            fold_of_units(s_groups[series.y == k], cv[0], fold_rng, s_fold)
    for k, cls in enumerate(classes):
        t_idx, s_idx = np.flatnonzero(texts.y == k), np.flatnonzero(series.y == k)
        for what, idx in (("texts", t_idx), ("time series", s_idx)):
            if len(idx) == 0:
                raise DataError(f"class {cls!r} has no {what}; check dataset.classes against the sources")
        if cv is not None:
            t_parts = _fold_units(t_groups[t_idx], cv, counts, rng, "texts", cls, t_fold, t_side)
            s_parts = _fold_units(s_groups[s_idx], cv, counts, rng, "time series runs", cls, s_fold, s_side)
            for s in by_split:
                n = max(counts[s], len(t_parts[s]), len(s_parts[s])) if s == "test" else counts[s]
                by_split[s].append((np.full(n, k), t_idx[_draw(t_parts[s], n, rng)], s_idx[_draw(s_parts[s], n, rng)]))
        elif split_before_resampling or series.split is not None:
            fixed = series.split[s_idx] if series.split is not None else None
            t_parts = (
                _split_units(t_groups[t_idx], None, counts, rng, "texts", cls, t_side)
                if split_before_resampling
                else {s: np.arange(len(t_idx)) for s in by_split}
            )
            s_parts = _split_units(s_groups[s_idx], fixed, counts, rng, "time series runs", cls, s_side)
            for s in by_split:
                n = counts[s]
                by_split[s].append((np.full(n, k), t_idx[_draw(t_parts[s], n, rng)], s_idx[_draw(s_parts[s], n, rng)]))
        else:
            ti, si = (
                t_idx[_draw(np.arange(len(t_idx)), samples_per_class, rng)],
                s_idx[_draw(np.arange(len(s_idx)), samples_per_class, rng)],
            )
            order = stratified_split(np.zeros(samples_per_class, int), test_fraction, val_fraction, seed + k, [cls])
            for s in by_split:
                by_split[s].append((np.full(len(order[s]), k), ti[order[s]], si[order[s]]))
    splits, sources = {}, {}
    for s, chunks in by_split.items():
        y = np.concatenate([c[0] for c in chunks])
        ti = np.concatenate([c[1] for c in chunks])
        si = np.concatenate([c[2] for c in chunks])
        perm = rng.permutation(len(y))
        y, ti, si = y[perm], ti[perm], si[perm]
        ids = np.asarray([f"{s}-{i:05d}:{texts.ids[a]}+{s_groups[b]}" for i, (a, b) in enumerate(zip(ti, si))])
        splits[s] = Split(
            x={"text": texts.texts[ti], "series": Rows(series.x, si)},
            y=y,
            ids=ids,
            units={"text": t_units[ti], "series": s_groups[si]},
        )
        sources[s] = (t_groups[ti], s_groups[si])
    assert_every_class_present(splits, classes)
    info = overlap_info(sources)
    if cv is not None:
        info.update({"cv_folds": cv[0], "cv_fold": cv[1]})
    return Dataset(classes=list(classes), splits=splits, info=info)


def overlap_info(sources: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """How many samples of one split share their text / run with a sample of another (leakage made
    visible): test in train, test in val, val in train; texts compared as grouped (splits.text_key)."""
    info = {}
    for a, b in (("test", "train"), ("test", "val"), ("val", "train")):
        if a in sources and b in sources:
            for what, j in (("texts", 0), ("series_runs", 1)):
                other = set(sources[b][j])
                info[f"{a}_{what}_also_in_{b}"] = int(sum(u in other for u in sources[a][j]))
    for s, (t, r) in sources.items():
        info[f"unique_texts_{s}"] = int(len(set(t)))
        info[f"unique_series_runs_{s}"] = int(len(set(r)))
    return info
