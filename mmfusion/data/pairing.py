"""The one shared step after the sources: stratified splitting and assembling a Dataset.

Sources only produce raw arrays or texts for one modality; how modalities are paired and how samples
are split happens here, the same for every source.
"""

from __future__ import annotations

import logging

import numpy as np
from sklearn.model_selection import train_test_split

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
    rest, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    out = {"test": np.sort(test)}
    if val_fraction > 0:
        rel = val_fraction / (1.0 - test_fraction)
        train, val = train_test_split(rest, test_size=rel, stratify=y[rest], random_state=seed + 1)
        out["val"] = np.sort(val)
    else:
        train = rest
    out["train"] = np.sort(train)
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
) -> Dataset:
    """Split aligned samples (every modality already paired sample by sample) into a Dataset."""
    full = Split(x=x, y=y, ids=ids)
    parts = stratified_split(full.y, test_fraction, val_fraction, seed, classes)
    splits = {name: full.subset(idx) for name, idx in parts.items()}
    assert_every_class_present(splits, classes)
    return Dataset(classes=list(classes), splits=splits, info=dict(info or {}))
