"""The paper's text network: embedding -> LSTM(80) -> fully connected layers -> softmax.

Preprocessing: Keras TextVectorization adapted on the training texts only (lower-cased, punctuation
stripped, integer token ids padded to `sequence_length`); the vocabulary is saved as JSON.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from mmfusion.errors import ConfigError, DataError
from mmfusion.models.base import KerasModality, dense_head


def embedded_tokens(vocab_size, sequence_length, embedding_dim, embedding_matrix=None, trainable_embedding=True):
    """Token-id input -> embedding (masking the padding id 0), optionally initialised from given vectors."""
    inp = keras.Input(shape=(int(sequence_length),), dtype="int32", name="tokens")
    emb = keras.layers.Embedding(
        int(vocab_size), int(embedding_dim), mask_zero=True, trainable=bool(trainable_embedding), name="embedding"
    )
    x = emb(inp)
    if embedding_matrix is not None:
        emb.set_weights([np.asarray(embedding_matrix, dtype=np.float32)])
    return inp, x


def build_text_lstm(
    vocab_size, sequence_length, num_classes, embedding_dim=64, units=80, dense_units=(64, 32, 16),
    dropout=0.0, embedding_matrix=None, trainable_embedding=True,
):
    inp, x = embedded_tokens(vocab_size, sequence_length, embedding_dim, embedding_matrix, trainable_embedding)
    x = keras.layers.LSTM(int(units))(x)
    return keras.Model(inp, dense_head(x, dense_units, num_classes, dropout), name="text_lstm")


# TextVectorization's "lower_and_strip_punctuation", so word2vec sees the tokens the network sees
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def tokenize(texts: list[str]) -> list[list[str]]:
    standard = tf.strings.regex_replace(tf.strings.lower(tf.constant(texts)), _PUNCTUATION, "")
    return [t.decode("utf-8").split() for t in standard.numpy()]


def as_texts(x, what: str) -> list[str]:
    texts = []
    for i, t in enumerate(np.asarray(x, dtype=object).ravel()):
        if not isinstance(t, str):
            raise DataError(f"{what}: record {i} is not text ({type(t).__name__}); give every record a string")
        texts.append(t)
    return texts


class TextLSTM(KerasModality):
    modality = "text"
    stream_fit = False  # token ids are sequence_length int32 per text (6 MB for 40,000 texts): one array
    builder = staticmethod(build_text_lstm)  # subclasses swap the network, keep the preprocessing

    def _vectorizer(self, vocabulary=None) -> keras.layers.TextVectorization:
        return keras.layers.TextVectorization(
            max_tokens=int(self.cfg.max_tokens),
            output_sequence_length=int(self.cfg.sequence_length),
            standardize="lower_and_strip_punctuation",
            vocabulary=vocabulary,
        )

    def fit_preprocessing(self, x_train) -> None:
        self.vectorizer = self._vectorizer()
        self.train_texts = as_texts(x_train, "text training data")
        self.vectorizer.adapt(tf.constant(self.train_texts))
        self.vocabulary = self.vectorizer.get_vocabulary()

    def transform(self, x) -> np.ndarray:
        texts = as_texts(x, "text input")
        if not texts:
            return np.zeros((0, int(self.cfg.sequence_length)), dtype=np.int32)
        return np.asarray(self.vectorizer(tf.constant(texts)), dtype=np.int32)

    def batch_source(self, x) -> tuple:
        """Token ids are small (sequence_length int32 per text): vectorise the split once, stream ids."""
        return self.transform(x), None

    def embedding_matrix(self):
        """Initial embedding weights: None (learned from scratch) or word2vec vectors.

        `model.text.embedding=word2vec` trains gensim Word2Vec on the training texts only, tokenised
        like TextVectorization does; rows of words it never saw (and the padding row) stay zero.
        """
        kind = str(self.cfg.get("embedding", "learned"))
        if kind == "learned":
            return None
        if kind != "word2vec":
            raise ConfigError(f"model.text.embedding must be 'learned' or 'word2vec', got {kind!r}")
        from gensim.models import Word2Vec

        tokens = tokenize(self.train_texts)
        dim = int(self.cfg.embedding_dim)
        w2v = Word2Vec(tokens, vector_size=dim, window=int(self.cfg.get("word2vec_window", 5)), min_count=1,
                       workers=1, seed=int(self.cfg.get("word2vec_seed", 0)), epochs=int(self.cfg.get("word2vec_epochs", 20)))
        matrix = np.zeros((len(self.vocabulary), dim), dtype=np.float32)
        for i, word in enumerate(self.vocabulary):
            if word in w2v.wv:
                matrix[i] = w2v.wv[word]
        return matrix

    def build_network(self) -> keras.Model:
        c = self.cfg
        return type(self).builder(
            len(self.vocabulary), c.sequence_length, self.num_classes, c.embedding_dim, c.lstm_units,
            c.dense_units, c.get("dropout", 0.0), self.embedding_matrix(), c.get("trainable_embedding", True),
        )

    def preprocessing_state(self) -> dict:
        return {"sequence_length": int(self.cfg.sequence_length), "vocabulary": list(self.vocabulary)}

    def load_preprocessing_state(self, state: dict) -> None:
        self.vocabulary = state["vocabulary"]
        self.vectorizer = self._vectorizer(vocabulary=self.vocabulary)
