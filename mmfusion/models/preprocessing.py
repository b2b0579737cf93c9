"""Preprocessing shared by the models, fitted on the training split only and saved as plain JSON.

- `SeriesScaler`: per-variable z-scoring of (n, T, F) series with training means and deviations
  (`column_stats`: chunked passes over the unique rows of a Rows view); it checks shapes and
  finiteness and remembers the (T, F) the model was trained on.
- `as_texts`, `tokenize`: the texts a text model accepts, and the tokens TextVectorization sees.
- `TextVectorizer`: Keras' TextVectorization with a saved vocabulary (Keras imported on first use, so
  the scikit-learn text model never loads TensorFlow).
"""

from __future__ import annotations

import numpy as np

from mmfusion.arrays import base_and_index, chunk_rows
from mmfusion.errors import DataError

# TextVectorization's "lower_and_strip_punctuation", so word2vec sees the tokens the network sees
PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def chunks(x):
    """(multiplicity, rows as float64) of the unique rows behind x, chunk by chunk: each unique row is
    read once, and statistics weight it by how many samples use it."""
    base, index = base_and_index(x)
    used, counts = np.unique(index, return_counts=True)
    step = chunk_rows(base)
    for s in range(0, len(used), step):
        xb = np.asarray(base[used[s : s + step]], dtype=np.float64)
        yield counts[s : s + step].astype(np.float64), xb.reshape(len(xb), -1, xb.shape[-1])


def finite_rows(x) -> np.ndarray:
    """(n,) bool: which samples of x hold only finite values (one chunked pass over the unique rows)."""
    base, index = base_and_index(x)
    used, inverse = np.unique(index, return_inverse=True)
    ok = np.ones(len(used), dtype=bool)
    step = chunk_rows(base)
    for s in range(0, len(used), step):
        ok[s : s + step] = np.isfinite(np.asarray(base[used[s : s + step]])).all(axis=tuple(range(1, base.ndim)))
    return ok[inverse]


def column_stats(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the last axis over all samples and steps of x (n, T, F), as
    np.mean/np.std over axes (0, 1) of the materialised float64 array give them (up to rounding),
    in two chunked passes."""
    base, index = base_and_index(x)
    total = len(index) * int(np.prod(base.shape[1:-1], dtype=np.int64))
    s = np.zeros(base.shape[-1])
    for w, xb in chunks(x):
        s += np.einsum("n,ntf->f", w, xb)
    mean = s / total
    ss = np.zeros_like(mean)
    for w, xb in chunks(x):
        ss += np.einsum("n,ntf->f", w, (xb - mean) ** 2)
    return mean, np.sqrt(ss / total)


def check_finite(x, what: str) -> None:
    """x: an array or a Rows view (checked chunk by chunk over its unique rows)."""
    bad = ~finite_rows(x)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise DataError(
            f"{what}: {int(bad.sum())} series contain NaN or infinite values (first rows {rows}); "
            f"clean or drop them before training."
        )


class SeriesScaler:
    """z-scoring of each variable with statistics of the training split, computed in chunked passes
    over the unique training runs (no float64 copy of the split); applied in float32 batch by batch."""

    def fit(self, x_train) -> SeriesScaler:
        if np.ndim(x_train) != 3:
            raise DataError(f"series training data has shape {np.shape(x_train)}; expected (n, time steps, variables)")
        check_finite(x_train, "series training data")
        self.length, self.variables = int(x_train.shape[1]), int(x_train.shape[2])
        self.mean, std = column_stats(x_train)
        self.std = np.where(std > 1e-12, std, 1.0)  # constant variables stay constant (0)
        return self

    def check(self, x) -> None:
        """Shape and finite values of a whole input (an array or a Rows view), before streaming it."""
        shape = np.shape(x)
        if len(shape) != 3 or shape[2] != self.variables:
            raise DataError(f"series input has shape {shape}; the model expects (n, {self.length}, {self.variables})")
        if shape[1] != self.length:
            raise DataError(f"series have {shape[1]} time steps; the model was trained on {self.length}")
        check_finite(x, "series input")

    def transform(self, x) -> np.ndarray:
        """z-scored float32 (float32 arithmetic: 7x cheaper per streamed batch than float64)."""
        x = np.asarray(x, dtype=np.float32)
        self.check(x)
        out = np.subtract(x, self.mean.astype(np.float32), dtype=np.float32)
        out *= (1.0 / self.std).astype(np.float32)
        return out

    def state(self) -> dict:
        return {
            "length": self.length,
            "variables": self.variables,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }

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
            max_tokens=int(max_tokens),
            output_sequence_length=self.sequence_length,
            standardize="lower_and_strip_punctuation",
            vocabulary=vocabulary,
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
