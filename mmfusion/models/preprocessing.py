"""Preprocessing shared by the models, fitted on the training split only and saved as plain JSON.

- `SeriesScaler`: per-variable z-scoring of (n, T, F) series with training means and deviations; it
  checks shapes and finiteness and remembers the (T, F) the model was trained on.
- `as_texts`, `tokenize`: the texts a text model accepts, and the tokens TextVectorization sees.
- `TextVectorizer`: Keras' TextVectorization with a saved vocabulary (Keras imported on first use, so
  the scikit-learn text model never loads TensorFlow).
"""

from __future__ import annotations

import numpy as np

from mmfusion.errors import DataError

# TextVectorization's "lower_and_strip_punctuation", so word2vec sees the tokens the network sees
PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def check_finite(x: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(x).all(axis=tuple(range(1, x.ndim)))
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise DataError(
            f"{what}: {int(bad.sum())} series contain NaN or infinite values (first rows {rows}); "
            f"clean or drop them before training."
        )


class SeriesScaler:
    """z-scoring of each variable with statistics of the training split."""

    def fit(self, x_train) -> SeriesScaler:
        x = np.asarray(x_train, dtype=np.float64)
        check_finite(x, "series training data")
        self.length, self.variables = int(x.shape[1]), int(x.shape[2])
        self.mean = x.mean(axis=(0, 1))
        std = x.std(axis=(0, 1))
        self.std = np.where(std > 1e-12, std, 1.0)  # constant variables stay constant (0)
        return self

    def transform(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 3 or x.shape[2] != self.variables:
            raise DataError(f"series input has shape {x.shape}; the model expects (n, {self.length}, {self.variables})")
        if x.shape[1] != self.length:
            raise DataError(f"series have {x.shape[1]} time steps; the model was trained on {self.length}")
        check_finite(x, "series input")
        return ((x - self.mean) / self.std).astype(np.float32)

    def state(self) -> dict:
        return {"length": self.length, "variables": self.variables, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> SeriesScaler:
        s = cls()
        s.length, s.variables = int(state["length"]), int(state["variables"])
        s.mean, s.std = np.asarray(state["mean"]), np.asarray(state["std"])
        return s


def as_texts(x, what: str) -> list[str]:
    texts = []
    for i, t in enumerate(np.asarray(x, dtype=object).ravel()):
        if not isinstance(t, str):
            raise DataError(f"{what}: record {i} is not text ({type(t).__name__}); give every record a string")
        texts.append(t)
    return texts


def tokenize(texts: list[str]) -> list[list[str]]:
    import tensorflow as tf

    standard = tf.strings.regex_replace(tf.strings.lower(tf.constant(texts)), PUNCTUATION, "")
    return [t.decode("utf-8").split() for t in standard.numpy()]


class TextVectorizer:
    """Texts -> (n, sequence_length) int32 token ids; the vocabulary is fitted on training texts only."""

    def __init__(self, max_tokens: int, sequence_length: int, vocabulary=None):
        import keras

        self.sequence_length = int(sequence_length)
        self.layer = keras.layers.TextVectorization(
            max_tokens=int(max_tokens), output_sequence_length=self.sequence_length,
            standardize="lower_and_strip_punctuation", vocabulary=vocabulary,
        )
        self.vocabulary = list(vocabulary) if vocabulary is not None else None

    def fit(self, texts: list[str]) -> TextVectorizer:
        import tensorflow as tf

        self.layer.adapt(tf.constant(texts))
        self.vocabulary = self.layer.get_vocabulary()
        return self

    def transform(self, texts: list[str]) -> np.ndarray:
        import tensorflow as tf

        if not texts:
            return np.zeros((0, self.sequence_length), dtype=np.int32)
        return np.asarray(self.layer(tf.constant(texts)), dtype=np.int32)
