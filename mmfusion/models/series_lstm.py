"""The paper's time-series network: LSTM 52 -> 40 -> 25, then fully connected layers, softmax.

Preprocessing (models/series.py, models/preprocessing.py): z-scoring of each variable with statistics
of the training split only.
LSTM layers keep Keras defaults (tanh / sigmoid, no recurrent dropout, not unrolled) so that the
fused cuDNN kernel is used on a GPU.
"""

from __future__ import annotations

import keras

from mmfusion.models.base import dense_head
from mmfusion.models.series import SeriesNetwork


def build_series_lstm(input_shape, num_classes, units=(52, 40, 25), dense_units=(64, 32, 16), dropout=0.0):
    inp = keras.Input(shape=tuple(input_shape), name="series")
    x = inp
    for i, u in enumerate(units):
        x = keras.layers.LSTM(int(u), return_sequences=i < len(units) - 1)(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="series_lstm")


class SeriesLSTM(SeriesNetwork):
    def build_network(self) -> keras.Model:
        c = self.cfg
        return build_series_lstm(
            (self.length, self.variables), self.num_classes, c.lstm_units, c.dense_units, c.dropout
        )
