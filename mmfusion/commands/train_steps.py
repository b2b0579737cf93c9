"""The steps of one training run (commands/train.py): fitting one model per modality and the joint
model, predicting where a modality is present, fusing every split, and the run-directory paths they write.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig

from mmfusion import basemodels, fusion
from mmfusion.basemodels import extra_key, modality_of, models_dir
from mmfusion.commands import resume
from mmfusion.data import Dataset
from mmfusion.rundir.files import write_atomic
from mmfusion.rundir.provenance import timed
from mmfusion.runtime import interrupt, tracking
from mmfusion.runtime.seeding import seed_everything

log = logging.getLogger("mmfusion.commands.train")  # the run's log lines keep the name they had before the split


def predict_present(model, x, present: np.ndarray, q: int) -> np.ndarray:
    """Log-probabilities of the samples that have this modality; NaN rows where it is absent."""
    out = np.full((len(present), q), np.nan)
    if present.any():
        out[present] = model.predict_log_proba(x[present])
    return out


def first_of_units(split, m: str, unique: bool) -> np.ndarray:
    """Indices of the samples that train the `m` model: those where it is present, and with `unique` only
    the first sample of each unit (unique text or run), so no unit counts more than once."""
    idx = np.flatnonzero(split.present[m])
    if unique:
        _, first = np.unique(split.units[m][idx], return_index=True)
        idx = idx[np.sort(first)]
    return idx


def base_models(cfg: DictConfig, ds: Dataset) -> list[str]:
    """The run's base models (mmfusion/basemodels.py): one per modality, named after it, plus any
    `model.<modality>_<label>` added beside it. An added model shares its modality's presence masks
    (split.present[name] is split.present[modality]), so fusion, scoring and the saved predictions,
    all keyed by base model, drop every model of a missing modality together."""
    names = basemodels.base_models(cfg)
    for name in names:
        if extra_key(name):
            log.info("the %s data also trains model %s (%s)", modality_of(name), name, cfg.model[name].name)
            for split in ds.splits.values():
                split.present[name] = split.present[modality_of(name)]
    return names


def fit_modalities(
    cfg: DictConfig, ds: Dataset, run_dir: Path, names: list[str], strategy=None, resuming=False, timings=None
):
    """Train one model per modality; returns probabilities and log-probabilities per split and model,
    train accuracy, histories.

    Each model starts from `seed` (so its numbers do not depend on the models trained before it, and a
    resumed run matches an uninterrupted one). With `training.checkpoint`, a model saves an epoch
    checkpoint in <run>/checkpoints/<modality>; when resuming, finished models are loaded instead.
    timings: a dict that gets the wall and CPU seconds of each model (fit and predict) as model_<modality>.
    """
    from mmfusion.models import build_model
    from mmfusion.models.checkpoint import describe

    probs = {split: {} for split in ds.splits}
    logprobs = {split: {} for split in ds.splits}
    train_acc, histories = {}, {}
    tr, va = ds.splits["train"], ds.splits.get("val")
    checkpointing = bool(cfg.training.checkpoint)
    unique = bool(cfg.training.unique_units)
    for m in names:
        clock = timed(timings, f"model_{m}").start()
        mod = modality_of(m)  # several models of a modality read its data (mmfusion/basemodels.py)
        model = build_model(mod, cfg.model[m], ds.num_classes, strategy)
        keep = first_of_units(tr, mod, unique)
        if resuming and resume.finished(run_dir, m):
            histories[m] = load_finished(model, run_dir, m)
        else:
            log.info(
                "training the %s model (%s) on %d %s", m, cfg.model[m].name, len(keep), "units" if unique else "samples"
            )
            seed_everything(cfg.seed, cfg.deterministic)
            ckpt = resume.model_dir(run_dir, m)
            model.checkpoint_dir = ckpt if checkpointing else None
            vkeep = first_of_units(va, mod, unique) if va is not None else None
            val = (va.x[mod][vkeep], va.y[vkeep]) if va is not None else None
            with interrupt.stage(
                f"training the {m} model", kept=(lambda d=ckpt: describe(d)) if checkpointing else None
            ):
                histories[m] = model.fit(
                    (tr.x[mod][keep], tr.y[keep]), val, callbacks=tracking.callbacks(cfg, run_dir, m)
                )  # TensorBoard if tracking.tensorboard
            save_finished(model, run_dir, m, histories[m])
        for split_name, split in ds.splits.items():
            logprobs[split_name][m] = predict_present(model, split.x[mod], split.present[mod], ds.num_classes)
            probs[split_name][m] = np.exp(logprobs[split_name][m])
        present = tr.present[mod]  # training accuracy over the training samples that have this modality
        train_acc[m] = float(np.mean(np.argmax(probs["train"][m][present], axis=1) == tr.y[present]))
        clock.stop()
    return probs, logprobs, train_acc, histories


def load_finished(model, run_dir: Path, name: str) -> dict:
    """A model that a previous session of this run finished: loaded, with its saved history."""
    log.info("the %s model had finished; loading it from %s", name, models_dir(run_dir, name))
    model.load(models_dir(run_dir, name))
    saved = pd.read_csv(run_dir / "history" / f"{name}.csv", index_col=0)
    return {k: v.tolist() for k, v in saved.items()}


def save_finished(model, run_dir: Path, name: str, history: dict) -> None:
    """The model, then its history (the sign that it is whole, `resume.finished`), then its checkpoints go."""
    with interrupt.deferred():
        model.save(models_dir(run_dir, name))
        path = rundir_path(run_dir, "history", f"{name}.csv")
        table = pd.DataFrame(history).rename_axis("epoch").rename(lambda i: i + 1)
        write_atomic(path, table.to_csv)  # whole or absent; a failed write names the file
        resume.drop_checkpoints(run_dir, name)


def joint_inputs(split, hide: str | None = None) -> dict:
    """The joint model's input of one split: both modalities and their presence (`hide`: one modality masked)."""
    present = np.stack([split.present["text"], split.present["series"]], axis=1)
    if hide is not None:
        present[:, ("text", "series").index(hide)] = False
    return {"text": split.x["text"], "series": split.x["series"], "present": present}


def fit_joint(
    cfg: DictConfig,
    ds: Dataset,
    run_dir: Path,
    probs: dict,
    train_acc: dict,
    histories: dict,
    strategy=None,
    resuming=False,
) -> dict:
    """joint=lstm: one network over both modalities, trained on the same training pairs. Adds its
    probabilities as model `joint`; returns its test probabilities with the text or the series hidden
    (so that `fuse` can draw its missing-modality curve without Keras). Checkpointed and resumed as the
    modality models are (<run>/checkpoints/joint); a joint model that had finished is loaded."""
    from mmfusion.models import build_model
    from mmfusion.models.checkpoint import describe

    tr, va = ds.splits["train"], ds.splits.get("val")
    model = build_model("joint", cfg.joint, ds.num_classes, strategy)
    if resuming and resume.finished(run_dir, "joint"):
        histories["joint"] = load_finished(model, run_dir, "joint")
    else:
        seed_everything(cfg.seed, cfg.deterministic)  # like every model: its numbers do not depend on those before
        log.info(
            "training the joint model (fusion layer %s, modality dropout %s) on %d samples",
            cfg.joint.fusion_layer,
            cfg.joint.modality_dropout,
            len(tr),
        )
        checkpointing = bool(cfg.training.checkpoint)
        ckpt = resume.model_dir(run_dir, "joint")
        model.checkpoint_dir = ckpt if checkpointing else None
        val = (joint_inputs(va), va.y) if va is not None and len(va) else None
        with interrupt.stage("training the joint model", kept=(lambda: describe(ckpt)) if checkpointing else None):
            histories["joint"] = model.fit(
                (joint_inputs(tr), tr.y), val, callbacks=tracking.callbacks(cfg, run_dir, "joint")
            )
        save_finished(model, run_dir, "joint", histories["joint"])
    for split_name, split in ds.splits.items():
        probs[split_name]["joint"] = model.predict_proba(joint_inputs(split))
    train_acc["joint"] = float(np.mean(probs["train"]["joint"].argmax(axis=1) == tr.y))
    test = ds.splits["test"]
    both = test.present["text"] & test.present["series"]  # hiding one of two leaves one; the rest stay as they are
    hidden = {}
    for m in ("text", "series"):
        p = probs["test"]["joint"].copy()
        if both.any():
            p[both] = model.predict_proba({k: v[both] for k, v in joint_inputs(test, hide=m).items()})
        hidden[f"proba_test_joint_without_{m}"] = p
    return hidden


def joint_settings(cfg: DictConfig) -> dict:
    """metrics.json's `joint`: its settings (the step that scores adds McNemar against the best single
    model and the run's rule, commands/finish.py)."""
    jc = cfg.joint
    return {"name": str(jc.name), "fusion_layer": str(jc.fusion_layer), "modality_dropout": float(jc.modality_dropout)}


def rundir_path(run_dir: Path, *parts: str) -> Path:
    path = Path(run_dir, *parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def fuse_all(
    rule_cfg, ds: Dataset, probs: dict, logprobs: dict, train_acc: dict, names: list[str], oof: dict | None = None
) -> dict:
    """Fit the rule (on `oof`, the out-of-fold training predictions, with fusion.fit_on=crossfit) and fuse every split."""
    y = {s: split.y for s, split in ds.splits.items()}
    present = {s: split.present for s, split in ds.splits.items()}
    params, fused, fused_log = fusion.fuse_splits(
        rule_cfg, probs, y, present, [train_acc[m] for m in names], names, logprobs, oof
    )
    for split_name in ds.splits:
        probs[split_name]["fused"] = fused[split_name]
        logprobs[split_name]["fused"] = fused_log[split_name]
    return params
