"""The one reader of id-keyed series files, shared by `dataset=custom` and `mmfusion predict`.

Formats: an `.npz` with `ids` (n,) and `x` (n, T, F) (optional `variables`), or a long table (CSV or
Parquet) with columns `id, step, <variables...>`, one row per record and time step, in any order.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.errors import DataError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def in_float32(path: Path, values, ids=None) -> None:
    """Values beyond float32 (+-3.4e38) would turn into inf when cast: say so, naming the record."""
    v = np.asarray(values, dtype=np.float64) if not isinstance(values, np.ndarray) else values
    if v.dtype.kind != "f" or v.dtype.itemsize <= 4 or not v.size:
        return
    with np.errstate(invalid="ignore"):
        big = np.isfinite(v) & (np.abs(v) > FLOAT32_MAX)
    if big.any():
        first = np.argwhere(big)[0]
        where = f" (record {ids[first[0]]!r})" if ids is not None and v.ndim >= 2 else ""
        raise DataError(
            f"{path}: value {v[tuple(first)]:g}{where} is out of float32 range (|x| <= {FLOAT32_MAX:.3g}); "
            f"rescale the series"
        )


def _read_npz(path: Path):
    with open(path, "rb") as fh:
        if not fh.read(4).startswith(b"PK"):  # np.load would call it "pickled data"
            raise DataError(f"{path}: not an .npz file (not a zip archive of arrays); save it with numpy.savez")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "ids" not in f.files or "x" not in f.files:
                raise DataError(f"{path}: an .npz series file needs arrays 'ids' and 'x'; it has {f.files}")
            ids, x = f["ids"].astype(str), np.asarray(f["x"])
            in_float32(path, x, ids)
            x = x.astype(np.float32)
            variables = f["variables"].astype(str).tolist() if "variables" in f.files else None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        if "allow_pickle" in str(err):  # an object array: loading it would unpickle Python objects
            raise DataError(
                f"{path}: holds Python objects (an object array), which mmfusion never unpickles; save the "
                f"series without pickles, as numeric and string arrays (numpy.savez)"
            ) from None
        raise DataError(f"{path}: not a readable .npz of plain arrays ({err}); save it with numpy.savez") from None
    if x.ndim != 3 or len(x) != len(ids):
        raise DataError(f"{path}: 'x' must be (n, T, F) with n = len(ids) = {len(ids)}; got {x.shape}")
    return ids, x, variables or [f"v{j + 1}" for j in range(x.shape[2])]


def _read_long(path: Path, id_column: str, step_column: str, equal_length: bool):
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, encoding="utf-8-sig")
    except ImportError as err:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow) or give a CSV/.npz") from err
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: cannot be read as a table ({err}); save it as UTF-8 CSV") from None
    missing = [c for c in (id_column, step_column) if c not in df.columns]
    variables = [c for c in df.columns if c not in (id_column, step_column)]
    if missing or not variables:
        raise DataError(
            f"{path}: a long table needs columns {id_column}, {step_column}, <variables...>; "
            f"its columns are {list(df.columns)[:8]}"
        )
    values = df[variables].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & df[variables].notna()
    if bad.any().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise DataError(
            f"{path}: non-numeric cell {df[variables].iat[row, col]!r} in column {variables[col]!r}, "
            f"data row {row + 1} (id {df[id_column].iat[row]})"
        )
    steps = pd.to_numeric(df[step_column], errors="coerce")
    if steps.isna().any():
        row = int(np.flatnonzero(steps.isna().to_numpy())[0])
        raise DataError(
            f"{path}: column {step_column!r} must hold numbers; data row {row + 1} has {df[step_column].iat[row]!r}"
        )
    in_float32(path, values.to_numpy(np.float64))
    df = pd.concat([df[[id_column]].astype(str), steps.rename(step_column), values], axis=1)
    df = df.sort_values([id_column, step_column], kind="stable")
    groups = df.groupby(id_column, sort=False)
    lengths = groups.size()
    if not equal_length:
        ids = np.asarray([str(i) for i in lengths.index])
        return ids, [g[variables].to_numpy(np.float32) for _, g in groups], variables
    if lengths.nunique() != 1:
        short = lengths[lengths != lengths.max()].index[:5].tolist()
        raise DataError(
            f"{path}: series have different lengths ({sorted(set(lengths))}); ids {short} differ from "
            f"the longest ({lengths.max()} steps). Give every id the same number of steps."
        )
    ids = lengths.index.astype(str).to_numpy()
    x = df[variables].to_numpy(np.float32).reshape(len(ids), int(lengths.iloc[0]), len(variables))
    return ids, x, variables


def read_series_file(path, id_column: str = "id", step_column: str = "step", equal_length: bool = True):
    """(ids, x, variable names): x a float32 (n, T, F) array, or with `equal_length=False` a list of
    (T_i, F) arrays (a long table whose records may differ in length; the caller names the odd one).
    Refuses a missing file, missing columns, non-numeric cells, NaN or infinite values and repeated ids,
    naming the file and the record."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"series file {path}: no such file")
    if path.suffix == ".npz":
        ids, x, variables = _read_npz(path)
    else:
        ids, x, variables = _read_long(path, id_column, step_column, equal_length)
    for rid, xi in zip(ids, x):
        if xi.shape[0] < 1 or xi.shape[-1] < 1:
            raise DataError(
                f"{path}: record {rid!r} has {xi.shape[0]} time steps and {xi.shape[-1]} variables; "
                f"each needs at least one"
            )
    bad = [rid for rid, xi in zip(ids, x) if not np.isfinite(xi).all()]
    if bad:
        raise DataError(
            f"{path}: {len(bad)} series hold NaN or infinite values (empty cells count), e.g. ids "
            f"{bad[:5]}; clean those series or drop their records"
        )
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: duplicate ids, e.g. {pd.Series(ids)[pd.Series(ids).duplicated()].iloc[:3].tolist()}")
    return ids, x, variables
