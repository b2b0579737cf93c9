"""Cross-fitted fusion (`fusion.fit_on=crossfit`), the numpy side: the data a rule is fitted on.

The out-of-fold (OOF) predictions of the training split come from mmfusion/commands/train_crossfit.py
(K extra trainings per base model, each predicting the fold it did not see). A cross-fitted rule is
fitted on those OOF rows of every training sample, followed by the validation split's rows from the
final models when the run has a validation split; the accuracies a rule may weight by
(`fusion.weights=train_accuracy`) become the out-of-fold accuracies on the training split. Test data
is never part of it. The OOF arrays travel in predictions.npz (`proba_oof_<model>`,
`logproba_oof_<model>`, `fold_oof_<model>`, aligned with `y_train` / `ids_train`), so `mmfusion fuse`
refits any rule on them without retraining.
"""

from __future__ import annotations

import numpy as np

from mmfusion.errors import ConfigError, RunDirError

PREFIX = {"probs": "proba_oof_", "logprobs": "logproba_oof_", "fold": "fold_oof_"}


def to_arrays(oof: dict) -> dict:
    """predictions.npz arrays of the out-of-fold predictions (one set per base model)."""
    return {f"{PREFIX[key]}{m}": a for key in PREFIX for m, a in oof[key].items()}


def from_arrays(pred: dict, names: list[str]) -> dict | None:
    """The out-of-fold predictions saved in a run's predictions.npz; None for a run that has none."""
    if not any(k.startswith(PREFIX["probs"]) for k in pred):
        return None
    missing = [f"{PREFIX[k]}{m}" for m in names for k in ("probs", "fold") if f"{PREFIX[k]}{m}" not in pred]
    if missing:
        raise RunDirError(f"predictions.npz has out-of-fold predictions but lacks {missing}; rerun the run")
    oof = {key: {m: pred[f"{PREFIX[key]}{m}"] for m in names if f"{PREFIX[key]}{m}" in pred} for key in PREFIX}
    oof["folds"] = int(max(int(np.max(f)) for f in oof["fold"].values()) + 1)
    return oof


def fit_set(rule_cfg, oof: dict | None, probs: dict, y: dict, logprobs: dict | None, names: list[str]) -> dict:
    """What a cross-fitted rule is fitted on: probs (a list per model of (n, q), NaN rows where a
    modality is absent), y, logprobs (or None), acc (the out-of-fold training accuracy per model) and
    the record metrics.json keeps (`params.crossfit`)."""
    folds = int(rule_cfg.crossfit_folds)
    # these compare the config with the run's saved out-of-fold predictions: known only once it is loaded
    if oof is None:
        raise ConfigError(
            "fusion.fit_on=crossfit: this run has no out-of-fold predictions of its training data; train it "
            "with fusion.fit_on=crossfit (or fit on the validation split: fusion.fit_on=val)"
        )
    if oof["folds"] != folds:
        raise ConfigError(
            f"fusion.crossfit_folds={folds}: this run's out-of-fold predictions come from {oof['folds']} folds; "
            f"set fusion.crossfit_folds={oof['folds']} (other K need a new training run)"
        )
    has_val = "val" in probs and len(y.get("val", [])) > 0
    tail = ["val"] if has_val else []
    fit_probs = [np.concatenate([oof["probs"][m], *(probs[s][m] for s in tail)]) for m in names]
    fit_log = None
    if logprobs is not None:
        own = oof.get("logprobs") or {}
        fit_log = [
            np.concatenate([own[m] if m in own else _log(oof["probs"][m]), *(logprobs[s][m] for s in tail)])
            for m in names
        ]
    fit_y = np.concatenate([np.asarray(y["train"]), *(np.asarray(y[s]) for s in tail)]).astype(np.int64)
    acc = [oof_accuracy(oof["probs"][m], y["train"]) for m in names]
    n_train, n_val = len(y["train"]), (len(y["val"]) if has_val else 0)
    record = {
        "fit_on": "crossfit",
        "folds": folds,
        "samples": n_train + n_val,
        "train_samples": n_train,
        "val_samples": n_val,
        "oof_accuracy": dict(zip(names, acc)),
    }
    return {"probs": fit_probs, "y": fit_y, "logprobs": fit_log, "acc": acc, "record": record}


def fits_anything(rule_class, cfg) -> bool:
    """Whether the configured rule learns from data: from a validation split (or the fit set that takes
    its place), or from the training accuracies (`fusion.weights=train_accuracy`); `equal` does not."""
    return rule_class.fitted_on_val(cfg) or rule_class.settings(cfg).get("weights") == "train_accuracy"


def oof_accuracy(p: np.ndarray, y) -> float:
    """Accuracy of out-of-fold predictions over the samples that have them (NaN rows: modality absent)."""
    ok = np.isfinite(p).all(axis=1)
    return float(np.mean(np.argmax(p[ok], axis=1) == np.asarray(y)[ok])) if ok.any() else 0.0


def _log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)
