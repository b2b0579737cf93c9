"""One run: data -> one model per modality -> fusion -> evaluation -> files in the run directory.

`train(cfg, run_dir) -> dict` is plain Python (tests call it directly); the Hydra entry point in
cli.py only hands it the composed config and Hydra's output directory.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from mmfusion import fusion, plots, rundir
from mmfusion.config import validate
from mmfusion.data import Dataset, build_dataset
from mmfusion.errors import ConfigError, DataError
from mmfusion.evaluate import evaluate, roc_curves
from mmfusion.tables import write_tables

log = logging.getLogger(__name__)
MODEL_ORDER = ("series", "text")  # column order of the paper's tables; fused comes last


def seed_everything(seed: int, deterministic: bool) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def predict_present(model, x, present: np.ndarray, q: int) -> np.ndarray:
    """Probabilities of the samples that have this modality; NaN rows where it is absent."""
    out = np.full((len(present), q), np.nan)
    if present.any():
        out[present] = model.predict_proba(x[present])
    return out


def fit_modalities(cfg: DictConfig, ds: Dataset, run_dir: Path, names: list[str]):
    """Train one model per modality; returns probabilities per split and model, train accuracy, histories."""
    from mmfusion.models import build_model

    probs = {split: {} for split in ds.splits}
    train_acc, histories = {}, {}
    tr, va = ds.splits["train"], ds.splits.get("val")
    for m in names:
        log.info("training the %s model (%s) on %d samples", m, cfg.model[m].name, int(tr.present[m].sum()))
        model = build_model(m, cfg.model[m], ds.num_classes)
        keep = tr.present[m]
        val = (va.x[m][va.present[m]], va.y[va.present[m]]) if va is not None else None
        histories[m] = model.fit((tr.x[m][keep], tr.y[keep]), val)
        for split_name, split in ds.splits.items():
            probs[split_name][m] = predict_present(model, split.x[m], split.present[m], ds.num_classes)
        p = probs["train"][m][keep]
        train_acc[m] = float(np.mean(np.argmax(p, axis=1) == tr.y[keep]))
        model.save(run_dir / "models")
        pd.DataFrame(histories[m]).rename_axis("epoch").rename(lambda i: i + 1).to_csv(
            rundir_path(run_dir, "history", f"{m}.csv"))
    return probs, train_acc, histories


def rundir_path(run_dir: Path, *parts: str) -> Path:
    path = Path(run_dir, *parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def fuse_all(rule_cfg, ds: Dataset, probs: dict, train_acc: dict, names: list[str]) -> dict:
    rule = fusion.get_rule(rule_cfg)
    val = ds.splits.get("val")
    val_probs = [probs["val"][m] for m in names] if val is not None else None
    params = rule.fit(val_probs, val.y if val is not None else None, [train_acc[m] for m in names])
    for split_name, split in ds.splits.items():
        present = [split.present[m] for m in names]
        probs[split_name]["fused"] = rule.combine([probs[split_name][m] for m in names], params, present)
    return params


def train(cfg: DictConfig, run_dir: str | Path) -> dict:
    run_dir = Path(run_dir)
    if rundir.holds_results(run_dir):
        raise ConfigError(f"{run_dir} already holds a run; choose a new hydra.run.dir (nothing was overwritten)")
    validate(cfg)
    seed_everything(cfg.seed, cfg.deterministic)
    ds = build_dataset(cfg.dataset)
    names = [m for m in MODEL_ORDER if m in cfg.modalities] + [m for m in cfg.modalities if m not in MODEL_ORDER]
    missing = [m for m in names if m not in ds.modalities]
    if missing:
        raise DataError(f"dataset {cfg.dataset.name!r} has no modality {missing}; it has {ds.modalities}")
    log.info("dataset %s: classes %s, sizes %s", cfg.dataset.name, ds.classes, ds.sizes())

    probs, train_acc, histories = fit_modalities(cfg, ds, run_dir, names)
    params = fuse_all(cfg.fusion, ds, probs, train_acc, names) if len(names) > 1 else None
    model_names = names + (["fused"] if params is not None else [])

    test = ds.splits["test"]
    results = {}
    for name in model_names:
        keep = test.present[name] if name in test.present else np.ones(len(test), bool)
        results[name] = evaluate(test.y[keep], probs["test"][name][keep], ds.classes)
        curves = roc_curves(test.y[keep], probs["test"][name][keep], ds.num_classes)
        plots.plot_roc(curves, results[name]["auc"], ds.classes, f"ROC, {name} model",
                       rundir_path(run_dir, "figures", f"roc_{name}.png"))
        plots.plot_confusion(results[name]["confusion"], ds.classes, f"Confusion, {name} model",
                             run_dir / "figures" / f"confusion_{name}.png")
    for m in names:
        plots.plot_history(histories[m], f"Training, {m} model", run_dir / "figures" / f"training_{m}.png")

    arrays = {"classes": np.asarray(ds.classes)}
    for split_name, split in ds.splits.items():
        arrays[f"y_{split_name}"] = split.y
        arrays[f"ids_{split_name}"] = split.ids
        for m in names:
            arrays[f"present_{split_name}_{m}"] = split.present[m]
        for name in model_names:
            arrays[f"proba_{split_name}_{name}"] = probs[split_name][name]
    rundir.write_npz(run_dir / rundir.PREDICTIONS, arrays)

    metrics = {
        "classes": ds.classes,
        "modalities": names,
        "models": results,
        "train_accuracy": train_acc,
        "fusion": {"name": cfg.fusion.name, "params": params} if params is not None else None,
        "sizes": ds.sizes(),
        "class_counts": ds.class_counts(),
        "dataset": ds.info,
        "seed": int(cfg.seed),
    }
    rundir.write_json(run_dir / rundir.METRICS, metrics)
    table = write_tables(metrics, run_dir / "tables")
    rundir.write_json(run_dir / rundir.VERSIONS, rundir.versions())
    rundir.mark_complete(run_dir)
    log.info("test accuracy: %s", ", ".join(f"{n}={results[n]['accuracy']:.4f}" for n in model_names))
    return {"run_dir": str(run_dir), "accuracy": {n: results[n]["accuracy"] for n in model_names},
            "metrics": metrics, "table": table}
