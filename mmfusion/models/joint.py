"""Fusion inside one network, beside the decision-level rules (`joint=lstm`).

The paper's text encoder (embedding -> LSTM(80)) and series encoder (LSTM 52 -> 40 -> 25) feed one
classifier head (the paper's four fully connected layers, the last a softmax), trained end to end.
A third input, `present` (n, 2) = (text present, series present), zeroes the encoding of a missing
modality inside the `ModalityFusion` layer, so the same network serves records that lack one.
Modality dropout (`modality_dropout`) hides one modality, drawn at random, from that share of the
training samples afresh every epoch, so the network learns to classify from either one alone.

Preprocessing is the single-modality models' own, not a copy: the text vocabulary (TextVectorizer
fitted on the training texts, optional word2vec) through TextLSTM's hooks, the z-scoring by
`SeriesScaler`; both states are saved as JSON beside `joint.keras` (loaded in Keras safe mode).
Input `x` is a dict: `text` (n,) str, `series` (n, T, F), optional `present` (n, 2) bool; rows of a
missing modality are never read.

Training follows the modality models' recipes (models/recipes.py, the same keys under `joint.`):
optimizer with clipnorm / weight decay / learning-rate schedule, label smoothing, class weights,
augmentation in front of each branch (`token_dropout` on the tokens, `jitter` / `time_shift` on the
series; models/augment.py), and `ensemble` seeded joint networks averaged into one saved network. The
defaults are the plain training (conf/joint/lstm.yaml); conf/joint/lstm_tuned.yaml sets a recipe.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keras
import numpy as np

from mmfusion.errors import DataError
from mmfusion.models import augment, recipes, training
from mmfusion.models.base import EpochLogger, dense_head
from mmfusion.models.fusion_layer import ModalityFusion
from mmfusion.models.preprocessing import SeriesScaler
from mmfusion.models.text_lstm import TextLSTM, embedded_tokens
from mmfusion.runtime import devices

log = logging.getLogger(__name__)
MODALITIES = ("text", "series")  # column order of the `present` input


def build_joint_lstm(
    vocab_size,
    sequence_length,
    series_shape,
    num_classes,
    embedding_dim=64,
    text_units=80,
    series_units=(52, 40, 25),
    dense_units=(64, 32, 16),
    dropout=0.0,
    fusion="concat",
    fusion_units=32,
    embedding_matrix=None,
    trainable_embedding=True,
) -> keras.Model:
    """LSTMs keep Keras' defaults (tanh / sigmoid, no recurrent dropout): the cuDNN kernel's form."""
    tokens, x = embedded_tokens(vocab_size, sequence_length, embedding_dim, embedding_matrix, trainable_embedding)
    h_text = keras.layers.LSTM(int(text_units), name="text_lstm")(x)
    series = keras.Input(shape=tuple(series_shape), name="series")
    h = series
    for i, u in enumerate(series_units):
        h = keras.layers.LSTM(int(u), return_sequences=i < len(series_units) - 1, name=f"series_lstm_{i + 1}")(h)
    present = keras.Input(shape=(len(MODALITIES),), name="present")
    joined = ModalityFusion(str(fusion), int(fusion_units), name="fusion")([h_text, h, present])
    out = dense_head(joined, dense_units, num_classes, dropout)
    return keras.Model({"tokens": tokens, "series": series, "present": present}, out, name="joint_lstm")


class ModalityDropout(keras.utils.PyDataset):
    """Training batches, reshuffled every epoch from `seed` (Keras' own shuffling stays off); `rate` of the samples that have both modalities lose
    one of them (text or series, even odds) in the `present` input, drawn afresh every epoch."""

    def __init__(self, inputs: dict, y: np.ndarray, batch_size: int, rate: float, seed: int):
        super().__init__()
        self.inputs, self.y, self.batch_size, self.rate = inputs, np.asarray(y), int(batch_size), float(rate)
        self.rng = np.random.default_rng([int(seed), 14])
        self.on_epoch_end()

    def start_at(self, epoch: int) -> None:
        """Continue from `epoch` (a resumed training): replay the draws of epochs 0..epoch-1, so the
        shuffling and modality dropout go on exactly as in the interrupted run."""
        for _ in range(int(epoch)):
            self.on_epoch_end()

    def on_epoch_end(self) -> None:
        n = len(self.y)
        self.order = self.rng.permutation(n)
        present = self.inputs["present"].copy()
        both = np.flatnonzero(present.all(axis=1))
        hit = self.rng.permutation(both)[: int(round(self.rate * len(both)))]
        present[hit, self.rng.integers(0, len(MODALITIES), size=len(hit))] = 0.0
        self.present = present

    def __len__(self) -> int:
        return int(np.ceil(len(self.y) / self.batch_size))

    def __getitem__(self, i: int):
        idx = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        x = {"tokens": self.inputs["tokens"][idx], "series": self.inputs["series"][idx], "present": self.present[idx]}
        return x, self.y[idx]


class JointLSTM:
    """Same contract as the modality models: fit, predict_proba, save, load."""

    modality = "joint"
    checkpoint_dir: Path | None = None  # set by the runner (training.checkpoint): epoch checkpoints, resumed

    def __init__(self, cfg, num_classes: int, strategy=None):
        self.cfg, self.num_classes, self.strategy = cfg, num_classes, strategy
        self.text = TextLSTM(
            cfg, num_classes
        )  # used for its preprocessing only (max_tokens, sequence_length, word2vec)
        self.scaler = SeriesScaler()
        self.network: keras.Model | None = None

    @staticmethod
    def present_of(x: dict, n: int) -> np.ndarray:
        present = x.get("present")
        present = np.ones((n, len(MODALITIES)), bool) if present is None else np.asarray(present, dtype=bool)
        if present.shape != (n, len(MODALITIES)):
            raise DataError(f"joint model: presence mask has shape {present.shape}, expected {(n, len(MODALITIES))}")
        if not present.any(axis=1).all():
            raise DataError(f"joint model: {int((~present.any(axis=1)).sum())} record(s) have neither text nor series")
        return present

    def inputs(self, x: dict) -> dict:
        """Network inputs; a missing text becomes one out-of-vocabulary token (a sequence the cuDNN kernel
        accepts) and a missing series zeros, both hidden from the head by `present`."""
        n = len(x["text"]) if x.get("text") is not None else len(x["series"])
        present = self.present_of(x, n)
        tokens = np.zeros((n, int(self.cfg.sequence_length)), dtype=np.int32)
        tokens[:, 0] = 1
        has_text = present[:, 0]
        if has_text.any():
            tokens[has_text] = self.text.transform(np.asarray(x["text"], dtype=object)[has_text])
        series = np.zeros((n, self.scaler.length, self.scaler.variables), dtype=np.float32)
        has_series = present[:, 1]
        if has_series.any():
            series[has_series] = self.scaler.transform(np.asarray(x["series"])[has_series])
        return {"tokens": tokens, "series": series, "present": present.astype(np.float32)}

    def build_network(self) -> keras.Model:
        c = self.cfg
        return build_joint_lstm(
            len(self.text.vocabulary),
            c.sequence_length,
            (self.scaler.length, self.scaler.variables),
            self.num_classes,
            c.embedding_dim,
            c.text_lstm_units,
            c.series_lstm_units,
            c.dense_units,
            c.dropout,
            c.fusion_layer,
            c.fusion_units,
            self.text.embedding_matrix(),
            c.trainable_embedding,
        )

    def augmented(self, network: keras.Model) -> keras.Model:
        """The network behind the configured augmentation layers (models/augment.py): `token_dropout` on
        the text branch's tokens, `jitter` / `time_shift` on the series branch; unchanged without them."""
        text, series = augment.layers(self.cfg, "text"), augment.layers(self.cfg, "series")
        if not text and not series:
            return network
        inputs = {t.name: keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=t.name) for t in network.inputs}
        x = dict(inputs)
        for name, extra in (("tokens", text), ("series", series)):
            for layer in extra:
                x[name] = layer(x[name])
        return keras.Model(inputs, network(x), name=f"{network.name}_augmented")

    def fit(self, train: tuple, val: tuple | None = None, callbacks=()) -> dict[str, list[float]]:
        """The training recipe of the modality models (models/recipes.py): optimizer with clipnorm / weight
        decay / schedule, loss with label smoothing, class weights, augmentation, and `ensemble` seeded
        networks averaged (member 0 is the run's network: with the defaults, the joint's plain training)."""
        x, y = train
        c, q = self.cfg, self.num_classes
        present = self.present_of(x, len(y))
        self.text.fit_preprocessing(np.asarray(x["text"], dtype=object)[present[:, 0]])
        self.scaler.fit(np.asarray(x["series"])[present[:, 1]])
        inputs, y = self.inputs(x), np.asarray(y)
        validation = None
        if val is not None and len(val[1]):
            validation = (self.inputs(val[0]), recipes.targets(c, val[1], q))  # one-hot when label_smoothing > 0

        def fit_one(k: int, checkpoints) -> tuple[keras.Model, dict]:  # ensemble member k, just seeded
            # member 0 draws its batches and modality dropout from `seed`, as always; member k > 0 from
            # numpy's global RNG, which seed_member has just seeded (as the modality models' batch orders)
            seed = int(c.seed) if k == 0 else int(np.random.randint(2**31 - 1))
            data = ModalityDropout(inputs, recipes.targets(c, y, q), c.batch_size, c.modality_dropout, seed)
            return self._fit_network(data, y, validation, callbacks, checkpoints)

        self.network, history = recipes.fit_members(c, self.checkpoint_dir, fit_one)
        return history

    def _fit_network(self, data: ModalityDropout, y, validation, callbacks, checkpoint_dir) -> tuple:
        """One joint network, compiled with the recipe and trained on `data` (models/training.py); (network,
        history)."""
        c = self.cfg
        with devices.scope(self.strategy):
            network = self.augmented(self.build_network())
            training.compile_network(network, c, len(y))
        early_stopping, reduce_lr = training.schedule(c, validation is not None)
        history = training.fit(
            network,
            c,
            self.modality,
            y,
            self.num_classes,
            # shuffled every epoch by itself, from `seed`; Keras' shuffle (Python's global RNG) stays off so
            # that a resumed run continues with the same batches
            {"x": data, "shuffle": False},
            validation,
            [EpochLogger(self.modality, int(c.epochs)), *callbacks],
            early_stopping=early_stopping,
            reduce_lr=reduce_lr,
            checkpoint_dir=checkpoint_dir,
            start_at=data.start_at,  # a resumed training: the per-epoch draws continue where it stopped
        )
        return network, history

    def predict_proba(self, x: dict) -> np.ndarray:
        if self.network is None:
            raise RuntimeError("the joint model is not trained or loaded")
        p = self.network.predict(self.inputs(x), batch_size=int(self.cfg.batch_size) * 4, verbose=0)
        return np.asarray(p, dtype=np.float64)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network.save(directory / "joint.keras")
        state = {
            "modality": self.modality,
            "num_classes": self.num_classes,
            "text": self.text.preprocessing_state(),
            "series": self.scaler.state(),
        }
        (directory / "joint.json").write_text(json.dumps(state, indent=1))

    def load(self, directory: Path) -> JointLSTM:
        directory = Path(directory)
        state = json.loads((directory / "joint.json").read_text())
        self.text.load_preprocessing_state(state["text"])
        self.scaler = SeriesScaler.from_state(state["series"])
        self.network = keras.models.load_model(directory / "joint.keras", safe_mode=True)
        return self
