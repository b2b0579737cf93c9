"""More text networks beside the paper's LSTM: embedding -> Bidirectional(LSTM) -> dense head.

Reuses TextLSTM's preprocessing (TextVectorization vocabulary fitted on the training texts, saved as
JSON; optional word2vec initial vectors). The LSTM keeps Keras defaults (cuDNN-compatible).
"""

from __future__ import annotations

import keras
import numpy as np

from mmfusion.models.base import dense_head
from mmfusion.models.text_lstm import TextLSTM


def build_text_bilstm(
    vocab_size, sequence_length, num_classes, embedding_dim=64, units=64, dense_units=(32,),
    dropout=0.0, embedding_matrix=None, trainable_embedding=True,
):
    """`units` per direction: the bidirectional layer outputs 2 * units features."""
    inp = keras.Input(shape=(int(sequence_length),), dtype="int32", name="tokens")
    emb = keras.layers.Embedding(
        int(vocab_size), int(embedding_dim), mask_zero=True, trainable=bool(trainable_embedding), name="embedding"
    )
    x = emb(inp)
    if embedding_matrix is not None:
        emb.set_weights([np.asarray(embedding_matrix, dtype=np.float32)])
    x = keras.layers.Bidirectional(keras.layers.LSTM(int(units)))(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="text_bilstm")


class TextBiLSTM(TextLSTM):
    def build_network(self) -> keras.Model:
        c = self.cfg
        return build_text_bilstm(
            len(self.vocabulary), c.sequence_length, self.num_classes, c.embedding_dim, c.lstm_units,
            c.dense_units, c.get("dropout", 0.0), self.embedding_matrix(), c.get("trainable_embedding", True),
        )
