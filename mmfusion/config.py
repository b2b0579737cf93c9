"""The one place that composes and checks configs: `compose_config` (Hydra's compose API, as
`mmfusion train` would compose) and `validate` (ranges and known names, before any data is built)."""

from __future__ import annotations

from omegaconf import DictConfig

from mmfusion.errors import ConfigError, MmfusionError

CONFIG_MODULE = "mmfusion.conf"  # conf/ ships inside the package under this name


def compose_config(overrides: list[str]):
    """The config `mmfusion train` would use with these overrides (Hydra's compose API)."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        raise MmfusionError(f"{err} (overrides: {' '.join(overrides) or 'none'})") from None


def _positive(cfg, key: str, path: str, kind=float) -> None:
    value = cfg.get(key)
    try:
        ok = value is not None and kind(value) > 0 and kind(value) == float(value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        what = "a positive integer" if kind is int else "a positive number"
        raise ConfigError(f"{path}.{key} must be {what}, got {value!r}; fix it in the config or override it")


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
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {cfg.seed!r}")
