"""The Keras base of every text network: token ids from a TextVectorizer fitted on the training texts
(vocabulary saved as JSON) and the optional word2vec or fastText initial vectors; subclasses pick the network by
`builder(vocab_size, sequence_length, num_classes, embedding_dim, units, dense_units, dropout,
embedding_matrix, trainable_embedding)`."""

from __future__ import annotations

import keras
import numpy as np

from mmfusion.models.base import KerasModality
from mmfusion.models.preprocessing import TextVectorizer, as_texts, tokenize

VECTORS = {"word2vec": "Word2Vec", "fasttext": "FastText"}  # model.text.embedding -> gensim class


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
        """Initial embedding weights: None (learned from scratch), word2vec or fastText vectors.

        `model.text.embedding=word2vec|fasttext` trains gensim Word2Vec / FastText (sub-word n-grams,
        so misspelt words get vectors near their correct spelling) on the training texts only,
        tokenised like TextVectorization does; rows of words without a vector (and of padding and
        [UNK]) stay zero. Both read the word2vec_* keys (window, epochs, seed).
        """
        kind = self.cfg.embedding
        if kind == "learned":
            return None
        import gensim.models

        tokens = tokenize(self.train_texts)
        dim = int(self.cfg.embedding_dim)
        vectors = getattr(gensim.models, VECTORS[kind])(
            tokens,
            vector_size=dim,
            window=int(self.cfg.word2vec_window),
            min_count=1,
            workers=1,
            seed=int(self.cfg.word2vec_seed),
            epochs=int(self.cfg.word2vec_epochs),
        ).wv
        matrix = np.zeros((len(self.vocabulary), dim), dtype=np.float32)
        for i, word in enumerate(self.vocabulary):
            if (
                i > 1 and word in vectors
            ):  # rows 0 (padding) and 1 ([UNK]) stay zero; FastText has a vector for any string
                matrix[i] = vectors[word]
        return matrix

    def build_network(self, variable_length: bool = False) -> keras.Model:
        """`variable_length`: token ids of any length (models/batched.py trims each batch's padding)."""
        c = self.cfg
        return type(self).builder(
            len(self.vocabulary),
            None if variable_length else c.sequence_length,
            self.num_classes,
            c.embedding_dim,
            c.lstm_units,
            c.dense_units,
            c.dropout,
            self.embedding_matrix(),
            c.trainable_embedding,
        )

    def preprocessing_state(self) -> dict:
        return {"sequence_length": int(self.cfg.sequence_length), "vocabulary": list(self.vocabulary)}

    def load_preprocessing_state(self, state: dict) -> None:
        self.vocabulary = state["vocabulary"]
        self.vectorizer = self._vectorizer(vocabulary=self.vocabulary)
