"""The contract every modality model offers the runner, and its Keras implementation.

Contract: `fit(train, val, callbacks=()) -> history` (dict of per-epoch lists; empty for non-neural
models; `callbacks` are extra Keras callbacks such as tracking's TensorBoard), `predict_proba(x) ->
(n, q)`, `predict_log_proba(x) -> (n, q)` (log-softmax of the logits in float64, exact where
probabilities underflow), `save(dir)` / `load(dir)` with the preprocessing saved beside the network as plain JSON
(vocabulary, normalisation statistics): no pickles anywhere. Non-neural models: models/sklearn_models.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keras
import numpy as np

from mmfusion.models import augment, batched, recipes, training  # batched: registers its layers for loading
from mmfusion.models.batches import Batches
from mmfusion.models.progress import EpochProgress
from mmfusion.runtime import devices

log = logging.getLogger(__name__)


class EpochLogger(EpochProgress):
    """One log line per epoch (with its time and ETAs), so training progress lands in the run's log
    file; a live bar while an epoch runs on a terminal (models/progress.py)."""


class KerasModality:
    """A Keras network plus the preprocessing it needs. Subclasses define the three hooks."""

    modality = "?"
    checkpoint_dir: Path | None = None  # set by the runner (training.checkpoint): epoch checkpoints, resumed
    # True: training batches are streamed (Batches, shuffled from `seed`); False: the transformed split is
    # handed to Keras as one array (Keras shuffles), for inputs whose transform is small (token ids)
    stream_fit = True

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

    def check_input(self, x) -> None:
        """Checks of the whole input before streaming it (shapes, finite values); none by default."""

    def batch_source(self, x) -> tuple:
        """(what batches are cut from, the function applied to each batch): by default the raw rows,
        transformed batch by batch, so no transformed copy of a whole split is made."""
        self.check_input(x)
        return x, self.transform

    def batches(self, x, y=None, batch_size=None, shuffle_seed=None) -> Batches:
        source, fn = self.batch_source(x)
        return Batches(source, y, int(batch_size or self.cfg.batch_size), fn, shuffle_seed)

    # --- contract --------------------------------------------------------------------------
    def fit(self, train: tuple, val: tuple | None = None, callbacks=()) -> dict[str, list[float]]:
        x_train, y_train = train
        self.fit_preprocessing(x_train)
        c, q, y = self.cfg, self.num_classes, np.asarray(y_train)
        validation = None
        if val is not None and len(val[1]):
            val_y = recipes.targets(c, val[1], q)  # one-hot when label_smoothing > 0
            validation = self.batches(val[0], val_y) if self.stream_fit else (self.transform(val[0]), val_y)
        if batched.enabled(c) and recipes.ensemble_size(c) > 1:  # the K members in one model (models/batched.py)
            logger = EpochLogger(self.modality, int(c.epochs))
            self.network, history = batched.fit(self, x_train, y, validation, callbacks, logger, self.checkpoint_dir)
            return history
        xt = None if self.stream_fit else self.transform(x_train)

        def fit_one(k: int, checkpoints) -> tuple[keras.Model, dict]:  # ensemble member k, just seeded
            if self.stream_fit:  # batch order: numpy's global RNG, which keras.utils.set_random_seed seeds
                seed = int(np.random.randint(2**31 - 1))
                data = (self.batches(x_train, recipes.targets(c, y, q), shuffle_seed=seed), None, None)
            else:
                data = (xt, recipes.targets(c, y, q), int(c.batch_size))
            return self._fit_network(data, y, validation, callbacks, checkpoints)

        self.network, history = recipes.fit_members(c, self.checkpoint_dir, fit_one)
        return history

    def _fit_network(self, data, y, validation, callbacks, checkpoint_dir) -> tuple[keras.Model, dict]:
        """One network, compiled and trained with the configured recipes (models/recipes.py, models/training.py);
        `data` is (streamed batches, None, None) or (array, targets, batch size)."""
        c = self.cfg
        with devices.scope(self.strategy):  # tf.distribute strategy (several GPUs), else a no-op
            network = augment.wrap(self.build_network(), c, self.modality)  # identity without augmentation keys
            training.compile_network(network, c, len(y))
        early_stopping, reduce_lr = training.schedule(c, validation is not None)
        x_fit, y_fit, batch_size = data

        def inputs() -> dict:  # the streamed batches (shuffled per epoch by themselves), or the transformed array
            if self.stream_fit:  # every remaining epoch's batches in one tf.data pipeline (one iterator, one thread)
                return {"x": x_fit.dataset(int(c.epochs)), "steps_per_epoch": x_fit.num_batches, "shuffle": False}
            return {"x": x_fit, "y": y_fit, "batch_size": batch_size, "shuffle": True}

        history = training.fit(
            network,
            c,
            self.modality,
            y,
            self.num_classes,
            inputs,
            validation,
            [EpochLogger(self.modality, int(c.epochs)), *callbacks],
            early_stopping=early_stopping,
            reduce_lr=reduce_lr,
            checkpoint_dir=checkpoint_dir,
            start_at=x_fit.start_at if self.stream_fit else None,
        )
        return network, history

    def predict_proba(self, x) -> np.ndarray:
        return np.exp(self.predict_log_proba(x))

    def predict_log_proba(self, x) -> np.ndarray:
        """log softmax(W h + b) in float64 from the last hidden features h and the output layer's W, b
        (the softmax layer's float32 output underflows to 0 for confidently wrong classes)."""
        from scipy.special import logsumexp

        from mmfusion.probability import log_softmax

        if self.network is None:
            raise RuntimeError(f"the {self.modality} model is not trained or loaded")
        if len(x) == 0:
            return np.zeros((0, self.num_classes))
        # streamed, in input order, as a PyDataset: through tf.data, each prediction's iterator builds its
        # batches in a new thread whose malloc arena keeps freed batches (peak RSS +0.15 GiB at 1,600 series)
        data = self.batches(x, batch_size=int(self.cfg.batch_size) * 4)
        features, outs = self._output_heads()
        hidden = features.predict(data, verbose=0)
        logs = []
        for h, out in zip(hidden if len(outs) > 1 else [hidden], outs):
            kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), dtype=np.float64) for w in out.weights)
            logs.append(log_softmax(np.asarray(h, dtype=np.float64) @ kernel + bias))
        if len(logs) == 1:
            return logs[0]
        # an ensemble (model.<m>.ensemble=K) averages its members' probabilities: log mean_k p_k, exactly
        return logsumexp(np.stack(logs), axis=0) - np.log(len(logs))

    def _output_heads(self) -> tuple:
        """(hidden-feature model, softmax Dense layers): the model gives the last hidden features of the
        network, or a list of those of each ensemble member (looked up through augmentation wrappers), in
        one graph, so an ensemble's prediction is traced once rather than once per member; built once per
        network (no retracing)."""
        cached = getattr(self, "_hidden", None)
        if cached is None or cached[0] is not self.network:
            heads = _softmax_heads(self.network)
            parts = [keras.Model(net.inputs, dense.input) for net, dense in heads]
            if len(parts) == 1:
                features = parts[0]
            else:  # the members share the ensemble's input
                inputs = [keras.Input(shape=t.shape[1:], dtype=t.dtype) for t in parts[0].inputs]
                inputs = inputs[0] if len(inputs) == 1 else inputs
                features = keras.Model(inputs, [part(inputs) for part in parts])
            self._hidden = (self.network, (features, [dense for _, dense in heads]))
        return self._hidden[1]

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


def _softmax_heads(net: keras.Model) -> list:
    """(network, its softmax Dense layer) pairs: the network's own, or those of the sub-networks it wraps
    (augmentation layers in front, or an ensemble's average of members)."""
    names = [layer.name for layer in net.layers]
    out = net.get_layer("probabilities") if "probabilities" in names else None
    if out is not None and out.weights:
        return [(net, out)]
    return [head for sub in net.layers if isinstance(sub, keras.Model) for head in _softmax_heads(sub)]


def dense_head(x, dense_units, num_classes: int, dropout: float):
    """The fully connected layers after the recurrent part; the last is the softmax output."""
    for units in dense_units:
        x = keras.layers.Dense(int(units), activation="relu")(x)
        if dropout:
            x = keras.layers.Dropout(float(dropout))(x)
    # float32 even under mixed precision: a float16 softmax loses small probabilities
    return keras.layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32")(x)
