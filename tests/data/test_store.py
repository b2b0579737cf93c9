"""Data held once (issue 13): splits are index views of one array; statistics and batches stream."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from mmfusion import arrays
from mmfusion.arrays import Rows
from mmfusion.data import synthetic
from mmfusion.data.dataset import SeriesData, TextData
from mmfusion.data.pairing import make_dataset, pair_by_label
from mmfusion.data.store import spill_dataset
from mmfusion.models.batches import Batches
from mmfusion.models.preprocessing import column_stats, finite_rows


def test_rows_index_like_the_array_they_stand_for():
    base = np.arange(5 * 3 * 2, dtype=np.float32).reshape(5, 3, 2)
    idx = np.array([4, 0, 0, 2, 4, 1])
    r = Rows(base, idx)
    full = base[idx]
    assert r.shape == full.shape and len(r) == 6 and r.dtype == np.float32 and r.ndim == 3
    np.testing.assert_array_equal(np.asarray(r), full)
    np.testing.assert_array_equal(r[3], full[3])
    np.testing.assert_array_equal(np.asarray(r[1:4]), full[1:4])
    mask = np.array([True, False, True, False, True, True])
    sub = r[mask]
    assert isinstance(sub, Rows) and sub.base is base  # still a view of the same array
    np.testing.assert_array_equal(np.asarray(sub), full[mask])
    np.testing.assert_array_equal(r[:, 0, 1], full[:, 0, 1])
    np.testing.assert_array_equal(np.stack(list(r)), full)


def test_pairs_and_splits_hold_indexes_into_one_array():
    rng = np.random.default_rng(0)
    series = SeriesData(
        x=rng.normal(size=(12, 6, 3)).astype(np.float32),
        y=np.repeat([0, 1], 6),
        run_ids=np.array([f"r{i}" for i in range(12)]),
        variables=["a", "b", "c"],
    )
    texts = TextData(
        texts=np.array([f"text {i}" for i in range(10)], dtype=object),
        y=np.repeat([0, 1], 5),
        ids=np.array([f"t{i}" for i in range(10)]),
    )
    ds = pair_by_label(["a", "b"], texts, series, 40, 0.25, 0.0, True, seed=1)  # 80 pairs of 12 runs
    for split in ds.splits.values():
        assert isinstance(split.x["series"], Rows) and split.x["series"].base is series.x
    made = make_dataset(["a", "b"], {"series": series.x}, series.y, series.run_ids, 0.25, 0.0, seed=0)
    assert all(s.x["series"].base is series.x for s in made.splits.values())


def test_chunked_statistics_equal_numpy_on_the_materialised_pairs(monkeypatch):
    monkeypatch.setattr(arrays, "CHUNK_BYTES", 2000)  # many chunks
    rng = np.random.default_rng(0)
    base = (rng.normal(size=(30, 20, 4)) * [1, 10, 1e3, 1e-3] + [0, 5, 2700, 1]).astype(np.float32)
    idx = rng.integers(0, 30, size=77)  # repeated runs count as often as they are paired
    mean, std = column_stats(Rows(base, idx))
    x = base[idx].astype(np.float64)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(std, x.std(axis=(0, 1)), rtol=1e-12)
    base[7, 3, 1] = np.nan
    assert np.flatnonzero(~finite_rows(Rows(base, idx))).tolist() == np.flatnonzero(idx == 7).tolist()


def test_batches_cover_every_row_once_per_epoch_and_repeat_with_the_seed():
    x, y = np.arange(10, dtype=np.float32)[:, None], np.arange(10)
    a, b = Batches(x, y, 4, shuffle_seed=3), Batches(x, y, 4, shuffle_seed=3)
    assert len(a) == 3
    first = np.concatenate([a[i][1] for i in range(len(a))])
    assert sorted(first.tolist()) == list(range(10))
    assert first.tolist() == np.concatenate([b[i][1] for i in range(len(b))]).tolist()
    a.on_epoch_end()
    second = np.concatenate([a[i][1] for i in range(len(a))])
    assert sorted(second.tolist()) == list(range(10)) and second.tolist() != first.tolist()
    plain = Batches(x, None, 4, transform=lambda v: v * 2)
    assert len(plain[2]) == 1 and plain[2][0].ravel().tolist() == [16.0, 18.0]


@pytest.mark.parametrize("n, static", [(12, True), (10, False)])
def test_the_tf_dataset_gives_the_batches_keras_trained_on_with_a_static_shape_when_full(n, static):
    """Batches.dataset(epochs) is what fit trains on: training epoch e holds the batches of the order
    Keras' PyDataset loop used (it calls on_epoch_end once before the first epoch); a resumed training
    (start_at) continues it; the batch dimension is static when the batch size divides the split."""
    base = np.arange(30 * 2, dtype=np.float32).reshape(30, 2, 1)
    x, y = Rows(base, np.arange(n) * 3 % 30), np.arange(n) * 10
    fn = lambda v: v * 2  # noqa: E731

    def epochs_of(b, epochs):
        ds = b.dataset(epochs)
        assert ds.element_spec[0].shape.as_list() == [4 if static else None, 2, 1]
        assert int(ds.cardinality()) == (epochs - b.epoch) * len(b)
        return [(xb.numpy(), yb.numpy()) for xb, yb in ds]

    keras_order = Batches(x, y, 4, fn, shuffle_seed=5)
    expected = []
    for _ in range(3):  # what Keras' fit read from the PyDataset, epoch after epoch
        keras_order.on_epoch_end()
        expected += [keras_order[i] for i in range(len(keras_order))]
    got = epochs_of(Batches(x, y, 4, fn, shuffle_seed=5), 3)
    assert len(got) == len(expected) == 3 * len(keras_order)
    for (xa, ya), (xb, yb) in zip(got, expected):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    resumed = Batches(x, y, 4, fn, shuffle_seed=5)
    resumed.start_at(1)
    assert [yb.tolist() for _, yb in epochs_of(resumed, 3)] == [yb.tolist() for _, yb in got[len(keras_order) :]]
    plain = Batches(x, None, 4, fn).dataset()  # prediction: x only, input order
    np.testing.assert_array_equal(np.concatenate(list(plain.as_numpy_iterator())), np.asarray(x) * 2)


def test_synthetic_series_chunked_equal_whole(monkeypatch):
    cfg = OmegaConf.create({"series_length": 30, "series_variables": 5, "series_signal": 1.0})
    y = np.random.default_rng(0).integers(0, 3, size=50)
    whole = synthetic.generate_series(y, 3, cfg, np.random.default_rng(9))
    monkeypatch.setattr(arrays, "CHUNK_BYTES", 3000)  # 2 samples per chunk
    np.testing.assert_array_equal(synthetic.generate_series(y, 3, cfg, np.random.default_rng(9)), whole)


def test_spill_moves_unique_data_to_a_memory_map(tmp_path):
    base = np.random.default_rng(0).normal(size=(8, 4, 2)).astype(np.float32)
    ds = make_dataset(["a", "b"], {"series": base}, np.repeat([0, 1], 4), np.arange(8).astype(str), 0.25, 0.0, 0)
    assert spill_dataset(ds, None, tmp_path) == 0 and spill_dataset(ds, 1.0, tmp_path) == 0
    assert spill_dataset(ds, 1e-9, tmp_path) == base.nbytes
    bases = {id(s.x["series"].base) for s in ds.splits.values()}
    assert len(bases) == 1 and isinstance(ds.splits["train"].x["series"].base, np.memmap)
    idx = ds.splits["test"].x["series"].index
    np.testing.assert_array_equal(np.asarray(ds.splits["test"].x["series"]), base[idx])
    assert list(tmp_path.iterdir()) == []  # the file is unlinked; the mapping keeps it until exit


def test_training_from_a_memory_map_gives_the_in_memory_results(tmp_path, monkeypatch):
    from helpers import compose_cfg

    from mmfusion.commands.train import train

    monkeypatch.setenv("MMFUSION_CACHE", str(tmp_path / "cache"))
    probs = {}
    for budget in ("null", "1e-9"):  # never spill; spill whatever the size
        cfg = compose_cfg(
            ["modalities=[series]", "evaluation.bootstrap=0", "dataset.val_fraction=0.2", f"memory_budget_gb={budget}"]
        )
        train(cfg, tmp_path / budget)
        with np.load(tmp_path / budget / "predictions.npz") as f:
            probs[budget] = f["proba_test_series"]
    np.testing.assert_array_equal(probs["null"], probs["1e-9"])


def test_memory_budget_must_be_positive_or_null():
    from helpers import compose_cfg

    from mmfusion.config import validate
    from mmfusion.errors import ConfigError

    validate(compose_cfg(["memory_budget_gb=null"]))
    with pytest.raises(ConfigError, match=r"^memory_budget_gb=0: expected null or a number > 0"):
        validate(compose_cfg(["memory_budget_gb=0"]))
