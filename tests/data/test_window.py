"""Windows relative to the fault onset: alignment, bounds, a window longer than the run, and training
windows with jittered starts."""

import numpy as np
import pytest

from mmfusion.data.dataset import SeriesData, TextData
from mmfusion.data.pairing import pair_by_label
from mmfusion.data.window import apply_window, jitter_starts, onset_index
from mmfusion.errors import DataError


def series(info):
    x = np.arange(3 * 100, dtype=np.float32).reshape(3, 100, 1) % 100 * np.ones((1, 1, 2), np.float32)
    return SeriesData(x=x, y=np.zeros(3, int), run_ids=np.asarray(["a", "b", "c"]), variables=["u", "v"], info=info)


SIMULATED = {"onset_h": 1.0, "first_sample_h": 0.01, "sample_interval_h": 0.05}


def test_onset_index_of_each_source():
    assert onset_index(series(SIMULATED)) == 20  # t = 0.01 + 0.05 * 20 = 1.01 h, first sample after 1 h
    assert onset_index(series({"fault_onset_sample": 21})) == 20  # Rieth training: fault from sample 21
    assert onset_index(series({"fault_onset_sample": 161})) == 160  # Rieth testing
    assert onset_index(series({"source": "braatz"})) == 0


def test_window_starts_at_the_onset():
    out = apply_window(series(SIMULATED), 0, 40)  # the first 2 h after onset
    assert out.x.shape == (3, 40, 2)
    assert out.x[0, 0, 0] == 20 and out.x[0, -1, 0] == 59
    assert out.info["window_length"] == 40 and out.info["onset_index"] == 20


def test_window_may_start_before_the_onset_and_default_is_the_whole_run():
    assert apply_window(series(SIMULATED), -5, 10).x[0, 0, 0] == 15
    s = series(SIMULATED)
    assert apply_window(s, None, None) is s
    assert apply_window(s, 10, None).x.shape[1] == 70


def test_window_longer_than_the_run_is_a_clear_error():
    with pytest.raises(DataError, match="only 100 samples"):
        apply_window(series(SIMULATED), 0, 81)
    # direct calls, no config check before them: a ValueError (the config check refuses these first)
    with pytest.raises(ValueError, match="before the run starts"):
        apply_window(series(SIMULATED), -21, 10)
    with pytest.raises(ValueError, match="positive"):
        apply_window(series(SIMULATED), 0, 0)


def paired(jitter: int, seed: int = 0):
    """Six runs (two classes) windowed at onset + 5 for 10 samples, paired with texts, jittered."""
    x = np.arange(6 * 100, dtype=np.float32).reshape(6, 100, 1) % 100 * np.ones((1, 1, 2), np.float32)
    s = SeriesData(
        x=x,
        y=np.repeat([0, 1], 3),
        run_ids=np.asarray([f"r{i}" for i in range(6)]),
        variables=["u", "v"],
        info=SIMULATED,
    )
    t = TextData(texts=np.asarray([f"t{i}" for i in range(8)], dtype=object), y=np.repeat([0, 1], 4), ids=np.arange(8))
    ds = pair_by_label(["a", "b"], t, apply_window(s, 5, 10, jitter), 40, 0.25, 0.25, False, seed=0)
    if jitter:
        jitter_starts(ds, 10, jitter, seed)
    return ds


def test_training_windows_start_at_random_offsets_the_others_at_start():
    plain, ds = paired(0), paired(4)
    first = 20 + 5  # onset index 20, start 5
    for name, split in ds.splits.items():
        x = np.asarray(split.x["series"])
        assert x.shape == (len(split), 10, 2)
        assert (np.diff(x[:, :, 0], axis=1) == 1).all()  # consecutive samples of one run
        starts = x[:, 0, 0] - first
        if name == "train":
            assert set(starts) == {0, 1, 2, 3, 4}  # every offset 0..jitter_start is drawn
        else:  # validation and test: exactly the windows without jitter
            assert (starts == 0).all()
            np.testing.assert_array_equal(x, np.asarray(plain.splits[name].x["series"]))
    assert ds.sizes() == plain.sizes()  # the pairs themselves are the same
    again, other = paired(4), paired(4, seed=1)
    tr = lambda d: np.asarray(d.splits["train"].x["series"])  # noqa: E731
    np.testing.assert_array_equal(tr(ds), tr(again))  # drawn from the seed
    assert not np.array_equal(tr(ds), tr(other))


def test_jittered_windows_need_a_length_and_room_in_the_run():
    with pytest.raises(ValueError, match="jitter_start=3 needs a window length"):
        apply_window(series(SIMULATED), 0, None, 3)
    with pytest.raises(DataError, match=r"jitter_start=1\) ends at sample 101"):
        apply_window(series(SIMULATED), 0, 80, 1)
    out = apply_window(series(SIMULATED), 0, 79, 1)
    assert out.x.shape[1] == 80 and out.info["window_length"] == 79 and out.info["window_jitter_start"] == 1
