"""`dataset=custom`: real multimodal records paired by id (`dataset.pairing=by_id`).

Records: a CSV with an id, a text and a label column (read by text_csv). Series: a file keyed by the
same ids, either an `.npz` with `ids` (n,) and `x` (n, T, F) (optional `variables`), or a long table
(CSV or Parquet) with columns `id, step, <variables...>`. With `missing: mask`, a record without a
series (or an empty text) keeps a False presence mask instead of being an error.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.data.dataset import Dataset
from mmfusion.data.pairing import cv_settings, make_dataset
from mmfusion.data.text_csv import load_text_csv
from mmfusion.errors import ConfigError, DataError

log = logging.getLogger(__name__)


def _long_table(path: Path, id_column: str, step_column: str):
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except ImportError as err:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow) or give a CSV/.npz") from err
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: cannot be read as a table ({err})") from None
    for col in (id_column, step_column):
        if col not in df.columns:
            raise DataError(f"{path}: no column {col!r}; columns are {list(df.columns)[:8]}... (a long table needs id, step, variables)")
    variables = [c for c in df.columns if c not in (id_column, step_column)]
    values = df[variables].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & df[variables].notna()
    if bad.any().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise DataError(f"{path}: non-numeric cell {df[variables].iat[row, col]!r} in column {variables[col]!r}, "
                        f"data row {row + 1} (id {df[id_column].iat[row]})")
    df = pd.concat([df[[id_column, step_column]], values], axis=1).sort_values([id_column, step_column])
    lengths = df.groupby(id_column, sort=False).size()
    if lengths.nunique() != 1:
        short = lengths[lengths != lengths.max()].index[:5].tolist()
        raise DataError(f"{path}: series have different lengths ({sorted(set(lengths))}); ids {short} differ from "
                        f"the longest ({lengths.max()} steps). Give every id the same number of steps.")
    ids = lengths.index.astype(str).to_numpy()
    x = df[variables].to_numpy(np.float32).reshape(len(ids), int(lengths.iloc[0]), len(variables))
    return ids, x, variables


def load_series_file(path, id_column: str = "id", step_column: str = "step"):
    """(ids, x (n, T, F) float32, variable names) from an .npz or a long CSV/Parquet table."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"series file {path} not found; set dataset.series_path to an .npz or a long CSV/Parquet table")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as f:
                if "ids" not in f.files or "x" not in f.files:
                    raise DataError(f"{path}: an .npz series file needs arrays 'ids' and 'x'; it has {f.files}")
                ids, x = f["ids"].astype(str), np.asarray(f["x"], dtype=np.float32)
                variables = f["variables"].astype(str).tolist() if "variables" in f.files else None
        except ValueError as err:
            raise DataError(f"{path}: cannot be read without pickles ({err}); save plain arrays") from None
        if x.ndim != 3 or len(x) != len(ids):
            raise DataError(f"{path}: 'x' must be (n, T, F) with n = len(ids) = {len(ids)}; got {x.shape}")
        variables = variables or [f"v{j + 1}" for j in range(x.shape[2])]
    else:
        ids, x, variables = _long_table(path, id_column, step_column)
    if x.shape[1] < 1 or x.shape[2] < 1:
        raise DataError(f"{path}: the series have {x.shape[1]} time steps and {x.shape[2]} variables; each needs at least one")
    bad = ~np.isfinite(x).all(axis=(1, 2))
    if bad.any():
        raise DataError(f"{path}: {int(bad.sum())} series hold NaN or infinite values (empty cells count), e.g. ids "
                        f"{np.asarray(ids)[bad][:5].tolist()}; clean those series or drop their records")
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: duplicate ids, e.g. {pd.Series(ids)[pd.Series(ids).duplicated()].iloc[:3].tolist()}")
    return ids, x, variables


def build(cfg) -> Dataset:
    if cfg.pairing != "by_id":
        raise ConfigError(f"dataset=custom pairs records by id: set dataset.pairing=by_id (got {cfg.pairing!r})")
    if cfg.missing not in ("error", "mask"):
        raise ConfigError(f"dataset.missing must be error or mask, got {cfg.missing!r}")
    classes = list(cfg.classes)
    texts = load_text_csv(cfg.records, classes, dict(cfg.label_map) if cfg.get("label_map") else None,
                          text_column=cfg.text_column, label_column=cfg.label_column, id_column=cfg.id_column,
                          encoding=cfg.encoding, empty="drop" if cfg.missing == "mask" else "error")
    s_ids, x, variables = load_series_file(cfg.series_path, cfg.id_column, cfg.get("step_column", "step"))
    position = {i: k for k, i in enumerate(s_ids)}
    rec_ids = texts.ids.astype(str)
    lacking = [i for i in rec_ids if i not in position]
    orphans = sorted(set(s_ids) - set(rec_ids))
    if lacking and cfg.missing == "error":
        raise DataError(f"{len(lacking)} record(s) of {cfg.records} have no series in {cfg.series_path} "
                        f"(e.g. {lacking[:5]}); add them or set dataset.missing=mask")
    if orphans:
        log.warning("%d series in %s have no record (no label) and are ignored, e.g. %s", len(orphans), cfg.series_path, orphans[:5])
    has = np.asarray([i in position for i in rec_ids])
    series = np.full((len(rec_ids), *x.shape[1:]), np.nan, dtype=np.float32)  # masked rows are never used
    series[has] = x[[position[i] for i in rec_ids[has]]]
    ds = make_dataset(classes, {"text": texts.texts, "series": series}, texts.y, rec_ids, float(cfg.test_fraction),
                      float(cfg.val_fraction), int(cfg.seed), present={"text": np.ones(len(rec_ids), bool), "series": has},
                      info={"source": "custom", "series_variables": variables, "records_without_series": len(lacking),
                            "series_without_record": len(orphans)}, cv=cv_settings(cfg))
    return ds
