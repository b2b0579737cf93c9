"""`dataset=factory`: the paper's case. Four fault classes; each sample pairs a fault-report text with
a 52-variable TEP time series of the same class (the modalities are independent given the class).

Series sources (`dataset/series=`): `simulate` (tep-studio), `rieth` (Rieth 2017 .RData/CSV),
`braatz` (dNN.dat files). Text sources (`dataset/text=`): `factory_reports` (MathWorks'
factoryReports.csv, bundled with the package; the default), `generate` (our own generator), `csv` (any
other text CSV). Pairing and splitting: `pairing.pair_by_label`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mmfusion.data.dataset import Dataset, SeriesData, TextData
from mmfusion.data.pairing import cv_settings, pair_by_label
from mmfusion.data.window import apply_window, jitter_starts
from mmfusion.errors import ConfigError

log = logging.getLogger(__name__)


def cache_root(configured) -> Path:
    """dataset.series.cache_dir, else $MMFUSION_CACHE, else ~/.cache/mmfusion."""
    if configured:
        return Path(str(configured)).expanduser()
    return Path(os.environ.get("MMFUSION_CACHE") or Path.home() / ".cache" / "mmfusion")


def _need_path(cfg, source: str, modality: str) -> str:
    if not cfg.get("path"):
        raise ConfigError(f"dataset/{modality}={source} needs dataset.{modality}.path=<file or folder>")
    return str(cfg.path)


def load_series(cfg, seed: int, progress: bool = True) -> SeriesData:
    source = cfg.source
    if source == "simulate":
        from mmfusion.data.series.simulate import simulate

        return simulate(
            list(cfg.faults),
            int(cfg.runs_per_class),
            int(seed),
            horizon_h=cfg.horizon_h,
            onset_h=cfg.onset_h,
            sample_interval_h=cfg.sample_interval_h,
            control_interval_h=cfg.control_interval_h,
            workers=int(cfg.workers),
            cache_dir=cache_root(cfg.cache_dir) / "tep",
            progress=progress,
            on_shutdown=cfg.on_shutdown,
        )
    if source == "rieth":
        from mmfusion.data.series.rieth import load_rieth

        files = dict(cfg.files) if cfg.get("files") else None
        return load_rieth(
            _need_path(cfg, source, "series"),
            list(cfg.faults),
            int(cfg.runs_per_class),
            part=cfg.part,
            first_run=int(cfg.first_run),
            length=cfg.length,
            files=files,
            cache_dir=cache_root(cfg.get("cache_dir")) / "rieth",
        )
    if source == "braatz":
        from mmfusion.data.series.braatz import load_braatz

        return load_braatz(
            _need_path(cfg, source, "series"),
            list(cfg.faults),
            window=int(cfg.braatz_window),
            stride=int(cfg.braatz_stride),
            test_onset=int(cfg.test_onset),
            cache_dir=cache_root(cfg.get("cache_dir")) / "braatz",
        )
    raise ConfigError(f"dataset.series.source={source!r} is not known; choose dataset/series=simulate, rieth or braatz")


def load_texts(cfg, classes: list[str], per_class: int, seed: int) -> TextData:
    source = cfg.source
    if source == "generate":
        from mmfusion.data.text.generate import generate_reports

        n = int(cfg.reports_per_class) if cfg.get("reports_per_class") else per_class
        return generate_reports(
            classes,
            n,
            int(seed),
            categories=list(cfg.categories) if cfg.get("categories") else None,
            ambiguous_share=float(cfg.ambiguous_share),
            typo_rate=float(cfg.typo_rate),
        )
    if source == "csv":
        from mmfusion.data.text.csv import load_text_csv

        label_map = dict(cfg.label_map) if cfg.get("label_map") else None
        return load_text_csv(
            _need_path(cfg, source, "text"),
            classes,
            label_map,
            text_column=cfg.text_column,
            label_column=cfg.label_column,
            id_column=cfg.get("id_column"),
            encoding=cfg.encoding,
            empty=cfg.empty,
        )
    if source == "factory_reports":
        from mmfusion.data.text.factory_reports import load_factory_reports

        return load_factory_reports(classes, dict(cfg.label_map) if cfg.get("label_map") else None)
    raise ConfigError(
        f"dataset.text.source={source!r} is not known; choose dataset/text=factory_reports, generate or csv"
    )


def build(cfg, modalities=None) -> Dataset:
    """The dataset of the modalities given (None: both): a modality no model trains on is neither
    loaded nor simulated, e.g. `modalities=[text]` builds no TEP run."""
    classes = list(cfg.classes)
    wanted = set(modalities or ("text", "series"))
    if cfg.pairing != "by_label":
        raise ConfigError(
            f"dataset.pairing={cfg.pairing!r}: dataset=factory pairs by_label; use dataset=custom for by_id"
        )
    if len(cfg.series.faults) != len(classes):
        raise ConfigError(
            f"dataset.series.faults lists {len(cfg.series.faults)} faults for {len(classes)} classes; give one IDV per class"
        )
    texts = series = None
    if "text" in wanted:
        texts = load_texts(cfg.text, classes, int(cfg.samples_per_class), cfg.seed)  # first: seconds, not minutes
    window = cfg.series.get("window") or {}
    jitter = int(window.get("jitter_start") or 0)  # training windows start at random offsets 0..jitter
    if "series" in wanted:
        series = load_series(cfg.series, cfg.series.get("seed", cfg.seed))
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
