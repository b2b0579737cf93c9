"""The config check of each data source (`dataset/series=`, `dataset/text=`, `dataset=custom`): the rules a
source's loader would otherwise meet only after minutes of loading or simulating. `check_sources(cfg)`
runs near the end of `mmfusion.schemas.check.check`, right after composition and before anything is
built; each refusal is one ConfigError naming the key. The loaders in mmfusion/data/ keep ValueError
guards with the same words for Python callers, who pass arguments without a config check.
"""

from __future__ import annotations

from pathlib import Path

from mmfusion.errors import ConfigError
from mmfusion.schemas.check.bounds import series_length
from mmfusion.schemas.dataset import FACTORY_REPORT_LABELS, REPORT_CATEGORIES

RIETH_FILE_ROLES = ("fault_free", "faulty")  # the keys of dataset.series.files (data/series/rieth_files.py)


def check_sources(cfg) -> None:
    """The checks of the sources `cfg.dataset` uses (none for dataset=synthetic)."""
    d = cfg.get("dataset")
    if d is None:
        return
    if d.get("name") == "custom":
        _text_file("dataset", d, list(d.classes))
        return
    if d.get("name") != "factory":
        return
    series, text = d.series, d.text
    if series.source in ("rieth", "braatz"):
        _need_path("series", series)
    if series.source == "rieth":
        _rieth(series)
    if series.source == "braatz":
        _braatz(d)
    _window(d, series_length(d))
    classes = list(d.classes)
    if text.source == "csv":
        _need_path("text", text)
        _text_file("dataset.text", text, classes)
    if text.source == "factory_reports":
        _factory_reports(text, classes)
    if text.source == "generate":
        _generate(text, classes)


def _need_path(modality: str, source) -> None:
    """A file source (rieth, braatz, csv) cannot do without its path (data/sources.py: need_path)."""
    if not source.get("path"):
        raise ConfigError(f"dataset/{modality}={source.source} needs dataset.{modality}.path=<file or folder>")


def _rieth(s) -> None:
    """dataset.series.files names the two files inside a folder (data/series/rieth_files.py)."""
    files = s.get("files")
    root = Path(str(s.path)).expanduser()
    if files and root.is_file():
        raise ConfigError(f"dataset.series.files is only used when dataset.series.path is a folder; {root} is a file")
    unknown = sorted(set(files or {}) - set(RIETH_FILE_ROLES))
    if unknown:
        raise ConfigError(f"dataset.series.files has unknown key(s) {unknown}; use 'fault_free' and/or 'faulty'")


def _braatz(d) -> None:
    """The Braatz files fix their own train/test split (dNN.dat / dNN_te.dat): no folds (data/pairing.py)."""
    cv = d.get("cv")
    if cv is not None and cv.folds:
        raise ConfigError(
            "dataset.cv.folds: this series source fixes its own train/test split "
            "(e.g. braatz); use dataset.cv.folds=null with it"
        )


def _window(d, known: tuple[int, int] | None) -> None:
    """dataset.series.window.start may reach back before the onset, not before the run (data/window.py)."""
    w = d.series.get("window")
    if w is None or w.get("start") is None or known is None:
        return
    _, onset = known
    begin = onset + int(w.start)
    if begin < 0:
        raise ConfigError(
            f"dataset.series.window.start={w.start} begins {-begin} sample(s) before the run starts "
            f"(the onset is sample index {onset}); use start >= {-onset}"
        )


def _text_file(prefix: str, t, classes: list[str]) -> None:
    """A text CSV's encoding and label map (data/text/csv.py), for dataset/text=csv and dataset=custom."""
    try:
        b"a".decode(str(t.encoding))  # an empty input would not look the codec up
    except UnicodeError:
        pass  # a known codec that cannot decode this byte alone (utf-16)
    except LookupError:
        raise ConfigError(
            f"{prefix}.encoding={t.encoding}: expected a known text encoding (e.g. utf-8-sig, cp1252, latin-1)"
        ) from None
    if t.get("label_map"):
        _label_map(f"{prefix}.label_map", {str(k): str(v) for k, v in t.label_map.items()}, classes)


def _label_map(key: str, label_map: dict[str, str], classes: list[str], hint: str = "") -> None:
    bad = sorted({v for v in label_map.values() if v not in classes})
    if bad:
        raise ConfigError(
            f"{key} maps to {bad}, which are not among the classes {classes}{hint}; "
            f"map every label to one of the classes"
        )


def _factory_reports(t, classes: list[str]) -> None:
    """The bundled reports' categories map to the classes: through dataset.text.label_map, or (null) the
    default map to the classes of dataset=factory."""
    if t.get("label_map"):
        _label_map("dataset.text.label_map", {str(k): str(v) for k, v in t.label_map.items()}, classes)
    else:
        hint = " (dataset.text.label_map=null: the default map of the bundled file; set dataset.text.label_map)"
        _label_map("dataset.text.label_map", FACTORY_REPORT_LABELS, classes, hint)


def _generate(t, classes: list[str]) -> None:
    """Without dataset.text.categories, class k gets the k-th report category: there are only four."""
    if t.get("categories") is None and len(classes) > len(REPORT_CATEGORIES):
        raise ConfigError(
            f"dataset.text.categories=null: {len(classes)} classes but only {len(REPORT_CATEGORIES)} report "
            f"categories {list(REPORT_CATEGORIES)}; set dataset.text.categories to map each class to one"
        )
