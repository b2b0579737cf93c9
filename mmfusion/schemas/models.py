"""Schemas of the `model/text` and `model/series` groups, one per option, each registering its model
class (mmfusion.schemas.registry; named by its import path, imported only when a model is built).

Models trained by epochs share `TrainedSchema` (lr, epochs, batch_size, optimizer, dropout, early
stopping), whose training-recipe keys (`RecipeSchema`) the joint network's schema (schemas/joint.py)
inherits too: each key is declared once. The others (tfidf_logreg, minirocket) carry no training keys in their YAML; their schemas
accept `lr`/`epochs`/`batch_size`/`early_stopping_patience` as null only so that experiment files
written for neural models (experiment=early) still compose with them; the check logs that they are
ignored when set.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmfusion.schemas.fields import at_least, choice, fraction, int_list, int_range, positive, spec
from mmfusion.schemas.registry import register

OPTIMIZERS = ("adam", "rmsprop", "sgd")
SCHEDULES = ("none", "reduce_on_plateau", "cosine")
TRAINING_KEYS = ("lr", "epochs", "batch_size", "early_stopping_patience")


def patience():
    return spec(None, "null or an integer >= 0", lambda v: v >= 0)


@dataclass
class RecipeSchema:
    """The keys of every Keras network trained by epochs with the recipes of models/recipes.py: the
    modality networks (`TrainedSchema`) and the joint network (schemas/joint.py `JointLSTMSchema`), same
    meaning and defaults in both (a subclass may change a default, e.g. the joint's `dense_units`)."""

    name: str = "?"
    lr: float = positive(1.0e-3)
    epochs: int = at_least(15, 1)
    batch_size: int = at_least(32, 1)
    optimizer: str = choice("adam", *OPTIMIZERS)
    dense_units: list[int] = int_list([32], 1, 0)
    dropout: float = fraction(0.0)
    early_stopping_patience: int | None = patience()
    # training recipes (models/recipes.py); the defaults keep the paper's training
    clipnorm: float | None = spec(None, "null, 0 (no clipping) or a number > 0", lambda v: v >= 0)
    weight_decay: float = spec(0.0, "a number >= 0", lambda v: v >= 0)
    lr_schedule: str = choice("none", *SCHEDULES)
    lr_patience: int = at_least(3, 1)
    lr_factor: float = spec(0.5, "a number in (0, 1)", lambda v: 0 < v < 1)
    label_smoothing: float = fraction(0.0)
    class_weight: str = choice("none", "none", "balanced")
    ensemble: int = at_least(1, 1)
    ensemble_seed: int = spec("${seed}", "an integer >= 0", lambda v: v >= 0)  # follows the run's seed


@dataclass
class TrainedSchema(RecipeSchema):
    """The modality networks (model/text, model/series): the recipe keys and the batched ensemble."""

    batched_ensemble: bool = False  # true: the K members train together in one model (models/batched.py)


@dataclass
class UntrainedSchema:
    """Not trained by gradient steps: the training keys exist only as null (ignored when set)."""

    name: str = "?"
    lr: float | None = None
    epochs: int | None = None
    batch_size: int | None = None
    early_stopping_patience: int | None = None


@dataclass
class TextNetSchema(TrainedSchema):
    max_tokens: int = at_least(5000, 2)
    sequence_length: int = at_least(40, 1)
    embedding_dim: int = at_least(64, 1)
    embedding: str = choice("learned", "learned", "word2vec", "fasttext")
    trainable_embedding: bool = True
    word2vec_epochs: int = at_least(20, 1)
    word2vec_window: int = at_least(5, 1)
    word2vec_seed: int = at_least(0, 0)
    lstm_units: int = at_least(80, 1)
    token_dropout: float = fraction(0.0)  # models/augment.py


@dataclass
class SeriesNetSchema(TrainedSchema):
    """The Keras series networks: training-time augmentation (models/augment.py)."""

    jitter: float = spec(0.0, "a number >= 0", lambda v: v >= 0)
    time_shift: int = at_least(0, 0)


@register("model/text", "lstm", "mmfusion.models.text_lstm:TextLSTM")
@dataclass
class TextLSTMSchema(TextNetSchema):
    name: str = choice("lstm", "lstm")
    dense_units: list[int] = int_list([64, 32, 16], 1, 0)
    # true: a batched ensemble whose members' LSTMs run as one recurrent loop (models/grouped.py)
    grouped_lstm: bool = False


@register("model/text", "bilstm", "mmfusion.models.text_nets:TextBiLSTM")
@dataclass
class TextBiLSTMSchema(TextNetSchema):
    name: str = choice("bilstm", "bilstm")
    lstm_units: int = at_least(64, 1)


@register("model/text", "tfidf_logreg", "mmfusion.models.sklearn_text:TextTfidfLogReg")
@dataclass
class TfidfLogregSchema(UntrainedSchema):
    name: str = choice("tfidf_logreg", "tfidf_logreg")
    word_ngrams: list[int] | None = int_range([1, 2], 1)
    char_ngrams: list[int] | None = int_range([2, 5], 1)
    lowercase: bool = True
    sublinear_tf: bool = True
    min_df: int = at_least(1, 1)
    max_features: int | None = spec(None, "null or an integer >= 1", lambda v: v >= 1)
    C: float = positive(10.0)
    max_iter: int = at_least(2000, 1)
    class_weight: str | None = choice(None, "balanced")


@register("model/series", "lstm", "mmfusion.models.series_lstm:SeriesLSTM")
@dataclass
class SeriesLSTMSchema(SeriesNetSchema):
    name: str = choice("lstm", "lstm")
    lstm_units: list[int] = int_list([52, 40, 25])
    dense_units: list[int] = int_list([64, 32, 16], 1, 0)
    # true: a batched ensemble whose members' LSTMs run as one recurrent loop per depth (models/grouped.py)
    grouped_lstm: bool = False


@register("model/series", "bilstm", "mmfusion.models.series_nets:SeriesBiLSTM")
@dataclass
class SeriesBiLSTMSchema(SeriesNetSchema):
    name: str = choice("bilstm", "bilstm")
    lstm_units: list[int] = int_list([32, 16])


@register("model/series", "gru", "mmfusion.models.series_nets:SeriesGRU")
@dataclass
class SeriesGRUSchema(SeriesNetSchema):
    name: str = choice("gru", "gru")
    gru_units: list[int] = int_list([64, 32])


@register("model/series", "conv1d", "mmfusion.models.series_nets:SeriesConv1D")
@dataclass
class SeriesConv1DSchema(SeriesNetSchema):
    name: str = choice("conv1d", "conv1d")
    filters: list[int] = int_list([32, 64, 64])
    kernel_sizes: list[int] = int_list([7, 5, 3])


@register("model/series", "minirocket", "mmfusion.models.minirocket:SeriesMiniRocket")  # extra: mmfusion[minirocket]
@dataclass
class MiniRocketSchema(UntrainedSchema):
    name: str = choice("minirocket", "minirocket")
    n_kernels: int = at_least(10000, 84)
    max_dilations_per_kernel: int = at_least(32, 1)
    random_state: int = at_least(0, 0)
    n_jobs: int = spec(1, "-1 (all cores) or an integer >= 1", lambda v: v == -1 or v >= 1)
    C: float = positive(1.0)
    max_iter: int = at_least(1000, 1)
    class_weight: str | None = choice(None, "balanced")
