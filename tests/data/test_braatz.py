"""Braatz TEP files: windows, splits, the transposed d00.dat, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from mmfusion.data.series.braatz import VARIABLES, load_braatz, read_dat
from mmfusion.errors import DataError


def values(fault: int, rows: int, test: bool) -> np.ndarray:
    """Cell (t, j) = fault * 1e4 + 5000 * test + t + j / 100: every window's origin is readable."""
    t = np.arange(rows)[:, None]
    return fault * 1e4 + 5000 * test + t + np.arange(52)[None, :] / 100


@pytest.fixture
def folder(tmp_path):
    np.savetxt(tmp_path / "d00.dat", values(0, 500, False).T, fmt="%.6e")  # stored transposed, 52 x 500
    np.savetxt(tmp_path / "d00_te.dat", values(0, 960, True), fmt="%.6e")
    for f in (1, 3):
        np.savetxt(tmp_path / f"d{f:02d}.dat", values(f, 480, False), fmt="%.6e")
        np.savetxt(tmp_path / f"d{f:02d}_te.dat", values(f, 960, True), fmt="%.6e")
    return tmp_path


def test_read_dat_transposes_d00(folder):
    d00 = read_dat(folder / "d00.dat")
    assert d00.shape == (500, 52) and d00.dtype == np.float32
    np.testing.assert_allclose(d00, values(0, 500, False), rtol=1e-6)
    assert read_dat(folder / "d01.dat").shape == (480, 52)


def test_windows_and_splits(folder):
    data = load_braatz(folder, [3, 0, 1], window=100, stride=50)
    n_train = {3: 8, 0: 9, 1: 8}  # (480 - 100) // 50 + 1 = 8; (500 - 100) // 50 + 1 = 9
    n_test = (800 - 100) // 50 + 1  # rows 160..959 of dNN_te.dat
    assert data.x.shape == (sum(n_train.values()) + 3 * n_test, 100, 52)
    assert data.variables == VARIABLES and data.x.dtype == np.float32
    for k, f in enumerate([3, 0, 1]):
        assert data.info[f"windows_train_d{f:02d}"] == n_train[f]
        assert data.info[f"windows_test_d{f:02d}"] == n_test
        assert ((data.y == k) & (data.split == "train")).sum() == n_train[f]
        assert ((data.y == k) & (data.split == "test")).sum() == n_test
    assert len(set(data.run_ids)) == len(data.run_ids)
    i = data.run_ids.tolist().index("braatz-d03-train-w0003")
    assert data.y[i] == 0 and data.split[i] == "train"
    np.testing.assert_allclose(data.x[i], values(3, 480, False)[150:250], rtol=1e-6)
    j = data.run_ids.tolist().index("braatz-d01-test-w0000")
    np.testing.assert_allclose(data.x[j], values(1, 960, True)[160:260], rtol=1e-6)


def test_no_window_straddles(folder):
    data = load_braatz(folder, [0, 1], window=37, stride=11, test_onset=160)
    origin = (data.x[:, :, 0] % 1e4).round().astype(int)  # time index within its file (+5000 for test)
    test = data.split == "test"
    assert (origin[test] >= 5000 + 160).all() and (origin[~test] < 5000).all()
    assert (np.diff(origin, axis=1) == 1).all()  # each window is consecutive rows of one file


def test_window_too_long(folder):
    with pytest.raises(DataError, match=r"d01\.dat: window=481 is longer than its 480 rows"):
        load_braatz(folder, [1], window=481, stride=1)
    with pytest.raises(DataError, match=r"d01_te\.dat: window=470 is longer than its 460 rows after test_onset=500"):
        load_braatz(folder, [1], window=470, stride=1, test_onset=500)


def test_bad_arguments_are_refused_for_python_callers(folder):
    """Direct calls (no config check before them): a ValueError naming the key."""
    for kwargs in [dict(window=0, stride=1), dict(window=10, stride=0), dict(window=10, stride=1, test_onset=-1)]:
        with pytest.raises(ValueError, match="dataset.series."):
            load_braatz(folder, [1], **kwargs)
    for faults in ([22], [1, 1], []):
        with pytest.raises(ValueError, match="dataset.series.faults"):
            load_braatz(folder, faults, window=10, stride=5)


def test_missing_files(folder, tmp_path):
    with pytest.raises(DataError, match=r"d02\.dat not found"):
        load_braatz(folder, [1, 2], window=10, stride=5)
    with pytest.raises(DataError, match=r"folder .*nope not found"):
        load_braatz(tmp_path / "nope", [1], window=10, stride=5)


def test_bad_cells(tmp_path):
    np.savetxt(tmp_path / "d05.dat", values(5, 480, False)[:, :50])
    with pytest.raises(DataError, match=r"d05\.dat has 50 columns; expected 52"):
        read_dat(tmp_path / "d05.dat")
    lines = [" ".join(f"{v:.4f}" for v in row) for row in values(6, 20, False)]
    lines[7] = "abc " + lines[7].split(" ", 1)[1]
    (tmp_path / "d06.dat").write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"d06\.dat, line 8, value 1: 'abc' is not a number"):
        read_dat(tmp_path / "d06.dat")
    lines[7] = " ".join(f"{v:.4f}" for v in values(6, 20, False)[7])
    lines[3] = lines[3].rsplit(" ", 1)[0] + " nan"
    (tmp_path / "d07.dat").write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"d07\.dat, line 4, value 52 \(xmv_11, row 4\): nan is not a finite"):
        read_dat(tmp_path / "d07.dat")
    lines[3] = lines[3].rsplit(" ", 1)[0]
    (tmp_path / "d08.dat").write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"d08\.dat, line 4: 51 values where line 1 has 52"):
        read_dat(tmp_path / "d08.dat")
