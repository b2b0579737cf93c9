"""Texts from any CSV with a text column and a label column (defaults: MathWorks' factoryReports layout).

factoryReports.csv has the columns `Description,Category,Urgency,Resolution,Cost`, is UTF-8 with a BOM
and quotes fields that contain commas. Quoted fields may also span lines. A BOM is stripped whatever
the encoding says. Row numbers in messages and ids count data rows from 1 (the header is not a row).
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmfusion.data.dataset import TextData
from mmfusion.data.sources import need_path
from mmfusion.errors import DataError

log = logging.getLogger(__name__)

_SHOW = 5  # how many row numbers a message lists


def _rows_text(rows: list[int]) -> str:
    more = f" and {len(rows) - _SHOW} more" if len(rows) > _SHOW else ""
    return ", ".join(str(r) for r in rows[:_SHOW]) + more


def _read_text(path: Path, encoding: str) -> str:
    if not path.is_file():
        hint = "it is a directory" if path.is_dir() else "no such file"
        raise DataError(f"text CSV {path}: {hint}; set the dataset's text path to an existing CSV file")
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding)
    except LookupError:
        raise ValueError(f"text CSV {path}: encoding={encoding!r} is not a known encoding") from None
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"text CSV {path}: byte 0x{raw[e.start]:02x} at offset {e.start} (line {line}) is not valid "
            f"{encoding}; re-save the file as UTF-8 or set encoding= to the file's encoding "
            f"(e.g. encoding=cp1252 or encoding=latin-1)"
        ) from None
    return text.lstrip("\ufeff")


def _column(path: Path, header: list[str], name: str, what: str) -> int:
    if name in header:
        return header.index(name)
    lower = {h.lower(): h for h in header}
    close = [lower[name.lower()]] if name.lower() in lower else difflib.get_close_matches(name, header, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(
        f"text CSV {path}: no {what} column {name!r}; the columns are {header}.{hint} Set {what}_column to one of them"
    )


def load_text_csv(
    path,
    classes: list[str],
    label_map: dict[str, str] | None,
    *,
    text_column: str = "Description",
    label_column: str = "Category",
    id_column: str | None = None,
    encoding: str = "utf-8-sig",
    empty: str = "error",
) -> TextData:
    """Read texts and labels; `label_map` maps file labels to class names (None: labels are class names).

    empty="error" rejects rows whose text is blank; empty="drop" drops them (counted in info).
    """
    path = Path(path)
    classes = list(classes)
    given_map = label_map is not None
    label_map = _checked_label_map(classes, label_map, empty)
    text = _read_text(path, encoding)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _header(reader, path, text_column, label_column)
    columns = [_column(path, header, name, what) for name, what in ((text_column, "text"), (label_column, "label"))]
    i_id = _column(path, header, id_column, "id") if id_column else None
    rows = _read_rows(reader, path, header, *columns, i_id)
    if rows.read == 0:
        raise DataError(f"text CSV {path}: the file has a header but no data rows; add rows")
    if rows.empty:
        if empty == "error":
            raise DataError(
                f"text CSV {path}: {len(rows.empty)} row(s) have an empty {text_column!r} (rows "
                f"{_rows_text(rows.empty)}); fill them in or set empty=drop to drop them"
            )
        log.warning("text CSV %s: dropped %d row(s) with an empty %r", path.name, len(rows.empty), text_column)
    y, counts = _class_of_rows(path, rows, classes, label_map, given_map, label_column)
    if i_id is not None:
        _check_ids(path, rows.ids, id_column)
    texts = rows.texts
    info = {
        "source": "csv",
        "file": path.name,
        "rows_read": rows.read,
        "rows_dropped": len(rows.empty),
        "n": len(texts),
        "class_counts": {c: int(n) for c, n in zip(classes, counts)},
        "duplicate_texts": len(texts) - len(set(texts)),
    }
    log.info(
        "text CSV %s: %d rows, %d dropped, %d duplicate texts, classes %s",
        path.name,
        rows.read,
        len(rows.empty),
        info["duplicate_texts"],
        info["class_counts"],
    )
    return TextData(texts=np.asarray(texts, dtype=object), y=y, ids=np.asarray(rows.ids), info=info)


def _check_ids(path: Path, ids: list[str], id_column: str) -> None:
    dup_ids = [i for i, n in Counter(ids).items() if n > 1 or not i]
    if dup_ids:
        raise DataError(
            f"text CSV {path}: column {id_column!r} has empty or repeated ids {dup_ids[:_SHOW]}; "
            f"ids must be unique, or leave id_column unset to number the rows"
        )


def _checked_label_map(classes: list[str], label_map: dict | None, empty: str) -> dict[str, str]:
    """The label map as strings (None: each class name maps to itself). The checks are for Python
    callers (ValueError): from a config, the config check has refused these values first."""
    if empty not in ("error", "drop"):
        raise ValueError(f"text CSV: empty={empty!r} is not known; use 'error' or 'drop'")
    label_map = {c: c for c in classes} if label_map is None else {str(k): str(v) for k, v in label_map.items()}
    bad = sorted({v for v in label_map.values() if v not in classes})
    if bad:
        raise ValueError(
            f"text CSV: label_map maps to {bad}, which are not among the classes {classes}; "
            f"map every label to one of the classes"
        )
    return label_map


def _header(reader, path: Path, text_column: str, label_column: str) -> list[str]:
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise DataError(
            f"text CSV {path}: the file is empty; it needs a header row "
            f"({text_column},{label_column},...) and data rows"
        )
    return [h.lstrip("\ufeff").removeprefix("\u00ef\u00bb\u00bf").strip() for h in header]  # BOM read as latin-1


@dataclass
class _Rows:
    """The data rows read: texts, labels, ids and row numbers of the non-empty ones, the empty ones' numbers."""

    texts: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    ids: list = field(default_factory=list)
    numbers: list = field(default_factory=list)
    empty: list = field(default_factory=list)
    read: int = 0


def _read_rows(reader, path: Path, header: list[str], i_text: int, i_label: int, i_id: int | None) -> _Rows:
    rows = _Rows()
    try:
        for fields in reader:
            if not fields or fields == [""]:  # blank line
                continue
            rows.read += 1
            if len(fields) != len(header):
                raise DataError(
                    f"text CSV {path}: row {rows.read} (ending on line {reader.line_num}) has {len(fields)} "
                    f"fields, the header has {len(header)}; quote fields that contain commas"
                )
            t = fields[i_text].strip()
            if not t:
                rows.empty.append(rows.read)
                continue
            rows.texts.append(t)
            rows.labels.append(fields[i_label].strip())
            rows.ids.append(fields[i_id].strip() if i_id is not None else f"row-{rows.read:05d}")
            rows.numbers.append(rows.read)
    except csv.Error as e:
        raise DataError(f"text CSV {path}: cannot parse line {reader.line_num} ({e}); check its quoting") from None
    return rows


def _class_of_rows(path: Path, rows: _Rows, classes, label_map, given_map: bool, label_column: str):
    """Each row's class index through the label map, and the rows per class; an unknown label or a
    class without rows is a DataError naming them."""
    unknown = [(lab, r) for lab, r in zip(rows.labels, rows.numbers) if lab not in label_map]
    if unknown:
        counts = Counter(lab for lab, _ in unknown)
        unset = " (label_map is unset, so labels must equal the class names)" if not given_map else ""
        listed = ", ".join(f"{lab or '(empty)'!r}: {n}" for lab, n in counts.most_common())
        raise DataError(
            f"text CSV {path}: column {label_column!r} has labels outside the label map ({listed}; at rows "
            f"{_rows_text([r for _, r in unknown])}); known labels are {sorted(label_map)}{unset}. Add them "
            f"to the label map or remove those rows"
        )
    index = {c: k for k, c in enumerate(classes)}
    y = np.asarray([index[label_map[lab]] for lab in rows.labels], dtype=np.int64)
    counts = np.bincount(y, minlength=len(classes))
    missing = [c for c, n in zip(classes, counts) if n == 0]
    if missing:
        sources = {c: sorted(k for k, v in label_map.items() if v == c) for c in missing}
        raise DataError(
            f"text CSV {path}: no rows for class(es) {missing} (labels mapped to them: {sources}); "
            f"check the label map or drop those classes from the dataset"
        )
    return y, counts


def from_config(cfg, classes: list[str], per_class: int, seed: int) -> TextData:
    """`dataset/text=csv`: the texts of the CSV file `cfg` (CsvSchema) points at."""
    label_map = dict(cfg.label_map) if cfg.get("label_map") else None
    return load_text_csv(
        need_path(cfg, "text"),
        classes,
        label_map,
        text_column=cfg.text_column,
        label_column=cfg.label_column,
        id_column=cfg.get("id_column"),
        encoding=cfg.encoding,
        empty=cfg.empty,
    )
