"""The arguments of `simulate` (simulate.py), checked for Python callers: each refusal is a ValueError
naming the config key. From a config, the config check (mmfusion/schemas/check/) has refused the
same values before anything is built, so a CLI run never meets these."""

from __future__ import annotations

import numpy as np

N_IDV = 28  # tep-studio's disturbances IDV 1..28 (0: normal operation)


def whole_steps(total: float, step: float, what: str, per: str) -> int:
    """total / step, which must be a whole number of steps (`what` and `per` name the two keys)."""
    n = round(total / step)
    if n < 1 or abs(n * step - total) > 1e-9 * max(total, 1.0):
        raise ValueError(
            f"dataset.series.{what}={total:g} must be a whole multiple of dataset.series.{per}={step:g}; "
            f"pick values where {what}/{per} is an integer"
        )
    return int(n)


def checked_faults(faults) -> list[int]:
    try:
        ok = all(int(f) == f and 0 <= f <= N_IDV for f in faults) and 0 < len(set(faults)) == len(faults)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"dataset.series.faults={faults!r} must be a non-empty list of distinct IDV numbers in 0..{N_IDV} "
            "(0 = normal operation)"
        )
    return [int(f) for f in faults]


def check_counts(runs_per_class, workers, seed) -> None:
    for name, value, low in (("runs_per_class", runs_per_class, 1), ("workers", workers, 1), ("seed", seed, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"dataset.series.{name}={value!r} must be an integer >= {low}")


def check_times(on_shutdown: str, control_interval_h: float, onset_h: float, horizon_h: float) -> None:
    if on_shutdown not in ("error", "drop"):
        raise ValueError(f"dataset.series.on_shutdown={on_shutdown!r} must be 'error' or 'drop'")
    if control_interval_h <= 0 or not 0 <= onset_h < horizon_h:
        raise ValueError(
            f"need dataset.series.control_interval_h={control_interval_h:g} > 0 and "
            f"0 <= dataset.series.onset_h={onset_h:g} < dataset.series.horizon_h={horizon_h:g}"
        )
