"""The one place that composes and checks configs: `compose_config` (Hydra's compose API, as
`mmfusion train` would compose) and `validate` (ranges and known names, before any data is built)."""

from __future__ import annotations

from omegaconf import DictConfig

from mmfusion.errors import ConfigError, MmfusionError

CONFIG_MODULE = "mmfusion.conf"  # conf/ ships inside the package under this name


def _make_dir(path: str) -> str:
    from pathlib import Path

    Path(path).mkdir(parents=True, exist_ok=True)
    return str(path)


def register_resolvers() -> None:
    """`${mmfusion.dir:<path>}`: the path, created first. The Optuna sweeper opens its SQLite study
    before Hydra creates the sweep directory, so conf/hparams_search/ stores it with this."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("mmfusion.dir"):
        OmegaConf.register_new_resolver("mmfusion.dir", _make_dir)


def compose_config(overrides: list[str]):
    """The config `mmfusion train` would use with these overrides (Hydra's compose API)."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    register_resolvers()
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


RECIPE_RANGES = {  # key: (test, what it must be); models/recipes.py and models/augment.py read them
    "clipnorm": (lambda v: v is None or float(v) >= 0, "null, 0 (no clipping) or a positive number"),
    "weight_decay": (lambda v: float(v) >= 0, "a number >= 0"),
    "lr_schedule": (lambda v: v in ("none", "reduce_on_plateau", "cosine"), "none, reduce_on_plateau or cosine"),
    "lr_patience": (lambda v: int(v) == v and int(v) >= 1, "a positive integer"),
    "lr_factor": (lambda v: 0 < float(v) < 1, "a number between 0 and 1"),
    "label_smoothing": (lambda v: 0 <= float(v) < 1, "a number in [0, 1)"),
    "class_weight": (lambda v: v in ("none", "balanced"), "none or balanced"),
    "ensemble": (lambda v: int(v) == v and int(v) >= 1, "a positive integer"),
    "token_dropout": (lambda v: 0 <= float(v) < 1, "a number in [0, 1)"),
    "jitter": (lambda v: float(v) >= 0, "a number >= 0"),
    "time_shift": (lambda v: int(v) == v and int(v) >= 0, "an integer >= 0"),
    "embedding": (lambda v: v in ("learned", "word2vec", "fasttext"), "learned, word2vec or fasttext"),
}


def _recipes(mc, path: str) -> None:
    for key, (test, what) in RECIPE_RANGES.items():
        if key not in mc:
            continue
        value = mc.get(key)
        try:
            ok = (value is None and key == "clipnorm") or (value is not None and not isinstance(value, bool) and test(value))
        except (TypeError, ValueError):
            ok = False
        if not ok:
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
        _recipes(mc, f"model.{m}")
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {cfg.seed!r}")
