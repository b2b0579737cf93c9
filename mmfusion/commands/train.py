"""One run: data -> one model per modality -> fusion -> evaluation -> files in the run directory.

`train(cfg, run_dir) -> dict` is plain Python (tests call it directly); `main(overrides)`, the Hydra
entry point of `mmfusion train`, only hands it the composed config and Hydra's output directory.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from mmfusion import fusion, rundir
from mmfusion.config import validate
from mmfusion.data import Dataset, build_dataset
from mmfusion.errors import ConfigError, DataError, MmfusionError
from mmfusion.evaluation import figures
from mmfusion.evaluation.scoring import compare, draw_weights, eval_settings, score_models
from mmfusion.evaluation.tables import write_tables
from mmfusion.runtime import devices, launchers, tracking
from mmfusion.runtime.seeding import seed_everything

log = logging.getLogger(__name__)
MODEL_ORDER = ("series", "text")  # column order of the paper's tables; fused comes last



def predict_present(model, x, present: np.ndarray, q: int) -> np.ndarray:
    """Log-probabilities of the samples that have this modality; NaN rows where it is absent."""
    out = np.full((len(present), q), np.nan)
    if present.any():
        out[present] = model.predict_log_proba(x[present])
    return out


def fit_modalities(cfg: DictConfig, ds: Dataset, run_dir: Path, names: list[str], strategy=None):
    """Train one model per modality; returns probabilities and log-probabilities per split and model,
    train accuracy, histories."""
    from mmfusion.models import build_model

    probs = {split: {} for split in ds.splits}
    logprobs = {split: {} for split in ds.splits}
    train_acc, histories = {}, {}
    tr, va = ds.splits["train"], ds.splits.get("val")
    for m in names:
        log.info("training the %s model (%s) on %d samples", m, cfg.model[m].name, int(tr.present[m].sum()))
        model = build_model(m, cfg.model[m], ds.num_classes, strategy)
        keep = tr.present[m]
        val = (va.x[m][va.present[m]], va.y[va.present[m]]) if va is not None else None
        histories[m] = model.fit((tr.x[m][keep], tr.y[keep]), val,
                                 callbacks=tracking.callbacks(cfg, run_dir, m))  # TensorBoard when tracking.tensorboard
        for split_name, split in ds.splits.items():
            logprobs[split_name][m] = predict_present(model, split.x[m], split.present[m], ds.num_classes)
            probs[split_name][m] = np.exp(logprobs[split_name][m])
        p = probs["train"][m][keep]
        train_acc[m] = float(np.mean(np.argmax(p, axis=1) == tr.y[keep]))
        model.save(run_dir / "models")
        pd.DataFrame(histories[m]).rename_axis("epoch").rename(lambda i: i + 1).to_csv(
            rundir_path(run_dir, "history", f"{m}.csv"))
    return probs, logprobs, train_acc, histories


def rundir_path(run_dir: Path, *parts: str) -> Path:
    path = Path(run_dir, *parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def fuse_all(rule_cfg, ds: Dataset, probs: dict, logprobs: dict, train_acc: dict, names: list[str]) -> dict:
    y = {s: split.y for s, split in ds.splits.items()}
    present = {s: split.present for s, split in ds.splits.items()}
    params, fused, fused_log = fusion.fuse_splits(rule_cfg, probs, y, present, [train_acc[m] for m in names], names,
                                                  logprobs)
    for split_name in ds.splits:
        probs[split_name]["fused"] = fused[split_name]
        logprobs[split_name]["fused"] = fused_log[split_name]
    return params


def train(cfg: DictConfig, run_dir: str | Path) -> dict:
    run_dir = Path(run_dir)
    if rundir.holds_results(run_dir):
        raise ConfigError(f"{run_dir} already holds a run; choose a new hydra.run.dir (nothing was overwritten)")
    validate(cfg)
    tracking.check(cfg)  # a selected tracker that is not installed: say which extra, before any work
    if len(cfg.modalities) > 1 and fusion.needs_val(cfg.fusion) and not float(cfg.dataset.get("val_fraction") or 0) > 0:
        raise ConfigError(f"fusion={cfg.fusion.name} (as configured) is fitted on a validation split: "
                          f"set dataset.val_fraction > 0, e.g. dataset.val_fraction=0.2")
    ds = build_dataset(cfg.dataset)  # numpy-seeded; before TensorFlow, so bad data fails fast
    seed_everything(cfg.seed, cfg.deterministic)
    strategy = devices.configure(cfg).strategy  # precision policy and strategy; logs the devices used
    names = [m for m in MODEL_ORDER if m in cfg.modalities] + [m for m in cfg.modalities if m not in MODEL_ORDER]
    missing = [m for m in names if m not in ds.modalities]
    if missing:
        raise DataError(f"dataset {cfg.dataset.name!r} has no modality {missing}; it has {ds.modalities}")
    log.info("dataset %s: classes %s, sizes %s", cfg.dataset.name, ds.classes, ds.sizes())

    probs, logprobs, train_acc, histories = fit_modalities(cfg, ds, run_dir, names, strategy)
    params = fuse_all(cfg.fusion, ds, probs, logprobs, train_acc, names) if len(names) > 1 else None
    model_names = names + (["fused"] if params is not None else [])

    test = ds.splits["test"]
    temps = dict(zip(names, params["temperatures"])) if params and params.get("temperatures") else None
    test_probs = {n: probs["test"][n] for n in model_names}
    test_log = {n: logprobs["test"][n] for n in model_names}
    weights = draw_weights(cfg, len(test.y), [test.units[m] for m in names], test.y)  # texts, runs within class
    results = score_models(test.y, test_probs, test.present, ds.classes, cfg, run_dir / "figures", temps, test_log,
                           weights=weights)
    for m in names:
        figures.plot_history(histories[m], f"Training, {m} model", run_dir / "figures" / f"training_{m}.png")

    rundir.write_npz(run_dir / rundir.PREDICTIONS,
                     rundir.prediction_arrays(ds.classes, ds.splits, names, probs, logprobs))
    metrics = rundir.metrics_record(
        ds.classes, names, results, train_acc,
        {"name": cfg.fusion.name, "params": params} if params is not None else None,
        compare(test.y, test_probs, test.present, model_names, weights, eval_settings(cfg)["ci_level"]),
        ds.sizes(), ds.class_counts(), ds.info, cfg.seed)
    rundir.write_json(run_dir / rundir.METRICS, metrics)
    rundir.write_config(run_dir, cfg)  # for predict / fuse
    table = write_tables(metrics, run_dir / "tables")
    rundir.write_json(run_dir / rundir.VERSIONS, rundir.versions())
    tracking.finish(cfg, run_dir, metrics)  # MLflow when tracking.mlflow; before the marker
    rundir.mark_complete(run_dir)
    log.info("test accuracy: %s", ", ".join(f"{n}={results[n]['accuracy']:.4f}" for n in model_names))
    return {"run_dir": str(run_dir), "accuracy": {n: results[n]["accuracy"] for n in model_names},
            "metrics": metrics, "table": table}


def _task(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig

    out = HydraConfig.get().runtime.output_dir
    result = train(cfg, out)
    print(result["table"], end="")
    print(f"run directory: {out}")
    return result["accuracy"]


def _refuse_existing_run_dir(overrides: list[str]) -> None:
    """Hydra rewrites .hydra/ of an existing directory before the task starts: refuse that up front."""
    for arg in overrides:
        if arg.startswith("hydra.run.dir="):
            target = Path(arg.split("=", 1)[1])
            if target.is_dir() and rundir.holds_results(target):
                raise MmfusionError(f"{target} already holds a run; choose a new hydra.run.dir (nothing was overwritten)")


def _refuse_unwritable_dirs(overrides: list[str]) -> None:
    """An output directory that cannot be created: one message up front instead of a traceback from Hydra."""
    for arg in overrides:
        key, _, value = arg.partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and "${" not in value:
            target = Path(value).absolute()
            parent = next(p for p in (target, *target.parents) if p.exists())
            if not parent.is_dir():
                raise MmfusionError(f"{key}={value} cannot be created: {parent} is a file, not a directory; choose another {key}")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise MmfusionError(f"{key}={value} cannot be created: {parent} is not writable; choose another {key}")


def main(overrides: list[str]) -> None:
    """`mmfusion train [overrides...]`: every argument goes to Hydra (-m, --cfg, --help, -sc ...)."""
    import hydra

    from mmfusion.config import CONFIG_MODULE, precheck
    from mmfusion.schemas import register

    _refuse_existing_run_dir(overrides)
    _refuse_unwritable_dirs(overrides)
    launchers.check(overrides)  # a launcher preset whose plugin is missing: name the extra
    register()  # the typed schemas the YAML files name in their defaults lists
    precheck(overrides)  # a wrong type or range: one line, before Hydra starts any job
    task = hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="config")(_task)
    sys.argv = ["mmfusion", *overrides]  # Hydra's completion installs for the program `mmfusion`
    task()
