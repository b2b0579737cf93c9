"""One run: data -> one model per modality -> fusion -> evaluation -> files in the run directory.

`train(cfg, run_dir) -> dict` is plain Python (tests call it directly); the Hydra entry point in
cli.py only hands it the composed config and Hydra's output directory.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from mmfusion import accelerate, fusion, plots, rundir, tracking
from mmfusion.config import validate
from mmfusion.data import Dataset, build_dataset
from mmfusion.errors import ConfigError, DataError
from mmfusion.results import compare, draw_weights, eval_settings, score_models
from mmfusion.tables import write_tables

log = logging.getLogger(__name__)
MODEL_ORDER = ("series", "text")  # column order of the paper's tables; fused comes last
CONFIG_FILE = "config.yaml"  # the resolved config, saved in the run directory (also without Hydra)


def seed_everything(seed: int, deterministic: bool) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def predict_present(model, x, present: np.ndarray, q: int) -> np.ndarray:
    """Log-probabilities of the samples that have this modality; NaN rows where it is absent."""
    out = np.full((len(present), q), np.nan)
    if present.any():
        out[present] = model.predict_log_proba(x[present])
    return out


def fit_modalities(cfg: DictConfig, ds: Dataset, run_dir: Path, names: list[str]):
    """Train one model per modality; returns probabilities and log-probabilities per split and model,
    train accuracy, histories."""
    from mmfusion.models import build_model

    probs = {split: {} for split in ds.splits}
    logprobs = {split: {} for split in ds.splits}
    train_acc, histories = {}, {}
    tr, va = ds.splits["train"], ds.splits.get("val")
    for m in names:
        log.info("training the %s model (%s) on %d samples", m, cfg.model[m].name, int(tr.present[m].sum()))
        model = build_model(m, cfg.model[m], ds.num_classes)
        model.extra_callbacks = tracking.callbacks(cfg, run_dir, m)  # TensorBoard when tracking.tensorboard
        keep = tr.present[m]
        val = (va.x[m][va.present[m]], va.y[va.present[m]]) if va is not None else None
        histories[m] = model.fit((tr.x[m][keep], tr.y[keep]), val)
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
    accelerate.configure(cfg)  # precision policy and strategy; logs the devices used
    names = [m for m in MODEL_ORDER if m in cfg.modalities] + [m for m in cfg.modalities if m not in MODEL_ORDER]
    missing = [m for m in names if m not in ds.modalities]
    if missing:
        raise DataError(f"dataset {cfg.dataset.name!r} has no modality {missing}; it has {ds.modalities}")
    log.info("dataset %s: classes %s, sizes %s", cfg.dataset.name, ds.classes, ds.sizes())

    probs, logprobs, train_acc, histories = fit_modalities(cfg, ds, run_dir, names)
    params = fuse_all(cfg.fusion, ds, probs, logprobs, train_acc, names) if len(names) > 1 else None
    model_names = names + (["fused"] if params is not None else [])

    test = ds.splits["test"]
    temps = dict(zip(names, params["temperatures"])) if params and params.get("temperatures") else None
    test_probs = {n: probs["test"][n] for n in model_names}
    test_log = {n: logprobs["test"][n] for n in model_names}
    weights = draw_weights(cfg, len(test.y), [test.units[m] for m in names])  # texts and runs resampled
    results = score_models(test.y, test_probs, test.present, ds.classes, cfg, run_dir / "figures", temps, test_log,
                           weights=weights)
    for m in names:
        plots.plot_history(histories[m], f"Training, {m} model", run_dir / "figures" / f"training_{m}.png")

    arrays = {"classes": np.asarray(ds.classes)}
    for split_name, split in ds.splits.items():
        arrays[f"y_{split_name}"] = split.y
        arrays[f"ids_{split_name}"] = split.ids
        for m in names:
            arrays[f"present_{split_name}_{m}"] = split.present[m]
            arrays[f"units_{split_name}_{m}"] = split.units[m]  # text / run behind each sample (cluster CIs)
        for name in model_names:
            arrays[f"proba_{split_name}_{name}"] = probs[split_name][name]
            arrays[f"logproba_{split_name}_{name}"] = logprobs[split_name][name]  # exact NLL / calibration
    rundir.write_npz(run_dir / rundir.PREDICTIONS, arrays)

    metrics = {
        "classes": ds.classes,
        "modalities": names,
        "models": results,
        "train_accuracy": train_acc,
        "fusion": {"name": cfg.fusion.name, "params": params} if params is not None else None,
        "comparison": compare(test.y, test_probs, test.present, model_names, weights, eval_settings(cfg)["ci_level"]),
        "sizes": ds.sizes(),
        "class_counts": ds.class_counts(),
        "dataset": ds.info,
        "seed": int(cfg.seed),
    }
    rundir.write_json(run_dir / rundir.METRICS, metrics)
    (run_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))  # for predict / fuse
    table = write_tables(metrics, run_dir / "tables")
    rundir.write_json(run_dir / rundir.VERSIONS, rundir.versions())
    tracking.finish(cfg, run_dir, metrics)  # MLflow when tracking.mlflow; before the marker
    rundir.mark_complete(run_dir)
    log.info("test accuracy: %s", ", ".join(f"{n}={results[n]['accuracy']:.4f}" for n in model_names))
    return {"run_dir": str(run_dir), "accuracy": {n: results[n]["accuracy"] for n in model_names},
            "metrics": metrics, "table": table}
