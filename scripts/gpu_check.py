"""GPU readiness, measured: devices, cuDNN LSTM kernels, paper-size series epoch in float32 and mixed precision.

    python scripts/gpu_check.py --out DIR [--samples 1600] [--epochs 3] [--allow-cpu]

Called by scripts/gpu_check.sh. Exits non-zero, saying why, when TensorFlow sees no GPU (unless
--allow-cpu, for trying the script on a CPU machine), when the paper's LSTMs do not compile to the
cuDNN kernel (CudnnRNNV3 ops in the traced training step), or when a timing run fails. Writes
DIR/gpu_check.json with every figure it printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def fail(msg: str) -> None:
    print(f"GPU CHECK FAILED: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def cudnn_ops(net, x) -> int:
    """Number of CudnnRNN* ops in the traced training step of net (0: the generic LSTM loop)."""
    import tensorflow as tf

    @tf.function
    def step(batch):
        return net(batch, training=True)

    graph = step.get_concrete_function(tf.TensorSpec((None, *x.shape[1:]), x.dtype)).graph
    names = [op.type for op in graph.get_operations()]
    for fn in getattr(graph, "_functions", {}).values():  # ops inside nested function definitions too
        try:
            names += [node.op for node in fn.cached_definition.node_def]
        except AttributeError:
            names += [node.op for node in fn.definition.node_def]
    return sum(n.startswith("CudnnRNN") for n in names)


def epoch_seconds(x, y, mixed: bool, epochs: int) -> tuple[float, int]:
    """Median epoch time after the first (tracing) of the paper's series LSTM; and its cuDNN op count."""
    import keras

    from mmfusion.models.series_lstm import build_series_lstm

    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    try:
        net = build_series_lstm(x.shape[1:], 4)
        ops = cudnn_ops(net, x[:2])
        net.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        times = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.t)

        net.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[Timer()])
        later = sorted(times[1:]) or times
        return later[len(later) // 2], ops
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--samples", type=int, default=1600, help="series in the timed training set (paper: 1,600)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per timing (the first, with tracing, is excluded)")
    p.add_argument("--allow-cpu", action="store_true", help="run without a GPU (to try the script itself)")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import keras
    import numpy as np
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    build = tf.sysconfig.get_build_info()
    res = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "built_with_cuda": tf.test.is_built_with_cuda(),
        "cuda_version": build.get("cuda_version"),
        "cudnn_version": build.get("cudnn_version"),
        "devices": [d.name for d in tf.config.list_physical_devices()],
        "gpus": [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus],
    }
    print(json.dumps(res, indent=1), flush=True)
    if not gpus and not args.allow_cpu:
        fail(
            f"TensorFlow {tf.__version__} sees no GPU (devices: {res['devices']}; built with CUDA: "
            f"{res['built_with_cuda']}). Install the gpu extra (pip install '.[gpu]') on a machine with an NVIDIA "
            f"driver, and check nvidia-smi."
        )
    for g in gpus:
        tf.config.experimental.set_memory_growth(g, True)

    res["samples"] = args.samples
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.samples, 500, 52)).astype(np.float32)
    y = rng.integers(0, 4, size=args.samples)
    for mixed in (False, True):
        name = "mixed_float16" if mixed else "float32"
        try:
            seconds, ops = epoch_seconds(x, y, mixed, args.epochs)
        except Exception as exc:  # noqa: BLE001 - report and fail loudly
            fail(f"training the paper's series network in {name} raised {type(exc).__name__}: {exc}")
        res[f"series_epoch_s_{name}"] = round(seconds, 3)
        res[f"cudnn_lstm_ops_{name}"] = ops
        print(
            f"{name}: {seconds:.2f} s/epoch ({args.samples} x 500 x 52, batch 32); CudnnRNN ops in the "
            f"training step: {ops}",
            flush=True,
        )
        if gpus and ops < 3:
            fail(
                f"{name}: the paper's three LSTM layers traced to {ops} cuDNN op(s), expected 3: the LSTMs run "
                f"the generic loop (check activations, recurrent_dropout, unroll; Keras {keras.__version__})"
            )
    (args.out / "gpu_check.json").write_text(json.dumps(res, indent=1))
    print(f"written: {args.out / 'gpu_check.json'}")


if __name__ == "__main__":
    main()
