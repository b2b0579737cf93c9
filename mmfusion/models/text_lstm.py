"""The paper's text network: embedding -> LSTM(80) -> fully connected layers -> softmax.

Preprocessing (models/text.py, models/preprocessing.py): Keras TextVectorization adapted on the training texts only (lower-cased, punctuation
stripped, integer token ids padded to `sequence_length`); the vocabulary is saved as JSON.
"""

from __future__ import annotations

import keras
import numpy as np

from mmfusion.models.base import dense_head
from mmfusion.models.text import TextNetwork


def embedded_tokens(vocab_size, sequence_length, embedding_dim, embedding_matrix=None, trainable_embedding=True):
    """Token-id input -> embedding (masking the padding id 0), optionally initialised from given vectors;
    `sequence_length=None`: any length (a batched ensemble's members, fed trimmed batches)."""
    length = None if sequence_length is None else int(sequence_length)
    inp = keras.Input(shape=(length,), dtype="int32", name="tokens")
    emb = keras.layers.Embedding(
        int(vocab_size), int(embedding_dim), mask_zero=True, trainable=bool(trainable_embedding), name="embedding"
    )
    x = emb(inp)
    if embedding_matrix is not None:
        emb.set_weights([np.asarray(embedding_matrix, dtype=np.float32)])
    return inp, x


def build_text_lstm(
    vocab_size,
    sequence_length,
    num_classes,
    embedding_dim=64,
    units=80,
    dense_units=(64, 32, 16),
    dropout=0.0,
    embedding_matrix=None,
    trainable_embedding=True,
):
    inp, x = embedded_tokens(vocab_size, sequence_length, embedding_dim, embedding_matrix, trainable_embedding)
    x = keras.layers.LSTM(int(units))(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="text_lstm")


class TextLSTM(TextNetwork):
    builder = staticmethod(build_text_lstm)
