"""One run: data -> one model per modality -> fusion -> evaluation -> files in the run directory.

`train(cfg, run_dir) -> dict` is plain Python (tests call it directly); `main(overrides)`, the Hydra
entry point of `mmfusion train`, only hands it the composed config and Hydra's output directory.
The fitting and fusing steps live in train_steps.py.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from omegaconf import DictConfig

from mmfusion import basemodels, fusion
from mmfusion.commands import resume, train_crossfit
from mmfusion.commands.finish import score_and_write
from mmfusion.commands.train_steps import (  # noqa: F401 (re-exported: scripts and tests import them from here)
    base_models,
    fit_joint,
    fit_modalities,
    fuse_all,
    joint_inputs,
    joint_settings,
    predict_present,
    rundir_path,
)
from mmfusion.config import compose_config, validate
from mmfusion.data import Dataset, build_dataset
from mmfusion.data.paper_dataset import cache_root
from mmfusion.data.store import spill_dataset
from mmfusion.errors import DataError, MmfusionError
from mmfusion.evaluation import objective
from mmfusion.fusion import crossfit as fusion_crossfit
from mmfusion.reporting import figures
from mmfusion.rundir.files import VERSIONS, write_config, write_json
from mmfusion.rundir.markers import mark_complete
from mmfusion.rundir.provenance import Provenance, versions
from mmfusion.rundir.records import Metrics, prediction_arrays
from mmfusion.runtime import devices, interrupt, locks, progress, tracking
from mmfusion.runtime.seeding import seed_everything
from mmfusion.schemas.check.plugins import check_plugins
from mmfusion.schemas.check.val_split import require_val_split

log = logging.getLogger(__name__)
MODEL_ORDER = ("series", "text")  # column order of the paper's tables; fused comes last


@locks.owning  # one process writes a run directory at a time (runtime/locks.py)
def train(cfg: DictConfig, run_dir: str | Path) -> dict:
    run_dir = Path(run_dir)
    mode = resume.prepare(cfg, run_dir)  # fresh | resume | skip; refuses a directory it must not touch
    if mode == "skip":
        log.info("%s is complete with the same config; skipped (resume=true)", run_dir)
        return resume.saved_result(run_dir)
    validate(cfg)  # ranges and rules between keys (a search objective, a tracker that is not installed)
    if len(basemodels.base_models(cfg)) > 1 and fusion.needs_val(cfg.fusion):
        require_val_split(cfg, f"fusion={cfg.fusion.name} (as configured) is fitted on a validation split")
    prov = Provenance(run_dir, "train", resumed=mode == "resume")  # provenance.json: commit, stage times
    with interrupt.stage("building the dataset"), prov.stage("data"):
        ds = build_dataset(cfg.dataset, cfg.modalities)  # only the modalities trained; before TensorFlow
        spill_dataset(ds, cfg.get("memory_budget_gb"), cache_root(None) / "spill")  # above the budget: memory-mapped
    with prov.stage("setup"):  # seeding, and TensorFlow's import and devices
        seed_everything(cfg.seed, cfg.deterministic)
        strategy = devices.configure(cfg).strategy  # precision policy and strategy; logs the devices used
    names = [m for m in MODEL_ORDER if m in cfg.modalities] + [m for m in cfg.modalities if m not in MODEL_ORDER]
    missing = [m for m in names if m not in ds.modalities]
    if missing:
        raise DataError(f"dataset {cfg.dataset.name!r} has no modality {missing}; it has {ds.modalities}")
    names = base_models(cfg, ds)  # several models per modality: `<modality>_<label>` beside each (basemodels.py)
    log.info("dataset %s: classes %s, sizes %s", cfg.dataset.name, ds.classes, ds.sizes())
    crossfit = train_crossfit.wanted(cfg, names)  # fusion.fit_on=crossfit: K extra trainings per base model
    folds = train_crossfit.folds_by_modality(cfg, ds, names) if crossfit else None  # too few units: refused now
    if objective.parse(cfg) and "val" not in ds.splits:
        raise DataError(
            f"objective.metric={cfg.objective.metric}: dataset {cfg.dataset.name!r} built no validation "
            f"split; set dataset.val_fraction > 0"
        )

    if mode == "resume":
        log.info("resuming the interrupted run in %s", run_dir)
    elif cfg.training.checkpoint:
        resume.begin(cfg, run_dir)  # from here on, a rerun into this directory continues it
    joint = cfg.joint.name != "none"
    models = names + (["joint"] if joint else [])
    progress.plan_run(cfg, models)  # every network's epochs: the epoch lines give the run's ETA
    if crossfit:
        train_crossfit.plan(cfg, names)
    saved = lambda: ", ".join(f"the {m} model" for m in models if resume.finished(run_dir, m))  # noqa: E731
    with interrupt.stage("training", kept=lambda: saved() and f"{saved()} saved in {run_dir / 'models'}"):
        resuming = mode == "resume"
        with prov.stage(None):  # model_<modality> timed inside
            probs, logprobs, train_acc, histories = fit_modalities(
                cfg, ds, run_dir, names, strategy, resuming, timings=prov.stages
            )
        with prov.stage("model_joint" if joint else None):
            hidden = fit_joint(cfg, ds, run_dir, probs, train_acc, histories, strategy, resuming) if joint else {}
        with prov.stage(None):  # crossfit_<model> timed inside
            oof = train_crossfit.out_of_fold(cfg, ds, names, strategy, prov.stages, folds) if crossfit else None
    with interrupt.stage("evaluating and writing the results", kept=f"the trained models in {run_dir / 'models'}"):
        return _finish(cfg, ds, run_dir, names, probs, logprobs, train_acc, histories, hidden, prov, oof)


def _finish(
    cfg: DictConfig,
    ds: Dataset,
    run_dir: Path,
    names: list[str],
    probs,
    logprobs,
    train_acc,
    histories,
    hidden: dict,
    prov: Provenance | None = None,
    oof: dict | None = None,
) -> dict:
    """Fuse, score and write the run's files, then the marker; the run's result for `train`."""
    prov = prov or Provenance(run_dir, "train")
    with prov.stage("fusion"):
        params = fuse_all(cfg.fusion, ds, probs, logprobs, train_acc, names, oof) if len(names) > 1 else None
    prov.start("evaluation")  # scoring, figures and files, up to the marker
    joint = "joint" in probs["test"]
    model_names = names + (["fused"] if params is not None else []) + (["joint"] if joint else [])

    for m in histories:
        figures.plot_history(histories[m], f"Training, {m} model", run_dir / "figures" / f"training_{m}.png")
    score = _objective_score(cfg, ds, probs)
    metrics, table = score_and_write(
        cfg,
        run_dir,
        _test_split(ds, names, model_names, probs, logprobs),
        names,
        params,
        {
            **prediction_arrays(ds.classes, ds.splits, names, probs, logprobs),
            **(fusion_crossfit.to_arrays(oof) if oof is not None else {}),  # proba_oof_<model>: `fuse` refits on them
            **hidden,
        },
        _metrics_record(cfg, ds, names, train_acc, score),
        joint_settings(cfg) if joint else None,
    )
    results = metrics.models
    _seal(cfg, run_dir, metrics, prov)
    log.info("test accuracy: %s", ", ".join(f"{n}={results[n]['accuracy']:.4f}" for n in model_names))
    return {
        "run_dir": str(run_dir),
        "accuracy": {n: results[n]["accuracy"] for n in model_names},
        "metrics": metrics.as_dict(),
        "table": table,
        "objective": score,
    }


def _objective_score(cfg: DictConfig, ds: Dataset, probs) -> float | None:
    """The value a sweeper (hparams_search=...) optimises, on validation data only; None when unset."""
    if not objective.parse(cfg):
        return None
    va = ds.splits["val"]
    score = objective.value(cfg, va.y, probs["val"], va.present)
    log.info("objective %s = %.6f (%s)", cfg.objective.metric, score, cfg.objective.direction)
    return score


def _test_split(ds: Dataset, names: list[str], model_names: list[str], probs, logprobs) -> dict:
    """What score_and_write scores: the test split's labels, presence, units and every model's outputs."""
    test = ds.splits["test"]
    return {
        "y": test.y,
        "present": test.present,
        "units": [test.units[m] for m in names if m in test.units],
        "probs": {n: probs["test"][n] for n in model_names},
        "logprobs": {n: logprobs["test"][n] for n in model_names if n in logprobs["test"]},  # joint: its probs
    }


def _metrics_record(cfg: DictConfig, ds: Dataset, names: list[str], train_acc, score: float | None) -> Metrics:
    """The run's metrics.json before scoring fills in its models (score_and_write)."""
    return Metrics(
        classes=list(ds.classes),
        modalities=list(names),
        train_accuracy=train_acc,
        sizes=ds.sizes(),
        class_counts=ds.class_counts(),
        dataset=ds.info,
        seed=cfg.seed,
        objective=None
        if score is None
        else {"metric": cfg.objective.metric, "direction": cfg.objective.direction, "value": score},
    )


def _seal(cfg: DictConfig, run_dir: Path, metrics: Metrics, prov: Provenance) -> None:
    """The config, versions and provenance, then the COMPLETE marker (last); checkpoints go after it."""
    write_config(run_dir, cfg)  # for predict / fuse
    write_json(run_dir / VERSIONS, versions())
    tracking.finish(cfg, run_dir, metrics.as_dict())  # MLflow when tracking.mlflow; before the marker
    prov.stop("evaluation")
    prov.finish()  # provenance.json complete before the marker
    with interrupt.deferred():
        mark_complete(run_dir)
        resume.drop_checkpoints(run_dir)  # after the marker: an interrupted run always keeps them


def _resume_hint(cfg, out: str) -> str:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:
        return (
            f"job {hc.job.num} ({out}) is not marked complete; rerun the same command with "
            f"hydra.sweep.dir={hc.sweep.dir} resume=true to continue the sweep"
        )
    if cfg.training.checkpoint:
        return f"{out} is not marked complete; rerun the same command with hydra.run.dir={out} to continue"
    return f"{out} is not marked complete (training.checkpoint=false: a rerun starts again in a new directory)"


def _task(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig

    from mmfusion.commands import summary

    hc = HydraConfig.get()
    out = hc.runtime.output_dir
    print(summary.run_start(cfg, out, hc.runtime.choices, summary.device(cfg)), end="", flush=True)
    with interrupt.stage("starting the run", hint=_resume_hint(cfg, out)):
        result = train(cfg, out)
    print(result["table"], end="")
    print(
        f"run directory: {out}"
        + (" (already complete with the same config; kept as it was)" if result.get("skipped") else "")
    )
    from hydra.types import RunMode

    if hc.mode != RunMode.MULTIRUN:  # a sweep ends with its own summary (commands/summary.py)
        print(summary.run_end(out), end="")
    # a sweeper that optimises (hparams_search=...) needs one float: objective.metric, on validation data
    score = result.get("objective", result["metrics"].get("objective", {}).get("value"))
    return score if score is not None else result["accuracy"]


def _existing_run_dir(overrides: list[str]) -> Path | None:
    """Hydra rewrites .hydra/ of an existing directory before the task starts, so decide up front: a run
    directory that holds results is refused, unless it is an interrupted run with checkpoints and the
    same config (resumed) or, with resume=true, a finished run with the same config (returned: kept)."""
    if any(arg.startswith("-") for arg in overrides):  # -m (each job decides), --cfg, --help: no run here
        return None
    for arg in overrides:
        if arg.startswith("hydra.run.dir="):
            target = Path(arg.split("=", 1)[1])
            if target.is_dir() and resume.state(target) != "fresh":
                return target if resume.prepare(compose_config(overrides), target) == "skip" else None
    return None


def _refuse_unwritable_dirs(overrides: list[str]) -> None:
    """An output directory that cannot be created: one message up front instead of a traceback from Hydra."""
    for arg in overrides:
        key, _, value = arg.partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and "${" not in value:
            target = Path(value).absolute()
            parent = next(p for p in (target, *target.parents) if p.exists())
            if not parent.is_dir():
                raise MmfusionError(
                    f"{key}={value} cannot be created: {parent} is a file, not a directory; choose another {key}"
                )
            if not os.access(parent, os.W_OK | os.X_OK):
                raise MmfusionError(f"{key}={value} cannot be created: {parent} is not writable; choose another {key}")


def main(overrides: list[str]) -> None:
    """`mmfusion train [overrides...]`: every argument goes to Hydra (-m, --cfg, --help, -sc ...)."""
    from mmfusion.commands import train_app
    from mmfusion.config import precheck

    train_app.register()  # resolvers and the typed schemas the YAML files name in their defaults lists
    overrides = basemodels.expand_overrides(overrides)  # model/text=[a,b]: one node per model (basemodels.py)
    target = locks.run_dir_of(overrides)  # hydra.run.dir=... of a single run: owned before Hydra writes there
    if target is not None:
        locks.check(target)  # another process writes it: stop before reading or touching anything
    finished = _existing_run_dir(overrides)
    if finished is not None:  # resume=true and complete with the same config: nothing to do
        print((finished / "tables" / "accuracy.md").read_text(), end="")
        print(f"run directory: {finished} (already complete with the same config; kept as it was)")
        return
    _refuse_unwritable_dirs(overrides)
    check_plugins(overrides)  # a launcher preset or search whose Hydra plugin is missing: name the extra
    precheck(overrides)  # a wrong type or range: one line, before Hydra starts any job
    if target is not None:
        locks.acquire(target)  # released at exit
    multirun = any(arg in ("-m", "--multirun") for arg in overrides)
    hint = "rerun the same command with the same hydra.sweep.dir and resume=true to continue" if multirun else None
    with interrupt.stage("running mmfusion train", hint=hint):  # a job's own stages say more
        train_app.app(_task, overrides)
