"""Benchmark of the paper-size experiment: time per stage, peak memory, and the runner's overhead.

    python scripts/benchmark.py [--epochs 3] [--cold-runs 8] [--full] [--out benchmark.md] [overrides...]

Stages: data build with a cold cache (a fresh cache directory, `--cold-runs` runs per class, rate per
run) and with the warm cache (the configured experiment, normally already built by `mmfusion data
build experiment=paper`); text and series model seconds per epoch, each measured twice in this same
process: through mmfusion's model classes and through a minimal plain-Keras script training the same
network on the same arrays, in ABBA order (ratio = mmfusion / plain, target <= 1.05); fusion + evaluation; with
`--full`, the whole `train(cfg)` end to end. Timings are output, never test assertions.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class EpochTimer:
    def __init__(self):
        import keras

        class _T(keras.callbacks.Callback):
            def on_epoch_begin(s, epoch, logs=None):
                s.t = time.perf_counter()

            def on_epoch_end(s, epoch, logs=None):
                self.times.append(time.perf_counter() - s.t)

        self.times: list[float] = []
        self.callback = _T()

    def per_epoch(self) -> float:
        """Median epoch time after the first (which includes graph tracing)."""
        return statistics.median(self.times[1:] if len(self.times) > 1 else self.times)


def time_runner(model, x, y):
    """mmfusion's path: KerasModality.fit, with its preprocessing and callbacks."""
    import keras

    timer = EpochTimer()
    original = keras.Model.fit

    def fit_with_timer(self, *a, callbacks=None, **kw):
        return original(self, *a, callbacks=list(callbacks or []) + [timer.callback], **kw)

    keras.Model.fit = fit_with_timer
    try:
        model.fit((x, y))
    finally:
        keras.Model.fit = original
    return timer.per_epoch()


def time_plain(build, x_prepared, y, cfg):
    """A minimal plain-Keras script: build, compile, fit on ready arrays."""
    import keras
    import numpy as np

    net = build()
    net.compile(optimizer=keras.optimizers.Adam(float(cfg.lr)), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    net.fit(x_prepared, np.asarray(y), epochs=int(cfg.epochs), batch_size=int(cfg.batch_size), verbose=0,
            callbacks=[timer.callback])
    return timer.per_epoch()


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3, help="epochs timed per network (first excluded)")
    p.add_argument("--cold-runs", type=int, default=8, help="runs per class simulated into a fresh cache")
    p.add_argument("--full", action="store_true", help="also time the whole train(cfg) end to end")
    p.add_argument("--out", type=Path, default=None, help="write the Markdown table here too")
    p.add_argument("overrides", nargs="*", default=["experiment=paper"])
    args = p.parse_args()

    from mmfusion.cli import compose_config
    from mmfusion.commands.train import fuse_all, seed_everything
    from mmfusion.data import build_dataset
    from mmfusion.data.factory import load_series
    from mmfusion.evaluation import calibration
    from mmfusion.evaluation.metrics import evaluate
    from mmfusion.models import build_model
    from mmfusion.models.series_lstm import build_series_lstm
    from mmfusion.models.text_lstm import build_text_lstm

    cfg = compose_config(args.overrides)
    rows = []
    seed_everything(cfg.seed, cfg.deterministic)
    if cfg.dataset.name == "factory" and cfg.dataset.series.source == "simulate" and args.cold_runs:
        cold = cfg.copy()
        cold.dataset.series.runs_per_class = args.cold_runs
        with tempfile.TemporaryDirectory() as tmp:
            cold.dataset.series.cache_dir = tmp
            t = time.perf_counter()
            load_series(cold.dataset.series, cold.dataset.seed, progress=False)
            dt = time.perf_counter() - t
        n = args.cold_runs * len(cfg.dataset.series.faults)
        rows.append(("data build, cold cache", f"{dt:.1f} s for {n} runs = {dt / n:.2f} s/run "
                     f"({cfg.dataset.series.workers} workers)"))
    t = time.perf_counter()
    ds = build_dataset(cfg.dataset)
    hits = ds.info.get("series_info", {}).get("cache_hits", "n/a")
    rows.append(("data build, warm cache", f"{time.perf_counter() - t:.1f} s (cache hits: {hits}; sizes {ds.sizes()})"))

    tr = ds.splits["train"]
    probs, train_acc = {}, {}
    for m, builder in (("text", None), ("series", None)):
        mcfg = cfg.model[m].copy()
        mcfg.epochs = args.epochs
        model = build_model(m, mcfg, ds.num_classes)
        ours_a = time_runner(model, tr.x[m], tr.y)
        prepared = model.transform(tr.x[m])
        if m == "text":
            build = lambda: build_text_lstm(len(model.vocabulary), mcfg.sequence_length, ds.num_classes,  # noqa: E731
                                            mcfg.embedding_dim, mcfg.lstm_units, mcfg.dense_units)
        else:
            build = lambda: build_series_lstm(prepared.shape[1:], ds.num_classes, mcfg.lstm_units, mcfg.dense_units)  # noqa: E731
        # ABBA order (mmfusion, plain, plain, mmfusion) so that drift over time favours neither
        plain = (time_plain(build, prepared, tr.y, mcfg) + time_plain(build, prepared, tr.y, mcfg)) / 2
        ours = (ours_a + time_runner(build_model(m, mcfg, ds.num_classes), tr.x[m], tr.y)) / 2
        rows.append((f"{m} model, s/epoch ({len(tr)} samples)", f"mmfusion {ours:.2f}, plain Keras {plain:.2f}, "
                     f"ratio {ours / plain:.3f} (target <= 1.05; ABBA order, median epoch of each)"))
        probs[m] = {s: model.predict_proba(split.x[m]) for s, split in ds.splits.items()}
        train_acc[m] = float((probs[m]["train"].argmax(1) == tr.y).mean())

    t = time.perf_counter()
    by_split = {s: {m: probs[m][s] for m in probs} for s in ds.splits}
    by_split_log = {s: {m: calibration.as_log(p) for m, p in split.items()} for s, split in by_split.items()}
    fuse_all(cfg.fusion, ds, by_split, by_split_log, train_acc, list(probs))
    for name in ("series", "text", "fused"):
        evaluate(ds.splits["test"].y, by_split["test"][name], ds.classes)
    rows.append(("fusion + evaluation", f"{time.perf_counter() - t:.3f} s"))

    if args.full:
        from mmfusion.commands.train import train

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            res = train(cfg, Path(tmp) / "run")
            rows.append(("whole train(cfg), warm cache", f"{time.perf_counter() - t:.0f} s (epochs text "
                         f"{cfg.model.text.epochs}, series {cfg.model.series.epochs}; accuracy {res['accuracy']})"))
    rows.append(("peak memory (RSS, this process or a worker)", f"{peak_mb():.0f} MB"))

    import keras
    import tensorflow as tf

    lines = [f"benchmark: `python scripts/benchmark.py {' '.join(sys.argv[1:])}`",
             f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
             f"TensorFlow {tf.__version__}, Keras {keras.__version__}", "", "| stage | measured |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
