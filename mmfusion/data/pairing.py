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
from mmfusion.errors import DataError

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
    Either may be None (a run that trains one modality builds only that one): the samples are then
    drawn from the other pool alone, split the same way.

    split_before_resampling=True (honest): unique texts and runs are split first, so no text or run is
    on both sides; each split is then filled by resampling within itself. False (the paper's looser
    protocol): pairs are resampled from all data, then split, so duplicates can straddle the split.
    cv=(K, k): the units (unique texts, unique runs) of each class are dealt into K folds; fold k's
    units are the test side (at least one pair per unit, so over the K folds every unit is tested
    exactly once), the other folds' units train (val carved from them); pairs are drawn within a side.
    """
    fixed_split = series is not None and series.split is not None
    test_fraction = _test_fraction(texts, series, cv, test_fraction)
    check_fractions(test_fraction, val_fraction)
    rng = np.random.default_rng([seed, 7])
    counts = _split_counts(samples_per_class, test_fraction, val_fraction)
    t_groups, t_units = _text_units(texts) if texts is not None else (None, None)
    s_groups = np.asarray(series.run_ids).astype(str) if series is not None else None
    # one pool per modality built: (modality, the unit of each item, its label)
    pools = [(m, g, d.y) for m, g, d in (("text", t_groups, texts), ("series", s_groups, series)) if d is not None]
    names = [s for s in counts if counts[s] > 0]
    by_split: dict[str, list] = {s: [] for s in names}
    sides: dict[str, dict] = {m: {} for m, _, _ in pools}  # unit -> split (or val / train within the training folds)
    folds = _deal_folds(pools, len(classes), cv, seed)
    for k, cls in enumerate(classes):
        idx = _class_rows(pools, k, cls)
        if cv is not None:
            chunks = _draw_fold_sides(pools, idx, k, cls, cv, counts, names, rng, folds, sides)
        elif split_before_resampling or fixed_split:
            fixed = series.split if fixed_split else None
            chunks = _split_then_draw(pools, idx, k, cls, fixed, split_before_resampling, counts, names, rng, sides)
        else:
            chunks = _draw_then_split(
                pools, idx, k, cls, samples_per_class, test_fraction, val_fraction, seed, names, rng
            )
        for s in names:
            by_split[s].append(chunks[s])
    splits, sources = {}, {}
    for s, split_chunks in by_split.items():
        splits[s], sources[s] = _assemble_split(s, split_chunks, pools, texts, series, t_units, s_groups, rng)
    assert_every_class_present(splits, classes)
    info = overlap_info(sources)
    if cv is not None:
        info.update({"cv_folds": cv[0], "cv_fold": cv[1]})
    return Dataset(classes=list(classes), splits=splits, info=info)


def _test_fraction(texts, series, cv, test_fraction: float) -> float:
    """The test side's share: one fold's (1/K) under cv. The guards are for Python callers: the config
    check refuses folds with a series source that fixes its own split (dataset/series=braatz)."""
    if texts is None and series is None:
        raise ValueError("pair_by_label needs texts, time series or both")
    if cv is None:
        return test_fraction
    if series is not None and series.split is not None:  # folds need split_before_resampling: checked too
        raise ValueError(
            "dataset.cv.folds: this series source fixes its own train/test split "
            "(e.g. braatz); use dataset.cv.folds=null with it"
        )
    return 1.0 / cv[0]


WHAT = {"text": ("texts", "texts"), "series": ("time series", "time series runs")}  # (an item, a unit) in words


def _text_units(texts) -> tuple[np.ndarray, np.ndarray]:
    """Each text's group (case, spacing, punctuation aside) and its unit: the first row that holds it."""
    groups = np.asarray([text_key(t) for t in texts.texts], dtype=object)
    first_row = {}
    for g, i in zip(groups, texts.ids):
        first_row.setdefault(g, str(i))
    return groups, np.asarray([first_row[g] for g in groups])


def _deal_folds(pools, n_classes: int, cv, seed: int) -> dict[str, dict]:
    """cv: each modality's units dealt into K folds (unit -> fold), shared by the classes; dealt from their
    own generator, so every fold k sees the same assignment."""
    folds: dict[str, dict] = {m: {} for m, _, _ in pools}
    if cv is not None:
        fold_rng = np.random.default_rng([seed, 13])
        for k in range(n_classes):
            for m, groups, y in pools:
                fold_of_units(groups[y == k], cv[0], fold_rng, folds[m])
    return folds


def _class_rows(pools, k: int, cls: str) -> dict[str, np.ndarray]:
    """The rows of class k in each pool; a class missing from a source is a data error."""
    idx = {m: np.flatnonzero(y == k) for m, _, y in pools}
    for m, _, _ in pools:
        if len(idx[m]) == 0:
            raise DataError(f"class {cls!r} has no {WHAT[m][0]}; check dataset.classes against the sources")
    return idx


def _chunk(pools, idx, k: int, parts, n: int, rng) -> tuple:
    """n pairs of class k: (labels, rows of each pool drawn from its part)."""
    return (np.full(n, k), *(idx[m][_draw(parts[m], n, rng)] for m, _, _ in pools))


def _draw_fold_sides(pools, idx, k, cls, cv, counts, names, rng, folds, sides) -> dict[str, tuple]:
    """cv: fold k's units test (at least one pair each), the others train; pairs drawn within a side."""
    parts = {m: _fold_units(g[idx[m]], cv, counts, rng, WHAT[m][1], cls, folds[m], sides[m]) for m, g, _ in pools}
    out = {}
    for s in names:
        n = max(counts[s], *(len(p[s]) for p in parts.values())) if s == "test" else counts[s]
        out[s] = _chunk(pools, idx, k, {m: p[s] for m, p in parts.items()}, n, rng)
    return out


def _split_then_draw(pools, idx, k, cls, fixed, split_before_resampling, counts, names, rng, sides):
    """Unique units split first (the series' own split where the source fixes one), then each side filled
    by resampling within itself; texts are left unsplit when only the series' split is fixed."""
    parts = {}
    for m, g, _ in pools:
        if m == "text":
            parts[m] = (
                _split_units(g[idx[m]], None, counts, rng, WHAT[m][1], cls, sides[m])
                if split_before_resampling
                else {s: np.arange(len(idx[m])) for s in names}
            )
        else:
            own = fixed[idx[m]] if fixed is not None else None
            parts[m] = _split_units(g[idx[m]], own, counts, rng, WHAT[m][1], cls, sides[m])
    return {s: _chunk(pools, idx, k, {m: p[s] for m, p in parts.items()}, counts[s], rng) for s in names}


def _draw_then_split(pools, idx, k, cls, samples_per_class, test_fraction, val_fraction, seed, names, rng):
    """The paper's looser protocol: pairs resampled from all of the class's data, then split."""
    drawn = [idx[m][_draw(np.arange(len(idx[m])), samples_per_class, rng)] for m, _, _ in pools]
    order = stratified_split(np.zeros(samples_per_class, int), test_fraction, val_fraction, seed + k, [cls])
    return {s: (np.full(len(order[s]), k), *(d[order[s]] for d in drawn)) for s in names}


def _assemble_split(s: str, chunks, pools, texts, series, t_units, s_groups, rng) -> tuple[Split, dict]:
    """One split from its classes' chunks, shuffled; and each sample's unit per modality."""
    y = np.concatenate([c[0] for c in chunks])
    picked = {m: np.concatenate([c[1 + j] for c in chunks]) for j, (m, _, _) in enumerate(pools)}
    perm = rng.permutation(len(y))
    y, picked = y[perm], {m: v[perm] for m, v in picked.items()}
    names = []  # each sample is named by its text's record id and its run, joined by "+"
    if "text" in picked:
        names.append(np.asarray(texts.ids).astype(str)[picked["text"]])
    if "series" in picked:
        names.append(s_groups[picked["series"]])
    ids = np.asarray([f"{s}-{i:05d}:" + "+".join(parts) for i, parts in enumerate(zip(*names))])
    x, units = {}, {}
    if "text" in picked:
        x["text"], units["text"] = texts.texts[picked["text"]], t_units[picked["text"]]
    if "series" in picked:
        x["series"], units["series"] = Rows(series.x, picked["series"]), s_groups[picked["series"]]
    return Split(x=x, y=y, ids=ids, units=units), {m: g[picked[m]] for m, g, _ in pools}


def overlap_info(sources: dict[str, dict[str, np.ndarray]]) -> dict:
    """How many samples of one split share their text / run with a sample of another (leakage made
    visible): test in train, test in val, val in train; texts compared as grouped (splits.text_key).
    `sources[split][modality]` holds each sample's unit (text group, run) of the modalities built."""
    info = {}
    names = {"text": "texts", "series": "series_runs"}
    for a, b in (("test", "train"), ("test", "val"), ("val", "train")):
        if a in sources and b in sources:
            for m, what in names.items():
                if m in sources[a]:
                    other = set(sources[b][m])
                    info[f"{a}_{what}_also_in_{b}"] = int(sum(u in other for u in sources[a][m]))
    for s, by_modality in sources.items():
        for m, what in names.items():
            if m in by_modality:
                info[f"unique_{what}_{s}"] = int(len(set(by_modality[m])))
    return info
