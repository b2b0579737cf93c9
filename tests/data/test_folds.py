"""Grouped, stratified K-fold cross-validation (`dataset.cv.folds`, `dataset.cv.fold`)."""

import numpy as np
import pytest
from helpers import SHRINK_SYNTHETIC, compose_cfg

from mmfusion.config import compose_config
from mmfusion.data import build_dataset
from mmfusion.errors import ConfigError

SHORT = [
    "dataset=factory",
    "dataset.samples_per_class=40",
    "dataset.series.runs_per_class=6",
    "dataset.series.horizon_h=2.0",
    "dataset.series.onset_h=0.5",
    "dataset.series.workers=1",
]


def _folds(overrides, k):
    return [
        build_dataset(compose_cfg(overrides + [f"dataset.cv.folds={k}", f"dataset.cv.fold={f}"]).dataset)
        for f in range(k)
    ]


def test_synthetic_three_folds_test_every_sample_exactly_once():
    folds = _folds(["dataset.val_fraction=0.1"], 3)
    all_ids = np.concatenate([folds[0].splits[s].ids for s in folds[0].splits])
    test_ids = np.concatenate([ds.splits["test"].ids for ds in folds])
    assert sorted(test_ids) == sorted(all_ids) and len(set(test_ids)) == len(all_ids) == 64
    for ds in folds:
        sides = [set(ds.splits[s].ids) for s in ("train", "val", "test")]
        assert not (sides[0] & sides[2]) and not (sides[1] & sides[2]) and not (sides[0] & sides[1])
        assert set(ds.class_counts()["test"]) <= {5, 6}  # stratified: 16 per class dealt over 3 folds
        assert ds.info["cv_folds"] == 3


def test_factory_folds_put_every_text_and_run_on_the_test_side_exactly_once(tmp_path):
    overrides = SHORT + [f"dataset.series.cache_dir={tmp_path / 'cache'}", "dataset.val_fraction=0.1"]
    folds = _folds(overrides, 3)
    tested = {"text": [], "series": []}
    for ds in folds:
        for m in tested:
            test_units = set(ds.splits["test"].units[m])
            train_units = set(ds.splits["train"].units[m]) | set(ds.splits["val"].units[m])
            assert not (test_units & train_units)  # no text or run on both sides of a fold
            tested[m] += sorted(test_units)
    assert len(tested["series"]) == len(set(tested["series"])) == 24  # 6 runs x 4 classes, once each
    assert len(tested["text"]) == len(set(tested["text"])) == 460  # 480 rows, 20 repeats (case, punctuation aside)


def test_cv_keys_are_checked():
    """The config check refuses them (ConfigError naming the key); a config that skipped it meets the
    builder's own guard (ValueError, same key)."""
    for overrides, key in (
        (["dataset.cv.folds=3", "dataset.cv.fold=3"], "dataset.cv.fold"),
        (["dataset.cv.folds=1"], "dataset.cv.folds"),
    ):
        with pytest.raises(ConfigError, match=key):
            compose_config([*SHRINK_SYNTHETIC, *overrides])
        with pytest.raises(ValueError, match=key):
            build_dataset(compose_cfg(overrides).dataset)
