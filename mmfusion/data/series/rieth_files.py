"""The Rieth et al. source files (rieth.py reads them): their names in a folder, their columns, and
an `.RData` file read whole with pyreadr or converted once into the cache as two arrays.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.data.series import cache as disk
from mmfusion.data.series.tep import VARIABLES
from mmfusion.errors import DataError

log = logging.getLogger("mmfusion.data.series.rieth")  # the log lines keep the name they had before the split

KEYS = ["faultNumber", "simulationRun", "sample"]
SOURCE = "Rieth et al. 2017, Harvard Dataverse doi:10.7910/DVN/6C3JR1 (https://doi.org/10.7910/DVN/6C3JR1)"


def default_files(part: str) -> dict[str, str]:
    return {"fault_free": f"TEP_FaultFree_{part.capitalize()}", "faulty": f"TEP_Faulty_{part.capitalize()}"}


def _resolve(path, part: str, files: dict | None, roles: list[str]) -> dict[str, Path]:
    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(
            f"Rieth TEP data not found: {root} does not exist. Download the files from "
            f"{SOURCE} and set dataset.series.path to the folder (or file) holding them."
        )
    if root.is_file():
        if files:
            raise ValueError(  # the config check refuses it first (mmfusion/schemas/check/sources.py)
                f"dataset.series.files is only used when dataset.series.path is a folder; {root} is a file"
            )
        return {role: root for role in roles}
    unknown = sorted(set(files or {}) - {"fault_free", "faulty"})
    if unknown:
        raise ValueError(f"dataset.series.files has unknown key(s) {unknown}; use 'fault_free' and/or 'faulty'")
    names = {**default_files(part), **dict(files or {})}
    out = {}
    for role in roles:
        name = str(names[role])
        tries = [root / name] if Path(name).suffix else [root / (name + ext) for ext in (".csv", ".RData")]
        found = [p for p in tries if p.is_file()]
        if not found:
            raise DataError(
                f"{' or '.join(map(str, tries))} not found (the {role} {part} file). Download it "
                f"from {SOURCE}, or give its name as dataset.series.files.{role}."
            )
        out[role] = found[0]
    return out


def _check_columns(columns, file: Path) -> None:
    missing = [c for c in KEYS + VARIABLES if c not in set(columns)]
    if missing:
        extra = [c for c in columns if c not in set(KEYS + VARIABLES)]
        raise DataError(
            f"{file} lacks column(s) {missing}"
            + (f" (it has unexpected {extra})" if extra else "")
            + "; expected faultNumber, simulationRun, sample, xmeas_1..xmeas_41, xmv_1..xmv_11"
        )


def _converted(file: Path, cache_dir: Path | None):
    """The .RData file as (keys float64 (m, 3), values float32 (m, 52)) memory-mapped from the cache,
    converted on first use; None without a cache or when the frame does not convert cleanly (the
    row-by-row reader then names the bad cell)."""
    if cache_dir is None:
        return None
    key = disk.key_of({"source": "rieth-rdata", "file": disk.stamp(file)})
    keys, vals = disk.load_array(cache_dir, key + "-keys"), disk.load_array(cache_dir, key + "-values")
    if keys is not None and vals is not None:
        log.info("%s: reading its converted copy in %s", file, cache_dir)
        return keys[0], vals[0]
    df = next(iter(_rdata_frames(file)))
    try:
        k = np.stack([pd.to_numeric(_plain(df[c]), errors="coerce").to_numpy(np.float64) for c in KEYS], 1)
        v = df[VARIABLES].to_numpy(np.float32)
    except (ValueError, TypeError):
        return None
    del df
    params = {"file": disk.stamp(file)}
    disk.store_array(cache_dir, key + "-keys", params, k)
    disk.store_array(cache_dir, key + "-values", params, v)
    log.info("%s converted once to %s (%d rows)", file, cache_dir, len(k))
    return k, v


def _rdata_frames(file: Path):
    """The R file's data frame, read whole (pyreadr cannot filter rows), columns checked."""
    import pyreadr

    if file.stat().st_size > 200e6:
        log.warning(
            "%s is read whole (pyreadr cannot filter rows): about 1 GB of memory per million rows "
            "(~5 GB for TEP_Faulty_Training); a CSV copy is read in chunks instead",
            file,
        )
    try:
        frames = [df for df in pyreadr.read_r(str(file)).values() if df is not None]
    except Exception as exc:  # pyreadr raises its own types for corrupt/unsupported files
        raise DataError(f"{file}: cannot read it as R data ({exc}); re-download it from {SOURCE}") from exc
    if not frames:
        raise DataError(f"{file} holds no data frame")
    df = frames[0]
    log.info("%s: %d rows, %.0f MB in memory", file, len(df), df.memory_usage().sum() / 1e6)
    _check_columns(list(df.columns), file)
    df = df[KEYS + VARIABLES]
    df.index = pd.RangeIndex(len(df))
    yield df


def _plain(col: pd.Series) -> pd.Series:
    return col.astype(object) if isinstance(col.dtype, pd.CategoricalDtype) else col  # R factors
