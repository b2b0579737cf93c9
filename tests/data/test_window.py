"""Windows relative to the fault onset: alignment, bounds, and a window longer than the run."""

import numpy as np
import pytest

from mmfusion.data.dataset import SeriesData
from mmfusion.data.window import apply_window, onset_index
from mmfusion.errors import ConfigError, DataError


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
    with pytest.raises(ConfigError, match="before the run starts"):
        apply_window(series(SIMULATED), -21, 10)
    with pytest.raises(ConfigError, match="positive"):
        apply_window(series(SIMULATED), 0, 0)
