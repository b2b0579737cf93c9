"""More text networks beside the paper's LSTM: embedding -> Bidirectional(LSTM) -> dense head.

Shares TextNetwork's preprocessing (TextVectorization vocabulary fitted on the training texts, saved as
JSON; optional word2vec initial vectors). The LSTM keeps Keras defaults (cuDNN-compatible).
"""

from __future__ import annotations

import keras

from mmfusion.models.base import dense_head
from mmfusion.models.text import TextNetwork
from mmfusion.models.text_lstm import embedded_tokens


def build_text_bilstm(
    vocab_size,
    sequence_length,
    num_classes,
    embedding_dim=64,
    units=64,
    dense_units=(32,),
    dropout=0.0,
    embedding_matrix=None,
    trainable_embedding=True,
):
    """`units` per direction: the bidirectional layer outputs 2 * units features."""
    inp, x = embedded_tokens(vocab_size, sequence_length, embedding_dim, embedding_matrix, trainable_embedding)
    x = keras.layers.Bidirectional(keras.layers.LSTM(int(units)))(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="text_bilstm")


class TextBiLSTM(TextNetwork):
    builder = staticmethod(build_text_bilstm)
