"""The one float `mmfusion train` hands a hyper-parameter sweeper (`objective.metric`), computed on the
validation split only, never on the test split.

`objective.metric` is `val/<model>/<accuracy|loss>`, where `<model>` is a trained modality (`series`,
`text`), `fused` (two or more modalities) or `joint` (joint=lstm); loss is the mean negative
log-likelihood. The config check (schemas/check/objective.py) refuses, before any data is built, an objective
that cannot be computed.
"""

from __future__ import annotations

import numpy as np

from mmfusion.errors import DataError
from mmfusion.probability import nll
from mmfusion.schemas.check.objective import objective_parts


def parse(cfg) -> tuple[str, str] | None:
    """(model, measure) of `objective.metric`, or None when no objective is configured; the config check
    (schemas/check/objective.py, before any data is built) refuses a metric of another form or a model not trained."""
    return objective_parts(cfg.objective.metric)


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
