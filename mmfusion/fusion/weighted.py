"""The paper's weighted-average rules (eq. 10, 13, 14): equal weights, and weights proportional to each
modality's accuracy on the training split (the paper) or the validation split."""

from __future__ import annotations

import numpy as np

from mmfusion.fusion.base import (
    Rule,
    accuracy,
    accuracy_weights,
    equal_weights,
    log_weighted_average,
    weighted_average,
)
from mmfusion.schemas.check.val_split import require_val_split


class Equal(Rule):
    """w_i = 1 / N."""

    def fit(self, val_probs, val_y, train_acc) -> dict:
        return {"weights": equal_weights(len(train_acc)).tolist()}

    def combine(self, probs, params, present=None) -> np.ndarray:
        return weighted_average(probs, params["weights"], present)

    def combine_log(self, logprobs, params, present=None) -> np.ndarray:
        return log_weighted_average(logprobs, params["weights"], present)


class Accuracy(Equal):
    """w_i = acc_i / sum_j acc_j, acc_i the training accuracy (the paper) or the validation accuracy."""

    def fit(self, val_probs, val_y, train_acc) -> dict:
        weights = self.cfg.weights
        source = weights.removesuffix("_accuracy")  # params record the source as train | val
        if weights == "train_accuracy":
            acc = list(train_acc)
        elif weights == "val_accuracy":
            if val_probs is None or val_y is None or len(val_y) == 0:
                require_val_split(None, "fusion.weights=val_accuracy needs a validation split")
            acc = [accuracy(p, np.asarray(val_y)) for p in val_probs]
        else:
            raise ValueError(  # the schema's choice refuses it in a config; a guard for Python-API callers
                f"fusion.weights must be train_accuracy or val_accuracy for fusion=accuracy, got {weights!r}"
            )
        return {
            "weights": accuracy_weights(acc).tolist(),
            "accuracies": [float(a) for a in acc],
            "weights_from": source,
        }

    @classmethod
    def fitted_on_val(cls, cfg) -> bool:
        return super().fitted_on_val(cfg) or cls.settings(cfg).weights == "val_accuracy"
