"""Hydra launcher presets (conf/hydra/launcher/) and the plugin each needs.

Our presets extend the plugins' own schemas under distinct names, so neither shadows the other:
`local_parallel` -> joblib, `slurm` -> submitit_slurm, `ray_cluster` -> ray. `check(overrides)` turns
a missing plugin into one message naming the extra to install, before Hydra starts; the same for the
Optuna sweeper behind `hparams_search=...` (extra `tune`).
"""

from __future__ import annotations

import importlib.util

from mmfusion.errors import ConfigError

PRESETS = {  # preset (or plugin config) -> (plugin module, mmfusion extra)
    "local_parallel": ("hydra_plugins.hydra_joblib_launcher", "joblib"),
    "joblib": ("hydra_plugins.hydra_joblib_launcher", "joblib"),
    "slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "slurm"),
    "ray_cluster": ("hydra_plugins.hydra_ray_launcher", "ray"),
    "ray": ("hydra_plugins.hydra_ray_launcher", "ray"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the hydra_plugins namespace itself is absent
        return False


def check(overrides: list[str]) -> None:
    for arg in overrides:
        key, _, name = arg.partition("=")
        sweeper = key.lstrip("+~") == "hydra/sweeper" and name == "optuna"
        if (key.lstrip("+~") == "hparams_search" and name not in ("", "null")) or sweeper:
            if not _installed("hydra_plugins.hydra_optuna_sweeper"):
                raise ConfigError(f"{arg} needs Hydra's Optuna sweeper: pip install 'mmfusion[tune]'")
        if key.lstrip("+~") == "hydra/launcher" and name in PRESETS:
            module, extra = PRESETS[name]
            if not _installed(module):
                raise ConfigError(
                    f"hydra/launcher={name} needs the Hydra launcher plugin {module.split('.')[-1]}: "
                    f"pip install 'mmfusion[{extra}]'"
                )
