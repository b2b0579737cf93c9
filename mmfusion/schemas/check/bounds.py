"""Bounds: keys that size memory or time, finite numbers, seeds, windows and shifts that fit the series."""

from __future__ import annotations

import math

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mmfusion.schemas.check.dataset import RIETH_SAMPLES
from mmfusion.schemas.check.keys import check_unknown_keys
from mmfusion.schemas.check.messages import fail

MAX_SEED = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit
# highest accepted value of each key that sizes memory or time, by its last name (anywhere in the config);
# far above any run this project makes, low enough that a typo (1e20 epochs) stops at once
SIZE_LIMITS = {
    "samples_per_class": 10_000_000,
    "runs_per_class": 1_000_000,
    "reports_per_class": 10_000_000,
    "series_length": 1_000_000,
    "series_variables": 100_000,
    "length": 1_000_000,
    "text_length": 100_000,
    "class_words": 1_000_000,
    "shared_words": 1_000_000,
    "jitter_start": 1_000_000,
    "braatz_window": 1_000_000,
    "braatz_stride": 1_000_000,
    "first_run": 1_000_000,
    "workers": 4096,
    "folds": 100_000,
    "epochs": 1_000_000,
    "word2vec_epochs": 1_000_000,
    "batch_size": 10_000_000,
    "lstm_units": 100_000,
    "gru_units": 100_000,
    "dense_units": 100_000,
    "filters": 100_000,
    "kernel_sizes": 100_000,
    "embedding_dim": 100_000,
    "max_tokens": 100_000_000,
    "sequence_length": 1_000_000,
    "word2vec_window": 100_000,
    "min_df": 1_000_000_000,
    "max_features": 1_000_000_000,
    "ensemble": 1000,
    "n_kernels": 10_000_000,
    "max_dilations_per_kernel": 100_000,
    "max_iter": 1_000_000_000,
    "lr_patience": 1_000_000,
    "early_stopping_patience": 1_000_000,
    "time_shift": 1_000_000,
    "bootstrap": 10_000_000,
    "ece_bins": 1_000_000,
    "memory_budget_gb": 1_000_000,
    "horizon_h": 100_000,
}
SEED_KEYS = ("seed", "random_state")  # and every key ending in _seed


def _numbers(node, path: str):
    """(full key, value) of every number in the config, list items included (booleans are not numbers)."""
    for key in node.keys():
        full = f"{path}.{key}" if path else str(key)
        try:
            value = node[key]
        except OmegaConfBaseException:
            continue  # reported by check_ranges
        if isinstance(value, DictConfig):
            yield from _numbers(value, full)
        elif isinstance(value, ListConfig):
            items = list(value)
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
                yield full, items
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield full, value


def _bounds(cfg) -> None:
    """Finite numbers everywhere; seeds in 0..2**32-1; sizes up to SIZE_LIMITS; learning rates > 0."""
    for key, value in _numbers(cfg, ""):
        name = key.rsplit(".", 1)[-1]
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            fail(key, value, "a finite number (not inf or nan)")
        if name in SEED_KEYS or name.endswith("_seed"):
            if any(not 0 <= v <= MAX_SEED for v in values):
                fail(key, value, f"an integer in 0..{MAX_SEED} (2**32 - 1, the largest seed NumPy and TensorFlow take)")
        limit = SIZE_LIMITS.get(name)
        if limit is not None and any(v > limit for v in values):
            fail(key, value, f"at most {limit:,} (a size this large would exhaust memory or time)".replace(",", "_"))
        if name == "lr" and any(not v > 0 for v in values):
            fail(key, value, "a finite number > 0")


def series_length(d) -> tuple[int, int] | None:
    """(samples per series, index of the first faulty sample) the dataset will build, when known up front."""
    if d.get("name") == "synthetic":
        return int(d.series_length), 0
    if d.get("name") != "factory":
        return None
    s = d.series
    if s.source == "simulate":
        step = float(s.sample_interval_h)
        return int(round(float(s.horizon_h) / step)), max(
            0, math.ceil((float(s.onset_h) - s.control_interval_h) / step)
        )
    if s.source == "rieth":
        total = RIETH_SAMPLES[s.part]
        return (int(s.length) if s.length is not None else total), (20 if s.part == "training" else 160)
    if s.source == "braatz":
        return int(s.braatz_window), 0
    return None


def _fits_series(cfg) -> None:
    """A window (dataset.series.window) and a time shift (model.series.time_shift) inside the series."""
    d = cfg.get("dataset")
    known = series_length(d) if d is not None else None
    if known is None:
        return
    total, onset = known
    length = total
    w = d.series.get("window") if d.get("name") == "factory" else None
    if w is not None and (w.get("start") is not None or w.get("length") is not None):
        begin = onset + int(w.start or 0)
        if w.get("start") is not None and begin >= total:
            fail(
                "dataset.series.window.start",
                w.start,
                f"a start inside the series: the onset is sample {onset} of {total}, so start < {total - onset}",
            )
        length = int(w.length) if w.get("length") is not None else total - begin
    shift = OmegaConf.select(cfg, "model.series.time_shift", default=None) if "series" in cfg.modalities else None
    if shift is not None and int(shift) >= length:
        fail("model.series.time_shift", shift, f"an integer below the series length ({length} samples)")


def check_bounds(cfg: DictConfig) -> None:
    """The bounds above, after the per-key ranges (one ConfigError naming the key)."""
    check_unknown_keys(cfg)
    _bounds(cfg)
    _fits_series(cfg)
