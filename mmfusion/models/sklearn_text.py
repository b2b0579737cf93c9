"""TF-IDF of word and character n-grams -> multinomial logistic regression (scikit-learn).

Two TfidfVectorizers fitted on the training texts only: words (1-2 grams by default) and
characters inside word boundaries (`char_wb`, 2-5 grams); their columns are stacked side by side.
Saved without pickles: the vocabularies (terms in column order) and vectorizer settings as JSON,
the idf weights and the logistic regression's coef_/intercept_ as .npz; `load` rebuilds vectorizers
with the same vocabulary and idf, so it gives the same probabilities.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mmfusion.models.preprocessing import as_texts
from mmfusion.models.sklearn_models import LinearModality

ANALYZERS = {"word": "word_ngrams", "char_wb": "char_ngrams"}  # analyzer -> config key of its n-gram range


class TextTfidfLogReg(LinearModality):
    modality = "text"

    def _settings(self, analyzer: str) -> dict | None:
        span = self.cfg[ANALYZERS[analyzer]]
        if not span:  # null or []: this analyzer is switched off
            return None
        max_features = self.cfg.max_features
        return {
            "analyzer": analyzer,
            "ngram_range": [int(span[0]), int(span[1])],
            "lowercase": bool(self.cfg.lowercase),
            "sublinear_tf": bool(self.cfg.sublinear_tf),
            "min_df": int(self.cfg.min_df),
            "max_features": int(max_features) if max_features else None,
        }

    @staticmethod
    def _vectorizer(settings: dict, vocabulary=None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        kwargs = {**settings, "ngram_range": tuple(settings["ngram_range"]), "dtype": np.float64}
        if vocabulary is not None:  # a fitted vocabulary fixes the columns; min_df/max_features no longer apply
            kwargs.update(vocabulary={term: i for i, term in enumerate(vocabulary)}, min_df=1, max_features=None)
        return TfidfVectorizer(**kwargs)

    def fit_features(self, x_train) -> None:
        texts = as_texts(x_train, "text training data")
        # at least one analyzer is on: the config check (schemas/check/models.py) refuses both off
        self.settings = [s for s in (self._settings(a) for a in ANALYZERS) if s is not None]
        self.vectorizers = [self._vectorizer(s).fit(texts) for s in self.settings]

    def features(self, x):
        texts = as_texts(x, "text input")
        return sp.hstack([v.transform(texts) for v in self.vectorizers], format="csr")

    def feature_state(self):
        vocabularies = []
        for v in self.vectorizers:
            terms = [""] * len(v.vocabulary_)
            for term, i in v.vocabulary_.items():
                terms[i] = term
            vocabularies.append(terms)
        state = {"vectorizers": self.settings, "vocabularies": vocabularies}
        return state, {f"idf_{k}": v.idf_ for k, v in enumerate(self.vectorizers)}

    def load_feature_state(self, state, arrays) -> None:
        self.settings = state["vectorizers"]
        self.vectorizers = []
        for k, (settings, terms) in enumerate(zip(self.settings, state["vocabularies"])):
            v = self._vectorizer(settings, vocabulary=terms)
            v.idf_ = arrays[f"idf_{k}"]
            self.vectorizers.append(v)
