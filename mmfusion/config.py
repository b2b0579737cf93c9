"""Checks of config values that Hydra's schema-less YAML cannot express (ranges, known names)."""

from __future__ import annotations

from omegaconf import DictConfig

from mmfusion.errors import ConfigError


def _positive(cfg, key: str, path: str, kind=float) -> None:
    value = cfg.get(key)
    try:
        ok = value is not None and kind(value) > 0 and kind(value) == float(value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        what = "a positive integer" if kind is int else "a positive number"
        raise ConfigError(f"{path + '.' if path else ''}{key} must be {what}, got {value!r}; fix it in the config or override it")


def validate(cfg: DictConfig) -> None:
    modalities = list(cfg.modalities)
    if not modalities:
        raise ConfigError("modalities is empty; list at least one of text, series")
    for m in modalities:
        if m not in cfg.model:
            raise ConfigError(f"modalities lists {m!r} but model.{m} is not configured; add model/{m}=<name>")
        mc = cfg.model[m]
        _positive(mc, "lr", f"model.{m}")
        _positive(mc, "epochs", f"model.{m}", int)
        _positive(mc, "batch_size", f"model.{m}", int)
    if cfg.get("memory_budget_gb") is not None:
        _positive(cfg, "memory_budget_gb", "")  # null: never memory-map
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {cfg.seed!r}")
