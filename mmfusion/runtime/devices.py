"""Devices, precision and distribution of one run: `mixed_precision` and `distribute` in the config.

`configure(cfg)` sets Keras' global dtype policy (always, so one process running several configs never
inherits the last one's) and picks the tf.distribute strategy; models build and compile inside
`scope()`. On a CPU-only machine it is a no-op apart from one log line saying so.
"""

from __future__ import annotations

import contextlib
import logging

from mmfusion.errors import ConfigError

log = logging.getLogger(__name__)
DISTRIBUTE = ("auto", "mirrored", "none")
_strategy = None  # the strategy chosen by the last configure(); None: TensorFlow's default


def configure(cfg) -> str:
    """Apply the config's precision policy and strategy; returns a one-line description (also logged)."""
    global _strategy
    import keras
    import tensorflow as tf

    distribute = str(cfg.get("distribute", "auto")).lower()
    if distribute not in DISTRIBUTE:
        raise ConfigError(f"distribute={distribute!r} is not known; choose one of {list(DISTRIBUTE)}")
    gpus = tf.config.list_physical_devices("GPU")
    mixed = bool(cfg.get("mixed_precision", False))
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    if mixed and not gpus:
        log.warning("mixed_precision=true without a GPU: float16 on the CPU is slower, not faster")
    if distribute == "mirrored" or (distribute == "auto" and len(gpus) > 1):
        _strategy = tf.distribute.MirroredStrategy()
        strategy = f"MirroredStrategy over {_strategy.num_replicas_in_sync} replicas"
    else:
        _strategy = None
        strategy = "default (one device)"
    devices = ", ".join(d.name for d in gpus) if gpus else "CPU only (no GPU visible to TensorFlow)"
    text = f"devices: {devices}; strategy: {strategy}; precision policy: {keras.mixed_precision.global_policy().name}"
    log.info(text)
    return text


def scope():
    """Context in which networks are built and compiled: the strategy's scope, or nothing."""
    return _strategy.scope() if _strategy is not None else contextlib.nullcontext()
