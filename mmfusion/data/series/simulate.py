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
from pathlib import Path

import numpy as np

from mmfusion.data.dataset import SeriesData
from mmfusion.data.series.cache import atomic_write as _atomic_write
from mmfusion.data.series.tep import VARIABLES
from mmfusion.data.sources import cache_root
from mmfusion.errors import ConfigError, DataError
from mmfusion.runtime import interrupt
from mmfusion.runtime.progress import counter as progress_counter

log = logging.getLogger(__name__)

N_IDV = 28
_CACHE_FORMAT = 1


def tep_version() -> str:
    import tep_studio

    return str(tep_studio.__version__)


def run_seed(seed: int, fault: int, run: int) -> int:
    """The plant's noise seed for one run: distinct per (seed, fault, run), in 1..2**31-1."""
    word = np.random.SeedSequence([int(seed), int(fault), int(run)]).generate_state(1, np.uint32)[0]
    return int(word) % (2**31 - 2) + 1


def _steps(total: float, step: float, what: str, per: str) -> int:
    n = round(total / step)
    if n < 1 or abs(n * step - total) > 1e-9 * max(total, 1.0):
        raise ConfigError(
            f"dataset.series.{what}={total:g} must be a whole multiple of dataset.series.{per}={step:g}; "
            f"pick values where {what}/{per} is an integer"
        )
    return int(n)


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
    """Simulate `runs_per_class` runs per IDV in `faults` (0 = normal); class k is `faults[k]`."""
    try:
        ok = all(int(f) == f and 0 <= f <= N_IDV for f in faults) and 0 < len(set(faults)) == len(faults)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(
            f"dataset.series.faults={faults!r} must be a non-empty list of distinct IDV numbers in 0..{N_IDV} "
            "(0 = normal operation)"
        )
    faults = [int(f) for f in faults]
    for name, value, low in (("runs_per_class", runs_per_class, 1), ("workers", workers, 1), ("seed", seed, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise ConfigError(f"dataset.series.{name}={value!r} must be an integer >= {low}")
    horizon_h, onset_h = float(horizon_h), float(onset_h)
    sample_interval_h, control_interval_h = float(sample_interval_h), float(control_interval_h)
    if on_shutdown not in ("error", "drop"):
        raise ConfigError(f"dataset.series.on_shutdown={on_shutdown!r} must be 'error' or 'drop'")
    if control_interval_h <= 0 or not 0 <= onset_h < horizon_h:
        raise ConfigError(
            f"need dataset.series.control_interval_h={control_interval_h:g} > 0 and "
            f"0 <= dataset.series.onset_h={onset_h:g} < dataset.series.horizon_h={horizon_h:g}"
        )
    record_every = _steps(sample_interval_h, control_interval_h, "sample_interval_h", "control_interval_h")
    n_samples = _steps(horizon_h, sample_interval_h, "horizon_h", "sample_interval_h")

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    version = tep_version()
    jobs, results, keys, params = [], {}, {}, {}
    hits = rebuilt = 0
    for k, fault in enumerate(faults):
        for r in range(runs_per_class):
            s = run_seed(seed, fault, r)
            p = {
                "format": _CACHE_FORMAT,
                "fault": fault,
                "run_seed": s,
                "horizon_h": horizon_h,
                "onset_h": onset_h,
                "sample_interval_h": sample_interval_h,
                "control_interval_h": control_interval_h,
                "tep_studio": version,
            }
            key = hashlib.sha256(json.dumps(p, sort_keys=True).encode()).hexdigest()[:24]
            keys[(k, r)], params[(k, r)] = key, p
            exists = (cache / f"{key}.json").exists() or (cache / f"{key}.npy").exists()
            got = _load(cache, key, n_samples)
            if got is None:
                rebuilt += int(exists)
                jobs.append((k, r, (fault, s, horizon_h, onset_h, control_interval_h, record_every, n_samples)))
            else:
                hits += 1
                results[(k, r)] = got
    log.info("TEP simulation: %d runs cached, %d to simulate (%d corrupt entries rebuilt)", hits, len(jobs), rebuilt)

    def _check(k: int, r: int, failure: dict) -> None:
        if failure and on_shutdown == "error":
            raise DataError(
                f"TEP run idv{faults[k]:02d}-run{r:03d} (IDV {faults[k]}, seed {params[(k, r)]['run_seed']}) "
                f"stopped at t={failure['time_h']:.2f} h of {horizon_h:g} h: {failure['reason']}. Use a horizon_h "
                f"shorter than the trip time, drop IDV {faults[k]} from faults, or set on_shutdown='drop'"
            )

    for (k, r), (_, failure) in sorted(results.items()):
        _check(k, r, failure)
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
                    _store(cache, keys[(k, r)], params[(k, r)], x, failure)
                    results[(k, r)] = (x, failure)
                bar.update()
                _check(k, r, failure)
        except BaseException:
            if pool is not None:
                interrupt.end_pool(pool)  # Ctrl-C, SIGTERM or an error: end the workers now
            raise
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown(cancel_futures=True)

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
    return SeriesData(
        x=np.stack([results[kr][0] for kr in kept]),
        y=np.array([k for k, _ in kept], dtype=np.int64),
        run_ids=np.array([f"idv{faults[k]:02d}-run{r:03d}" for k, r in kept]),
        variables=list(VARIABLES),
        split=None,
        info={
            "source": "tep-studio",
            "tep_studio_version": version,
            "faults": ",".join(map(str, faults)),
            "runs_per_class": runs_per_class,
            "horizon_h": horizon_h,
            "onset_h": onset_h,
            "sample_interval_h": sample_interval_h,
            "control_interval_h": control_interval_h,
            "samples_per_run": n_samples,
            "first_sample_h": control_interval_h,
            "runs_dropped": len(dropped),
            "cache_hits": hits,
            "cache_misses": len(jobs),
            "cache_rebuilt": rebuilt,
            "cache_dir": str(cache),
        },
    )


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
