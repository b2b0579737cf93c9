"""Non-neural models behind the same contract as models/base.py: fitted features -> multinomial
logistic regression (scikit-learn). No Keras or TensorFlow import."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class LinearModality:
    """A non-neural model: fitted features -> multinomial logistic regression (scikit-learn).

    Same contract as KerasModality; `fit` returns an empty history. Saved without pickles:
    `<modality>.json` (settings, vocabularies) and `<modality>.npz` (arrays, allow_pickle=False);
    `load` rebuilds an equivalent predictor from those. Subclasses define the four hooks.
    """

    modality = "?"
    checkpoint_dir: Path | None = None  # the runner sets it; nothing to checkpoint (one closed-form fit)

    def __init__(self, cfg, num_classes: int, strategy=None):  # strategy: unused (no network)
        self.cfg = cfg
        self.num_classes = num_classes
        self.classifier = None

    # --- hooks -----------------------------------------------------------------------------
    def fit_features(self, x_train) -> None:
        raise NotImplementedError

    def features(self, x):
        raise NotImplementedError

    def feature_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        raise NotImplementedError

    def load_feature_state(self, state: dict, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    # --- contract --------------------------------------------------------------------------
    def fit(self, train: tuple, val: tuple | None = None, callbacks=()) -> dict[str, list[float]]:
        from sklearn.linear_model import LogisticRegression

        x_train, y_train = train
        self.fit_features(x_train)
        weight = self.cfg.class_weight
        self.classifier = LogisticRegression(
            C=float(self.cfg.C), max_iter=int(self.cfg.max_iter), class_weight=weight if weight else None
        ).fit(self.features(x_train), np.asarray(y_train))
        log.info("%s %s: fitted on %d samples (no epochs)", self.modality, self.cfg.name, len(y_train))
        return {}

    def predict_proba(self, x) -> np.ndarray:
        return np.exp(self.predict_log_proba(x))

    def predict_log_proba(self, x) -> np.ndarray:
        """Log-softmax of the multinomial decision function (no log of a rounded probability)."""
        from mmfusion.probability import log_softmax

        if self.classifier is None:
            raise RuntimeError(f"the {self.modality} model is not trained or loaded")
        z = np.asarray(self.classifier.decision_function(self.features(x)), dtype=np.float64)
        if z.ndim == 1:  # two classes: scikit-learn keeps one score z, p = softmax([0, z])
            z = np.stack([np.zeros_like(z), z], axis=1)
        out = np.full((z.shape[0], self.num_classes), -np.inf)
        out[:, self.classifier.classes_.astype(int)] = log_softmax(z)  # classes absent from training: p = 0
        return out

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state, arrays = self.feature_state()
        c = self.classifier
        arrays = {**arrays, "coef": c.coef_, "intercept": c.intercept_, "classes": c.classes_.astype(np.int64)}
        np.savez(directory / f"{self.modality}.npz", **arrays)
        state = {"modality": self.modality, "model": str(self.cfg.name), "num_classes": self.num_classes, **state}
        (directory / f"{self.modality}.json").write_text(json.dumps(state, indent=1))

    def load(self, directory: Path) -> LinearModality:
        from sklearn.linear_model import LogisticRegression

        directory = Path(directory)
        state = json.loads((directory / f"{self.modality}.json").read_text())
        with np.load(directory / f"{self.modality}.npz", allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        self.load_feature_state(state, arrays)
        c = LogisticRegression()
        c.coef_, c.intercept_, c.classes_ = arrays["coef"], arrays["intercept"], arrays["classes"]
        c.n_features_in_ = int(arrays["coef"].shape[1])
        self.classifier = c
        return self
