"""Windows of the series relative to the fault onset (`dataset.series.window`), for every source.

`start` counts samples from the onset (0: the first faulty sample; negative: before it) and
`length` samples are kept. With 3-minute samples, 20 samples = 1 hour. Default (both null): the
whole run, as in the paper.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from mmfusion.data.dataset import SeriesData
from mmfusion.errors import ConfigError, DataError


def onset_index(series: SeriesData) -> int:
    """Index of the first sample taken at or after the fault onset, from what the source recorded."""
    info = series.info
    if "fault_onset_sample" in info:  # Rieth: 1-based sample number (21 training, 161 testing)
        return int(info["fault_onset_sample"]) - 1
    if "onset_h" in info:  # simulated: samples at first_sample_h + j * sample_interval_h
        first, step = float(info.get("first_sample_h", 0.0)), float(info["sample_interval_h"])
        return max(0, math.ceil((float(info["onset_h"]) - first) / step - 1e-9))
    return 0  # Braatz windows lie wholly after the onset: a window's own start is the reference


def apply_window(series: SeriesData, start, length) -> SeriesData:
    if start is None and length is None:
        return series
    onset = onset_index(series)
    begin = onset + (int(start) if start is not None else 0)
    total = series.x.shape[1]
    if length is not None and int(length) <= 0:
        raise ConfigError(f"dataset.series.window.length must be a positive number of samples, got {length}")
    end = begin + int(length) if length is not None else total
    if begin < 0:
        raise ConfigError(
            f"dataset.series.window.start={start} begins {-begin} sample(s) before the run starts "
            f"(the onset is sample index {onset}); use start >= {-onset}"
        )
    if end > total:
        raise DataError(
            f"dataset.series.window (start={start}, length={length}) ends at sample {end} after the onset "
            f"index {onset}, but the runs have only {total} samples; shorten the window or use longer runs"
        )
    info = dict(series.info, window_start=int(begin - onset), window_length=int(end - begin), onset_index=int(onset))
    return replace(series, x=np.ascontiguousarray(series.x[:, begin:end]), info=info)
