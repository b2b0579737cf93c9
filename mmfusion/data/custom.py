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

from mmfusion.arrays import Rows
from mmfusion.data.dataset import Dataset
from mmfusion.data.files import read_series_file
from mmfusion.data.pairing import cv_settings, make_dataset
from mmfusion.data.text.csv import load_text_csv
from mmfusion.errors import DataError

log = logging.getLogger(__name__)


def load_series_file(path, id_column: str = "id", step_column: str = "step"):
    """(ids, x (n, T, F) float32, variable names) from an .npz or a long CSV/Parquet table."""
    if not Path(path).is_file():
        raise DataError(f"series file {path} not found; set dataset.series_path to an .npz or a long CSV/Parquet table")
    return read_series_file(path, id_column, step_column)


def build(cfg, modalities=None) -> Dataset:
    """Both modalities, whichever `modalities` asks for (the records pair a text with a series by id).
    `cfg` is checked (mmfusion/schemas/: pairing=by_id, missing=error|mask, encoding, label_map)."""
    classes = list(cfg.classes)
    texts = load_text_csv(
        cfg.records,
        classes,
        dict(cfg.label_map) if cfg.label_map else None,
        text_column=cfg.text_column,
        label_column=cfg.label_column,
        id_column=cfg.id_column,
        encoding=cfg.encoding,
        empty="drop" if cfg.missing == "mask" else "error",
    )
    s_ids, x, variables = load_series_file(cfg.series_path, cfg.id_column, cfg.step_column)
    position = {i: k for k, i in enumerate(s_ids)}
    rec_ids = texts.ids.astype(str)
    lacking = [i for i in rec_ids if i not in position]
    orphans = sorted(set(s_ids) - set(rec_ids))
    if lacking and cfg.missing == "error":
        raise DataError(
            f"{len(lacking)} record(s) of {cfg.records} have no series in {cfg.series_path} "
            f"(e.g. {lacking[:5]}); add them or set dataset.missing=mask"
        )
    if orphans:
        log.warning(
            "%d series in %s have no record (no label) and are ignored, e.g. %s",
            len(orphans),
            cfg.series_path,
            orphans[:5],
        )
    has = np.asarray([i in position for i in rec_ids])
    # each record's series as a view of rows of the loaded array (no aligned copy); a record without a
    # series points at one row of NaN, appended only then (masked rows are never used)
    if not has.all():
        x = np.concatenate([x, np.full((1, *x.shape[1:]), np.nan, dtype=x.dtype)])
    series = Rows(x, [position[i] if ok else len(x) - 1 for i, ok in zip(rec_ids, has)])
    ds = make_dataset(
        classes,
        {"text": texts.texts, "series": series},
        texts.y,
        rec_ids,
        float(cfg.test_fraction),
        float(cfg.val_fraction),
        int(cfg.seed),
        present={"text": np.ones(len(rec_ids), bool), "series": has},
        info={
            "source": "custom",
            "series_variables": variables,
            "records_without_series": len(lacking),
            "series_without_record": len(orphans),
        },
        cv=cv_settings(cfg),
    )
    return ds
