"""Batched ensembles (`model.<m>.batched_ensemble=true` with `ensemble=K`): the K members in one Keras model,
trained together, one forward and one backward pass per batch.

Layout. One input; for text networks, `TrimPadding` cuts the right-padded token ids to the longest text
of the batch (the steps it drops are masked in every row, so an LSTM's final state is unchanged: exact,
and 2-4x fewer recurrent steps on the factory reports, 6 tokens median in 40 slots); then K member
sub-networks, each the modality's usual network (`build_network`, behind its own augmentation layers),
built after `recipes.seed_member(cfg, k)` as the sequential ensemble builds them, so member k starts from
the same initial weights as sequential member k. Training uses `training` (the members' probabilities
stacked, n x K x q) with the sum of the members' losses: the gradient of member k's weights is that of
its own loss alone, so clipping (`clipnorm`, per weight), Adam and weight decay treat each member as if
it trained alone. The saved and predicting network is `network`: the mean of the members'
probabilities, one .keras file with the same layout as the sequential ensemble's (`recipes.average`),
so prediction (`KerasModality.predict_log_proba`: log of the mean of the members' probabilities) is the
same code either way.

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

Checkpoints (`training.checkpoint`) go to `<checkpoint dir>/batched`: models/checkpoint.py's
EpochCheckpoint saves the training model's weights and optimizer state; the per-member early-stopping
state travels in the slots it keeps for Keras' EarlyStopping (`wait` holds the per-member records as
JSON, `best_weights` every member's best weights), so checkpoint.py needs no change.
"""

from __future__ import annotations

import logging
import math

import keras
import numpy as np
from keras import ops

from mmfusion.models import augment, grouped, recipes
from mmfusion.runtime import devices

log = logging.getLogger(__name__)

SUBDIR = "batched"  # checkpoints of a batched ensemble, apart from the sequential members' member<k>/


def enabled(cfg) -> bool:
    """`batched_ensemble=true`, or `grouped_lstm=true` (the batched series ensemble with one recurrent
    loop per depth, models/grouped.py)."""
    return bool(cfg.batched_ensemble) or grouped.requested(cfg)


@keras.saving.register_keras_serializable(package="mmfusion")
class TrimPadding(keras.layers.Layer):
    """Right-padded token ids (0 = padding) cut to the batch's longest row, at least one step long."""

    def call(self, tokens):
        length = ops.shape(tokens)[1]
        positions = ops.arange(1, length + 1, dtype="int32")[None, :]
        last = ops.max(ops.where(ops.not_equal(tokens, 0), positions, ops.zeros_like(positions)))
        return ops.slice(tokens, (0, 0), (ops.shape(tokens)[0], ops.maximum(last, 1)))

    def compute_output_spec(self, tokens):
        return keras.KerasTensor((tokens.shape[0], None), dtype=tokens.dtype)


@keras.saving.register_keras_serializable(package="mmfusion")
class StackMembers(keras.layers.Layer):
    """The members' probabilities, n x K x q."""

    def call(self, inputs):
        return ops.stack(inputs, axis=1)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((inputs[0].shape[0], len(inputs), *inputs[0].shape[1:]), dtype=inputs[0].dtype)


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


def build(model, cfg) -> tuple[keras.Model, keras.Model, list[keras.Model]]:
    """(training model: stacked probabilities, network: their mean, members) for the modality model
    `model` (a KerasModality with its preprocessing fitted), K = `ensemble` members."""
    size = recipes.ensemble_size(cfg)
    text = model.modality == "text"
    members = []
    for k in range(size):
        recipes.seed_member(cfg, k)  # as the sequential ensemble: member k's initial weights are the same
        with devices.scope(model.strategy):
            net = model.build_network(variable_length=True) if text else model.build_network()
            members.append(augment.wrap(net, cfg, model.modality))
    base = members[0].name
    with devices.scope(model.strategy):
        if text:
            inp = keras.Input(shape=(int(cfg.sequence_length),), dtype="int32", name="tokens")
            x = TrimPadding(name="trim_padding")(inp)
        else:
            spec = members[0].inputs[0]
            inp = x = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=spec.name)
        outs = []
        for k, member in enumerate(members):
            member.name = f"{base}_member{k}"
            outs.append(member(x))
        training = keras.Model(inp, StackMembers(name="members")(outs), name=f"{base}_batched")
        network = keras.Model(
            inp, keras.layers.Average(name="probabilities", dtype="float32")(outs), name=f"{base}_ensemble"
        )
    return training, network, members


def fit(model, x_train, y, validation, callbacks, logger, checkpoint_dir) -> tuple[keras.Model, dict]:
    """Train the K members of `model` (KerasModality, preprocessing fitted) together; returns (the
    network averaging them, history). `logger`: the per-epoch log callback; `validation`: as
    KerasModality.fit prepares it (None without a validation split)."""
    from pathlib import Path

    c, q = model.cfg, model.num_classes
    size = recipes.ensemble_size(c)
    # one batch order for every member: the one sequential member 0 draws (numpy's global RNG)
    seed = int(np.random.randint(2**31 - 1))
    data = model.batches(x_train, recipes.targets(c, y, q), shuffle_seed=seed)
    training, network, members = build(model, c)
    group, subdir, views = None, SUBDIR, members
    if grouped.requested(c):  # one recurrent loop per LSTM depth for every member (models/grouped.py)
        reason = grouped.why_not(c, members)
        if reason is None:
            with devices.scope(model.strategy):
                group = grouped.Grouped(members, StackMembers)
            training, subdir, views = group.training, grouped.SUBDIR, group.views
            log.info("%s ensemble: %d members, grouped LSTM (one recurrent loop per depth)", model.modality, size)
        else:
            log.warning(
                "%s ensemble: grouped_lstm=true not applied (%s); training the per-member batched model instead",
                model.modality,
                reason,
            )
    with devices.scope(model.strategy):
        training.compile(
            optimizer=recipes.make_optimizer(c, recipes.steps_per_epoch(len(y), c.batch_size)),
            loss=SumOfMemberLosses(c),
            metrics=_metrics(c, size),
        )
    extra = recipes.make_callbacks(c, validation is not None)
    reduce_lr = next((cb for cb in extra if isinstance(cb, keras.callbacks.ReduceLROnPlateau)), None)
    early_stopping = None
    if any(isinstance(cb, keras.callbacks.EarlyStopping) for cb in extra):
        early_stopping = MemberEarlyStopping(views, int(c.early_stopping_patience))
    schedule = [cb for cb in (early_stopping, reduce_lr) if cb is not None]
    all_callbacks = [MeanLossLogs(size), logger, *callbacks, *schedule]
    checkpoint = None
    if checkpoint_dir is not None:  # last: it saves the schedule's state too
        from mmfusion.models.checkpoint import EpochCheckpoint, read_state

        directory = Path(checkpoint_dir) / subdir
        checkpoint = EpochCheckpoint(directory, model.modality, early_stopping, reduce_lr)
        all_callbacks.append(checkpoint)
        state = read_state(directory)
        if state:  # a resumed run continues the per-epoch batch orders where it stopped
            data.start_at(int(state["epoch"]))
    hist = training.fit(
        data.dataset(int(c.epochs)),
        validation_data=validation,
        epochs=int(c.epochs),
        steps_per_epoch=data.num_batches,
        shuffle=False,  # the batches are shuffled per epoch by themselves
        verbose=0,
        callbacks=all_callbacks,
        class_weight=recipes.class_weights(c, y, q),
    )
    if group is not None:  # the trained LSTM slices into the member networks, which `network` averages
        group.to_members()
    if checkpoint is not None:
        return network, {k: list(v) for k, v in checkpoint.history.items()}
    return network, {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def unstack(network: keras.Model) -> list[keras.Model]:
    """The member sub-networks of a (batched or sequential) ensemble network, in member order."""
    return [layer for layer in network.layers if isinstance(layer, keras.Model)]
