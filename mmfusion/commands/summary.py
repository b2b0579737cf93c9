"""What `mmfusion train` prints around a run: the key choices at its start, the next commands at its end,
and (as a Hydra callback, conf/config.yaml `hydra.callbacks`) a summary at the end of a multirun.

The sweep summary reads only the sweep directory (each job's .hydra/overrides.yaml, COMPLETE marker
and metrics.json), so it says the same whichever launcher ran the jobs: the sweep directory, one line
per job (its overrides, its status, its fused test accuracy), the failures, and the `mmfusion report`
command. It is printed when the multirun ends, and also as soon as a job fails (Hydra stops the sweep
after the failing job's batch, before its own end-of-multirun hook).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from mmfusion import basemodels
from mmfusion.errors import FileError
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.records import read_metrics

KEY_CHOICES = (
    "dataset",
    "dataset/series",
    "dataset/text",
    "model/text",
    "model/series",
    "fusion",
    "joint",
    "experiment",
)


def run_start(cfg, run_dir: str | Path, choices: dict | None = None, device: str | None = None) -> str:
    """The lines printed when a run starts: where it writes and what it runs."""
    choices = dict(choices or {})
    ds = cfg.dataset
    mods = list(cfg.modalities)
    unused = {f"model/{m}" for m in ("text", "series") if m not in mods} | ({"fusion"} if len(mods) < 2 else set())
    picked = [f"{g}={choices[g]}" for g in KEY_CHOICES if choices.get(g) not in (None, "none") and g not in unused]
    sources = []
    if ds.get("series") is not None and ds.series.get("source"):
        sources.append(f"series={ds.series.source}")
    if ds.get("text") is not None and ds.text.get("source"):
        sources.append(f"text={ds.text.source}")
    models = [  # every base model, several per modality where configured (mmfusion/basemodels.py)
        f"{m}={cfg.model[m].name}" for m in basemodels.base_models(cfg) if m in cfg.model and cfg.model[m].get("name")
    ]
    lines = [
        f"run directory: {run_dir}",
        f"  dataset: {ds.name}" + (f" ({', '.join(sources)})" if sources else "") + f", modalities {mods}",
        f"  models: {', '.join(models) or '-'}"
        + (f"; fusion: {cfg.fusion.name}" if len(mods) > 1 else "; no fusion (one modality)"),
        f"  seed: {cfg.seed}" + (f"; device: {device}" if device else ""),
    ]
    if picked:
        lines.append(f"  choices: {' '.join(picked)}")
    return "\n".join(lines) + "\n"


def device(cfg) -> str:
    """Where the networks train, as `distribute` and `mixed_precision` will make it (runtime/devices.py)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    text = f"{len(gpus)} GPU(s)" if gpus else "CPU"
    if gpus and (str(cfg.distribute) == "mirrored" or (cfg.distribute == "auto" and len(gpus) > 1)):
        text += ", MirroredStrategy"
    return text + (", mixed precision" if cfg.mixed_precision else "")


def run_end(run_dir: str | Path) -> str:
    """The lines printed when a run has finished: the commands that take it further."""
    d = shlex.quote(str(run_dir))
    return (
        f"next: mmfusion report {d}              (tables and figures)\n"
        f"      mmfusion fuse {d} fusion=all     (every fusion rule, no retraining)\n"
    )


def _job_overrides(job_dir: Path) -> list[str]:
    path = job_dir / ".hydra" / "overrides.yaml"
    try:
        return list(yaml.safe_load(path.read_text()) or [])
    except (OSError, yaml.YAMLError):
        return []


def _accuracy(job_dir: Path) -> tuple[str, float] | None:
    """(model, test accuracy) of a finished job: the fused model's, or the one modality's alone."""
    try:
        metrics = read_metrics(job_dir)
    except FileError:
        return None
    models = metrics.models or {}
    for name in ("fused", *(metrics.modalities or [])):
        if isinstance(models.get(name), dict) and "accuracy" in models[name]:
            return name, float(models[name]["accuracy"])
    return None


def _jobs(sweep_dir: Path) -> list[Path]:
    jobs = [p for p in sweep_dir.iterdir() if p.is_dir() and (p / ".hydra").is_dir()] if sweep_dir.is_dir() else []
    return sorted(jobs, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))


def sweep_summary(sweep_dir: str | Path, failed: dict[str, str] | None = None, so_far: bool = False) -> tuple[str, int]:
    """(the summary text, the number of jobs that failed or did not finish) of a sweep directory;
    `failed` maps job directory names to the error of a job known to have failed. The overrides every
    job shares are listed once; each job's line shows the ones that differ."""
    sweep_dir, failed = Path(sweep_dir), dict(failed or {})
    jobs = _jobs(sweep_dir)
    overrides = {job: _job_overrides(job) for job in jobs}
    common = [o for o in (overrides[jobs[0]] if jobs else []) if all(o in v for v in overrides.values())]
    own = {job: " ".join(o for o in v if o not in common) or "(no overrides)" for job, v in overrides.items()}
    lines = [f"sweep directory: {sweep_dir} ({len(jobs)} job(s){' so far' if so_far else ''})"]
    if common and len(jobs) > 1:
        lines.append(f"  every job: {' '.join(common)}")
    width = max([len(v) for v in own.values()] + [9])
    bad = []
    for job in jobs:
        if is_complete(job):
            status = "complete"
        elif job.name in failed:
            status = "FAILED"
        else:
            status = "not finished"
        acc = _accuracy(job) if status == "complete" else None
        if status != "complete":
            bad.append(job)
        result = f"{acc[0]} accuracy {acc[1]:.4f}" if acc else ""
        lines.append(f"  {job.name:>3}  {own[job]:<{width}}  {status:<12}  {result}".rstrip())
    for job in bad:
        err = failed.get(job.name)
        lines.append(f"failed: job {job.name} ({job})" + (f": {err}" if err else ": no COMPLETE marker"))
    lines.append(f"next: mmfusion report {shlex.quote(str(sweep_dir))}")
    return "\n".join(lines) + "\n", len(bad)


class SweepSummary(Callback):
    """Hydra callback: the sweep's summary at the end of a multirun, and when one of its jobs fails."""

    def __init__(self) -> None:
        self.failed: dict[str, str] = {}

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode

        if job_return.status != JobStatus.FAILED or config.hydra.mode != RunMode.MULTIRUN:
            return
        err = job_return._return_value  # the exception; `return_value` would raise it
        self.failed[Path(config.hydra.runtime.output_dir).name] = f"{type(err).__name__}: {err}".splitlines()[0]
        text, _ = sweep_summary(config.hydra.sweep.dir, self.failed, so_far=True)
        print("\n" + text, end="", flush=True)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        print(f"sweep directory: {config.hydra.sweep.dir}", flush=True)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        text, _ = sweep_summary(config.hydra.sweep.dir, self.failed)
        print("\n" + text, end="", flush=True)
