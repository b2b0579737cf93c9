"""Schemas of the `joint` group: `none` (no jointly trained model) and `lstm` (conf/joint/lstm.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from mmfusion.schemas.fields import at_least, choice, fraction, int_list, spec
from mmfusion.schemas.models import RecipeSchema
from mmfusion.schemas.registry import register

FUSION_LAYERS = ("concat", "gated", "attention")  # mmfusion.models.fusion_layer.MODES


@register("joint", "none")  # no jointly trained model: nothing to build
@dataclass
class JointNoneSchema:
    name: str = choice("none", "none")


@register("joint", "lstm", "mmfusion.models.joint:JointLSTM")
@dataclass
class JointLSTMSchema(RecipeSchema):
    """The training keys (lr, epochs, ..., the recipe of models/recipes.py: clipnorm, weight decay,
    schedule, label smoothing, class weights, ensemble) are the modality networks' (`RecipeSchema`), same
    meaning and defaults (the defaults keep the joint's plain-Adam training); conf/joint/lstm_tuned.yaml
    sets a recipe."""

    name: str = choice("lstm", "lstm")
    dense_units: list[int] = int_list([64, 32, 16], 1, 0)
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
    # augmentation in front of each branch (models/augment.py), the modality networks' keys
    token_dropout: float = fraction(0.0)  # text branch
    jitter: float = spec(0.0, "a number >= 0", lambda v: v >= 0)  # series branch
    time_shift: int = at_least(0, 0)  # series branch
