"""Installed packages a config needs: the tracker a `tracking=` option selects (part of the config
check), and the Hydra plugins behind launcher presets and `hparams_search` (`check_plugins`, run by
`mmfusion train` on its overrides before Hydra starts: Hydra's own groups are not in the composed config).

Our launcher presets (conf/hydra/launcher/) extend the plugins' own schemas under distinct names, so
neither shadows the other: `local_parallel` -> joblib, `slurm` -> submitit_slurm, `ray_cluster` -> ray.
A missing plugin or tracker is one message naming the extra to install.
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
TRACKERS = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow")}  # key -> (module, extra)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the hydra_plugins namespace itself is absent
        return False


def check_trackers(cfg) -> None:
    """A selected tracker (tracking.<key>=true) whose package is missing: say which extra to install."""
    t = cfg.get("tracking")
    for key, (module, extra) in TRACKERS.items():
        if t is not None and t.get(key) and importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"tracking.{key}=true needs the {module} package: pip install 'mmfusion[{extra}]' "
                f"(or choose tracking=none)"
            )


def check_plugins(overrides: list[str]) -> None:
    """A launcher preset or an Optuna search among `mmfusion train`'s overrides whose Hydra plugin is missing."""
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
