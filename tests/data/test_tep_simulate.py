"""mmfusion.data.series.simulate: closed-loop TEP runs from tep-studio, cached on disk.

Short runs (2 h, onset 0.5 h, control every 0.01 h, 40 samples of 3 min) keep this fast.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from mmfusion.data.series import simulate as ts
from mmfusion.data.series.simulate_checks import whole_steps
from mmfusion.errors import DataError

FAST = dict(horizon_h=2.0, onset_h=0.5, sample_interval_h=0.05, control_interval_h=0.01, workers=1, progress=False)
T = 40


def sim(tmp_path, faults=(0, 1), runs=2, seed=0, **kw):
    return ts.simulate(list(faults), runs, seed, **{**FAST, "cache_dir": tmp_path / "cache", **kw})


def _no_simulation(*args, **kwargs):
    raise AssertionError("a cached run was simulated again")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """IDV 0 and 1, two runs each, and the cache directory holding them."""
    path = tmp_path_factory.mktemp("base")
    return sim(path), path


def test_shape_variables_labels(base):
    data, _ = base
    assert data.x.shape == (4, T, 52) and data.x.dtype == np.float32
    assert data.variables == [f"xmeas_{i}" for i in range(1, 42)] + [f"xmv_{i}" for i in range(1, 12)]
    assert data.y.tolist() == [0, 0, 1, 1]
    assert data.run_ids.tolist() == ["idv00-run000", "idv00-run001", "idv01-run000", "idv01-run001"]
    assert data.split is None and np.isfinite(data.x).all()
    assert data.info["samples_per_run"] == T and data.info["cache_misses"] == 4
    assert data.info["cache_hits"] == 0 and data.info["runs_dropped"] == 0


def test_full_horizon_gives_500_samples():
    # 25 h at 3-min samples = 500 samples (the count the Rieth data has); checked without simulating
    assert whole_steps(25.0, 0.05, "horizon_h", "sample_interval_h") == 500
    assert whole_steps(0.05, 0.01, "sample_interval_h", "control_interval_h") == 5


def test_deterministic_and_runs_differ(base, tmp_path):
    data, _ = base
    again = sim(tmp_path)  # fresh cache: simulated again from the same seed
    assert again.info["cache_misses"] == 4
    np.testing.assert_array_equal(again.x, data.x)
    assert not np.array_equal(data.x[0], data.x[1])  # two runs of one class
    other = sim(tmp_path / "other", seed=1)
    assert not np.array_equal(other.x, data.x)
    seeds = {ts.run_seed(s, f, r) for s in range(3) for f in range(29) for r in range(10)}
    assert len(seeds) == 3 * 29 * 10


def test_fault_changes_data_after_onset_only(tmp_path, monkeypatch):
    # the same plant seed for every class: the IDV 1 run equals the normal run until the onset
    monkeypatch.setattr(ts, "run_seed", lambda seed, fault, run: 1000 + run)
    data = sim(tmp_path, runs=1)
    normal, fault = data.x
    onset = 10  # sample j is at t = 0.01 + 0.05 j h; IDV 1 is on from 0.5 h
    np.testing.assert_array_equal(fault[:onset], normal[:onset])
    sd = normal.std(axis=0) + 1e-6
    assert np.abs((fault[-10:] - normal[-10:]) / sd).max() > 5


def test_cache_hit_does_not_simulate(base, monkeypatch):
    data, path = base
    monkeypatch.setattr(ts, "_simulate_run", _no_simulation)
    again = sim(path)
    np.testing.assert_array_equal(again.x, data.x)
    assert (again.info["cache_hits"], again.info["cache_misses"], again.info["cache_rebuilt"]) == (4, 0, 0)


def test_corrupt_cache_entries_are_rebuilt(base, tmp_path, caplog):
    data, _ = base
    first = sim(tmp_path)
    entries = sorted((tmp_path / "cache").glob("*.npy"))
    assert len(entries) == 4 and len(list((tmp_path / "cache").glob("*.json"))) == 4
    assert np.load(entries[0], allow_pickle=False).shape == (T, 52)
    raw = entries[0].read_bytes()
    entries[0].write_bytes(raw[: len(raw) // 2])  # half-written
    raw = bytearray(entries[1].read_bytes())
    raw[-8:] = b"\x00\x01\x02\x03\x04\x05\x06\x07"  # same size, garbled values: only the checksum sees it
    entries[1].write_bytes(bytes(raw))
    entries[2].with_suffix(".json").unlink()  # sidecar lost
    (tmp_path / "cache" / "junk.npy.tmp").write_bytes(b"left over by a killed writer")
    with caplog.at_level(logging.WARNING, logger=ts.__name__):
        again = sim(tmp_path)
    assert (again.info["cache_hits"], again.info["cache_misses"], again.info["cache_rebuilt"]) == (1, 3, 3)
    assert sum("corrupt" in r.getMessage() for r in caplog.records) == 3
    np.testing.assert_array_equal(again.x, first.x)
    np.testing.assert_array_equal(again.x, data.x)


def test_cache_key_changes_with_parameters(base, tmp_path, monkeypatch):
    _, path = base
    calls = []
    real = ts._simulate_run
    monkeypatch.setattr(ts, "_simulate_run", lambda *a: calls.append(a) or real(*a))
    sim(path, onset_h=1.0)  # a different onset is a different run
    assert len(calls) == 4
    meta = json.loads(next((path / "cache").glob("*.json")).read_text())
    assert {"fault", "run_seed", "horizon_h", "onset_h", "control_interval_h", "tep_studio", "sha256"} <= set(meta)


def test_shutdown_error_names_idv_run_and_time(tmp_path, monkeypatch):
    # IDV 6 (A feed loss) trips the plant at about 8.5 h; a real run to 9 h
    kw = dict(horizon_h=9.0, onset_h=1.0)
    with pytest.raises(DataError, match=r"idv06-run000 \(IDV 6.*stopped at t=8\.\d+ h of 9 h.*shutdown"):
        sim(tmp_path, faults=[6], runs=1, **kw)
    # the trip is cached too: asking again fails the same way without simulating
    monkeypatch.setattr(ts, "_simulate_run", _no_simulation)
    with pytest.raises(DataError, match="horizon_h"):
        sim(tmp_path, faults=[6], runs=1, **kw)
    with pytest.raises(DataError, match=r"every run of IDV \[6\]"):
        sim(tmp_path, faults=[6], runs=1, on_shutdown="drop", **kw)


def test_shutdown_drop_skips_the_run(tmp_path, monkeypatch, caplog):
    real = ts._simulate_run
    bad = ts.run_seed(0, 1, 1)

    def trips(fault, seed, *rest):
        if seed == bad:
            return None, {"time_h": 1.23, "reason": "plant shutdown (test)"}
        return real(fault, seed, *rest)

    monkeypatch.setattr(ts, "_simulate_run", trips)
    with pytest.raises(DataError, match=r"idv01-run001.*t=1\.23 h"):
        sim(tmp_path / "a")
    with caplog.at_level(logging.WARNING, logger=ts.__name__):
        data = sim(tmp_path / "b", on_shutdown="drop")
    assert data.x.shape == (3, T, 52) and data.y.tolist() == [0, 0, 1]
    assert data.run_ids.tolist() == ["idv00-run000", "idv00-run001", "idv01-run000"]
    assert data.info["runs_dropped"] == 1
    assert any("dropped 1 of 4" in r.getMessage() for r in caplog.records)


def test_short_run_is_detected(tmp_path, monkeypatch):
    import tep_studio

    real = tep_studio.ClosedLoopSimulation

    class Short(real):  # stops at 1 h without reporting a shutdown
        def __init__(self, **kw):
            super().__init__(**{**kw, "horizon": 1.0})

    monkeypatch.setattr(tep_studio, "ClosedLoopSimulation", Short)
    with pytest.raises(DataError, match="20 samples instead of 40"):
        sim(tmp_path, faults=[0], runs=1)


def test_workers_give_the_same_arrays(base, tmp_path):
    data, _ = base
    parallel = sim(tmp_path, workers=2)
    np.testing.assert_array_equal(parallel.x, data.x)
    assert parallel.run_ids.tolist() == data.run_ids.tolist()


@pytest.mark.parametrize(
    "kw, key",
    [
        (
            dict(control_interval_h=0.03),
            "dataset.series.sample_interval_h=0.05 must be a whole multiple of dataset.series.control_interval_h",
        ),
        (
            dict(horizon_h=2.01),
            "dataset.series.horizon_h=2.01 must be a whole multiple of dataset.series.sample_interval_h",
        ),
        (dict(faults=[0, 29]), "faults"),
        (dict(faults=[-1]), "faults"),
        (dict(faults=[1, 1]), "distinct"),
        (dict(faults=[]), "faults"),
        (dict(faults=["x"]), "faults"),
        (dict(faults=[1.5]), "faults"),
        (dict(seed=-1), "seed"),
        (dict(runs=0), "runs_per_class"),
        (dict(workers=0), "workers"),
        (dict(on_shutdown="pad"), "on_shutdown"),
        (dict(onset_h=2.0), "onset_h"),
    ],
)
def test_bad_arguments_are_refused_for_python_callers(tmp_path, kw, key):
    """A direct call (no config, so no config check before it) is refused with a ValueError naming the key;
    the CLI refuses the same values first (tests/schemas/test_config_checks.py)."""
    with pytest.raises(ValueError, match=key.replace("(", r"\(")):
        sim(tmp_path, **kw)
