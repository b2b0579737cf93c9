"""Windows of the series relative to the fault onset (`dataset.series.window`), for every source.

`start` counts samples from the onset (0: the first faulty sample; negative: before it) and
`length` samples are kept. With 3-minute samples, 20 samples = 1 hour. Default (both null): the
whole run, as in the paper.

`jitter_start` N > 0 (augmentation at the data level): each training sample's window starts at a
random offset 0..N after `start`, drawn once per sample from the dataset's seed (so the pairs that
reuse a run see it from different starts); validation and test windows start at `start` exactly.
`apply_window` then keeps `length + N` samples per run and `jitter_starts` cuts every split's windows
to `length` after pairing (a split keeps only the distinct (run, offset) windows it uses).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from mmfusion.arrays import Rows
from mmfusion.data.dataset import Dataset, SeriesData
from mmfusion.errors import DataError


def onset_index(series: SeriesData) -> int:
    """Index of the first sample taken at or after the fault onset, from what the source recorded."""
    info = series.info
    if "fault_onset_sample" in info:  # Rieth: 1-based sample number (21 training, 161 testing)
        return int(info["fault_onset_sample"]) - 1
    if "onset_h" in info:  # simulated: samples at first_sample_h + j * sample_interval_h
        first, step = float(info.get("first_sample_h", 0.0)), float(info["sample_interval_h"])
        return max(0, math.ceil((float(info["onset_h"]) - first) / step - 1e-9))
    return 0  # Braatz windows lie wholly after the onset: a window's own start is the reference


def apply_window(series: SeriesData, start, length, jitter_start: int = 0) -> SeriesData:
    """The window of every run; with `jitter_start` N, `length + N` samples (cut by `jitter_starts`).
    The ValueErrors are for Python callers: the config check refuses the same windows first."""
    jitter = int(jitter_start or 0)
    if start is None and length is None and not jitter:
        return series
    if jitter and length is None:
        raise ValueError(
            f"dataset.series.window.jitter_start={jitter} needs a window length: set dataset.series.window.length"
        )
    onset = onset_index(series)
    begin = onset + (int(start) if start is not None else 0)
    total = series.x.shape[1]
    if length is not None and int(length) <= 0:
        raise ValueError(f"dataset.series.window.length must be a positive number of samples, got {length}")
    end = begin + int(length) if length is not None else total
    if begin < 0:
        raise ValueError(
            f"dataset.series.window.start={start} begins {-begin} sample(s) before the run starts "
            f"(the onset is sample index {onset}); use start >= {-onset}"
        )
    if end + jitter > total:
        shifted = f", jitter_start={jitter}" if jitter else ""
        raise DataError(
            f"dataset.series.window (start={start}, length={length}{shifted}) ends at sample {end + jitter} after "
            f"the onset index {onset}, but the runs have only {total} samples; shorten the window"
            f"{' or the jitter' if jitter else ''} or use longer runs"
        )
    info = dict(series.info, window_start=int(begin - onset), window_length=int(end - begin), onset_index=int(onset))
    if jitter:
        info["window_jitter_start"] = jitter
    return replace(series, x=np.ascontiguousarray(series.x[:, begin : end + jitter]), info=info)


def jitter_starts(ds: Dataset, length: int, jitter: int, seed: int, modality: str = "series") -> None:
    """Cut each split's `length + jitter` windows (from `apply_window`) to `length` samples: training
    samples from a random offset 0..jitter (one per sample, from `seed`), the others from offset 0."""
    rng = np.random.default_rng([int(seed), 23])
    for name, split in ds.splits.items():
        rows = split.x[modality]
        if not isinstance(rows, Rows) or rows.shape[1] != int(length) + int(jitter):
            raise DataError(f"jittered window starts: the {name} split's series are not {length}+{jitter} samples long")
        offsets = rng.integers(0, int(jitter) + 1, size=len(rows)) if name == "train" else np.zeros(len(rows), int)
        windows, inverse = np.unique(np.stack([rows.index, offsets], axis=1), axis=0, return_inverse=True)
        steps = windows[:, 1:2] + np.arange(int(length))  # (windows, length): the samples each one keeps
        base = np.ascontiguousarray(rows.base[windows[:, 0:1], steps])
        split.x[modality] = Rows(base, inverse.reshape(-1))
