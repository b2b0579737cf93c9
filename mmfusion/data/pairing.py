"""The one shared step after the sources: stratified splitting and assembling a Dataset.

Sources only produce raw arrays or texts for one modality; how modalities are paired and how samples
are split happens here, the same for every source.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.model_selection import train_test_split

from mmfusion.arrays import Rows
from mmfusion.data.dataset import Dataset, Split
from mmfusion.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def check_fractions(test_fraction: float, val_fraction: float) -> None:
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"dataset.test_fraction must be in (0, 1), got {test_fraction}")
    if not 0.0 <= val_fraction < 1.0 or test_fraction + val_fraction >= 1.0:
        raise ConfigError(
            f"dataset.val_fraction must be in [0, 1) with test_fraction + val_fraction < 1, "
            f"got val_fraction={val_fraction}, test_fraction={test_fraction}"
        )


def stratified_split(
    y: np.ndarray, test_fraction: float, val_fraction: float, seed: int, classes: list[str]
) -> dict[str, np.ndarray]:
    """Indices of train / (val) / test, stratified by class; val is carved from the non-test part."""
    check_fractions(test_fraction, val_fraction)
    y = np.asarray(y)
    counts = np.bincount(y, minlength=len(classes))
    need = 2 + (val_fraction > 0)
    for k, c in enumerate(counts):
        if c < need:
            raise DataError(
                f"class {classes[k]!r} has {c} sample(s); at least {need} are needed to put one in "
                f"every split. Add samples of that class or drop it from the dataset's classes."
            )
    idx = np.arange(len(y))
    try:
        rest, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
        out = {"test": np.sort(test)}
        if val_fraction > 0:
            rel = val_fraction / (1.0 - test_fraction)
            train, val = train_test_split(rest, test_size=rel, stratify=y[rest], random_state=seed + 1)
            out["val"] = np.sort(val)
        else:
            train = rest
    except ValueError as err:  # scikit-learn: a side too small to hold one item of every class
        raise DataError(
            f"{len(y)} items of {len(classes)} classes cannot be split with dataset.test_fraction="
            f"{test_fraction} and dataset.val_fraction={val_fraction} so that every side has every "
            f"class ({err}); add samples (or runs) per class or raise the fractions"
        ) from None
    out["train"] = np.sort(train)
    return {k: out[k] for k in ("train", "val", "test") if k in out}


def cv_settings(cfg) -> tuple[int, int] | None:
    """(K, k) from `dataset.cv.folds` / `dataset.cv.fold`; None for the single split (folds null or 0)."""
    cv = cfg.get("cv") or {}
    folds, fold = cv.get("folds"), cv.get("fold", 0)
    if folds in (None, 0):
        return None
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise ConfigError(f"dataset.cv.folds must be an integer >= 2 (or null / 0 for one split), got {folds!r}")
    if not isinstance(fold, int) or isinstance(fold, bool) or not 0 <= fold < folds:
        raise ConfigError(
            f"dataset.cv.fold must be an integer in 0..{folds - 1} for dataset.cv.folds={folds}, got {fold!r}"
        )
    return folds, fold


def fold_of_units(units: np.ndarray, folds: int, rng: np.random.Generator, assigned: dict | None = None) -> dict:
    """unit -> fold: the shuffled unique units dealt round-robin, so fold sizes differ by at most one.
    Units already in `assigned` (e.g. a text filed under two classes) keep their fold; new ones join it."""
    assigned = {} if assigned is None else assigned
    uniq = [u for u in rng.permutation(np.unique(units)) if u not in assigned]
    start = int(rng.integers(folds))
    for i, u in enumerate(uniq):
        assigned[u] = (start + i) % folds
    return assigned


def stratified_folds(
    y: np.ndarray, cv: tuple[int, int], val_fraction: float, seed: int, classes: list[str]
) -> dict[str, np.ndarray]:
    """Indices of train / (val) / test for fold k of K: each sample (a unit) is tested in exactly one
    fold; val is carved, stratified, from the other K-1 folds (val_fraction of all samples)."""
    folds, fold = cv
    y = np.asarray(y)
    counts = np.bincount(y, minlength=len(classes))
    for k, c in enumerate(counts):
        if c < folds:
            raise DataError(
                f"class {classes[k]!r} has {c} sample(s), fewer than dataset.cv.folds={folds}; "
                f"lower dataset.cv.folds or add samples of that class"
            )
    check_fractions(1.0 / folds, val_fraction)
    rng = np.random.default_rng([seed, 11])
    which = np.empty(len(y), dtype=int)
    for k in range(len(classes)):  # per class: shuffled, dealt round-robin -> stratified folds
        idx = rng.permutation(np.flatnonzero(y == k))
        which[idx] = (np.arange(len(idx)) + rng.integers(folds)) % folds
    test, rest = np.flatnonzero(which == fold), np.flatnonzero(which != fold)
    out = {"test": test}
    if val_fraction > 0:
        rel = val_fraction / (1.0 - 1.0 / folds)
        rest, val = train_test_split(rest, test_size=rel, stratify=y[rest], random_state=seed + 1)
        out["val"] = np.sort(val)
    out["train"] = np.sort(rest)
    return {k: out[k] for k in ("train", "val", "test") if k in out}


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


def _split_counts(n: int, test_fraction: float, val_fraction: float) -> dict[str, int]:
    test = max(1, int(round(n * test_fraction)))
    val = max(1, int(round(n * val_fraction))) if val_fraction > 0 else 0
    return {"train": n - test - val, "val": val, "test": test}


def _draw(pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices from pool: each unit once (shuffled) while it lasts, the rest resampled with replacement."""
    if n <= len(pool):
        return rng.permutation(pool)[:n]
    extra = rng.choice(pool, size=n - len(pool), replace=True)
    return rng.permutation(np.concatenate([pool, extra]))


def _fold_units(
    groups: np.ndarray, cv: tuple[int, int], counts: dict, rng, what: str, cls: str, assigned: dict
) -> dict:
    """Fold k's units of one class on the test side; val carved from the other folds' units."""
    folds, fold = cv
    which = assigned  # dealt once per dataset (below), the same for every fold k
    if len(set(groups)) < folds:
        raise DataError(
            f"class {cls!r} has {len(set(groups))} distinct {what}, fewer than dataset.cv.folds={folds}; "
            f"lower dataset.cv.folds or add data for that class"
        )
    on_test = np.asarray([which[g] == fold for g in groups])
    out = {"test": np.flatnonzero(on_test)}
    rest_units = np.asarray(sorted({g for g, t in zip(groups, on_test) if not t}), dtype=object)
    if counts["val"]:
        rest_units = rng.permutation(rest_units)
        k = max(1, int(round(len(rest_units) * counts["val"] / (counts["train"] + counts["val"]))))
        if k >= len(rest_units):
            raise DataError(
                f"class {cls!r} has too few distinct {what} to carve a validation split from the "
                f"training folds; lower dataset.val_fraction"
            )
        out["val"] = np.flatnonzero(np.isin(groups, rest_units[:k]))
        rest_units = rest_units[k:]
    out["train"] = np.flatnonzero(np.isin(groups, rest_units))
    return out


def _split_units(groups: np.ndarray, fixed: np.ndarray | None, counts: dict, rng, what: str, cls: str) -> dict:
    """Assign the unique units (texts, runs) of one class to splits in the pairs' proportions."""
    uniq = rng.permutation(np.unique(groups))
    wanted = [s for s in ("train", "val", "test") if counts[s] > 0]
    if fixed is not None:  # the source fixed train/test (e.g. Braatz files): val comes from train
        out = {s: np.flatnonzero(fixed == s) for s in ("train", "test")}
        if counts["val"]:
            tr = rng.permutation(out["train"])
            k = max(1, int(round(len(tr) * counts["val"] / (counts["train"] + counts["val"]))))
            out["val"], out["train"] = np.sort(tr[:k]), np.sort(tr[k:])
    else:
        total = sum(counts.values())
        sizes = {s: max(1, int(round(len(uniq) * counts[s] / total))) for s in wanted if s != "train"}
        parts, start = {}, 0
        for s in [s for s in wanted if s != "train"]:
            parts[s] = uniq[start : start + sizes[s]]
            start += sizes[s]
        parts["train"] = uniq[start:]
        out = {s: np.flatnonzero(np.isin(groups, parts[s])) for s in wanted}
    for s in wanted:
        if len(out.get(s, [])) == 0:
            raise DataError(
                f"class {cls!r} has too few distinct {what} ({len(uniq)}) to put one in the {s} split; "
                f"add data for that class or lower dataset.test_fraction / dataset.val_fraction"
            )
    return out


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
    t_groups = np.asarray([t.strip() for t in texts.texts], dtype=object)
    s_groups = np.asarray(series.run_ids).astype(str)
    first_row = {}
    for g, i in zip(t_groups, texts.ids):  # a text unit is named by the first row that holds it
        first_row.setdefault(g, str(i))
    t_units = np.asarray([first_row[g] for g in t_groups])
    by_split: dict[str, list] = {s: [] for s in counts if counts[s] > 0}
    t_fold, s_fold = {}, {}  # cv: unit -> fold, shared by the classes (a text may be filed under two)
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
            t_parts = _fold_units(t_groups[t_idx], cv, counts, rng, "texts", cls, t_fold)
            s_parts = _fold_units(s_groups[s_idx], cv, counts, rng, "time series runs", cls, s_fold)
            for s in by_split:
                n = max(counts[s], len(t_parts[s]), len(s_parts[s])) if s == "test" else counts[s]
                by_split[s].append((np.full(n, k), t_idx[_draw(t_parts[s], n, rng)], s_idx[_draw(s_parts[s], n, rng)]))
        elif split_before_resampling or series.split is not None:
            fixed = series.split[s_idx] if series.split is not None else None
            t_parts = (
                _split_units(t_groups[t_idx], None, counts, rng, "texts", cls)
                if split_before_resampling
                else {s: np.arange(len(t_idx)) for s in by_split}
            )
            s_parts = _split_units(s_groups[s_idx], fixed, counts, rng, "time series runs", cls)
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
    """How many test samples share their text / run with a training sample (leakage made visible)."""
    train_t, train_s = (set(a) for a in sources["train"])
    test_t, test_s = sources["test"]
    info = {
        "test_texts_also_in_train": int(sum(t in train_t for t in test_t)),
        "test_series_runs_also_in_train": int(sum(r in train_s for r in test_s)),
    }
    for s, (t, r) in sources.items():
        info[f"unique_texts_{s}"] = int(len(set(t)))
        info[f"unique_series_runs_{s}"] = int(len(set(r)))
    return info
