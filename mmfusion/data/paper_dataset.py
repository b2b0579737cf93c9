"""`dataset=factory`: the paper's case. Four fault classes; each sample pairs a fault-report text with
a 52-variable TEP time series of the same class (the modalities are independent given the class).

Series sources (`dataset/series=`): `simulate` (tep-studio), `rieth` (Rieth 2017 .RData/CSV),
`braatz` (dNN.dat files). Text sources (`dataset/text=`): `factory_reports` (MathWorks'
factoryReports.csv, bundled with the package; the default), `generate` (our own generator), `csv` (any
other text CSV). Each source's `from_config` is registered with its schema (mmfusion/schemas/dataset.py).
Pairing and splitting: `pairing.pair_by_label`.
"""

from __future__ import annotations

import logging

from mmfusion.data.dataset import Dataset, SeriesData, TextData
from mmfusion.data.pairing import cv_settings, pair_by_label
from mmfusion.data.sources import cache_root  # noqa: F401 (re-exported: commands.train spills under it)
from mmfusion.data.window import apply_window, jitter_starts
from mmfusion.schemas import registry

log = logging.getLogger(__name__)


def load_series(cfg, progress: bool = True) -> SeriesData:
    """The series of the source `dataset.series.source` names (its `from_config`, via the registry)."""
    return registry.build("dataset/series", cfg, progress)


def load_texts(cfg, classes: list[str], per_class: int, seed: int) -> TextData:
    """The texts of the source `dataset.text.source` names (its `from_config`, via the registry)."""
    return registry.build("dataset/text", cfg, classes, per_class, seed)


def build(cfg, modalities=None) -> Dataset:
    """The dataset of the modalities given (None: both): a modality no model trains on is neither
    loaded nor simulated, e.g. `modalities=[text]` builds no TEP run. `cfg` is checked (mmfusion/schemas/
    check/, its sources.py: pairing=by_label, one fault per class, each source's keys)."""
    classes = list(cfg.classes)
    wanted = set(modalities or ("text", "series"))
    texts = series = None
    if "text" in wanted:
        texts = load_texts(cfg.text, classes, int(cfg.samples_per_class), cfg.seed)  # first: seconds, not minutes
    window = cfg.series.get("window") or {}
    jitter = int(window.get("jitter_start") or 0)  # training windows start at random offsets 0..jitter
    if "series" in wanted:
        series = load_series(cfg.series)
        series = apply_window(series, window.get("start"), window.get("length"), jitter)
    else:
        jitter = 0
        log.info("modalities %s: no time series loaded or simulated", sorted(wanted))
    ds = pair_by_label(
        classes,
        texts,
        series,
        int(cfg.samples_per_class),
        float(cfg.test_fraction),
        float(cfg.val_fraction),
        bool(cfg.split_before_resampling),
        int(cfg.seed),
        cv_settings(cfg),
    )
    if jitter:
        jitter_starts(ds, int(window.length), jitter, int(cfg.seed))
    entries = [  # (key, the modality it describes: left out when that one is not built, value)
        ("series_source", series, lambda: cfg.series.source),
        ("text_source", texts, lambda: cfg.text.source),
        ("faults", series, lambda: [int(f) for f in cfg.series.faults]),
        ("series_variables", series, lambda: list(series.variables)),
        ("split_before_resampling", True, lambda: bool(cfg.split_before_resampling)),
        ("series_info", series, lambda: _plain(series.info)),
        ("text_info", texts, lambda: _plain(texts.info)),
        ("text_reports_read", texts, lambda: int(texts.info.get("rows_read", len(texts.texts)))),
    ]
    ds.info.update({key: value() for key, built, value in entries if built is not None})
    log.info("factory dataset: %s", {k: v for k, v in ds.info.items() if k.startswith(("test_", "unique_"))})
    return ds


def _plain(d: dict) -> dict:
    """Keep only JSON-friendly values of a source's info."""
    ok = (str, int, float, bool, type(None))
    return {k: (v if isinstance(v, ok) else v if isinstance(v, (list, dict)) else str(v)) for k, v in d.items()}
