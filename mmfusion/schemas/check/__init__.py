"""The one config check, right after composition and before any data is built: every key against its
schema's range (`mmfusion.schemas.fields`), then the rules that tie keys together. Each topic is a
module of this package; `check` runs them in one fixed order and stops at the first problem, one
ConfigError naming the key: `<full key>=<value>: expected <type or range>`.

- messages: the one-line messages (also for the type errors OmegaConf raises at composition)
- keys: every key's range, required keys, unknown keys
- dataset, models, fusion, objective: the rules between the keys of each section
- bounds: sizes, finite numbers, seeds, windows that fit the series
- sources: each data source's rules that its loader would meet only after loading
- plugins: installed packages a config needs (trackers here; Hydra plugins, run by `mmfusion train`)
- val_split: the validation-split rule the objective, the fusion rules and `mmfusion train` share
"""

from __future__ import annotations

import dataclasses

from omegaconf import DictConfig, OmegaConf

from mmfusion.schemas.check.bounds import check_bounds
from mmfusion.schemas.check.dataset import check_dataset
from mmfusion.schemas.check.fusion import check_crossfit
from mmfusion.schemas.check.keys import check_ranges
from mmfusion.schemas.check.models import check_added_models, check_joint, check_models
from mmfusion.schemas.check.objective import check_objective
from mmfusion.schemas.check.plugins import check_trackers
from mmfusion.schemas.check.sources import check_sources
from mmfusion.schemas.run import ConfigSchema


def check(cfg: DictConfig) -> None:
    """Raise ConfigError (one line naming the key) for the first key out of range; else return."""
    check_ranges(cfg, "", ConfigSchema if not dataclasses.is_dataclass(OmegaConf.get_type(cfg)) else None)
    if "dataset" in cfg:
        check_dataset(cfg.dataset)
    check_models(cfg)
    check_added_models(cfg)
    check_joint(cfg)
    check_crossfit(cfg)
    check_bounds(cfg)
    if "objective" in cfg:
        check_objective(cfg)
    check_sources(cfg)  # each data source's own rules (sources.py)
    check_trackers(cfg)  # a selected tracker must be installed
    # --- later checks: one call line each, appended here (a new topic: a module of this package) ---
