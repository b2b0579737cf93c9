"""Devices, precision and distribution of one run: `mixed_precision` and `distribute` in the config.

`configure(cfg)` sets Keras' global dtype policy (always, so one process running several configs never
inherits the last one's) and returns a DeviceSetup whose tf.distribute strategy (None: TensorFlow's default)
which the runner hands to each model; models build and compile inside `scope(strategy)`. On a
CPU-only machine it is a no-op apart from one log line saying so.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from mmfusion.errors import ConfigError

log = logging.getLogger(__name__)
DISTRIBUTE = ("auto", "mirrored", "none")


@dataclass(frozen=True)
class DeviceSetup:
    description: str  # devices, strategy and precision policy in one line
    strategy: object = None  # tf.distribute strategy; None: TensorFlow's default (one device)


def configure(cfg) -> DeviceSetup:
    """Apply the config's precision policy and choose the strategy; the one-line description is logged."""
    import keras
    import tensorflow as tf

    distribute = str(cfg.distribute).lower()
    if distribute not in DISTRIBUTE:
        raise ConfigError(f"distribute={distribute!r} is not known; choose one of {list(DISTRIBUTE)}")
    gpus = tf.config.list_physical_devices("GPU")
    mixed = bool(cfg.mixed_precision)
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    if mixed and not gpus:
        log.warning("mixed_precision=true without a GPU: float16 on the CPU is slower, not faster")
    if distribute == "mirrored" or (distribute == "auto" and len(gpus) > 1):
        chosen = tf.distribute.MirroredStrategy()
        strategy = f"MirroredStrategy over {chosen.num_replicas_in_sync} replicas"
    else:
        chosen = None
        strategy = "default (one device)"
    devices = ", ".join(d.name for d in gpus) if gpus else "CPU only (no GPU visible to TensorFlow)"
    text = f"devices: {devices}; strategy: {strategy}; precision policy: {keras.mixed_precision.global_policy().name}"
    log.info(text)
    return DeviceSetup(text, chosen)


def scope(strategy=None):
    """Context in which networks are built and compiled: the strategy's scope, or nothing."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()
