"""A fusion rule added the way docs/extending.md shows: this class and its schema, plus one YAML
(tests/toy_conf/fusion/power_mean.yaml); no other file names it (tests/schemas/test_registry.py runs it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmfusion.fusion.base import Rule, presence, stack
from mmfusion.schemas.fields import choice, positive
from mmfusion.schemas.fusion import RuleSchema
from mmfusion.schemas.registry import register


class PowerMean(Rule):
    """P(k) ∝ (mean_i p_i(k)^power)^(1/power) over the modalities present; power=1 is fusion=equal."""

    def fit(self, val_probs, val_y, train_acc) -> dict:
        return {"power": float(self.cfg.power)}  # nothing to learn: saved as it was set

    def combine(self, probs, params, present=None) -> np.ndarray:
        p = stack(probs)  # (modalities, samples, classes)
        mask = presence(present, p.shape[0], p.shape[1])[:, :, None]
        powered = np.where(mask, np.nan_to_num(p) ** params["power"], 0.0)
        fused = (powered.sum(axis=0) / mask.sum(axis=0)) ** (1.0 / params["power"])
        return fused / fused.sum(axis=1, keepdims=True)


@register("fusion", "power_mean", PowerMean)
@dataclass
class PowerMeanSchema(RuleSchema):
    name: str = choice("power_mean", "power_mean")
    power: float = positive(2.0)
