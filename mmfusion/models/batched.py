"""Batched ensembles (`model.<m>.batched_ensemble=true` with `ensemble=K`): the K members in one Keras model,
trained together, one forward and one backward pass per batch (what such a model's training shares with
the grouped layout, models/grouped.py: models/ensemble_model.py, which also lists how it differs from
sequential training).

Layout. One input; for text networks, `TrimPadding` cuts the right-padded token ids to the longest text
of the batch (the steps it drops are masked in every row, so an LSTM's final state is unchanged: exact,
and 2-4x fewer recurrent steps on the factory reports, 6 tokens median in 40 slots); then K member
sub-networks, each the modality's usual network (`build_network`, behind its own augmentation layers),
built after `recipes.seed_member(cfg, k)` as the sequential ensemble builds them, so member k starts from
the same initial weights as sequential member k. Training uses `training` (the members' probabilities
stacked, n x K x q, ensemble_model.StackMembers). The saved and predicting network is `network`: the mean
of the members' probabilities, one .keras file with the same layout as the sequential ensemble's
(`recipes.average`), so prediction (`KerasModality.predict_log_proba`: log of the mean of the members'
probabilities) is the same code either way.

Checkpoints (`training.checkpoint`) go to `<checkpoint dir>/batched` (models/ensemble_model.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import keras
import numpy as np
from keras import ops

from mmfusion.models import augment, ensemble_model, grouped, recipes
from mmfusion.runtime import devices

log = logging.getLogger(__name__)

SUBDIR = "batched"  # checkpoints of a batched ensemble, apart from the sequential members' member<k>/


def enabled(cfg) -> bool:
    """`batched_ensemble=true`, or `grouped_lstm=true` (the batched series or text ensemble with one recurrent
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
        inp, x = inputs(model, members)
        outs = []
        for k, member in enumerate(members):
            member.name = f"{base}_member{k}"
            outs.append(member(x))
        training = keras.Model(inp, ensemble_model.StackMembers(name="members")(outs), name=f"{base}_batched")
        network = keras.Model(
            inp, keras.layers.Average(name="probabilities", dtype="float32")(outs), name=f"{base}_ensemble"
        )
    return training, network, members


def inputs(model, members: list[keras.Model]) -> tuple:
    """(the ensemble model's input, the tensor its members take): for text networks the token ids and the
    batch cut to its longest text; else one input shaped as the members'."""
    if model.modality == "text":
        inp = keras.Input(shape=(int(model.cfg.sequence_length),), dtype="int32", name="tokens")
        return inp, TrimPadding(name="trim_padding")(inp)
    spec = members[0].inputs[0]
    inp = keras.Input(shape=tuple(spec.shape[1:]), dtype=spec.dtype, name=spec.name)
    return inp, inp


def fit(model, x_train, y, validation, callbacks, logger, checkpoint_dir) -> tuple[keras.Model, dict]:
    """Train the K members of `model` (KerasModality, preprocessing fitted) together; returns (the
    network averaging them, history). `logger`: the per-epoch log callback; `validation`: as
    KerasModality.fit prepares it (None without a validation split)."""
    c, q = model.cfg, model.num_classes
    # one batch order for every member: the one sequential member 0 draws (numpy's global RNG)
    seed = int(np.random.randint(2**31 - 1))
    data = model.batches(x_train, recipes.targets(c, y, q), shuffle_seed=seed)
    training, network, members = build(model, c)
    group = _grouped(model, members)
    subdir, views = (SUBDIR, members) if group is None else (grouped.SUBDIR, group.views)
    history = ensemble_model.fit(
        model,
        training if group is None else group.training,
        views,
        data,
        y,
        validation,
        [logger, *callbacks],
        None if checkpoint_dir is None else Path(checkpoint_dir) / subdir,
    )
    if group is not None:  # the trained LSTM slices into the member networks, which `network` averages
        group.to_members()
    return network, history


def _grouped(model, members: list[keras.Model]) -> grouped.Grouped | None:
    """With `grouped_lstm=true`: the members' grouped training model (models/grouped.py), or None (logged)
    when they do not qualify, so that the per-member batched model trains instead."""
    if not grouped.requested(model.cfg):
        return None
    reason = grouped.why_not(members)
    if reason is not None:
        log.warning(
            "%s ensemble: grouped_lstm=true not applied (%s); training the per-member batched model instead",
            model.modality,
            reason,
        )
        return None
    with devices.scope(model.strategy):
        group = grouped.Grouped(members, inputs(model, members))
    size = len(members)
    log.info("%s ensemble: %d members, grouped LSTM (one recurrent loop per depth)", model.modality, size)
    return group


def unstack(network: keras.Model) -> list[keras.Model]:
    """The member sub-networks of a (batched or sequential) ensemble network, in member order."""
    return [layer for layer in network.layers if isinstance(layer, keras.Model)]
