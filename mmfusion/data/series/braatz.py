"""The classic Braatz Tennessee Eastman files (Chiang, Russell & Braatz), cut into windows.

A folder holds `dNN.dat` (training: 480 x 52, recorded after the fault was introduced) and
`dNN_te.dat` (testing: 960 x 52, the fault from sample 161), NN = 00..21: whitespace-separated floats,
no header, columns XMEAS 1-41 then XMV 1-11. `d00.dat` is stored transposed (52 x 500); any file of
shape 52 x N with N != 52 is transposed on reading.

One file is one long run, so the samples are windows of `window` steps every `stride` steps:
windows from `dNN.dat` form split "train"; windows from `dNN_te.dat` are cut only from rows
`test_onset..` (default 160, i.e. from sample 161, when the fault is on) and form split "test", so no
window straddles the onset or the two files. For fault 0 (`d00_te.dat`) the same cut applies, so that
every class's test windows cover the same time span. Class k is `faults[k]`.

With `cache_dir` (given by dataset=factory) the windows are cached (data/series/cache.py: atomic,
checksummed) under a key of the selecting arguments and every file's path, size and mtime, and read
back memory-mapped: later jobs of a sweep parse no text file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from mmfusion.data.dataset import SeriesData
from mmfusion.data.series import cache as disk
from mmfusion.data.series.tep import VARIABLES
from mmfusion.data.sources import cache_root, need_path
from mmfusion.errors import DataError

log = logging.getLogger(__name__)

MAX_FAULT = 21


def read_dat(file: Path) -> np.ndarray:
    """One Braatz file as a float32 (rows, 52) array, transposing a 52 x N file (d00.dat)."""
    if not file.is_file():
        raise DataError(
            f"{file} not found; dataset.series.path must be the folder holding the Braatz TEP files "
            f"dNN.dat and dNN_te.dat (NN = 00..{MAX_FAULT})"
        )
    rows = [line.split() for line in file.read_text().splitlines()]
    rows = [(i + 1, r) for i, r in enumerate(rows) if r]
    if not rows:
        raise DataError(f"{file} is empty")
    widths = {len(r) for _, r in rows}
    if len(widths) > 1:
        first = rows[0][1]
        lineno, r = next((i, r) for i, r in rows if len(r) != len(first))
        raise DataError(
            f"{file}, line {lineno}: {len(r)} values where line {rows[0][0]} has {len(first)}; "
            f"every line must have the same number of values (52 in the usual layout)"
        )
    try:
        data = np.asarray([r for _, r in rows], dtype=np.float64)
    except ValueError:
        for lineno, r in rows:
            for j, cell in enumerate(r):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(f"{file}, line {lineno}, value {j + 1}: {cell!r} is not a number") from None
        raise
    transposed = data.shape[1] != len(VARIABLES) and data.shape[0] == len(VARIABLES)
    if transposed:
        data = data.T
        log.info("%s is stored as 52 x %d: transposed to %d x 52", file, data.shape[0], data.shape[0])
    if data.shape[1] != len(VARIABLES):
        raise DataError(
            f"{file} has {data.shape[1]} columns; expected 52 (XMEAS 1-41 then XMV 1-11), "
            f"or 52 rows for a transposed file like d00.dat"
        )
    out = data.astype(np.float32)
    bad = np.argwhere(~np.isfinite(out))
    if len(bad):
        i, j = bad[0]
        where = f"line {rows[j][0]}, value {i + 1}" if transposed else f"line {rows[i][0]}, value {j + 1}"
        raise DataError(f"{file}, {where} ({VARIABLES[j]}, row {i + 1}): {data[i, j]} is not a finite number")
    return out


def windows(data: np.ndarray, window: int, stride: int) -> np.ndarray:
    """(n, window, F) windows starting at 0, stride, 2*stride, ... that fit entirely in `data`."""
    starts = np.arange(0, len(data) - window + 1, stride)
    return np.stack([data[s : s + window] for s in starts])


def load_braatz(
    path, faults: list[int], *, window: int, stride: int, test_onset: int = 160, cache_dir=None
) -> SeriesData:
    """Train windows from dNN.dat, test windows from dNN_te.dat after `test_onset`; label k for faults[k]."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(
            f"Braatz TEP folder {root} not found; set dataset.series.path to the folder holding "
            f"d00.dat, d00_te.dat, ..., d{MAX_FAULT}.dat, d{MAX_FAULT}_te.dat"
        )
    faults = [int(f) for f in faults]
    _check_arguments(faults, window, stride, test_onset)
    names = [root / f"d{f:02d}{end}.dat" for f in faults for end in ("", "_te")]
    key = None
    if cache_dir is not None and all(p.is_file() for p in names):  # a missing file: the reader says which
        params = {
            "source": "braatz",
            "files": [disk.stamp(p) for p in names],
            "faults": faults,
            "window": window,
            "stride": stride,
            "test_onset": test_onset,
        }
        cache_dir, key = Path(cache_dir), disk.key_of(params)
        hit = disk.load_series(cache_dir, key)
        if hit is not None:
            log.info("Braatz: %d windows read from the cache %s (source files not read)", len(hit.x), cache_dir)
            return hit
    data = _cut_windows(root, faults, window, stride, test_onset)
    if key is not None:
        disk.store_series(cache_dir, key, params, data)
    return data


def _check_arguments(faults: list[int], window: int, stride: int, test_onset: int) -> None:
    """For Python callers (ValueError); from a config, the config check has refused these values first."""
    if not faults or len(set(faults)) != len(faults) or not all(0 <= f <= MAX_FAULT for f in faults):
        raise ValueError(
            f"dataset.series.faults must be distinct fault numbers in 0..{MAX_FAULT} (0 = normal), got {faults}"
        )
    if window <= 0 or stride <= 0:
        raise ValueError(
            f"dataset.series.braatz_window and dataset.series.braatz_stride must be positive, got window={window}, stride={stride}"
        )
    if test_onset < 0:
        raise ValueError(f"dataset.series.test_onset must be >= 0, got {test_onset}")


def _cut_windows(root: Path, faults: list[int], window: int, stride: int, test_onset: int) -> SeriesData:
    """Every fault's files read and cut into windows: train from dNN.dat, test from dNN_te.dat after the onset."""
    xs, ys, ids, splits, info = [], [], [], [], {}
    for k, f in enumerate(faults):
        for split, name, start in (("train", f"d{f:02d}.dat", 0), ("test", f"d{f:02d}_te.dat", test_onset)):
            data = read_dat(root / name)
            part = data[start:]
            if window > len(part):
                after = f" after test_onset={test_onset}" if start else ""
                raise DataError(
                    f"{root / name}: window={window} is longer than its {len(part)} rows{after} "
                    f"({len(data)} in all); lower dataset.series.braatz_window to at most {len(part)}"
                )
            w = windows(part, window, stride)
            xs.append(w)
            ys.append(np.full(len(w), k))
            ids += [f"braatz-d{f:02d}-{split}-w{i:04d}" for i in range(len(w))]
            splits += [split] * len(w)
            info[f"windows_{split}_d{f:02d}"] = len(w)
    info.update(source="braatz", window=window, stride=stride, test_onset=test_onset, faults=",".join(map(str, faults)))
    x = np.concatenate(xs).astype(np.float32)
    log.info(
        "Braatz: %d train / %d test windows of %d steps for faults %s",
        splits.count("train"),
        splits.count("test"),
        window,
        faults,
    )
    return SeriesData(
        x=x,
        y=np.concatenate(ys).astype(np.int64),
        run_ids=np.asarray(ids),
        variables=list(VARIABLES),
        split=np.asarray(splits),
        info=info,
    )


def from_config(cfg, progress: bool = True) -> SeriesData:
    """`dataset/series=braatz`: windows of the dNN.dat files `cfg` (BraatzSchema) points at."""
    return load_braatz(
        need_path(cfg, "series"),
        list(cfg.faults),
        window=int(cfg.braatz_window),
        stride=int(cfg.braatz_stride),
        test_onset=int(cfg.test_onset),
        cache_dir=cache_root(cfg.get("cache_dir")) / "braatz",
    )
