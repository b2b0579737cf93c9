"""Closed-loop Tennessee Eastman runs simulated with tep-studio, one class per disturbance (IDV).

Each run starts at the base steady state under the Ricker decentralized controller; the class's
IDV switches on at `onset_h` and stays on. A run's output is XMEAS 1-41 then XMV 1-11 (52 in all),
sampled every `sample_interval_h`: sample j is recorded at the end of control step j*k+1, i.e. at
t = control_interval_h + j*sample_interval_h, giving horizon_h/sample_interval_h samples per run.
A run that trips the plant (or diverges) is an error or is dropped, never padded.

Every run is cached on disk, one `<key>.npy` (float32, allow_pickle=False) plus a `<key>.json`
sidecar (parameters and a sha256 of the array), both written atomically; the key hashes every
parameter that changes the run's data. A corrupt or half-written entry is logged and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmfusion.data.dataset import SeriesData
from mmfusion.data.series.cache import atomic_write as _atomic_write
from mmfusion.data.series.simulate_checks import N_IDV, check_counts, check_times, checked_faults, whole_steps
from mmfusion.data.series.tep import VARIABLES
from mmfusion.data.sources import cache_root
from mmfusion.errors import DataError
from mmfusion.runtime import interrupt
from mmfusion.runtime.progress import counter as progress_counter

log = logging.getLogger(__name__)

_CACHE_FORMAT = 1


def tep_version() -> str:
    import tep_studio

    return str(tep_studio.__version__)


def run_seed(seed: int, fault: int, run: int) -> int:
    """The plant's noise seed for one run: distinct per (seed, fault, run), in 1..2**31-1."""
    word = np.random.SeedSequence([int(seed), int(fault), int(run)]).generate_state(1, np.uint32)[0]
    return int(word) % (2**31 - 2) + 1


def _simulate_run(
    fault: int,
    seed: int,
    horizon_h: float,
    onset_h: float,
    control_interval_h: float,
    record_every: int,
    n_samples: int,
) -> tuple[np.ndarray | None, dict]:
    """One closed-loop run -> ((n_samples, 52) float32, {}) or (None, {"time_h", "reason"})."""
    from tep_studio import ClosedLoopSimulation

    def schedule(t: float) -> np.ndarray:
        idv = np.zeros(N_IDV)
        if fault and t + 1e-9 >= onset_h:
            idv[fault - 1] = 1.0
        return idv

    loop = ClosedLoopSimulation(control_interval=control_interval_h, horizon=horizon_h)
    try:
        res = loop.run(seed=float(seed), disturbance_schedule=schedule, record_every=record_every)
    except RuntimeError as exc:  # the fixed-step integrator diverged
        return None, {"time_h": float(loop.sim.time), "reason": f"integration failed: {exc}"}
    if res.terminated:
        last = res.results[-1].shutdown_status if res.results else {}
        return None, {"time_h": float(res.final_time), "reason": f"plant shutdown ({last.get('message', '').strip()})"}
    x = np.array([np.concatenate([r.measurements, r.implemented_action[:11]]) for r in res.results], np.float32)
    if x.shape != (n_samples, len(VARIABLES)):
        return None, {"time_h": float(res.final_time), "reason": f"{len(x)} samples instead of {n_samples}"}
    if not np.isfinite(x).all():
        return None, {"time_h": float(res.final_time), "reason": "non-finite values"}
    return x, {}


def _load(cache: Path, key: str, n_samples: int) -> tuple[np.ndarray | None, dict] | None:
    """A valid cached run (array or recorded failure), or None when absent or corrupt (logged)."""
    meta_path, npy_path = cache / f"{key}.json", cache / f"{key}.npy"
    if not meta_path.exists() and not npy_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("failure"):
            return None, meta["failure"]
        x = np.load(npy_path, allow_pickle=False)
        if x.dtype != np.float32 or x.shape != (n_samples, len(VARIABLES)) or not np.isfinite(x).all():
            raise ValueError(f"array {x.dtype} {x.shape} is not finite float32 ({n_samples}, {len(VARIABLES)})")
        if hashlib.sha256(x.tobytes()).hexdigest() != meta["sha256"]:
            raise ValueError("checksum mismatch")
        return x, {}
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is rebuilt
        log.warning("TEP cache entry %s is corrupt (%s); rebuilding it", npy_path, exc)
        return None


def _store(cache: Path, key: str, params: dict, x: np.ndarray | None, failure: dict) -> None:
    if x is not None:
        _atomic_write(cache / f"{key}.npy", lambda fh: np.save(fh, x, allow_pickle=False))
    meta = {**params, "sha256": None if x is None else hashlib.sha256(x.tobytes()).hexdigest(), "failure": failure}
    _atomic_write(cache / f"{key}.json", lambda fh: fh.write(json.dumps(meta, indent=1).encode()))


def simulate(
    faults: list[int],
    runs_per_class: int,
    seed: int,
    *,
    horizon_h: float = 25.0,
    onset_h: float = 1.0,
    sample_interval_h: float = 0.05,
    control_interval_h: float = 0.01,
    workers: int = 2,
    cache_dir: str | Path = ".cache/mmfusion/tep",
    progress: bool = True,
    on_shutdown: str = "error",
) -> SeriesData:
    """Simulate `runs_per_class` runs per IDV in `faults` (0 = normal); class k is `faults[k]`.

    The arguments are checked here for Python callers (ValueError); from a config, the config check
    (mmfusion/schemas/check/) has refused the same values before anything is built."""
    faults = checked_faults(faults)
    check_counts(runs_per_class, workers, seed)
    horizon_h, onset_h = float(horizon_h), float(onset_h)
    sample_interval_h, control_interval_h = float(sample_interval_h), float(control_interval_h)
    check_times(on_shutdown, control_interval_h, onset_h, horizon_h)
    record_every = whole_steps(sample_interval_h, control_interval_h, "sample_interval_h", "control_interval_h")
    n_samples = whole_steps(horizon_h, sample_interval_h, "horizon_h", "sample_interval_h")
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    version = tep_version()
    times = {
        "horizon_h": horizon_h,
        "onset_h": onset_h,
        "sample_interval_h": sample_interval_h,
        "control_interval_h": control_interval_h,
    }
    plan = _plan_runs(faults, runs_per_class, seed, cache, version, times, record_every, n_samples)
    done = (plan.hits, len(plan.jobs), plan.rebuilt)
    log.info("TEP simulation: %d runs cached, %d to simulate (%d corrupt entries rebuilt)", *done)

    def check(k: int, r: int, failure: dict) -> None:
        _check_run(faults[k], r, plan.params[(k, r)]["run_seed"], horizon_h, failure, on_shutdown)

    for (k, r), (_, failure) in sorted(plan.results.items()):
        check(k, r, failure)
    _run_jobs(plan, cache, workers, progress, check)
    return _series(plan, faults, runs_per_class, version, times, n_samples, cache)


def _series(plan, faults: list[int], runs_per_class: int, version: str, times: dict, n_samples, cache) -> SeriesData:
    """The runs that reached the horizon, with what made them (the info a run directory records)."""
    kept, dropped = _kept_runs(plan.results, faults, times["horizon_h"])
    info = {
        "source": "tep-studio",
        "tep_studio_version": version,
        "faults": ",".join(map(str, faults)),
        "runs_per_class": runs_per_class,
        **times,
        "samples_per_run": n_samples,
        "first_sample_h": times["control_interval_h"],
        "runs_dropped": dropped,
        "cache_hits": plan.hits,
        "cache_misses": len(plan.jobs),
        "cache_rebuilt": plan.rebuilt,
        "cache_dir": str(cache),
    }
    return SeriesData(
        x=np.stack([plan.results[kr][0] for kr in kept]),
        y=np.array([k for k, _ in kept], dtype=np.int64),
        run_ids=np.array([f"idv{faults[k]:02d}-run{r:03d}" for k, r in kept]),
        variables=list(VARIABLES),
        split=None,
        info=info,
    )


@dataclass
class _Plan:
    """Every run's cache key and parameters; the runs found in the cache; the jobs left to simulate."""

    jobs: list = field(default_factory=list)  # (k, r, arguments of _simulate_run)
    results: dict = field(default_factory=dict)  # (k, r) -> (array or None, failure)
    keys: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    hits: int = 0
    rebuilt: int = 0


def _plan_runs(faults, runs_per_class, seed, cache: Path, version: str, times: dict, record_every, n_samples) -> _Plan:
    plan = _Plan()
    for k, fault in enumerate(faults):
        for r in range(runs_per_class):
            s = run_seed(seed, fault, r)
            p = {"format": _CACHE_FORMAT, "fault": fault, "run_seed": s, **times, "tep_studio": version}
            key = hashlib.sha256(json.dumps(p, sort_keys=True).encode()).hexdigest()[:24]
            plan.keys[(k, r)], plan.params[(k, r)] = key, p
            exists = (cache / f"{key}.json").exists() or (cache / f"{key}.npy").exists()
            got = _load(cache, key, n_samples)
            if got is None:
                plan.rebuilt += int(exists)
                args = (fault, s, times["horizon_h"], times["onset_h"], times["control_interval_h"])
                plan.jobs.append((k, r, (*args, record_every, n_samples)))
            else:
                plan.hits += 1
                plan.results[(k, r)] = got
    return plan


def _check_run(fault: int, r: int, run_seed: int, horizon_h: float, failure: dict, on_shutdown: str) -> None:
    if failure and on_shutdown == "error":
        raise DataError(
            f"TEP run idv{fault:02d}-run{r:03d} (IDV {fault}, seed {run_seed}) "
            f"stopped at t={failure['time_h']:.2f} h of {horizon_h:g} h: {failure['reason']}. Use a horizon_h "
            f"shorter than the trip time, drop IDV {fault} from faults, or set on_shutdown='drop'"
        )


def _run_jobs(plan: _Plan, cache: Path, workers: int, progress: bool, check) -> None:
    """Simulate the plan's jobs (in worker processes when workers > 1), caching each run as it ends."""
    jobs, results = plan.jobs, plan.results
    # tqdm's bar on a terminal; plain lines every ~30 s in a log file or a pipe (runtime/progress.py)
    bar = progress_counter(len(jobs), "TEP runs", "run", disable=not progress or not jobs)
    total, pool = len(results) + len(jobs), None
    with interrupt.stage("simulating TEP runs", kept=lambda: f"{len(results)} of {total} runs cached in {cache}"):
        try:
            if workers > 1 and len(jobs) > 1:
                pool = ProcessPoolExecutor(
                    min(workers, len(jobs)),
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=interrupt.worker_init,
                    initargs=(os.getpid(),),
                )
                with interrupt.signals_blocked():  # workers start here, on the first submits
                    futures = {pool.submit(_simulate_run, *args): (k, r) for k, r, args in jobs}
                done = ((futures[f], f.result()) for f in as_completed(futures))
            else:
                done = (((k, r), _simulate_run(*args)) for k, r, args in jobs)
            for (k, r), (x, failure) in done:
                with interrupt.deferred():  # a run is cached whole and counted, or not at all
                    _store(cache, plan.keys[(k, r)], plan.params[(k, r)], x, failure)
                    results[(k, r)] = (x, failure)
                bar.update()
                check(k, r, failure)
        except BaseException:
            if pool is not None:
                interrupt.end_pool(pool)  # Ctrl-C, SIGTERM or an error: end the workers now
            raise
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown(cancel_futures=True)


def _kept_runs(results: dict, faults: list[int], horizon_h: float) -> tuple[list, int]:
    """The runs that reached the horizon, in order, and how many were dropped (logged); every IDV keeps one."""
    order = sorted(results)
    dropped = [f"idv{faults[k]:02d}-run{r:03d}" for k, r in order if results[(k, r)][0] is None]
    if dropped:
        log.warning(
            "TEP simulation: dropped %d of %d runs that stopped early: %s", len(dropped), len(order), ", ".join(dropped)
        )
    kept = [(k, r) for k, r in order if results[(k, r)][0] is not None]
    missing = sorted({faults[k] for k in range(len(faults))} - {faults[k] for k, _ in kept})
    if missing:
        raise DataError(
            f"every run of IDV {missing} stopped early (plant shutdown) within horizon_h={horizon_h:g}; "
            f"use a shorter horizon_h or remove them from faults"
        )
    return kept, len(dropped)


def from_config(cfg, progress: bool = True) -> SeriesData:
    """`dataset/series=simulate`: the runs `cfg` (SimulateSchema) describes, simulated or from the cache."""
    return simulate(
        list(cfg.faults),
        int(cfg.runs_per_class),
        int(cfg.seed),  # its default, the dataset seed, is the YAML's (conf/dataset/series/simulate.yaml)
        horizon_h=cfg.horizon_h,
        onset_h=cfg.onset_h,
        sample_interval_h=cfg.sample_interval_h,
        control_interval_h=cfg.control_interval_h,
        workers=int(cfg.workers),
        cache_dir=cache_root(cfg.cache_dir) / "tep",
        progress=progress,
        on_shutdown=cfg.on_shutdown,
    )
