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


def build_series_lstm(input_shape, num_classes, units=(52, 40, 25), dense_units=(64, 32, 16), dropout=0.0):
    inp = keras.Input(shape=tuple(input_shape), name="series")
    x = inp
    for i, u in enumerate(units):
        x = keras.layers.LSTM(int(u), return_sequences=i < len(units) - 1)(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="series_lstm")


def check_finite(x: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(x).all(axis=tuple(range(1, x.ndim)))
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise DataError(
            f"{what}: {int(bad.sum())} series contain NaN or infinite values (first rows {rows}); "
            f"clean or drop them before training."
        )


class SeriesLSTM(KerasModality):
    modality = "series"

    def fit_preprocessing(self, x_train) -> None:
        x = np.asarray(x_train, dtype=np.float64)
        check_finite(x, "series training data")
        self.length, self.variables = int(x.shape[1]), int(x.shape[2])
        self.mean = x.mean(axis=(0, 1))
        std = x.std(axis=(0, 1))
        self.std = np.where(std > 1e-12, std, 1.0)  # constant variables stay constant (0)

    def transform(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 3 or x.shape[2] != self.variables:
            raise DataError(f"series input has shape {x.shape}; the model expects (n, {self.length}, {self.variables})")
        if x.shape[1] != self.length:
            raise DataError(f"series have {x.shape[1]} time steps; the model was trained on {self.length}")
        check_finite(x, "series input")
        return ((x - self.mean) / self.std).astype(np.float32)

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
