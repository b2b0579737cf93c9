"""Devices, precision and distribution of one run: `mixed_precision` and `distribute` in the config.

`configure(cfg)` sets Keras' global dtype policy (always, so one process running several configs never
inherits the last one's) and returns a DeviceSetup whose tf.distribute strategy (None: TensorFlow's default)
which the runner hands to each model; models build and compile inside `scope(strategy)`. On a
CPU-only machine it is a no-op apart from one log line saying so, and from the thread setting below.

Threads (`threads()`, applied by `configure`): on a machine without a GPU, TensorFlow's inter-op pool
(independent ops run side by side) is cut to 1 thread; the intra-op pool (threads inside one op) keeps
TensorFlow's default, one per core. For the project's small recurrent networks on 2 cores this spent
less CPU per epoch and ~20% less on tracing than 2 + 2 threads, and an intra-op pool of 1 with 2
inter-op threads was the slowest (docs/performance-ensembles.md). A run that trains a grouped ensemble
(`grouped_lstm=true`, ensemble > 1) keeps TensorFlow's inter-op default instead (one thread per core):
its members' heads, gradients and updates are independent ops large enough to overlap, and an
experiment=early fold with both ensembles grouped took about 10% less wall time with 2 inter-op threads
than with 1 (docs/performance-ensembles.md). TensorFlow's own variables TF_NUM_INTEROP_THREADS /
TF_NUM_INTRAOP_THREADS, when set, win over these defaults.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceSetup:
    description: str  # devices, strategy and precision policy in one line
    strategy: object = None  # tf.distribute strategy; None: TensorFlow's default (one device)


def configure(cfg) -> DeviceSetup:
    """Apply the config's precision policy and choose the strategy; the one-line description is logged."""
    import keras
    import tensorflow as tf

    distribute = str(cfg.distribute).lower()  # auto | mirrored | none: the config check refused anything else
    gpus = tf.config.list_physical_devices("GPU")
    pools = threads(cpu_only=not gpus, grouped=grouped_ensembles(cfg))
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
    text = f"devices: {devices}; strategy: {strategy}; precision policy: {keras.mixed_precision.global_policy().name}; {pools}"
    log.info(text)
    return DeviceSetup(text, chosen)


def scope(strategy=None):
    """Context in which networks are built and compiled: the strategy's scope, or nothing."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


CPU_INTER_OP_THREADS = 1  # measured on 2 cores (module docstring)


def grouped_ensembles(cfg) -> bool:
    """Whether the run trains a grouped ensemble (a model with `grouped_lstm=true` and ensemble > 1)."""
    models = cfg.get("model") or {}
    return any(bool(m.get("grouped_lstm")) and int(m.get("ensemble") or 1) > 1 for m in models.values())


def threads(cpu_only: bool, grouped: bool = False) -> str:
    """Apply the default thread pools (module docstring) unless the environment sets them; returns what
    TensorFlow uses, in words. Only possible before TensorFlow runs its first op (else left as it is)."""
    import tensorflow as tf

    if cpu_only and not grouped and "TF_NUM_INTEROP_THREADS" not in os.environ:
        try:
            tf.config.threading.set_inter_op_parallelism_threads(CPU_INTER_OP_THREADS)
        except RuntimeError:  # TensorFlow already running: its pools are fixed for this process
            log.debug("TensorFlow already initialised: thread pools left as they are")
    intra = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    inter = tf.config.threading.get_inter_op_parallelism_threads() or "default"
    return f"intra-op threads {intra}, inter-op threads {inter}"
