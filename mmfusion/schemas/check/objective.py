"""The search objective (`objective.metric`, evaluation/objective.py): a validation metric of a model
this run trains, with a validation split to compute it on."""

from __future__ import annotations

from mmfusion.errors import ConfigError
from mmfusion.schemas.check.val_split import require_val_split

OBJECTIVE_MEASURES = ("accuracy", "loss")


def objective_parts(spec) -> tuple[str, str] | None:
    """(model, measure) of `objective.metric` = val/<model>/<accuracy|loss>; None: no objective."""
    if spec in (None, "", "none"):
        return None
    parts = str(spec).split("/")
    if len(parts) != 3 or parts[0] != "val" or parts[2] not in OBJECTIVE_MEASURES:
        raise ConfigError(
            f"objective.metric={spec!r} is not a validation metric; write val/<model>/accuracy or "
            f"val/<model>/loss, e.g. objective.metric=val/fused/accuracy (the test split is never used)"
        )
    return parts[1], parts[2]


def check_objective(cfg) -> None:
    """A search objective (evaluation/objective.py) names a trained model and has a validation split."""
    from mmfusion import basemodels

    parsed = objective_parts(cfg.objective.metric)
    if parsed is None:
        return
    model, _ = parsed
    added = [m for m in basemodels.base_models(cfg) if basemodels.extra_key(m)]  # e.g. text_tfidf
    modalities = list(cfg.modalities) + added
    known = modalities + (["fused"] if len(modalities) > 1 else [])
    if "joint" in cfg and cfg.joint.name != "none":
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
