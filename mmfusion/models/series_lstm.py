"""The paper's time-series network: LSTM 52 -> 40 -> 25, then fully connected layers, softmax.

Preprocessing: z-scoring of each variable with statistics of the training split only.
LSTM layers keep Keras defaults (tanh / sigmoid, no recurrent dropout, not unrolled) so that the
fused cuDNN kernel is used on a GPU.
"""

from __future__ import annotations

import keras
import numpy as np

from mmfusion.errors import DataError
from mmfusion.models.base import KerasModality, dense_head
from mmfusion.models.batches import column_stats, finite_rows


def build_series_lstm(input_shape, num_classes, units=(52, 40, 25), dense_units=(64, 32, 16), dropout=0.0):
    inp = keras.Input(shape=tuple(input_shape), name="series")
    x = inp
    for i, u in enumerate(units):
        x = keras.layers.LSTM(int(u), return_sequences=i < len(units) - 1)(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="series_lstm")


def check_finite(x, what: str) -> None:
    """x: an array or a store.Rows view (checked chunk by chunk)."""
    bad = ~finite_rows(x)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise DataError(
            f"{what}: {int(bad.sum())} series contain NaN or infinite values (first rows {rows}); "
            f"clean or drop them before training."
        )


class SeriesLSTM(KerasModality):
    modality = "series"

    def fit_preprocessing(self, x_train) -> None:
        """Statistics in chunked passes over the unique training runs (no float64 copy of the split)."""
        if np.ndim(x_train) != 3:
            raise DataError(f"series training data has shape {np.shape(x_train)}; expected (n, time steps, variables)")
        check_finite(x_train, "series training data")
        self.length, self.variables = int(x_train.shape[1]), int(x_train.shape[2])
        self.mean, std = column_stats(x_train)
        self.std = np.where(std > 1e-12, std, 1.0)  # constant variables stay constant (0)

    def check_input(self, x) -> None:
        shape = np.shape(x)
        if len(shape) != 3 or shape[2] != self.variables:
            raise DataError(f"series input has shape {shape}; the model expects (n, {self.length}, {self.variables})")
        if shape[1] != self.length:
            raise DataError(f"series have {shape[1]} time steps; the model was trained on {self.length}")
        check_finite(x, "series input")

    def transform(self, x) -> np.ndarray:
        """z-scored float32; a batch when streaming, the whole input otherwise (e.g. MiniRocket)."""
        x = np.asarray(x, dtype=np.float32)  # float32 arithmetic: 7x faster per batch than float64
        self.check_input(x)
        out = np.subtract(x, self.mean.astype(np.float32), dtype=np.float32)
        out *= (1.0 / self.std).astype(np.float32)
        return out

    def build_network(self) -> keras.Model:
        c = self.cfg
        return build_series_lstm(
            (self.length, self.variables), self.num_classes, c.lstm_units, c.dense_units, c.get("dropout", 0.0)
        )

    def preprocessing_state(self) -> dict:
        return {"length": self.length, "variables": self.variables, "mean": self.mean.tolist(), "std": self.std.tolist()}

    def load_preprocessing_state(self, state: dict) -> None:
        self.length, self.variables = int(state["length"]), int(state["variables"])
        self.mean, self.std = np.asarray(state["mean"]), np.asarray(state["std"])
