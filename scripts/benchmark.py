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

    python scripts/benchmark.py --ensembles [--quick] [--parts fold ensemble] [--cases early paper_text] [--out f.md]

Sequential against batched ensembles (issue 23; `model.<m>.batched_ensemble`): for each case, one
experiment=early CV fold (series x3 + text x5 + fusion) and one experiment=paper text fold
(`modalities=[text]`, text x5), fold 0 of 5, `part fold` times the whole `mmfusion train` in a fresh
subprocess (wall seconds, CPU seconds of the process and its threads from os.wait4, peak RSS, test
accuracy) and `part ensemble` only the ensembles' `fit` (each modality's ensemble alone), in ABBA order
(sequential, batched, batched, sequential) so that the load of a shared machine drifting over time
favours neither; `uptime`'s load average is taken before every run. `--quick` keeps the data sizes per
epoch (the same texts and series) but simulates fewer TEP runs and trains fewer epochs; `--threads
INTRA,INTER` sets TensorFlow's thread pools of the children (TF_NUM_INTRAOP_THREADS /
TF_NUM_INTEROP_THREADS); `--grouped` adds a third arm, the batched ensembles with the series one's LSTMs
grouped into one recurrent loop per depth (`model.series.grouped_lstm=true`, models/grouped.py), run
sequential, batched, grouped, grouped, batched, sequential; `--baseline DIR` (with `--parts fold`) puts
"today's path" first instead of the batched arm: the same fold run by the code of an older checkout DIR
(its own defaults, i.e. the sequential ensembles it had; e.g. a `git worktree` of the commit before issue
23's work, with `ln -s ../conf mmfusion/conf` so that the package finds that checkout's configs when this
environment's Python runs it from DIR), order baseline, sequential, grouped, grouped, sequential,
baseline; `--parallel-folds` also times folds 0 and 1 as two jobs at once
(hydra/launcher=local_parallel) against one after the other.
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


ENSEMBLE_CASES = {  # fold 0 of grouped 5-fold cross-validation, as scripts/reproduce/reproduce_cv.sh runs them
    "early": ["experiment=early", "dataset.cv.folds=5", "dataset.cv.fold=0"],
    "paper_text": ["experiment=paper", "modalities=[text]", "dataset.cv.folds=5", "dataset.cv.fold=0"],
}
QUICK = {  # same samples per epoch, fewer simulated runs (the series pool) and fewer epochs
    "early": ["dataset.series.runs_per_class=10", "model.text.epochs=6", "model.series.epochs=6"],
    "paper_text": ["dataset.series.runs_per_class=5", "model.text.epochs=6"],
}
MODES = {
    "sequential": ["model.text.batched_ensemble=false", "model.series.batched_ensemble=false"],
    "batched": ["model.text.batched_ensemble=true", "model.series.batched_ensemble=true"],
    # the batched ensembles, each with one recurrent loop per LSTM depth (models/grouped.py)
    "grouped": [
        "model.text.batched_ensemble=true",
        "model.series.batched_ensemble=true",
        "model.text.grouped_lstm=true",
        "model.series.grouped_lstm=true",
    ],
}
GROUPED_ORDER = ("sequential", "batched", "grouped", "grouped", "batched", "sequential")  # ABCCBA
# --baseline: an older checkout's own defaults first (today's path when the issue was filed)
BASELINE_ORDER = ("baseline", "sequential", "grouped", "grouped", "sequential", "baseline")


def load_average() -> str:
    """`uptime`'s 1-minute load average (the machine may be shared with other jobs)."""
    return f"{os.getloadavg()[0]:.1f}"


def scaling_threads() -> str:
    """The scaling children's TensorFlow thread pools: the mmfusion child runs `mmfusion train`, which
    sets one inter-op thread on a CPU (runtime/devices.py), the NumPy child keeps TensorFlow's default
    (one per core), unless TF_NUM_INTEROP_THREADS sets both."""
    if "TF_NUM_INTEROP_THREADS" in os.environ:
        return f"TF_NUM_INTEROP_THREADS={os.environ['TF_NUM_INTEROP_THREADS']} in both children (environment)"
    return "inter-op: the mmfusion child as `mmfusion train` sets it (1 on a CPU), the NumPy child TensorFlow's default"


def code_and_load(load_at_start: str | None = None) -> str:
    """The header's provenance: the commit of the code measured and the load when the benchmark began."""
    code = checkout_commit(Path(__file__).resolve().parents[1])
    return f"code measured: {code}; load average at the start: {load_at_start or load_average()}"


def ensemble_child(case_overrides: list[str], out: Path) -> None:
    """In a fresh process: each modality's ensemble `fit` alone, timed (wall and this process's CPU)."""
    import json

    import keras

    from mmfusion.commands.train import seed_everything
    from mmfusion.config import compose_config
    from mmfusion.data import build_dataset
    from mmfusion.models import build_model

    cfg = compose_config(case_overrides)
    import tensorflow as tf

    from mmfusion.runtime import devices

    # the thread pools `mmfusion train` would use for this config (TF_NUM_* from --threads win)
    devices.threads(cpu_only=not tf.config.list_physical_devices("GPU"), grouped=devices.grouped_ensembles(cfg))
    ds = build_dataset(cfg.dataset)
    result = {}
    fits: list[list[tuple[float, float]]] = []  # per keras fit (a member, or the batched ensemble): epochs

    class _Epochs(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            fits.append([])

        def on_epoch_begin(self, epoch, logs=None):
            self.t, self.c = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            fits[-1].append((time.perf_counter() - self.t, time.process_time() - self.c))

    original = keras.Model.fit

    def fit_with_timer(self, *a, callbacks=None, **kw):
        return original(self, *a, callbacks=[*(callbacks or []), _Epochs()], **kw)

    keras.Model.fit = fit_with_timer
    for m in [m for m in ("series", "text") if m in cfg.modalities]:
        seed_everything(cfg.seed, cfg.deterministic)
        tr, va, te = ds.splits["train"], ds.splits.get("val"), ds.splits["test"]
        model = build_model(m, cfg.model[m], ds.num_classes)
        val = (va.x[m], va.y) if va is not None and len(va.y) else None
        t, c = time.perf_counter(), time.process_time()
        fits.clear()
        history = model.fit((tr.x[m], tr.y), val)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        accuracy = float((model.predict_proba(te.x[m]).argmax(1) == te.y).mean())
        result[m] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "epochs": len(history.get("loss", [])),
            "accuracy": accuracy,
            # summed over the fits (members one after another, or the one batched fit): the first epoch
            # (graph tracing included) and the median later epoch, i.e. the CPU seconds of one ensemble epoch
            "first_epoch_cpu_s": sum(f[0][1] for f in fits if f),
            "later_epoch_cpu_s": sum(statistics.median(e[1] for e in f[1:]) for f in fits if len(f) > 1),
        }
    out.write_text(json.dumps(result))


def timed_child(args: list[str], env: dict | None = None, json_out: Path | None = None, cwd=None) -> dict:
    """Run a child process (in `cwd`); wall seconds, its CPU seconds (user + system, all threads) and peak RSS."""
    import json
    import subprocess

    load = load_average()
    t = time.perf_counter()
    env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    out = {
        "wall_s": time.perf_counter() - t,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_gib": usage.ru_maxrss / 2**20,
        "load_before": load,
        "load_after": load_average(),
    }
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        out["error"] = f"exit code {code}: {stderr.decode(errors='replace')[-800:]}"
    elif json_out is not None and json_out.exists():
        out["children"] = json.loads(json_out.read_text())
    return out


def thread_env(threads: str | None) -> dict:
    if not threads:
        return {}
    intra, inter = threads.split(",")
    return {"TF_NUM_INTRAOP_THREADS": intra, "TF_NUM_INTEROP_THREADS": inter}


def run_fold(overrides: list[str], env: dict, checkout: Path | None = None) -> dict:
    """One `mmfusion train` in a subprocess, timed; `checkout`: run the code of that checkout instead
    (`python -m mmfusion` started there imports its package first)."""
    import json

    from mmfusion.rundir.files import METRICS

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        args = [sys.executable, "-m", "mmfusion", "train", *overrides, "evaluation.bootstrap=0", f"hydra.run.dir={run}"]
        out = timed_child(args, env, cwd=checkout)
        if "error" not in out and (run / METRICS).exists():  # read as JSON: an older checkout's layout too
            models = json.loads((run / METRICS).read_text()).get("models", {})
            out["accuracy"] = {k: v.get("accuracy") for k, v in models.items() if isinstance(v, dict)}
    return out


def run_ensembles(overrides: list[str], env: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        args = [sys.executable, __file__, "--ensemble-child", str(out), *overrides]
        return timed_child(args, env, json_out=out)


def run_parallel_folds(overrides: list[str], env: dict, parallel: bool) -> dict:
    """Folds 0 and 1 of a case as one multirun: two jobs at once (local_parallel) or one after the other."""
    with tempfile.TemporaryDirectory() as tmp:
        base = [o for o in overrides if not o.startswith("dataset.cv.fold=")]
        launcher = ["hydra/launcher=local_parallel"] if parallel else []
        args = [sys.executable, "-m", "mmfusion", "train", "-m", *base, "dataset.cv.fold=0,1", *launcher]
        args += ["evaluation.bootstrap=0", f"hydra.sweep.dir={tmp}/sweep"]
        return timed_child(args, env)


def ensembles(
    cases: list[str],
    parts: list[str],
    quick: bool,
    threads: str | None,
    extra: list[str],
    with_grouped: bool = False,
    baseline: Path | None = None,
) -> list[str]:
    env = thread_env(threads)
    lines = []
    for case in cases:
        given = {o.split("=", 1)[0] for o in extra}  # extra overrides replace the quick scale's own keys
        overrides = ENSEMBLE_CASES[case] + [o for o in (QUICK[case] if quick else []) if o.split("=")[0] not in given]
        overrides += extra
        for part in parts:
            runner = run_fold if part == "fold" else run_ensembles
            order = GROUPED_ORDER if with_grouped else ("sequential", "batched", "batched", "sequential")  # ABBA
            order = BASELINE_ORDER if baseline is not None else order
            runs = {mode: [] for mode in order}
            for mode in order:
                if mode == "baseline":  # the older checkout's own defaults (no ensemble keys: it may not know them)
                    r = run_fold(overrides, env, baseline)
                else:
                    r = runner(overrides + MODES[mode], env)
                print(f"  {case} {part} {mode}: {r}", flush=True)
                runs[mode].append(r)
            if with_grouped or baseline is not None:
                lines += grouped_rows(case, part, runs, order)
            else:
                lines += ensemble_rows(case, part, runs)
    return lines


def checkout_commit(checkout: Path) -> str:
    """The commit of a checkout's mmfusion package (provenance.git_state, as runs record it), with
    "+ edits" when its tracked files differ from that commit."""
    from mmfusion.rundir.provenance import git_state

    state = git_state(checkout / "mmfusion")
    if state["commit"] is None:
        return "an unknown commit"
    return state["commit"][:7] + (" + edits" if state["dirty"] else "")


def _mean(runs: list[dict], key: str, sub: str | None = None) -> float | None:
    values = [(r["children"][sub] if sub else r)[key] for r in runs if "error" not in r]
    return statistics.mean(values) if len(values) == len(runs) else None


def ensemble_rows(case: str, part: str, runs: dict) -> list[str]:
    seq, bat = runs["sequential"], runs["batched"]
    rows = []
    subs = [None] if part == "fold" else sorted(seq[0].get("children", {}))
    for sub in subs:
        what = f"{case}: whole fold (`mmfusion train`)" if part == "fold" else f"{case}: {sub} ensemble `fit` alone"

        def cell(rs, key):
            vals = [(r["children"][sub] if sub else r)[key] for r in rs if "error" not in r]
            return " / ".join(f"{v:.0f}" for v in vals) if len(vals) == len(rs) else rs[0].get("error", "?")

        ws, wb, cs, cb = (
            _mean(seq, "wall_s", sub),
            _mean(bat, "wall_s", sub),
            _mean(seq, "cpu_s", sub),
            _mean(bat, "cpu_s", sub),
        )
        speed = f"{ws / wb:.2f}x wall, {cs / cb:.2f}x CPU" if None not in (ws, wb, cs, cb) else "n/a"
        acc = []
        for rs in (seq, bat):
            a = [(r["children"][sub]["accuracy"] if sub else r.get("accuracy")) for r in rs if "error" not in r]
            acc.append(" / ".join(str(x) if isinstance(x, dict) else f"{x:.4f}" for x in a))
        loads = " ".join(r["load_before"] for r in (seq[0], bat[0], bat[1], seq[1]))
        peak = f"{max(r['peak_rss_gib'] for r in seq):.2f} / {max(r['peak_rss_gib'] for r in bat):.2f}"
        if sub:
            fs, fb, ls_, lb = (
                _mean(seq, "first_epoch_cpu_s", sub),
                _mean(bat, "first_epoch_cpu_s", sub),
                _mean(seq, "later_epoch_cpu_s", sub),
                _mean(bat, "later_epoch_cpu_s", sub),
            )
            if None not in (fs, fb, ls_, lb):
                speed += (
                    f"; CPU s per ensemble epoch {ls_:.2f} vs {lb:.2f} ({ls_ / lb:.2f}x), first epoch "
                    f"(tracing) {fs:.1f} vs {fb:.1f}"
                )
        rows.append(
            f"| {what} | {cell(seq, 'wall_s')} | {cell(bat, 'wall_s')} | {cell(seq, 'cpu_s')} | {cell(bat, 'cpu_s')} "
            f"| {speed} | {peak} | {loads} | {acc[0]} | {acc[1]} |"
        )
    return rows


def grouped_rows(case: str, part: str, runs: dict, order=GROUPED_ORDER) -> list[str]:
    """`--grouped`: one row per ensemble (or whole fold) and arm (sequential, batched, grouped; or with
    `--baseline`: baseline, sequential, grouped), run in ABCCBA order; the speed-ups are against the
    sequential arm (means of the two runs), and against the baseline where there is one."""
    rows = []
    subs = [None] if part == "fold" else sorted(runs["sequential"][0].get("children", {}))
    loads = " ".join(runs[m][i]["load_before"] for m, i in zip(order, (0, 0, 0, 1, 1, 1)))
    arms = list(dict.fromkeys(order))
    for sub in subs:
        what = f"{case}: whole fold" if part == "fold" else f"{case}: {sub} ensemble `fit` alone"
        keys = ("wall_s", "cpu_s", "later_epoch_cpu_s") if sub else ("wall_s", "cpu_s")  # a fold has no epochs
        base = {k: _mean(runs["sequential"], k, sub) for k in keys}
        old = {k: _mean(runs["baseline"], k, sub) for k in keys} if "baseline" in runs else None
        for mode in arms:
            rs = runs[mode]
            ok = [(r["children"][sub] if sub else r) for r in rs if "error" not in r]
            if len(ok) != len(rs) or None in base.values() or (old is not None and None in old.values()):
                rows.append(f"| {what} | {mode} | {rs[0].get('error', '?')} |||||||||")
                continue
            wall, cpu = (" / ".join(f"{o[k]:.0f}" for o in ok) for k in ("wall_s", "cpu_s"))
            first = later = "-"
            speed = f"{base['wall_s'] / _mean(rs, 'wall_s', sub):.2f}x wall, {base['cpu_s'] / _mean(rs, 'cpu_s', sub):.2f}x CPU"
            if old is not None:
                speed += (
                    f"; against the baseline {old['wall_s'] / _mean(rs, 'wall_s', sub):.2f}x wall, "
                    f"{old['cpu_s'] / _mean(rs, 'cpu_s', sub):.2f}x CPU"
                )
            if sub:
                first = " / ".join(f"{o['first_epoch_cpu_s']:.1f}" for o in ok)
                later = " / ".join(f"{o['later_epoch_cpu_s']:.2f}" for o in ok)
                speed += f"; per epoch {base['later_epoch_cpu_s'] / _mean(rs, 'later_epoch_cpu_s', sub):.2f}x CPU"
            acc = " / ".join(str(o.get("accuracy")) if not sub else f"{o['accuracy']:.4f}" for o in ok)
            peak = f"{max(r['peak_rss_gib'] for r in rs):.2f}"
            rows.append(f"| {what} | {mode} | {wall} | {cpu} | {first} | {later} | {speed} | {peak} | {acc} |")
    rows.append(f"\n{case} {part}: load before each run ({' '.join(order)}): {loads}")
    return rows


GROUPED_HEAD = [
    "| measured | arm | wall s (run 1 / run 2) | CPU s (run 1 / run 2) | first epoch CPU s (tracing) | "
    "CPU s per later ensemble epoch (median) | speed-up against sequential (means) | peak RSS GiB | test accuracy |",
    "|---|---|---|---|---|---|---|---|---|",
]

ENSEMBLE_HEAD = [
    "| measured | sequential wall s (A1 / A2) | batched wall s (B1 / B2) | sequential CPU s | batched CPU s | "
    "speed-up (mean A / mean B) | peak RSS GiB, seq / batched | load before A1 B1 B2 A2 | "
    "test accuracy, sequential | test accuracy, batched |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--scaling-child":
        mode, samples, epochs, out = sys.argv[2:6]
        return scaling_child(mode, int(samples), int(epochs), Path(out))
    if len(sys.argv) > 1 and sys.argv[1] == "--ensemble-child":
        return ensemble_child(sys.argv[3:], Path(sys.argv[2]))
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
    p.add_argument("--ensembles", action="store_true", help="only sequential vs batched ensembles (issue 23)")
    p.add_argument("--quick", action="store_true", help="ensembles: fewer simulated runs and epochs")
    p.add_argument("--cases", nargs="*", default=list(ENSEMBLE_CASES), choices=list(ENSEMBLE_CASES))
    p.add_argument("--parts", nargs="+", default=["ensemble", "fold"], choices=["ensemble", "fold"])
    p.add_argument("--threads", default=None, help="ensembles: INTRA,INTER TensorFlow threads of the children")
    p.add_argument(
        "--grouped",
        action="store_true",
        help="ensembles: a third arm, the batched series ensemble with a grouped LSTM (ABCCBA order)",
    )
    p.add_argument("--parallel-folds", action="store_true", help="ensembles: also 2 folds at once vs in turn")
    p.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="ensembles, --parts fold: an older checkout whose own defaults are the first arm (today's path)",
    )
    p.add_argument("overrides", nargs="*", default=None)
    args = p.parse_args()
    if args.baseline is not None and (not args.ensembles or args.parts != ["fold"]):
        p.error("--baseline times whole folds only: use it with --ensembles --parts fold")
    if args.baseline is not None and not (args.baseline / "mmfusion" / "conf").exists():
        p.error(f"--baseline {args.baseline}: no mmfusion/conf there (link it: ln -s ../conf mmfusion/conf)")
    if args.ensembles:
        text = ensemble_report(args)
        print(text)
        if args.out:
            args.out.write_text(text)
        return
    args.overrides = args.overrides or ["experiment=paper"]
    if args.scaling:
        import platform as pf

        head = [
            f"benchmark: `python scripts/benchmark.py {' '.join(sys.argv[1:])}`",
            f"machine: {pf.platform()}, {os.cpu_count()} CPUs, Python {pf.python_version()}; {code_and_load()}",
            f"threads: {scaling_threads()}",
            "",
        ]
        table = scaling(args.sizes, args.reference_max, args.scaling_epochs, args.abba)
        text = "\n".join(head + table + ["", f"load average at the end: {load_average()}"]) + "\n"
        print(text)
        if args.out:
            args.out.write_text(text)
        return

    load_at_start = load_average()  # before the cold-cache simulation loads the machine
    from mmfusion import probability
    from mmfusion.commands.train import fuse_all, seed_everything
    from mmfusion.config import compose_config
    from mmfusion.data import build_dataset
    from mmfusion.data.paper_dataset import load_series
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
            load_series(cold.dataset.series, progress=False)
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
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {code_and_load(load_at_start)}",
        "",
        "| stage | measured |",
        "|---|---|",
    ]
    lines += [f"| {a} | {b} |" for a, b in rows]
    lines += ["", f"load average at the end: {load_average()}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


def ensemble_report(args) -> str:
    import platform as pf

    head = [
        f"benchmark: `python scripts/benchmark.py {' '.join(sys.argv[1:])}`",
        f"machine: {pf.platform()}, {os.cpu_count()} CPUs, Python {pf.python_version()}; threads: "
        f"{args.threads or 'as mmfusion train sets them (runtime/devices.py)'}; {code_and_load()}",
        "",
        *(GROUPED_HEAD if args.grouped or args.baseline else ENSEMBLE_HEAD),
    ]
    if args.baseline is not None:
        head[1] += f"; baseline: the checkout {args.baseline} at {checkout_commit(args.baseline)}"
    rows = ensembles(
        args.cases, args.parts, args.quick, args.threads, args.overrides or [], args.grouped, args.baseline
    )
    notes = [r for r in rows if not r.startswith("|")]  # the load lines go after the one table
    lines = head + [r for r in rows if r.startswith("|")] + notes
    if args.parallel_folds:
        env = thread_env(args.threads)
        lines += [
            "",
            "| two folds (0, 1) of experiment=early, batched | wall s | CPU s | load before |",
            "|---|---|---|---|",
        ]
        for parallel in (False, True, True, False):  # ABBA
            overrides = ENSEMBLE_CASES["early"] + (QUICK["early"] if args.quick else []) + MODES["batched"]
            r = run_parallel_folds(overrides + (args.overrides or []), env, parallel)
            print(f"  parallel={parallel}: {r}", flush=True)
            what = "two jobs at once (hydra/launcher=local_parallel)" if parallel else "one job after the other"
            wall = r.get("error") or f"{r['wall_s']:.0f}"
            lines.append(f"| {what} | {wall} | {r['cpu_s']:.0f} | {r['load_before']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
