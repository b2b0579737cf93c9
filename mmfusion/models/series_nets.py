"""More time-series networks beside the paper's LSTM: GRU, bidirectional LSTM, a small temporal CNN.

All share SeriesNetwork's preprocessing (per-variable z-scoring with training statistics, saved as
JSON) and saving; only the network differs. Recurrent layers keep Keras defaults (tanh / sigmoid, no
recurrent dropout, not unrolled) so that the fused cuDNN kernels are used on a GPU.
"""

from __future__ import annotations

import keras

from mmfusion.models.base import dense_head
from mmfusion.models.series import SeriesNetwork


def build_series_gru(input_shape, num_classes, units=(64, 32), dense_units=(32,), dropout=0.0):
    inp = keras.Input(shape=tuple(input_shape), name="series")
    x = inp
    for i, u in enumerate(units):
        x = keras.layers.GRU(int(u), return_sequences=i < len(units) - 1)(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="series_gru")


def build_series_bilstm(input_shape, num_classes, units=(32, 16), dense_units=(32,), dropout=0.0):
    """Stacked Bidirectional(LSTM); `units` per direction, so each layer outputs 2 * units features."""
    inp = keras.Input(shape=tuple(input_shape), name="series")
    x = inp
    for i, u in enumerate(units):
        x = keras.layers.Bidirectional(keras.layers.LSTM(int(u), return_sequences=i < len(units) - 1))(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="series_bilstm")


def build_series_conv1d(
    input_shape, num_classes, filters=(32, 64, 64), kernel_sizes=(7, 5, 3), dense_units=(32,), dropout=0.0
):
    """Conv1D -> BatchNorm -> ReLU blocks ('same' padding), global average pooling over time, dense head."""
    if len(filters) != len(kernel_sizes):  # a config's are refused by the config check: an API guard
        raise ValueError(
            f"model.series: filters {list(filters)} and kernel_sizes {list(kernel_sizes)} differ in length"
        )
    inp = keras.Input(shape=tuple(input_shape), name="series")
    x = inp
    for f, k in zip(filters, kernel_sizes):
        x = keras.layers.Conv1D(int(f), int(k), padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.Activation("relu")(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="series_conv1d")


class SeriesGRU(SeriesNetwork):
    def build_network(self) -> keras.Model:
        c = self.cfg
        return build_series_gru((self.length, self.variables), self.num_classes, c.gru_units, c.dense_units, c.dropout)


class SeriesBiLSTM(SeriesNetwork):
    def build_network(self) -> keras.Model:
        c = self.cfg
        return build_series_bilstm(
            (self.length, self.variables), self.num_classes, c.lstm_units, c.dense_units, c.dropout
        )


class SeriesConv1D(SeriesNetwork):
    def build_network(self) -> keras.Model:
        c = self.cfg
        return build_series_conv1d(
            (self.length, self.variables),
            self.num_classes,
            c.filters,
            c.kernel_sizes,
            c.dense_units,
            c.dropout,
        )
