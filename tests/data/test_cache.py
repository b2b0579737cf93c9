"""The source cache (issue 13): a second sweep job reads the cache, not the Rieth / Braatz files; an
edited source or a corrupt entry is read again; an .RData file is converted once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmfusion.data.series import braatz, rieth
from mmfusion.data.series.rieth import load_rieth

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tep_rieth_sample"
FAULTY = "faulty_training_one_run_per_fault.csv"
needs_shared = pytest.mark.skipif(
    not (SAMPLE / FAULTY).is_file(), reason=f"needs the shared Rieth sample CSVs in {SAMPLE} (not part of the project)"
)


def make_frame(faults, runs, samples) -> pd.DataFrame:
    """The release layout; values encode fault, run, sample and variable (as in test_rieth)."""
    rows = []
    for f in faults:
        for r in runs:
            frame = pd.DataFrame(expected(f, r, samples).astype(np.float64), columns=rieth.VARIABLES)
            frame.insert(0, "sample", np.arange(1, samples + 1))
            frame.insert(0, "simulationRun", float(r))
            frame.insert(0, "faultNumber", float(f))
            rows.append(frame)
    return pd.concat(rows).reset_index(drop=True)


def expected(f, r, samples) -> np.ndarray:
    s = np.arange(1, samples + 1)
    return (f * 1000 + r * 100 + s[:, None] / 1000 + np.arange(len(rieth.VARIABLES))[None, :] * 0.5).astype(np.float32)


def _no_reading(*args, **kwargs):
    raise AssertionError("the source file was read")


@needs_shared
def test_second_rieth_job_reads_the_cache_not_the_source(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SAMPLE / FAULTY, src / FAULTY)
    cache = tmp_path / "cache"
    first = load_rieth(src, [1, 4, 7], 1, files={"faulty": FAULTY}, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 1 and len(list(cache.glob("*.json"))) == 1
    monkeypatch.setattr(rieth, "_chunks", _no_reading)  # the second job: any read of the CSV fails the test
    second = load_rieth(src, [1, 4, 7], 1, files={"faulty": FAULTY}, cache_dir=cache)
    np.testing.assert_array_equal(np.asarray(second.x), first.x)
    assert second.y.tolist() == first.y.tolist() and second.run_ids.tolist() == first.run_ids.tolist()
    assert second.info == first.info
    with pytest.raises(AssertionError, match="source file was read"):  # another selecting key: not cached
        load_rieth(src, [1, 4, 7], 1, files={"faulty": FAULTY}, length=100, cache_dir=cache)
    st = (src / FAULTY).stat()
    os.utime(src / FAULTY, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the source was edited
    with pytest.raises(AssertionError, match="source file was read"):
        load_rieth(src, [1, 4, 7], 1, files={"faulty": FAULTY}, cache_dir=cache)


@needs_shared
def test_corrupt_rieth_cache_entry_is_rebuilt(tmp_path, caplog):
    cache = tmp_path / "cache"
    first = load_rieth(SAMPLE, [2, 3], 1, files={"faulty": FAULTY}, cache_dir=cache)
    npy = next(cache.glob("*.npy"))
    raw = bytearray(npy.read_bytes())
    raw[-10] ^= 0xFF  # flip bits in the data: the checksum no longer matches
    npy.write_bytes(bytes(raw))
    again = load_rieth(SAMPLE, [2, 3], 1, files={"faulty": FAULTY}, cache_dir=cache)
    assert "corrupt" in caplog.text
    np.testing.assert_array_equal(np.asarray(again.x), first.x)


def test_rdata_is_converted_once(tmp_path, monkeypatch):
    pyreadr = pytest.importorskip("pyreadr")
    pyreadr.write_rdata(
        str(tmp_path / "TEP_Faulty_Testing.RData"),
        make_frame(faults=(2, 5), runs=(1, 2, 3), samples=960),
        df_name="faulty_testing",
    )
    cache = tmp_path / "cache"
    load_rieth(tmp_path, [5], 1, part="testing", cache_dir=cache)
    monkeypatch.setattr(pyreadr, "read_r", _no_reading)  # later selections must not read the R file
    other = load_rieth(tmp_path, [2, 5], 2, part="testing", first_run=2, cache_dir=cache)  # a new selection
    np.testing.assert_array_equal(other.x[0], expected(2, 2, 960))
    np.testing.assert_array_equal(other.x[3], expected(5, 3, 960))


def test_second_braatz_job_reads_the_cache(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for f in (1, 2):
        np.savetxt(tmp_path / f"d{f:02d}.dat", rng.normal(size=(480, 52)) + f)
        np.savetxt(tmp_path / f"d{f:02d}_te.dat", rng.normal(size=(960, 52)) + f)
    first = braatz.load_braatz(tmp_path, [1, 2], window=100, stride=200, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(braatz, "read_dat", _no_reading)
    second = braatz.load_braatz(tmp_path, [1, 2], window=100, stride=200, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(np.asarray(second.x), first.x)
    assert second.split.tolist() == first.split.tolist() and second.run_ids.tolist() == first.run_ids.tolist()
    with pytest.raises(AssertionError, match="source file was read"):
        braatz.load_braatz(tmp_path, [1, 2], window=50, stride=200, cache_dir=tmp_path / "cache")
