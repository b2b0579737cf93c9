"""One Keras network's training run, shared by the modality networks (models/base.py), the joint network
(models/joint.py) and the ensembles trained as one model (models/ensemble_model.py): compiled with the
recipe's optimizer (models/recipes.py), callbacks in a fixed order (the caller's first: progress log,
tracking; then early stopping and reduce-on-plateau; the epoch checkpoint last, as it saves their state),
a checkpointed run resumed where it stopped, and the history of every epoch (those restored from a
checkpoint included).
"""

from __future__ import annotations

from pathlib import Path

import keras

from mmfusion.models import recipes


def compile_network(network: keras.Model, cfg, n: int, loss=None, metrics=None) -> None:
    """The recipe's optimizer for `n` training samples; the recipe's loss and accuracy unless given."""
    # variables stacked over ensemble members (models/grouped_layer.py): clipped per member
    per_member = [v for layer in network.layers for v in getattr(layer, "member_stacked_variables", ())]
    network.compile(
        optimizer=recipes.make_optimizer(cfg, recipes.steps_per_epoch(n, cfg.batch_size), per_member),
        loss=recipes.make_loss(cfg) if loss is None else loss,
        metrics=[accuracy(cfg)] if metrics is None else metrics,
    )
    # the optimizer's slots now, not inside the first traced train step: a tf.function that creates
    # variables on its first call is traced a second time, which cost 2-3 s per network here
    network.optimizer.build(network.trainable_variables)


def accuracy(cfg) -> keras.metrics.Metric:
    """The "accuracy" metric Keras would pick for the recipe's targets (integer labels, or one-hot rows with
    label smoothing), made now: Keras resolves the string inside the first traced step, creating its
    variables there, which traces that step twice."""
    if recipes.smoothing(cfg) > 0:
        return keras.metrics.CategoricalAccuracy(name="accuracy")
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


def schedule(cfg, has_val: bool) -> tuple:
    """(early stopping or None, reduce-on-plateau or None), as the recipe configures them."""
    extra = recipes.make_callbacks(cfg, has_val)
    early_stopping = next((cb for cb in extra if isinstance(cb, keras.callbacks.EarlyStopping)), None)
    reduce_lr = next((cb for cb in extra if isinstance(cb, keras.callbacks.ReduceLROnPlateau)), None)
    return early_stopping, reduce_lr


def fit(
    network,
    cfg,
    modality: str,
    y,
    num_classes: int,
    inputs: dict,
    validation,
    callbacks,
    *,
    early_stopping=None,
    reduce_lr=None,
    checkpoint_dir=None,
    start_at=None,
) -> dict:
    """`network.fit(**inputs)` for `epochs` epochs with `callbacks`, then `early_stopping` and `reduce_lr`
    (None: off), then, with a `checkpoint_dir`, the epoch checkpoint; `start_at(epoch)` (optional) moves the
    data's per-epoch draws to the epoch a checkpoint resumes at. `inputs`: fit's data arguments, or a
    function returning them, called after `start_at`. Returns the history."""
    callbacks = [*callbacks, *(cb for cb in (early_stopping, reduce_lr) if cb is not None)]
    checkpoint = None
    if checkpoint_dir is not None:  # last: it saves early stopping's and reduce-on-plateau's state too
        from mmfusion.models.checkpoint import EpochCheckpoint, read_state

        checkpoint = EpochCheckpoint(checkpoint_dir, modality, early_stopping, reduce_lr)
        callbacks.append(checkpoint)
        if start_at is not None:  # a resumed run continues the per-epoch draws (batch orders) where it stopped
            state = read_state(Path(checkpoint_dir))
            if state:
                start_at(int(state["epoch"]))
    hist = network.fit(
        **(inputs() if callable(inputs) else inputs),
        validation_data=validation,
        epochs=int(cfg.epochs),
        verbose=0,
        callbacks=callbacks,
        class_weight=recipes.class_weights(cfg, y, num_classes),
    )
    if checkpoint is not None:  # every epoch, those restored from the checkpoint included
        return {k: list(vals) for k, vals in checkpoint.history.items()}
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}
