"""Benchmark of the paper-size experiment: time per stage, peak memory, and the runner's overhead.

    python scripts/benchmark.py [--epochs 3] [--cold-runs 8] [--full] [--out benchmark.md] [overrides...]

Stages: data build with a cold cache (a fresh cache directory, `--cold-runs` runs per class, rate per
run) and with the warm cache (the configured experiment, normally already built by `mmfusion data
build experiment=paper`); text and series model seconds per epoch, each measured twice in this same
process: through mmfusion's model classes and through a minimal plain-Keras script training the same
network on the same arrays, in ABBA order (ratio = mmfusion / plain, target <= 1.05); fusion + evaluation; with
`--full`, the whole `train(cfg)` end to end. Timings are output, never test assertions.

    python scripts/benchmark.py --scaling [--sizes 2000 10000 40000] [--reference-max 10000] [--out f.md]

Scaling table (issue 13): for each size, synthetic series of 500 x 52 (series only, 1 epoch), one fresh
subprocess per measurement so that its peak RSS (os.wait4) is its own: `mmfusion` = the whole
`train(cfg)` (data held once, batches streamed to Keras); `NumPy input` = the same data and network
fed to plain `keras.Model.fit` as one in-memory float32 array (up to --reference-max samples: it holds
the extra copies the runner avoids). Each row gives the float32 bytes of the unique series and the
target peak RSS <= 2 x bytes + 2 GiB. `--abba` times each mode twice (mmfusion, NumPy, NumPy, mmfusion)
and reports the lower s/epoch (the least disturbed run) and the larger peak of each. Besides wall-clock
seconds, each epoch's CPU seconds of the process (all its threads) are given: on a shared machine they
vary far less with the other jobs' load.
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
                s.t, s.cpu = time.perf_counter(), time.process_time()

            def on_epoch_end(s, epoch, logs=None):
                self.times.append(time.perf_counter() - s.t)
                self.cpu.append(time.process_time() - s.cpu)

        self.times: list[float] = []
        self.cpu: list[float] = []  # CPU seconds of this process (all threads): less sensitive to other jobs
        self.callback = _T()

    def per_epoch(self, cpu: bool = False) -> float:
        """Median epoch time (wall clock, or this process's CPU time) after the first (graph tracing)."""
        times = self.cpu if cpu else self.times
        return statistics.median(times[1:] if len(times) > 1 else times)


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
    return timer.per_epoch(), timer.per_epoch(cpu=True)


def time_plain(build, x_prepared, y, cfg):
    """A minimal plain-Keras script: build, compile, fit on ready arrays."""
    import keras
    import numpy as np

    net = build()
    net.compile(
        optimizer=keras.optimizers.Adam(float(cfg.lr)), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    timer = EpochTimer()
    net.fit(
        x_prepared,
        np.asarray(y),
        epochs=int(cfg.epochs),
        batch_size=int(cfg.batch_size),
        verbose=0,
        callbacks=[timer.callback],
    )
    return timer.per_epoch(), timer.per_epoch(cpu=True)


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


SCALING = [
    "dataset=synthetic",
    "dataset.series_length=500",
    "dataset.series_variables=52",
    "modalities=[series]",
    "evaluation.bootstrap=0",
]


def scaling_child(mode: str, samples: int, epochs: int, out: Path) -> None:
    """One measurement in this (fresh) process; writes {'s_per_epoch', 'accuracy'} as JSON to out."""
    import json

    import keras
    import numpy as np

    from mmfusion.commands.train import seed_everything, train
    from mmfusion.config import compose_config

    cfg = compose_config(SCALING + [f"dataset.samples_per_class={samples // 4}", f"model.series.epochs={epochs}"])
    timer = EpochTimer()
    result = {"samples": samples, "mode": mode}
    if mode == "mmfusion":
        original = keras.Model.fit

        def fit_with_timer(self, *a, callbacks=None, **kw):
            return original(self, *a, callbacks=list(callbacks or []) + [timer.callback], **kw)

        keras.Model.fit = fit_with_timer
        with tempfile.TemporaryDirectory() as tmp:
            res = train(cfg, Path(tmp) / "run")
        result["accuracy"] = res["accuracy"]["series"]
    else:  # the reference: one in-memory float32 array, plain Keras
        from mmfusion.data import build_dataset
        from mmfusion.models import build_model
        from mmfusion.models.series_lstm import build_series_lstm

        ds = build_dataset(cfg.dataset)
        seed_everything(cfg.seed, cfg.deterministic)
        tr, mc = ds.splits["train"], cfg.model.series
        model = build_model("series", mc, ds.num_classes)
        model.fit_preprocessing(tr.x["series"])
        x = np.empty(tr.x["series"].shape, dtype=np.float32)
        for s in range(0, len(x), 256):  # float32 throughout: no float64 copy of the split
            x[s : s + 256] = model.transform(tr.x["series"][s : s + 256])
        net = build_series_lstm(x.shape[1:], ds.num_classes, mc.lstm_units, mc.dense_units)
        net.compile(
            optimizer=keras.optimizers.Adam(float(mc.lr)), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        net.fit(
            x, tr.y, epochs=epochs, batch_size=int(mc.batch_size), shuffle=True, verbose=0, callbacks=[timer.callback]
        )
    result["s_per_epoch"] = timer.per_epoch()  # median epoch after the first (tracing) when epochs > 1
    result["cpu_s_per_epoch"] = timer.per_epoch(cpu=True)
    out.write_text(json.dumps(result))


def run_child(mode: str, samples: int, epochs: int) -> dict:
    """Run scaling_child in a fresh interpreter; its own peak RSS from os.wait4."""
    import json
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--scaling-child", mode, str(samples), str(epochs), str(out)]
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        code = os.waitstatus_to_exitcode(status)
        result = json.loads(out.read_text()) if code == 0 and out.exists() else {"error": f"exit code {code}"}
    result.update(peak_rss_gib=usage.ru_maxrss / 2**20, wall_s=wall)
    print(f"  {mode} {samples}: {result}", flush=True)
    return result


def measure(n: int, with_reference: bool, epochs: int, abba: bool) -> tuple[dict, dict | None]:
    """One mmfusion and one NumPy-input child; with abba, mmfusion, NumPy, NumPy, mmfusion (so that the
    load of a shared machine drifting over time favours neither) and the lower s/epoch of each (the run
    least disturbed by other processes, as timeit takes the minimum)."""
    if not with_reference:
        return run_child("mmfusion", n, epochs), None
    order = ["mmfusion", "numpy", "numpy", "mmfusion"] if abba else ["mmfusion", "numpy"]
    runs = {"mmfusion": [], "numpy": []}
    for mode in order:
        runs[mode].append(run_child(mode, n, epochs))
    out = {}
    for mode, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        out[mode] = (
            rs[0]
            if len(ok) < len(rs)
            else {
                **rs[0],
                "s_per_epoch": min(r["s_per_epoch"] for r in rs),
                "cpu_s_per_epoch": min(r["cpu_s_per_epoch"] for r in rs),
                "peak_rss_gib": max(r["peak_rss_gib"] for r in rs),
            }
        )
    return out["mmfusion"], out["numpy"]


def scaling(sizes: list[int], reference_max: int, epochs: int, abba: bool = False) -> list[str]:
    lines = [
        "| samples | unique float32 series | target peak RSS (2 x + 2 GiB) | mmfusion peak RSS | "
        "mmfusion s/epoch | NumPy-input peak RSS | NumPy-input s/epoch | s/epoch ratio (target <= 1.05) | "
        "CPU s/epoch, mmfusion / NumPy input |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        gib = n * 500 * 52 * 4 / 2**30
        ours, ref = measure(n, n <= reference_max, epochs, abba)

        def cell(r, key, fmt):
            return "not run" if r is None else r.get("error") or fmt.format(r[key])

        def ratio(key):
            if ref and key in ref and key in ours:
                return f"{ours[key] / ref[key]:.3f}"
            return "n/a"

        cpu = (
            "n/a"
            if ratio("cpu_s_per_epoch") == "n/a"
            else (f"{ours['cpu_s_per_epoch']:.1f} / {ref['cpu_s_per_epoch']:.1f} = {ratio('cpu_s_per_epoch')}")
        )
        lines.append(
            f"| {n:,} | {gib:.2f} GiB | {2 * gib + 2:.2f} GiB | {cell(ours, 'peak_rss_gib', '{:.2f} GiB')} | "
            f"{cell(ours, 's_per_epoch', '{:.1f}')} | {cell(ref, 'peak_rss_gib', '{:.2f} GiB')} | "
            f"{cell(ref, 's_per_epoch', '{:.1f}')} | {ratio('s_per_epoch')} | {cpu} |"
        )
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--scaling-child":
        mode, samples, epochs, out = sys.argv[2:6]
        return scaling_child(mode, int(samples), int(epochs), Path(out))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3, help="epochs timed per network (first excluded)")
    p.add_argument("--cold-runs", type=int, default=8, help="runs per class simulated into a fresh cache")
    p.add_argument("--full", action="store_true", help="also time the whole train(cfg) end to end")
    p.add_argument("--out", type=Path, default=None, help="write the Markdown table here too")
    p.add_argument("--scaling", action="store_true", help="only the scaling table (synthetic 500 x 52, series)")
    p.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 40000], help="scaling: sample counts")
    p.add_argument("--reference-max", type=int, default=10000, help="scaling: largest size also run with NumPy input")
    p.add_argument("--abba", action="store_true", help="scaling: time each mode twice, in ABBA order")
    p.add_argument(
        "--scaling-epochs",
        type=int,
        default=1,
        help="scaling: epochs per measurement (more than 1: the first, with tracing, is not timed)",
    )
    p.add_argument("overrides", nargs="*", default=["experiment=paper"])
    args = p.parse_args()
    if args.scaling:
        import platform as pf

        head = [
            f"benchmark: `python scripts/benchmark.py {' '.join(sys.argv[1:])}`",
            f"machine: {pf.platform()}, {os.cpu_count()} CPUs, Python {pf.python_version()}",
            "",
        ]
        text = "\n".join(head + scaling(args.sizes, args.reference_max, args.scaling_epochs, args.abba)) + "\n"
        print(text)
        if args.out:
            args.out.write_text(text)
        return

    from mmfusion import probability
    from mmfusion.commands.train import fuse_all, seed_everything
    from mmfusion.config import compose_config
    from mmfusion.data import build_dataset
    from mmfusion.data.factory import load_series
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
        rows.append(
            (
                "data build, cold cache",
                f"{dt:.1f} s for {n} runs = {dt / n:.2f} s/run ({cfg.dataset.series.workers} workers)",
            )
        )
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

            def build(model=model, mcfg=mcfg):
                return build_text_lstm(
                    len(model.vocabulary),
                    mcfg.sequence_length,
                    ds.num_classes,
                    mcfg.embedding_dim,
                    mcfg.lstm_units,
                    mcfg.dense_units,
                )
        else:

            def build(prepared=prepared, mcfg=mcfg):
                return build_series_lstm(prepared.shape[1:], ds.num_classes, mcfg.lstm_units, mcfg.dense_units)

        # ABBA order (mmfusion, plain, plain, mmfusion) so that drift over time favours neither
        plain_a, plain_b = time_plain(build, prepared, tr.y, mcfg), time_plain(build, prepared, tr.y, mcfg)
        ours_b = time_runner(build_model(m, mcfg, ds.num_classes), tr.x[m], tr.y)
        (ours, ours_cpu), (plain, plain_cpu) = (
            [(a[k] + b[k]) / 2 for k in (0, 1)] for a, b in ((ours_a, ours_b), (plain_a, plain_b))
        )
        rows.append(
            (
                f"{m} model, s/epoch ({len(tr)} samples)",
                f"mmfusion {ours:.2f}, plain Keras {plain:.2f}, "
                f"ratio {ours / plain:.3f} (target <= 1.05; ABBA order, median epoch of each); "
                f"CPU s/epoch {ours_cpu:.2f} vs {plain_cpu:.2f}, ratio {ours_cpu / plain_cpu:.3f}",
            )
        )
        probs[m] = {s: model.predict_proba(split.x[m]) for s, split in ds.splits.items()}
        train_acc[m] = float((probs[m]["train"].argmax(1) == tr.y).mean())

    t = time.perf_counter()
    by_split = {s: {m: probs[m][s] for m in probs} for s in ds.splits}
    by_split_log = {s: {m: probability.as_log(p) for m, p in split.items()} for s, split in by_split.items()}
    fuse_all(cfg.fusion, ds, by_split, by_split_log, train_acc, list(probs))
    for name in ("series", "text", "fused"):
        evaluate(ds.splits["test"].y, by_split["test"][name], ds.classes)
    rows.append(("fusion + evaluation", f"{time.perf_counter() - t:.3f} s"))

    if args.full:
        from mmfusion.commands.train import train

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            res = train(cfg, Path(tmp) / "run")
            rows.append(
                (
                    "whole train(cfg), warm cache",
                    f"{time.perf_counter() - t:.0f} s (epochs text "
                    f"{cfg.model.text.epochs}, series {cfg.model.series.epochs}; accuracy {res['accuracy']})",
                )
            )
    rows.append(("peak memory (RSS, this process or a worker)", f"{peak_mb():.0f} MB"))

    import keras
    import tensorflow as tf

    lines = [
        f"benchmark: `python scripts/benchmark.py {' '.join(sys.argv[1:])}`",
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
        "",
        "| stage | measured |",
        "|---|---|",
    ]
    lines += [f"| {a} | {b} |" for a, b in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
