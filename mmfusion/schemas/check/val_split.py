"""The validation-split rule, in one place: what is fitted or scored on validation data needs
`dataset.val_fraction > 0` (the search objective here, the fusion rules and `mmfusion train` too)."""

from __future__ import annotations

from mmfusion.errors import ConfigError


def require_val_split(cfg, reason: str) -> None:
    """Refuse `reason` (what needs validation data, e.g. "fusion=stacking is fitted on a validation
    split") unless `dataset.val_fraction > 0`. With cfg None the data at hand (a finished run's) has no
    validation split: always refused."""
    if cfg is not None and cfg.dataset.val_fraction > 0:
        return
    again = " and train again" if cfg is None else ""
    raise ConfigError(f"{reason}: set dataset.val_fraction > 0 (e.g. dataset.val_fraction=0.2){again}")
