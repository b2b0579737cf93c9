"""The contract every modality model offers the runner, and its Keras implementation.

Contract: `fit(train, val, callbacks=()) -> history` (dict of per-epoch lists; empty for non-neural
models; `callbacks` are extra Keras callbacks such as tracking's TensorBoard), `predict_proba(x) ->
(n, q)`, `predict_log_proba(x) -> (n, q)` (log-softmax of the logits in float64, exact where
probabilities underflow), `save(dir)` / `load(dir)` with the preprocessing saved beside the network as plain JSON
(vocabulary, normalisation statistics): no pickles anywhere. Non-neural models: models/linear.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keras
import numpy as np

from mmfusion.errors import ConfigError
from mmfusion.runtime import devices

log = logging.getLogger(__name__)


class EpochLogger(keras.callbacks.Callback):
    """One log line per epoch, so training progress lands in the run's log file."""

    def __init__(self, name: str, epochs: int):
        super().__init__()
        self.name, self.epochs = name, epochs

    def on_epoch_end(self, epoch, logs=None):
        figures = " ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        log.info("%s epoch %d/%d %s", self.name, epoch + 1, self.epochs, figures)


def make_optimizer(cfg) -> keras.optimizers.Optimizer:
    name = str(cfg.get("optimizer", "adam")).lower()
    optimizers = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    if name not in optimizers:
        raise ConfigError(f"optimizer={name!r} is not known; choose one of {sorted(optimizers)}")
    return optimizers[name](learning_rate=float(cfg.lr))


class KerasModality:
    """A Keras network plus the preprocessing it needs. Subclasses define the three hooks."""

    modality = "?"

    def __init__(self, cfg, num_classes: int, strategy=None):
        self.cfg = cfg
        self.num_classes = num_classes
        self.strategy = strategy  # tf.distribute strategy from runtime.devices.configure (None: default)
        self.network: keras.Model | None = None

    # --- hooks -----------------------------------------------------------------------------
    def fit_preprocessing(self, x_train) -> None:
        raise NotImplementedError

    def transform(self, x) -> np.ndarray:
        raise NotImplementedError

    def build_network(self) -> keras.Model:
        raise NotImplementedError

    def preprocessing_state(self) -> dict:
        raise NotImplementedError

    def load_preprocessing_state(self, state: dict) -> None:
        raise NotImplementedError

    # --- contract --------------------------------------------------------------------------
    def fit(self, train: tuple, val: tuple | None = None, callbacks=()) -> dict[str, list[float]]:
        x_train, y_train = train
        self.fit_preprocessing(x_train)
        xt = self.transform(x_train)
        with devices.scope(self.strategy):  # tf.distribute strategy (several GPUs), else a no-op
            self.network = self.build_network()
            self.network.compile(
                optimizer=make_optimizer(self.cfg),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
        callbacks = [EpochLogger(self.modality, int(self.cfg.epochs)), *callbacks]
        validation = None
        if val is not None and len(val[1]):
            validation = (self.transform(val[0]), np.asarray(val[1]))
            patience = self.cfg.get("early_stopping_patience")
            if patience:
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor="val_loss", patience=int(patience), restore_best_weights=True
                    )
                )
        hist = self.network.fit(
            xt,
            np.asarray(y_train),
            validation_data=validation,
            epochs=int(self.cfg.epochs),
            batch_size=int(self.cfg.batch_size),
            shuffle=True,
            verbose=0,
            callbacks=callbacks,
        )
        return {k: [float(v) for v in vals] for k, vals in hist.history.items()}

    def predict_proba(self, x) -> np.ndarray:
        return np.exp(self.predict_log_proba(x))

    def predict_log_proba(self, x) -> np.ndarray:
        """log softmax(W h + b) in float64 from the last hidden features h and the output layer's W, b
        (the softmax layer's float32 output underflows to 0 for confidently wrong classes)."""
        from mmfusion.evaluation.calibration import log_softmax

        if self.network is None:
            raise RuntimeError(f"the {self.modality} model is not trained or loaded")
        xt = self.transform(x)
        out = self.network.get_layer("probabilities")
        cached = getattr(self, "_hidden", None)
        if cached is None or cached[0] is not self.network:  # one feature model per network (no retracing)
            self._hidden = (self.network, keras.Model(self.network.inputs, out.input))
        hidden = self._hidden[1]
        h = np.asarray(hidden.predict(xt, batch_size=int(self.cfg.batch_size) * 4, verbose=0), dtype=np.float64)
        kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), dtype=np.float64) for w in out.weights)
        return log_softmax(h @ kernel + bias)

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.network.save(directory / f"{self.modality}.keras")
        state = {"modality": self.modality, "num_classes": self.num_classes, **self.preprocessing_state()}
        (directory / f"{self.modality}.json").write_text(json.dumps(state, indent=1))

    def load(self, directory: Path) -> KerasModality:
        directory = Path(directory)
        state = json.loads((directory / f"{self.modality}.json").read_text())
        self.load_preprocessing_state(state)
        self.network = keras.models.load_model(directory / f"{self.modality}.keras", safe_mode=True)
        return self


def dense_head(x, dense_units, num_classes: int, dropout: float):
    """The fully connected layers after the recurrent part; the last is the softmax output."""
    for units in dense_units:
        x = keras.layers.Dense(int(units), activation="relu")(x)
        if dropout:
            x = keras.layers.Dropout(float(dropout))(x)
    # float32 even under mixed precision: a float16 softmax loses small probabilities
    return keras.layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32")(x)
