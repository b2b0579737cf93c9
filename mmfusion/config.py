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
    validate_joint(cfg)
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {cfg.seed!r}")


def validate_joint(cfg: DictConfig) -> None:
    """joint=lstm: both modalities listed, positive lr/epochs/batch size, a known fusion layer, a share in [0, 1]."""
    jc = cfg.get("joint")
    if not jc or jc.get("name", "none") == "none":
        return
    if jc.name != "lstm":
        raise ConfigError(f"joint.name={jc.name!r} is not known; choose joint=none or joint=lstm")
    if not {"text", "series"} <= set(cfg.modalities):
        raise ConfigError(f"joint=lstm trains on text and series together, but modalities={list(cfg.modalities)}; "
                          f"set modalities=[series,text] or joint=none")
    for key, kind in (("lr", float), ("epochs", int), ("batch_size", int)):
        _positive(jc, key, "joint", kind)
    from mmfusion.models.fusion_layer import MODES

    if jc.get("fusion_layer", "concat") not in MODES:
        raise ConfigError(f"joint.fusion_layer={jc.fusion_layer!r} is not known; choose one of {list(MODES)}")
    rate = jc.get("modality_dropout", 0.0)
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0.0 <= float(rate) < 1.0:
        raise ConfigError(f"joint.modality_dropout must be a share in [0, 1), got {rate!r}")
