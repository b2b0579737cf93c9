"""Rerunning into an existing run directory: resume an interrupted run, skip a finished one.

A run with `training.checkpoint=true` saves its resolved config as `checkpoints/config.yaml` before any
work and keeps `checkpoints/` (epoch checkpoints of the model in training) until it is complete. A rerun
into that directory with the same config continues it: finished models are loaded, the interrupted one
resumes from its last finished epoch. A complete run is refused, unless `resume=true` (a resumed sweep):
then, with the same config, it is skipped and its saved results are returned.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from omegaconf import OmegaConf

from mmfusion.basemodels import modality_of, models_dir
from mmfusion.errors import ConfigError
from mmfusion.rundir.markers import holds_results, is_complete
from mmfusion.rundir.records import read_metrics

CHECKPOINTS = "checkpoints"
CONFIG = "config.yaml"  # the resolved config, saved in the run directory when it is complete
IGNORED_KEYS = ("resume",)  # keys that may differ between a run and its rerun
# keys added after runs were saved: absent in such a run and at this default now, they are the same config
ADDED_KEYS = {"fusion.fit_on": "val", "fusion.crossfit_folds": 5}


def comparable(cfg) -> dict:
    """The resolved config as plain data, as it reads back from YAML, without the keys a rerun may change."""
    data = OmegaConf.to_container(OmegaConf.create(OmegaConf.to_yaml(cfg, resolve=True)))
    return {k: v for k, v in data.items() if k not in IGNORED_KEYS}


def differences(old, new, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += differences(old.get(key, "<absent>"), new.get(key, "<absent>"), f"{prefix}{key}.")
        return out
    if old == "<absent>" and prefix[:-1] in ADDED_KEYS and new == ADDED_KEYS[prefix[:-1]]:
        return []
    return [] if old == new else [f"{prefix[:-1]}: {old!r} in the run, {new!r} now"]


def state(run_dir: Path) -> str:
    """fresh (nothing to keep), complete, resumable (interrupted, with checkpoints) or taken."""
    d = Path(run_dir)
    if is_complete(d):
        return "complete"
    if (d / CHECKPOINTS / CONFIG).is_file():
        return "resumable"
    return "taken" if holds_results(d) else "fresh"


# The ConfigErrors below compare the config with what the run directory holds: known only once it is read.
def _same_config(cfg, path: Path, run_dir: Path, what: str) -> None:
    diff = differences(comparable(OmegaConf.load(path)), comparable(cfg))
    if diff:
        shown = "; ".join(diff[:3]) + (f"; and {len(diff) - 3} more" if len(diff) > 3 else "")
        raise ConfigError(
            f"{run_dir} holds {what} with a different config ({shown}); rerun with the same "
            f"overrides to {'resume' if what.startswith('an interrupted') else 'reuse'} it, "
            f"or choose a new hydra.run.dir / hydra.sweep.dir"
        )


def prepare(cfg, run_dir: Path) -> str:
    """Decide what a run into `run_dir` does: 'fresh', 'resume' or 'skip'; refuse what cannot be reused."""
    run_dir = Path(run_dir)
    st = state(run_dir)
    if st == "complete":
        if not cfg.resume:
            raise ConfigError(
                f"{run_dir} already holds a run; choose a new hydra.run.dir (nothing was overwritten), "
                f"or add resume=true to keep it as it is"
            )
        _same_config(cfg, run_dir / CONFIG, run_dir, "a finished run")
        return "skip"
    if st == "resumable":
        _same_config(cfg, run_dir / CHECKPOINTS / CONFIG, run_dir, "an interrupted run")
        return "resume"
    if st == "taken":
        raise ConfigError(
            f"{run_dir} already holds a run (unfinished, and without checkpoints to resume from); "
            f"choose a new hydra.run.dir (nothing was overwritten)"
        )
    return "fresh"


def begin(cfg, run_dir: Path) -> None:
    """Save the config that a rerun must match (only when checkpointing)."""
    path = Path(run_dir) / CHECKPOINTS / CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(CONFIG + ".tmp")
    tmp.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    tmp.replace(path)


def model_dir(run_dir: Path, modality: str) -> Path:
    return Path(run_dir) / CHECKPOINTS / modality


def finished(run_dir: Path, modality: str) -> bool:
    """The modality's model and history were saved whole (the history is written last)."""
    d = Path(run_dir)
    saved = models_dir(d, modality) / f"{modality_of(modality)}.json"  # an added model: models/<name>/
    return (d / "history" / f"{modality}.csv").is_file() and saved.is_file()


def drop_checkpoints(run_dir: Path, modality: str | None = None) -> None:
    target = Path(run_dir) / CHECKPOINTS / modality if modality else Path(run_dir) / CHECKPOINTS
    shutil.rmtree(target, ignore_errors=True)


def saved_result(run_dir: Path) -> dict:
    """What train() returns, read back from a finished run."""
    run_dir = Path(run_dir)
    metrics = read_metrics(run_dir).as_dict()
    return {
        "run_dir": str(run_dir),
        "accuracy": {n: m["accuracy"] for n, m in metrics["models"].items()},
        "metrics": metrics,
        "table": (run_dir / "tables" / "accuracy.md").read_text(),
        "skipped": True,
    }
