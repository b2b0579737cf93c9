"""How samples and units are split: stratified train / val / test by fractions, cross-validation folds
(`dataset.cv`) of samples or of units (texts, runs), and the per-class unit splits and draws that
pairing.py uses to pair two single-modality pools.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.model_selection import train_test_split

from mmfusion.errors import DataError


def text_key(text) -> str:
    """The unit a text belongs to: lower case, punctuation as spaces, runs of whitespace as one space.
    Texts with the same key are one unit, kept on one side of every split whatever their labels."""
    return " ".join(re.sub(r"[^\w\s]", " ", str(text).lower()).split())


def check_fractions(test_fraction: float, val_fraction: float) -> None:
    """For Python callers (ValueError): the config check refuses the same fractions first."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"dataset.test_fraction must be in (0, 1), got {test_fraction}")
    if not 0.0 <= val_fraction < 1.0 or test_fraction + val_fraction >= 1.0:
        raise ValueError(
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
    """(K, k) from `dataset.cv.folds` / `dataset.cv.fold`; None for the single split (folds null or 0).
    The ValueErrors are for a config that skipped the config check, which refuses the same values."""
    folds, fold = cfg.cv.folds, cfg.cv.fold
    if folds in (None, 0):
        return None
    if not isinstance(folds, int) or isinstance(folds, bool) or folds < 2:
        raise ValueError(f"dataset.cv.folds must be an integer >= 2 (or null / 0 for one split), got {folds!r}")
    if not isinstance(fold, int) or isinstance(fold, bool) or not 0 <= fold < folds:
        raise ValueError(
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
    groups: np.ndarray,
    cv: tuple[int, int],
    counts: dict,
    rng,
    what: str,
    cls: str,
    assigned: dict,
    sides: dict | None = None,
) -> dict:
    """Fold k's units of one class on the test side; val carved from the other folds' units. `sides`
    (unit -> val / train), shared by the classes, keeps a unit filed under two classes on one side."""
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
        val_units, rest_units = _deal(rest_units, {"val": k}, "train", {} if sides is None else sides)
        if not len(val_units["val"]) or not len(rest_units):
            raise DataError(
                f"class {cls!r}: its {what} filed under other classes too leave it no validation or no "
                f"training {what} in fold {fold}; lower dataset.val_fraction or add data for that class"
            )
        out["val"] = np.flatnonzero(np.isin(groups, np.asarray(val_units["val"], dtype=object)))
    out["train"] = np.flatnonzero(np.isin(groups, np.asarray(rest_units, dtype=object)))
    return out


def _deal(uniq, sizes: dict, rest: str, assigned: dict) -> tuple[dict, list]:
    """Shuffled units `uniq` dealt in order: sizes[s] to each side s, the remainder to `rest`; a unit in
    `assigned` (another class already placed it) keeps its side and counts towards that side's size.
    Records every unit's side in `assigned`; returns the units of each side in `sizes` and of `rest`."""
    parts = {s: [u for u in uniq if assigned.get(u) == s] for s in sizes}
    kept = [u for u in uniq if assigned.get(u) == rest]
    new = [u for u in uniq if u not in assigned]
    start = 0
    for s, n in sizes.items():
        take = max(0, n - len(parts[s]))
        parts[s] += new[start : start + take]
        start += take
    kept += new[start:]
    for s, units in [*parts.items(), (rest, kept)]:
        assigned.update(dict.fromkeys(units, s))
    return parts, kept


def _split_units(
    groups: np.ndarray, fixed: np.ndarray | None, counts: dict, rng, what: str, cls: str, assigned: dict | None = None
) -> dict:
    """Assign the unique units (texts, runs) of one class to splits in the pairs' proportions. `assigned`
    (unit -> split), shared by the classes, keeps a unit filed under two classes in one split."""
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
        parts, rest = _deal(list(uniq), sizes, "train", {} if assigned is None else assigned)
        parts["train"] = rest
        out = {s: np.flatnonzero(np.isin(groups, np.asarray(parts[s], dtype=object))) for s in wanted}
    for s in wanted:
        if len(out.get(s, [])) == 0:
            raise DataError(
                f"class {cls!r} has too few distinct {what} ({len(uniq)}) to put one in the {s} split; "
                f"add data for that class or lower dataset.test_fraction / dataset.val_fraction"
            )
    return out
