"""Rieth et al. (2017) Tennessee Eastman runs (Harvard Dataverse doi:10.7910/DVN/6C3JR1, CC0).

The release ships four `.RData` files, each one data frame with columns `faultNumber, simulationRun,
sample, xmeas_1..xmeas_41, xmv_1..xmv_11`: `TEP_FaultFree_Training`, `TEP_Faulty_Training`,
`TEP_FaultFree_Testing`, `TEP_Faulty_Testing`. CSV copies with the same columns work too.

File names: `path` is a folder, or one file holding every wanted fault. In a folder, fault 0 is read
from the `fault_free` file and faults 1..20 from the `faulty` file; their default names are the
release's stems for `part` (e.g. `TEP_Faulty_Training`), tried as `.csv` first, then `.RData`.
`files={"fault_free": ..., "faulty": ...}` overrides a name (a name without extension gets the same
lookup). Training runs have 500 samples (fault from sample 21), testing runs 960 (fault from 161).

Memory: CSV is read in chunks of CHUNK_ROWS rows keeping only the selected rows: peak ~0.6 GB plus
the result, whatever the file size (measured on a 1 M-row, 1 GB CSV: 0.57 GB peak RSS, 7.7 s). pyreadr
cannot filter rows, so an `.RData` file is read whole, then filtered slice by slice; peak is about
1 GB per million rows (measured: 1.0 GB for 1 M rows), i.e. ~5 GB for `TEP_Faulty_Training` (5.25 M
rows) and ~10 GB for `TEP_Faulty_Testing` (10.1 M rows). On smaller machines convert the file to CSV
once (in R: `load(f); write.csv(faulty_training, "TEP_Faulty_Training.csv", row.names = FALSE)`).
The result is float32: runs x samples x 52 x 4 bytes (500 runs x 500 samples: 52 MB per fault).

Cache (`cache_dir`, given by dataset=factory): the selected array is cached (data/series/cache.py: atomic,
checksummed) under a key of every selecting argument and each source file's path, size and mtime, and
read back memory-mapped, so the jobs of a sweep after the first read no source file. An `.RData` file
is converted once to two arrays (keys, float32 values) in the cache; later selections read those
memory-mapped in chunks instead of loading the R file whole again. (File names, columns and the
`.RData` conversion: rieth_files.py.)
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.data.dataset import SeriesData
from mmfusion.data.series import cache as disk
from mmfusion.data.series.rieth_files import (  # noqa: F401 (re-exported: tests import KEYS from here)
    KEYS,
    SOURCE,
    _check_columns,
    _converted,
    _plain,
    _rdata_frames,
    _resolve,
    default_files,
)
from mmfusion.data.series.tep import VARIABLES
from mmfusion.data.sources import cache_root, need_path
from mmfusion.errors import DataError

log = logging.getLogger(__name__)

PARTS = {"training": (500, 21), "testing": (960, 161)}  # samples per run, first sample with the fault
CHUNK_ROWS = 200_000


def _chunks(file: Path, cache_dir: Path | None = None):
    """Yield (frame, row label) pieces of the file; the label names a row for error messages."""
    log.info("reading %s (%.1f MB)", file, file.stat().st_size / 1e6)
    if ".csv" in file.name.lower():
        _check_columns(list(pd.read_csv(file, nrows=0).columns), file)
        for chunk in pd.read_csv(file, usecols=KEYS + VARIABLES, chunksize=CHUNK_ROWS, low_memory=False):
            yield chunk, "line"
        return
    if file.suffix.lower() not in (".rdata", ".rda", ".rds"):
        raise DataError(f"{file}: unknown file type; use a .csv or .RData file with the Rieth et al. columns")
    converted = _converted(file, cache_dir)
    if converted is not None:
        keys, vals = converted
        for start in range(0, len(keys), CHUNK_ROWS):
            part = pd.DataFrame(np.asarray(keys[start : start + CHUNK_ROWS]), columns=KEYS)
            part[VARIABLES] = np.asarray(vals[start : start + CHUNK_ROWS])
            part.index = pd.RangeIndex(start, start + len(part))
            yield part, "row"
        return
    df = next(iter(_rdata_frames(file)))
    for start in range(0, len(df), CHUNK_ROWS):
        yield df.iloc[start : start + CHUNK_ROWS], "row"


def _read(file: Path, faults: list[int], runs: range, cache_dir: Path | None = None):
    """Selected rows as (keys int64 (m, 3), values float32 (m, 52)), and {fault: set of runs} in the file."""
    keys_out, vals_out, seen = [np.empty((0, 3), np.int64)], [np.empty((0, len(VARIABLES)), np.float32)], {}
    for chunk, label in _chunks(file, cache_dir):
        keys = {}
        for col in KEYS:
            raw = _plain(chunk[col])
            num = pd.to_numeric(raw, errors="coerce")
            bad = np.flatnonzero(num.isna().to_numpy())
            if len(bad):
                i = bad[0]
                lineno = chunk.index[i] + (2 if label == "line" else 1)
                raise DataError(f"{file}, {label} {lineno}: column {col} holds {raw.iloc[i]!r}, not a number")
            keys[col] = num.to_numpy().astype(np.int64)
        pairs = np.unique(np.stack([keys["faultNumber"], keys["simulationRun"]], 1), axis=0)
        for f, r in pairs:
            seen.setdefault(int(f), set()).add(int(r))
        mask = (
            np.isin(keys["faultNumber"], faults)
            & (keys["simulationRun"] >= runs.start)
            & (keys["simulationRun"] < runs.stop)
        )
        if not mask.any():
            continue
        k = np.stack([keys[c][mask] for c in KEYS], 1)
        sub = chunk.loc[mask, VARIABLES]
        vals = np.empty((len(sub), len(VARIABLES)), dtype=np.float32)
        for j, col in enumerate(VARIABLES):
            raw = _plain(sub[col])
            num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
            vals[:, j] = num
            bad = np.flatnonzero(~np.isfinite(vals[:, j]))
            if len(bad):
                i, cell = bad[0], raw.iloc[bad[0]]
                what = (
                    "an empty cell or NaN"
                    if pd.isna(cell)
                    else f"{cell!r}" + (" (infinite or beyond float32)" if not np.isnan(num[i]) else "")
                )
                raise DataError(
                    f"{file}: fault {k[i, 0]}, run {k[i, 1]}, sample {k[i, 2]}: column {col} holds "
                    f"{what}, not a finite number; fix the file or choose other runs (first_run)"
                )
        keys_out.append(k)
        vals_out.append(vals)
    return np.concatenate(keys_out), np.concatenate(vals_out), seen


def _span(values) -> str:
    v = sorted(int(i) for i in values)
    if len(v) > 1 and v == list(range(v[0], v[-1] + 1)):
        return f"{v[0]}..{v[-1]}"
    return ", ".join(map(str, v[:10])) + (" ..." if len(v) > 10 else "")


def _check_run(samples: np.ndarray, n: int, full: int, where: str) -> None:
    dup = np.unique(samples[1:][np.diff(samples) == 0])
    if len(dup):
        raise DataError(f"{where}: sample(s) {dup[:5].tolist()} appear more than once; each sample must be unique")
    missing = np.setdiff1d(np.arange(1, n + 1), samples)
    if len(missing):
        hint = (
            f"; set dataset.series.length to at most {missing[0] - 1} to use only the first samples of each run"
            if missing[0] > 1
            else ""
        )
        raise DataError(
            f"{where}: has {len(samples)} samples and lacks sample(s) {_span(missing)} "
            f"of 1..{n} ({full} per run in this part){hint}"
        )
    extra = samples[(samples < 1) | (samples > full)]
    if len(extra):
        raise DataError(f"{where}: sample number(s) {extra[:5].tolist()} outside 1..{full}")


def load_rieth(
    path,
    faults: list[int],
    runs_per_class: int,
    *,
    part: str = "training",
    first_run: int = 1,
    length: int | None = None,
    files: dict | None = None,
    cache_dir=None,
) -> SeriesData:
    """Runs `first_run..first_run+runs_per_class-1` of each fault; class k is `faults[k]`.

    Each run gives one sample of its first `length` (default: all 500/960) samples, sorted by `sample`.
    `split` is None: pairing/splitting happens later. `info` records `part` and the fault onset sample.
    """
    _check_arguments(part, faults, runs_per_class, first_run, length)
    full, onset = PARTS[part]
    faults = [int(f) for f in faults]
    n = length or full
    if n < onset and any(faults):
        log.warning("length=%d ends before the fault onset (sample %d): faulty runs show no fault", n, onset)
    runs = range(first_run, first_run + runs_per_class)
    roles = {f: "fault_free" if f == 0 else "faulty" for f in faults}
    paths = _resolve(path, part, files, sorted(set(roles.values())))
    cache_dir = Path(cache_dir) if cache_dir is not None else None
    if cache_dir is not None:
        params = _cache_params(paths, roles, faults, part, runs, n)
        key = disk.key_of(params)
        hit = disk.load_series(cache_dir, key)
        if hit is not None:
            log.info("Rieth %s: %d runs read from the cache %s (source files not read)", part, len(hit.x), cache_dir)
            return hit
    x = np.empty((len(faults) * len(runs), n, len(VARIABLES)), dtype=np.float32)
    y = np.repeat(np.arange(len(faults)), len(runs))
    run_ids = [f"rieth-f{f:02d}-r{r:04d}" for f in faults for r in runs]
    for file in dict.fromkeys(paths.values()):
        mine = [k for k, f in enumerate(faults) if paths[roles[f]] == file]
        _fill_runs(x, file, mine, faults, runs, n, full, cache_dir)
    log.info("Rieth %s: %d runs x %d samples for faults %s", part, len(x), n, faults)
    info = {
        "source": "rieth",
        "part": part,
        "fault_onset_sample": onset,
        "run_length": n,
        "runs_per_class": runs_per_class,
        "first_run": first_run,
        "faults": ",".join(map(str, faults)),
        "files": ",".join(str(p) for p in dict.fromkeys(paths.values())),
    }
    data = SeriesData(x=x, y=y, run_ids=np.asarray(run_ids), variables=list(VARIABLES), split=None, info=info)
    if cache_dir is not None:
        disk.store_series(cache_dir, key, params, data)
    return data


def _cache_params(paths: dict, roles: dict, faults: list[int], part: str, runs: range, n: int) -> dict:
    """What selects the cached runs: every file's path, size and mtime, and the selecting arguments."""
    return {
        "source": "rieth",
        "files": [disk.stamp(p) for p in dict.fromkeys(paths.values())],
        "roles": {str(f): str(paths[r]) for f, r in roles.items()},
        "faults": faults,
        "part": part,
        "runs": [runs.start, runs.stop],
        "length": n,
    }


def _check_arguments(part: str, faults, runs_per_class: int, first_run: int, length: int | None) -> None:
    """For Python callers (ValueError); from a config, the config check has refused these values first."""
    if part not in PARTS:
        raise ValueError(f"dataset.series.part must be one of {sorted(PARTS)}, got {part!r}")
    full, _ = PARTS[part]
    faults = [int(f) for f in faults]
    if not faults or len(set(faults)) != len(faults) or not all(0 <= f <= 20 for f in faults):
        raise ValueError(
            f"dataset.series.faults must be distinct fault numbers in 0..20 (0 = fault-free), got {faults}"
        )
    if runs_per_class < 1 or first_run < 1:
        raise ValueError(
            f"dataset.series.runs_per_class and dataset.series.first_run must be >= 1, got {runs_per_class}, {first_run}"
        )
    if length is not None and not 1 <= length <= full:
        raise ValueError(
            f"dataset.series.length must be in 1..{full} for part={part!r} (or null for all), got {length}"
        )


def _fill_runs(
    x: np.ndarray, file: Path, mine: list[int], faults: list[int], runs: range, n: int, full: int, cache_dir
):
    """The runs of the classes `mine` read from `file` into their rows of x (class k's runs: rows
    k*len(runs)...); a run the file lacks, or with missing samples, is a DataError naming it."""
    keys, vals, seen = _read(file, [faults[k] for k in mine], runs, cache_dir)
    order = np.lexsort((keys[:, 2], keys[:, 1], keys[:, 0]))
    keys, vals = keys[order], vals[order]
    cut = np.flatnonzero(np.any(keys[1:, :2] != keys[:-1, :2], axis=1)) + 1
    groups = {(int(keys[s, 0]), int(keys[s, 1])): (s, e) for s, e in zip(np.r_[0, cut], np.r_[cut, len(keys)]) if e > s}
    for k in mine:
        f = faults[k]
        lacking = [r for r in runs if (f, r) not in groups]
        if lacking:
            have = seen.get(f, set())
            raise DataError(
                f"{file}: fault {f} needs runs {_span(runs)} (first_run={runs.start}, runs_per_class="
                f"{len(runs)}) but the file has {len(have)} run(s) of it"
                f"{' (runs ' + _span(have) + ')' if have else ''}; faults in the file: "
                f"{_span(seen) or 'none'}. Lower runs_per_class or change first_run."
            )
        for j, r in enumerate(runs):
            s, e = groups[(f, r)]
            samples = keys[s:e, 2]
            _check_run(samples, n, full, f"{file}: fault {f}, run {r}")
            x[k * len(runs) + j] = vals[s:e][samples <= n]


def from_config(cfg, progress: bool = True) -> SeriesData:
    """`dataset/series=rieth`: the runs `cfg` (RiethSchema) selects from the Rieth 2017 files."""
    files = dict(cfg.files) if cfg.get("files") else None
    return load_rieth(
        need_path(cfg, "series"),
        list(cfg.faults),
        int(cfg.runs_per_class),
        part=cfg.part,
        first_run=int(cfg.first_run),
        length=cfg.length,
        files=files,
        cache_dir=cache_root(cfg.get("cache_dir")) / "rieth",
    )
