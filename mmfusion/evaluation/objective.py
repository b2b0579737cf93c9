"""The one float `mmfusion train` hands a hyper-parameter sweeper (`objective.metric`), computed on the
validation split only, never on the test split.

`objective.metric` is `val/<model>/<accuracy|loss>`, where `<model>` is a trained modality (`series`,
`text`), `fused` (two or more modalities) or `joint` (joint=lstm); loss is the mean negative
log-likelihood. `check` runs before any data is built, so a run whose objective cannot be computed stops at once.
"""

from __future__ import annotations

import numpy as np

from mmfusion.basemodels import base_models, extra_key
from mmfusion.errors import ConfigError, DataError
from mmfusion.probability import nll
from mmfusion.schemas.check import require_val_split

MEASURES = ("accuracy", "loss")
DIRECTIONS = ("maximize", "minimize")


def parse(cfg) -> tuple[str, str] | None:
    """(model, measure) of `objective.metric`, or None when no objective is configured."""
    spec = cfg.objective.metric
    if spec in (None, "", "none"):
        return None
    parts = str(spec).split("/")
    if len(parts) != 3 or parts[0] != "val" or parts[2] not in MEASURES:
        raise ConfigError(
            f"objective.metric={spec!r} is not a validation metric; write val/<model>/accuracy or "
            f"val/<model>/loss, e.g. objective.metric=val/fused/accuracy (the test split is never used)"
        )
    return parts[1], parts[2]


def check(cfg) -> None:
    """Refuse, before training, an objective that names no trained model or has no validation split."""
    parsed = parse(cfg)
    direction = cfg.objective.direction
    if direction not in DIRECTIONS:
        raise ConfigError(f"objective.direction={direction!r}: choose maximize or minimize")
    if parsed is None:
        return
    model, _ = parsed
    modalities = list(cfg.modalities) + [m for m in base_models(cfg) if extra_key(m)]  # added: text_tfidf
    known = modalities + (["fused"] if len(modalities) > 1 else [])
    if str((cfg.get("joint") or {}).get("name", "none")) != "none":
        known.append("joint")  # joint=lstm: its validation probabilities (hparams_search=joint_lstm)
    if model not in known:
        raise ConfigError(
            f"objective.metric={cfg.objective.metric}: {model!r} is not trained in this run; name one of {known}"
        )
    require_val_split(
        cfg,
        f"objective.metric={cfg.objective.metric} is computed on the validation split, but "
        f"dataset.val_fraction={cfg.dataset.val_fraction}",
    )


def value(cfg, y_val, probs_val: dict, present_val: dict) -> float | None:
    """The objective on the validation samples that have the model's modality (fused: all of them)."""
    parsed = parse(cfg)
    if parsed is None:
        return None
    model, measure = parsed
    keep = present_val.get(model, np.ones(len(y_val), bool))
    y, p = np.asarray(y_val)[keep], np.asarray(probs_val[model])[keep]
    if not len(y):
        raise DataError(f"objective.metric={cfg.objective.metric}: the validation split has no {model} samples")
    if measure == "accuracy":
        return float(np.mean(np.argmax(p, axis=1) == y))
    return nll(y, p)
