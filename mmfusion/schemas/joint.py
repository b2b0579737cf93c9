"""Schemas of the `joint` group: `none` (no jointly trained model) and `lstm` (conf/joint/lstm.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from mmfusion.schemas.fields import at_least, choice, fraction, int_list, positive, spec
from mmfusion.schemas.models import OPTIMIZERS, SCHEDULES, patience
from mmfusion.schemas.registry import register

FUSION_LAYERS = ("concat", "gated", "attention")  # mmfusion.models.fusion_layer.MODES


@register("joint", "none")  # no jointly trained model: nothing to build
@dataclass
class JointNoneSchema:
    name: str = choice("none", "none")


@register("joint", "lstm", "mmfusion.models.joint:JointLSTM")
@dataclass
class JointLSTMSchema:
    name: str = choice("lstm", "lstm")
    lr: float = positive(1.0e-3)
    epochs: int = at_least(15, 1)
    batch_size: int = at_least(32, 1)
    optimizer: str = choice("adam", *OPTIMIZERS)
    early_stopping_patience: int | None = patience()
    fusion_layer: str = choice("concat", *FUSION_LAYERS)
    fusion_units: int = at_least(32, 1)
    modality_dropout: float = fraction(0.2)
    seed: int = at_least(0, 0)
    max_tokens: int = at_least(5000, 2)
    sequence_length: int = at_least(40, 1)
    embedding_dim: int = at_least(64, 1)
    embedding: str = choice("learned", "learned", "word2vec")
    trainable_embedding: bool = True
    word2vec_epochs: int = at_least(20, 1)
    word2vec_window: int = at_least(5, 1)
    word2vec_seed: int = at_least(0, 0)
    text_lstm_units: int = at_least(80, 1)
    series_lstm_units: list[int] = int_list([52, 40, 25])
    dense_units: list[int] = int_list([64, 32, 16], 1, 0)
    dropout: float = fraction(0.0)
    # training recipe: the modality models' keys (models/recipes.py, models/augment.py), same meaning and
    # defaults (the defaults keep the joint's plain-Adam training); conf/joint/lstm_tuned.yaml sets them
    clipnorm: float | None = spec(None, "null, 0 (no clipping) or a number > 0", lambda v: v >= 0)
    weight_decay: float = spec(0.0, "a number >= 0", lambda v: v >= 0)
    lr_schedule: str = choice("none", *SCHEDULES)
    lr_patience: int = at_least(3, 1)
    lr_factor: float = spec(0.5, "a number in (0, 1)", lambda v: 0 < v < 1)
    label_smoothing: float = fraction(0.0)
    class_weight: str = choice("none", "none", "balanced")
    ensemble: int = at_least(1, 1)
    ensemble_seed: int = spec("${seed}", "an integer >= 0", lambda v: v >= 0)  # follows the run's seed
    token_dropout: float = fraction(0.0)  # text branch
    jitter: float = spec(0.0, "a number >= 0", lambda v: v >= 0)  # series branch
    time_shift: int = at_least(0, 0)  # series branch
