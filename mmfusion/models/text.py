"""The Keras base of every text network: token ids from a TextVectorizer fitted on the training texts
(vocabulary saved as JSON) and the optional word2vec initial vectors; subclasses pick the network by
`builder(vocab_size, sequence_length, num_classes, embedding_dim, units, dense_units, dropout,
embedding_matrix, trainable_embedding)`."""

from __future__ import annotations

import keras
import numpy as np

from mmfusion.errors import ConfigError
from mmfusion.models.base import KerasModality
from mmfusion.models.preprocessing import TextVectorizer, as_texts, tokenize


class TextNetwork(KerasModality):
    modality = "text"
    builder = None  # a build_text_* function (staticmethod) in each subclass
    stream_fit = False  # token ids are sequence_length int32 per text (6 MB for 40,000 texts): one array

    def _vectorizer(self, vocabulary=None) -> TextVectorizer:
        return TextVectorizer(int(self.cfg.max_tokens), int(self.cfg.sequence_length), vocabulary)

    def fit_preprocessing(self, x_train) -> None:
        self.train_texts = as_texts(x_train, "text training data")
        self.vectorizer = self._vectorizer().fit(self.train_texts)
        self.vocabulary = self.vectorizer.vocabulary

    def transform(self, x) -> np.ndarray:
        return self.vectorizer.transform(as_texts(x, "text input"))

    def batch_source(self, x) -> tuple:
        """Token ids are small: vectorise the input once, then stream the ids in batches."""
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
