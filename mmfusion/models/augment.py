"""Training-time augmentation as Keras layers in front of a network (identity at prediction), so it
works with any input pipeline and is saved with the model:

- series: `jitter` (Gaussian noise, in z-scored units) and `time_shift` (each series moved by up to
  that many steps either way, the edge value repeated: a window that starts a little earlier or later);
- text: `token_dropout` (a share of the tokens replaced by the out-of-vocabulary id 1, never by the
  padding id 0, so the mask stays right-padded and the LSTM keeps its cuDNN kernel).

With every key at 0 the network is returned unchanged (the paper's training).
"""

from __future__ import annotations

import keras
from keras import ops

OOV_ID = 1  # TextVectorization: 0 is padding, 1 is "[UNK]"


@keras.saving.register_keras_serializable(package="mmfusion")
class RandomTimeShift(keras.layers.Layer):
    """Shift each series of a batch by a random integer in [-max_shift, max_shift] (training only)."""

    def __init__(self, max_shift: int, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_shift, self.seed = int(max_shift), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.max_shift <= 0:
            return inputs
        n, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        shift = keras.random.randint((n, 1), -self.max_shift, self.max_shift + 1, seed=self.seed_generator)
        index = ops.clip(ops.arange(length)[None, :] - shift, 0, length - 1)
        return ops.take_along_axis(inputs, ops.expand_dims(index, -1), axis=1)

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}


@keras.saving.register_keras_serializable(package="mmfusion")
class TokenDropout(keras.layers.Layer):
    """Replace a share `rate` of the non-padding token ids by the out-of-vocabulary id (training only)."""

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = float(rate), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate <= 0:
            return inputs
        draw = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator)
        drop = ops.logical_and(draw < self.rate, inputs > 0)
        return ops.where(drop, ops.cast(OOV_ID, inputs.dtype), inputs)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def layers(cfg, modality: str) -> list[keras.layers.Layer]:
    out = []
    if modality == "series":
        if cfg.time_shift > 0:
            out.append(RandomTimeShift(int(cfg.time_shift), name="time_shift"))
        if cfg.jitter > 0:
            out.append(keras.layers.GaussianNoise(float(cfg.jitter), name="jitter"))
    if modality == "text" and cfg.token_dropout > 0:
        out.append(TokenDropout(float(cfg.token_dropout), name="token_dropout"))
    return out


def wrap(network: keras.Model, cfg, modality: str) -> keras.Model:
    """The network behind the configured augmentation layers; unchanged when there are none."""
    extra = layers(cfg, modality)
    if not extra:
        return network
    spec = network.inputs[0]
    return chain(spec, [*extra, network], f"{network.name}_augmented", input_name=spec.name)


def chain(like, steps: list, name: str, input_name: str | None = None) -> keras.Model:
    """`steps` (layers or networks) applied one after the other to an input shaped as `like`, as one model
    (also the grouped ensemble's per-member sub-models, models/grouped.py)."""
    inp = keras.Input(shape=tuple(like.shape[1:]), dtype=like.dtype, name=input_name)
    x = inp
    for step in steps:
        x = step(x)
    return keras.Model(inp, x, name=name)
