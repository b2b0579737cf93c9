"""One seed for everything: Python, NumPy and TensorFlow (`keras.utils.set_random_seed`), and
TensorFlow op determinism when `deterministic` is on."""

from __future__ import annotations


def seed_everything(seed: int, deterministic: bool) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
