"""Ensembles trained as one Keras model (`batched_ensemble=true`, `grouped_lstm=true`): the K members'
probabilities stacked, n x K x q, trained with the sum of the members' losses, so the gradient of member
k's weights is that of its own loss alone and clipping (`clipnorm`, per weight), Adam and weight decay
treat each member as if it trained alone. Two layouts build such a model: models/batched.py (the members
side by side) and models/grouped.py (their LSTMs in one recurrent loop per depth); this module holds what
they share: the stacking layer, the objective, the metrics, the per-member callbacks and `fit`.

What differs from sequential training (not bit-identical, by design):
- batch order: one graph, one batch order, shared by every member (sequential members each shuffle
  their own); it is sequential member 0's order, so member 0 matches its sequential twin in initial
  weights and batches. Dropout and augmentation stay per member (each has its own random layers);
- early stopping (`early_stopping_patience`) is per member: member k keeps its own best validation
  loss, patience and best-epoch weights, and stops improving its record when its patience runs out,
  as Keras' EarlyStopping(restore_best_weights=True) would stop it; training goes on until every member
  has stopped, and each member is then given back its own best-epoch weights. A member that has stopped
  keeps training with the others (its later weights are discarded);
- reduce-on-plateau (`lr_schedule=reduce_on_plateau`) is one schedule for all members (one optimizer),
  on the mean of the members' validation losses (`val_loss` in the history);
- history: `loss` / `val_loss` are the mean of the members' losses, `accuracy` / `val_accuracy` the
  accuracy of their mean probabilities; `member<k>_loss` / `val_member<k>_loss` are each member's (no
  per-member accuracy: every metric costs CPU in every training step).

Checkpoints (`training.checkpoint`): models/checkpoint.py's EpochCheckpoint saves the training model's
weights and optimizer state; the per-member early-stopping state travels in the slots it keeps for Keras'
EarlyStopping (`wait` holds the per-member records as JSON, `best_weights` every member's best weights),
so checkpoint.py needs no change.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from mmfusion.models import recipes, training
from mmfusion.runtime import devices


@keras.saving.register_keras_serializable(package="mmfusion")
class StackMembers(keras.layers.Layer):
    """The members' tensors stacked on a new `axis`: their probabilities n x K x q (axis 1, the training
    model's output), or their series n x T x K x v (axis 2, models/grouped.py)."""

    def __init__(self, axis: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.supports_masking = True  # members' embeddings come masked; the grouped LSTM takes the mask apart

    def call(self, inputs):
        return ops.stack(inputs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_spec(self, inputs):
        shape = list(inputs[0].shape)
        shape.insert(self.axis, len(inputs))
        return keras.KerasTensor(tuple(shape), dtype=inputs[0].dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _member_losses(cfg, y_true, y_pred):
    """Each member's loss per sample (the loss `recipes.make_loss` compiles for one network): n x K for
    stacked probabilities (n x K x q), n for one member's (n x q)."""
    stacked = len(y_pred.shape) == 3
    s = recipes.smoothing(cfg)
    if s > 0:  # one-hot targets
        yt = ops.cast(y_true, y_pred.dtype)
        if stacked:
            yt = ops.repeat(ops.expand_dims(yt, 1), ops.shape(y_pred)[1], axis=1)
        return keras.losses.categorical_crossentropy(yt, y_pred, label_smoothing=s)
    yt = ops.reshape(ops.cast(y_true, "int32"), (-1, 1) if stacked else (-1,))
    if stacked:
        yt = ops.repeat(yt, ops.shape(y_pred)[1], axis=1)
    return keras.losses.sparse_categorical_crossentropy(yt, y_pred)


def _labels(y_true):
    """Integer labels from integer or one-hot targets."""
    if len(y_true.shape) >= 2 and y_true.shape[-1] not in (None, 1):
        return ops.cast(ops.argmax(y_true, axis=-1), "int32")
    return ops.cast(ops.reshape(y_true, (-1,)), "int32")


class SumOfMemberLosses(keras.losses.Loss):
    """The training objective: the sum over members of each member's mean loss."""

    def __init__(self, cfg, **kwargs):
        super().__init__(name="sum_of_member_losses", **kwargs)
        self.cfg = cfg

    def call(self, y_true, y_pred):
        return ops.sum(_member_losses(self.cfg, y_true, y_pred), axis=1)


def _metrics(cfg, k_members: int) -> list:
    def ensemble_accuracy(y_true, y_pred):
        return ops.cast(ops.equal(ops.argmax(ops.mean(y_pred, axis=1), axis=-1), _labels(y_true)), "float32")

    out = [keras.metrics.MeanMetricWrapper(ensemble_accuracy, name="accuracy")]
    for k in range(k_members):  # each member's own loss (per-member early stopping reads val_member<k>_loss)

        def loss_k(y_true, y_pred, k=k):
            return _member_losses(cfg, y_true, y_pred[:, k])

        out.append(keras.metrics.MeanMetricWrapper(loss_k, name=f"member{k}_loss"))
    return out


class MeanLossLogs(keras.callbacks.Callback):
    """Put first: `loss` / `val_loss` become the mean of the members' losses (Keras logs their sum), so
    reduce-on-plateau and the history read them on the scale of one network."""

    def __init__(self, k_members: int):
        super().__init__()
        self.k = k_members

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for prefix in ("", "val_"):
            losses = [logs.get(f"{prefix}member{k}_loss") for k in range(self.k)]
            if all(v is not None for v in losses):
                logs[f"{prefix}loss"] = float(np.mean(losses))


class MemberEarlyStopping(keras.callbacks.Callback):
    """Keras' EarlyStopping(monitor=val_loss, restore_best_weights=True), once per member (see the module
    docstring). Exposes the attributes models/checkpoint.py saves for EarlyStopping: `wait` (here the
    per-member records), `best`, `best_epoch`, `stopped_epoch` and `best_weights` (every member's best
    weights, member after member)."""

    def __init__(self, members: list[keras.Model], patience: int):
        super().__init__()
        self.members, self.patience = members, int(patience)
        self.records: list[dict] = []
        self.best_weights: list[np.ndarray] | None = None
        self.best, self.best_epoch, self.stopped_epoch = None, 0, 0
        self._reset()

    def _reset(self) -> None:
        self.records = [{"wait": 0, "best": math.inf, "best_epoch": 0, "stopped_epoch": 0} for _ in self.members]
        self.best_weights, self.best, self.best_epoch, self.stopped_epoch = None, None, 0, 0

    @property
    def wait(self) -> list[dict]:
        return self.records

    @wait.setter
    def wait(self, value) -> None:
        self.records = [dict(r) for r in value]

    def on_train_begin(self, logs=None):
        self._reset()

    def _slices(self) -> list[slice]:
        out, start = [], 0
        for member in self.members:
            out.append(slice(start, start + len(member.weights)))
            start += len(member.weights)
        return out

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.best_weights is None:
            self.best_weights = [w for m in self.members for w in m.get_weights()]
            for r in self.records:
                r["best_epoch"] = epoch
        for k, (member, r, where) in enumerate(zip(self.members, self.records, self._slices())):
            current = logs.get(f"val_member{k}_loss")
            if current is None or r["stopped_epoch"] > 0:
                continue
            r["wait"] += 1
            if current < r["best"]:
                r.update(best=float(current), best_epoch=epoch, wait=0)
                self.best_weights[where] = member.get_weights()
            elif r["wait"] >= self.patience and epoch > 0:
                r["stopped_epoch"] = epoch
        finite = [r["best"] for r in self.records if math.isfinite(r["best"])]
        self.best = float(np.mean(finite)) if finite else None
        self.best_epoch = max(r["best_epoch"] for r in self.records)
        if all(r["stopped_epoch"] > 0 for r in self.records):
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            for member, where in zip(self.members, self._slices()):
                member.set_weights(self.best_weights[where])


def fit(model, network: keras.Model, views, data, y, validation, callbacks, checkpoint_dir) -> dict:
    """Train `network` (the stacked members' model) on `data` (Batches, in sequential member 0's order) for
    the KerasModality `model`; `views`: each member's weights as early stopping saves and restores them
    (the member networks, or models/grouped.py's views); `callbacks`: the per-epoch log first. Returns the
    history."""
    c, size = model.cfg, len(views)
    with devices.scope(model.strategy):
        training.compile_network(network, c, len(y), loss=SumOfMemberLosses(c), metrics=_metrics(c, size))
    early_stopping, reduce_lr = training.schedule(c, validation is not None)
    if early_stopping is not None:
        early_stopping = MemberEarlyStopping(views, int(c.early_stopping_patience))
    return training.fit(
        network,
        c,
        model.modality,
        y,
        model.num_classes,
        # the batches are shuffled per epoch by themselves
        lambda: {"x": data.dataset(int(c.epochs)), "steps_per_epoch": data.num_batches, "shuffle": False},
        validation,
        [MeanLossLogs(size), *callbacks],
        early_stopping=early_stopping,
        reduce_lr=reduce_lr,
        checkpoint_dir=checkpoint_dir,
        start_at=data.start_at,
    )
