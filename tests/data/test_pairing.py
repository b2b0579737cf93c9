"""Pairing two single-modality pools by label: the honest and the paper's protocol."""

import numpy as np
import pytest

from mmfusion.data.dataset import SeriesData, TextData
from mmfusion.data.pairing import pair_by_label
from mmfusion.errors import DataError

CLASSES = ["a", "b", "c"]


def pools(texts_per_class=(10, 6, 4), runs_per_class=5, fixed_split=False):
    texts, ty = [], []
    for k, n in enumerate(texts_per_class):
        texts += [f"report {k} number {i}" for i in range(n)]
        ty += [k] * n
    t = TextData(
        texts=np.asarray(texts, dtype=object), y=np.asarray(ty), ids=np.asarray([f"t{i}" for i in range(len(ty))])
    )
    n = runs_per_class * len(CLASSES)
    sy = np.repeat(np.arange(len(CLASSES)), runs_per_class)
    x = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((n, 4, 2), dtype=np.float32)  # x encodes the run
    split = np.tile(["train"] * (runs_per_class - 2) + ["test"] * 2, len(CLASSES)) if fixed_split else None
    s = SeriesData(x=x, y=sy, run_ids=np.asarray([f"r{i}" for i in range(n)]), variables=["u", "v"], split=split)
    return t, s


def test_honest_split_keeps_texts_and_runs_on_one_side():
    t, s = pools()
    ds = pair_by_label(
        CLASSES, t, s, samples_per_class=20, test_fraction=0.2, val_fraction=0.0, split_before_resampling=True, seed=0
    )
    assert ds.sizes() == {"train": 48, "test": 12}
    assert ds.class_counts() == {"train": [16, 16, 16], "test": [4, 4, 4]}
    tr, te = ds.splits["train"], ds.splits["test"]
    assert not set(tr.x["text"]) & set(te.x["text"])
    assert not set(tr.x["series"][:, 0, 0]) & set(te.x["series"][:, 0, 0])
    assert ds.info["test_texts_also_in_train"] == 0 and ds.info["test_series_runs_also_in_train"] == 0
    for split in (tr, te):  # every pair shares its label across modalities
        text_label = np.asarray([int(txt.split()[1]) for txt in split.x["text"]])
        run_label = s.y[split.x["series"][:, 0, 0].astype(int)]
        assert (text_label == split.y).all() and (run_label == split.y).all()


def test_papers_protocol_lets_duplicates_straddle_and_says_so():
    t, s = pools()
    ds = pair_by_label(
        CLASSES, t, s, samples_per_class=20, test_fraction=0.2, val_fraction=0.0, split_before_resampling=False, seed=0
    )
    assert ds.class_counts() == {"train": [16, 16, 16], "test": [4, 4, 4]}
    assert ds.info["test_texts_also_in_train"] > 0  # class c has 4 texts resampled to 20 pairs


def test_validation_split_and_fixed_source_split():
    t, s = pools(fixed_split=True)
    ds = pair_by_label(
        CLASSES, t, s, samples_per_class=20, test_fraction=0.2, val_fraction=0.2, split_before_resampling=True, seed=1
    )
    assert ds.sizes() == {"train": 36, "val": 12, "test": 12}
    test_runs = set(ds.splits["test"].x["series"][:, 0, 0].astype(int))
    assert all(s.split[r] == "test" for r in test_runs)  # the source's test runs stay in test


def test_deterministic_given_seed():
    t, s = pools()
    a, b = (pair_by_label(CLASSES, t, s, 20, 0.2, 0.0, True, seed=5) for _ in range(2))
    assert (a.splits["test"].ids == b.splits["test"].ids).all()


def test_too_few_distinct_texts_for_every_split_is_named():
    t, s = pools(texts_per_class=(10, 6, 1))
    with pytest.raises(DataError, match="class 'c' has too few distinct texts"):
        pair_by_label(CLASSES, t, s, 20, 0.2, 0.0, True, seed=0)


def test_a_class_without_series_is_named():
    t, s = pools()
    s.y = np.where(s.y == 2, 1, s.y)
    with pytest.raises(DataError, match="class 'c' has no time series"):
        pair_by_label(CLASSES, t, s, 20, 0.2, 0.0, True, seed=0)
