"""Training recipes of the Keras networks, each from one key of `model.<m>` whose default keeps the
paper's training unchanged: optimizer (clipnorm, weight_decay -> AdamW), learning-rate schedule
(reduce_on_plateau | cosine), loss (label_smoothing: categorical cross-entropy on one-hot targets,
since Keras 3's sparse loss has no smoothing), class weights (balanced), extra callbacks, and the
seeds and averaging of an ensemble of K networks (`ensemble`).

Small functions that `KerasModality.fit` and the joint network (`JointLSTM.fit`) call; they never see
the data pipeline, only sizes and labels (`fit_members`: the ensemble's loop, given a function that
trains one member).
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

OPTIMIZERS = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}


def make_optimizer(cfg, steps_per_epoch: int = 1, per_member=()) -> keras.optimizers.Optimizer:
    """`optimizer` at `lr`; `clipnorm` clips each gradient's L2 norm (`per_member`: variables whose axis 0
    is an ensemble member, models/grouped_layer.py, clipped per member); `weight_decay` > 0 decouples weight
    decay (Adam becomes AdamW); `lr_schedule=cosine` decays the rate to 0 over `epochs` epochs. The
    schema (mmfusion/schemas/models.py) holds every key's default and allowed values."""
    lr = float(cfg.lr)
    if cfg.lr_schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, int(cfg.epochs) * int(steps_per_epoch)))
    return optimizer(cfg.optimizer, lr, cfg.clipnorm, cfg.weight_decay, per_member)


def optimizer(
    name: str, lr, clipnorm: float | None = None, weight_decay: float = 0.0, per_member=()
) -> keras.optimizers.Optimizer:
    """The optimiser `name` at the rate `lr` (a number or a schedule); clipnorm null or 0: no clipping."""
    kwargs = {"learning_rate": lr}
    if clipnorm:
        kwargs["clipnorm"] = float(clipnorm)
    cls = OPTIMIZERS[name]
    if weight_decay > 0:
        kwargs["weight_decay"] = float(weight_decay)
        if name == "adam":
            cls = keras.optimizers.AdamW
    if not (clipnorm and per_member):
        return cls(**kwargs)
    clipped = type(f"MemberClipped{cls.__name__}", (MemberClipping, cls), {})(**kwargs)
    clipped.per_member = {id(v) for v in per_member}
    return clipped


class MemberClipping:
    """Mixed into an optimizer class: `clipnorm` clips the gradient of each variable in `per_member` (ids of
    variables whose axis 0 is an ensemble member) per member slice, by that slice's own L2 norm, and every
    other gradient by its whole norm as Keras does; so a grouped ensemble member is clipped as its own
    variables would be."""

    per_member: set = set()
    _members_clipped = False

    def _backend_apply_gradients(self, grads, trainable_variables):
        grads = [
            g
            if g is None
            else self._clip_by_norm(g, tuple(range(1, len(g.shape))) if id(v) in self.per_member else None)
            for g, v in zip(grads, trainable_variables)
        ]
        self._members_clipped = True  # read while tracing: Keras' own clipping is skipped below
        try:
            return super()._backend_apply_gradients(grads, trainable_variables)
        finally:
            self._members_clipped = False

    def _clip_gradients(self, grads):
        return grads if self._members_clipped else super()._clip_gradients(grads)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, math.ceil(int(n) / int(batch_size)))


def smoothing(cfg) -> float:
    return float(cfg.label_smoothing)


def make_loss(cfg):
    """The loss Keras compiles: the paper's sparse cross-entropy unless label smoothing is on."""
    if smoothing(cfg) > 0:
        return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing(cfg))
    return "sparse_categorical_crossentropy"


def targets(cfg, y, num_classes: int) -> np.ndarray:
    """Integer labels, or one-hot rows when the loss is the smoothed categorical one."""
    y = np.asarray(y)
    if smoothing(cfg) > 0:
        return np.eye(num_classes, dtype=np.float32)[y]
    return y


def class_weights(cfg, y, num_classes: int) -> dict[int, float] | None:
    """`class_weight=balanced`: n / (classes present * count) per class, as scikit-learn's 'balanced'."""
    if cfg.class_weight != "balanced":  # none
        return None
    counts = np.bincount(np.asarray(y, dtype=int), minlength=num_classes)
    present = int((counts > 0).sum())
    return {c: (float(len(y)) / (present * counts[c]) if counts[c] else 1.0) for c in range(num_classes)}


def make_callbacks(cfg, has_val: bool) -> list:
    """Early stopping (needs validation data) and reduce-on-plateau (val_loss, else training loss)."""
    out = []
    patience = cfg.early_stopping_patience
    if has_val and patience:
        out.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience), restore_best_weights=True))
    if cfg.lr_schedule == "reduce_on_plateau":
        out.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss" if has_val else "loss",
                factor=float(cfg.lr_factor),
                patience=int(cfg.lr_patience),
                min_lr=float(cfg.lr) * 1e-3,
            )
        )
    return out


def ensemble_size(cfg) -> int:
    return int(cfg.ensemble)


def seed_member(cfg, k: int) -> None:
    """Member 0 keeps the run's seeding (so ensemble=1 is today's network); member k > 0 reseeds Keras
    from (ensemble_seed, k), a stream of its own."""
    if k > 0:
        base = int(cfg.ensemble_seed)
        keras.utils.set_random_seed(int(np.random.SeedSequence([base, k]).generate_state(1)[0]))


def fit_members(cfg, checkpoint_dir, fit_one) -> tuple[keras.Model, dict]:
    """`ensemble`=K independently seeded networks, trained one after the other: member k by `fit_one(k,
    its checkpoint directory)` -> (network, history), called right after `seed_member(cfg, k)`; with K > 1
    each member checkpoints to `<checkpoint_dir>/member<k>` (each resumes its own training). Returns
    (member 0 alone, or the network averaging the members; the first member's history: members may stop
    at different epochs). The modality networks' (models/base.py) and the joint network's loop."""
    members, history, size = [], {}, ensemble_size(cfg)
    for k in range(size):
        seed_member(cfg, k)
        checkpoints = checkpoint_dir
        if size > 1 and checkpoints is not None:
            checkpoints = Path(checkpoints) / f"member{k}"
        network, hist = fit_one(k, checkpoints)
        members.append(network)
        history = history or hist
    return (members[0] if size == 1 else average(members)), history


def average(members: list[keras.Model]) -> keras.Model:
    """One network whose output is the mean of the members' probabilities (saved as one .keras file). A
    network with several named inputs (the joint network's tokens, series, present) is fed the same dict
    of inputs."""
    base = members[0].name
    inputs = {t.name: keras.Input(shape=tuple(t.shape[1:]), dtype=t.dtype, name=t.name) for t in members[0].inputs}
    x = next(iter(inputs.values())) if len(inputs) == 1 else inputs
    outs = []
    for k, member in enumerate(members):
        member.name = f"{base}_member{k}"
        outs.append(member(x))
    out = keras.layers.Average(name="probabilities", dtype="float32")(outs)
    return keras.Model(x, out, name=f"{base}_ensemble")
