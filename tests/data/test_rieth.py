"""Rieth et al. (2017) loader: CSV on the shared sample files, .RData written here, and the errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmfusion.data.series.rieth import KEYS, VARIABLES, load_rieth
from mmfusion.errors import DataError

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SAMPLE = SHARED_DATA / "tep_rieth_sample"
SAMPLE_FILES = {
    "faulty": "faulty_training_one_run_per_fault.csv",
    "fault_free": "fault_free_training_49runs_200samples.csv",
}
needs_shared = pytest.mark.skipif(
    not (SAMPLE / SAMPLE_FILES["faulty"]).is_file() or not (SAMPLE / SAMPLE_FILES["fault_free"]).is_file(),
    reason=f"needs the shared Rieth sample CSVs in {SAMPLE} (not part of the project)",
)


def make_frame(faults=(0, 1), runs=(1, 2, 3), samples=500, seed=0) -> pd.DataFrame:
    """A small frame in the release layout, rows shuffled; values encode fault/run/sample/variable."""
    rows = []
    for f in faults:
        for r in runs:
            s = np.arange(1, samples + 1)
            vals = f * 1000 + r * 100 + s[:, None] / 1000 + np.arange(len(VARIABLES))[None, :] * 0.5
            frame = pd.DataFrame(vals, columns=VARIABLES)
            frame.insert(0, "sample", s)
            frame.insert(0, "simulationRun", float(r))
            frame.insert(0, "faultNumber", float(f))
            rows.append(frame)
    return pd.concat(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def expected(f, r, samples):
    s = np.arange(1, samples + 1)
    return (f * 1000 + r * 100 + s[:, None] / 1000 + np.arange(len(VARIABLES))[None, :] * 0.5).astype(np.float32)


@needs_shared
def test_rieth_csv_on_shared_sample_faulty():
    data = load_rieth(SAMPLE, list(range(1, 20)), 1, files=SAMPLE_FILES)
    assert data.x.shape == (19, 500, 52) and data.x.dtype == np.float32
    assert data.y.tolist() == list(range(19))
    assert data.variables == VARIABLES and data.variables[41] == "xmv_1"
    assert data.split is None
    assert data.run_ids[0] == "rieth-f01-r0001" and len(set(data.run_ids)) == 19
    assert data.info["part"] == "training" and data.info["fault_onset_sample"] == 21
    csv = pd.read_csv(SAMPLE / SAMPLE_FILES["faulty"])
    for fault, sample, col in [(1, 1, "xmeas_1"), (3, 250, "xmeas_41"), (19, 500, "xmv_11"), (7, 21, "xmv_1")]:
        row = csv[(csv.faultNumber == fault) & (csv.simulationRun == 1) & (csv["sample"] == sample)]
        assert data.x[fault - 1, sample - 1, VARIABLES.index(col)] == np.float32(row[col].iloc[0])


@needs_shared
def test_rieth_csv_on_shared_sample_fault20_lacks_sample_500():
    with pytest.raises(DataError, match=r"fault 20, run 1.*lacks sample\(s\) 500.*length"):
        load_rieth(SAMPLE, [1, 20], 1, files=SAMPLE_FILES)
    data = load_rieth(SAMPLE, [1, 20], 1, files=SAMPLE_FILES, length=499)
    assert data.x.shape == (2, 499, 52)


@needs_shared
def test_rieth_csv_on_shared_sample_fault_free_needs_length():
    with pytest.raises(DataError, match=r"fault 0, run 1.*201\.\.500.*length to at most 200"):
        load_rieth(SAMPLE, [0, 1], 2, files=SAMPLE_FILES)
    with pytest.raises(DataError, match=r"fault 1 needs runs 1\.\.3.*has 1 run"):
        load_rieth(SAMPLE, [0, 1], 3, files=SAMPLE_FILES, length=200)
    data = load_rieth(SAMPLE, [0], 49, files=SAMPLE_FILES, length=200)
    assert data.x.shape == (49, 200, 52) and set(data.y) == {0}
    assert data.run_ids[-1] == "rieth-f00-r0049"
    csv = pd.read_csv(SAMPLE / SAMPLE_FILES["fault_free"])
    row = csv[(csv.simulationRun == 49) & (csv["sample"] == 200)]
    assert np.array_equal(data.x[48, 199], row[VARIABLES].to_numpy(np.float32)[0])
    later = load_rieth(SAMPLE, [0], 9, files=SAMPLE_FILES, length=200, first_run=41)
    assert np.array_equal(later.x[-1], data.x[-1]) and later.run_ids[0] == "rieth-f00-r0041"


def test_rieth_rdata_matches_frame(tmp_path):
    pyreadr = pytest.importorskip("pyreadr")
    frame = make_frame(faults=(0,), runs=(1, 2, 3), samples=960)
    pyreadr.write_rdata(str(tmp_path / "TEP_FaultFree_Testing.RData"), frame, df_name="fault_free_testing")
    faulty = make_frame(faults=(2, 5), runs=(1, 2, 3), samples=960)
    pyreadr.write_rdata(str(tmp_path / "TEP_Faulty_Testing.RData"), faulty, df_name="faulty_testing")
    data = load_rieth(tmp_path, [5, 0, 2], 2, part="testing", first_run=2)
    assert data.x.shape == (6, 960, 52)
    assert data.y.tolist() == [0, 0, 1, 1, 2, 2]
    assert data.run_ids.tolist()[:2] == ["rieth-f05-r0002", "rieth-f05-r0003"]
    assert data.info["fault_onset_sample"] == 161 and data.info["part"] == "testing"
    np.testing.assert_array_equal(data.x[0], expected(5, 2, 960))
    np.testing.assert_array_equal(data.x[3], expected(0, 3, 960))


def test_rieth_csv_default_names_and_single_file(tmp_path):
    make_frame(faults=(0,), runs=(1,)).to_csv(tmp_path / "TEP_FaultFree_Training.csv", index=False)
    make_frame(faults=(4,), runs=(1,)).to_csv(tmp_path / "TEP_Faulty_Training.csv", index=False)
    data = load_rieth(tmp_path, [0, 4], 1, length=100)
    assert data.x.shape == (2, 100, 52)
    np.testing.assert_array_equal(data.x[1], expected(4, 1, 500)[:100])
    both = tmp_path / "both.csv"
    make_frame(faults=(0, 4), runs=(1,)).to_csv(both, index=False)
    np.testing.assert_array_equal(load_rieth(both, [0, 4], 1, length=100).x, data.x)


def test_rieth_missing_folder_and_file(tmp_path):
    with pytest.raises(DataError, match=r"does not exist.*10\.7910/DVN/6C3JR1"):
        load_rieth(tmp_path / "nope", [1], 1)
    with pytest.raises(DataError, match=r"TEP_Faulty_Training\.csv or .*TEP_Faulty_Training\.RData not found"):
        load_rieth(tmp_path, [1], 1)
    with pytest.raises(DataError, match=r"mine\.csv not found.*dataset\.series\.files\.faulty"):
        load_rieth(tmp_path, [1], 1, files={"faulty": "mine.csv"})


def test_rieth_misspelt_column(tmp_path):
    frame = make_frame(faults=(1,), runs=(1,)).rename(columns={"xmeas_7": "xmeas7", "sample": "Sample"})
    frame.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataError, match=r"f\.csv lacks column\(s\) \['sample', 'xmeas_7'\].*unexpected"):
        load_rieth(tmp_path / "f.csv", [1], 1)


def test_rieth_nan_and_text_cells(tmp_path):
    frame = make_frame(faults=(1,), runs=(1, 2))
    frame.loc[(frame.simulationRun == 2) & (frame["sample"] == 37), "xmv_3"] = np.nan
    frame.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataError, match=r"fault 1, run 2, sample 37: column xmv_3 holds an empty cell or NaN"):
        load_rieth(tmp_path / "f.csv", [1], 2)
    assert load_rieth(tmp_path / "f.csv", [1], 1).x.shape == (1, 500, 52)  # run 2 not selected: no error
    frame = frame.astype({"xmeas_2": object})
    frame.loc[(frame.simulationRun == 1) & (frame["sample"] == 5), "xmeas_2"] = "12,5"
    frame.to_csv(tmp_path / "g.csv", index=False)
    with pytest.raises(DataError, match=r"fault 1, run 1, sample 5: column xmeas_2 holds '12,5'"):
        load_rieth(tmp_path / "g.csv", [1], 1)


def test_rieth_too_few_runs_and_bad_config(tmp_path):
    make_frame(faults=(1, 2), runs=(1, 2)).to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataError, match=r"fault 1 needs runs 2\.\.4.*has 2 run\(s\) of it \(runs 1\.\.2\)"):
        load_rieth(tmp_path / "f.csv", [1, 2], 3, first_run=2)
    with pytest.raises(DataError, match=r"fault 3 needs runs 1.*has 0 run\(s\).*faults in the file: 1\.\.2"):
        load_rieth(tmp_path / "f.csv", [3], 1)
    for kwargs in [
        dict(faults=[21], runs_per_class=1),
        dict(faults=[1, 1], runs_per_class=1),
        dict(faults=[1], runs_per_class=0),
        dict(faults=[1], runs_per_class=1, length=501),
        dict(faults=[1], runs_per_class=1, part="validation"),
    ]:  # direct calls, no config check before them: a ValueError naming the key
        with pytest.raises(ValueError, match="dataset.series."):
            load_rieth(tmp_path / "f.csv", **kwargs)


def test_rieth_duplicate_sample(tmp_path):
    frame = make_frame(faults=(1,), runs=(1,))
    frame = pd.concat([frame, frame[frame["sample"] == 9]])
    frame.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(DataError, match=r"fault 1, run 1: sample\(s\) \[9\] appear more than once"):
        load_rieth(tmp_path / "f.csv", [1], 1)
    assert KEYS == ["faultNumber", "simulationRun", "sample"]
