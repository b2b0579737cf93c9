"""Schemas of the top-level keys (conf/config.yaml) and of the `tracking` group."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from mmfusion.schemas.fields import at_least, choice, spec

MODALITIES = ("series", "text")
DROPS = ("text", "series", "either")


@dataclass
class EvaluationSchema:
    bootstrap: int = at_least(1000, 0)
    ci_level: float = spec(0.95, "a number in (0, 1)", lambda v: 0 < v < 1)
    ece_bins: int = at_least(10, 1)


@dataclass
class RobustnessSchema:
    enabled: bool = False
    drop: list[str] = spec(
        list(DROPS), "a non-empty list of " + " | ".join(DROPS), lambda v: len(v) > 0 and all(d in DROPS for d in v)
    )
    rates: list[float] = spec(
        [0.0, 0.25, 0.5, 1.0],
        "a non-empty list of numbers in [0, 1]",
        lambda v: len(v) > 0 and all(0 <= r <= 1 for r in v),
    )


@dataclass
class TrainingSchema:
    checkpoint: bool = True
    unique_units: bool = False  # true: each modality model trains on its split's unique texts / runs once


@dataclass
class ObjectiveSchema:
    """What `mmfusion train` returns to a sweeper (evaluation/objective.py checks the metric's form)."""

    metric: str | None = None
    direction: str = choice("maximize", "maximize", "minimize")


@dataclass
class ConfigSchema:
    """conf/config.yaml; each group's node (dataset, model.text, ...) carries its own schema."""

    seed: int = at_least(0, 0)
    deterministic: bool = True
    modalities: list[str] = spec(
        list(MODALITIES),
        "a non-empty list of distinct " + " | ".join(MODALITIES),
        lambda v: 0 < len(v) == len(set(v)) and all(m in MODALITIES for m in v),
    )
    mixed_precision: bool = False
    memory_budget_gb: float | None = spec(8.0, "null or a number > 0", lambda v: v > 0)
    distribute: str = spec(
        "auto", "one of auto | mirrored | none", lambda v: str(v).lower() in ("auto", "mirrored", "none")
    )
    training: TrainingSchema = field(default_factory=TrainingSchema)
    resume: bool = False
    objective: ObjectiveSchema = field(default_factory=ObjectiveSchema)
    evaluation: EvaluationSchema = field(default_factory=EvaluationSchema)
    robustness: RobustnessSchema = field(default_factory=RobustnessSchema)
    dataset: Any = MISSING
    model: Any = MISSING
    fusion: Any = MISSING
    joint: Any = MISSING
    tracking: Any = MISSING


@dataclass
class TrackingSchema:
    tensorboard: bool = False
    mlflow: bool = False
    mlflow_uri: str | None = None
    experiment: str = spec("mmfusion", "a non-empty name", lambda v: bool(str(v).strip()))
