"""Progress of a run, written for a terminal or for a log file (no Keras, no TensorFlow here).

- `plan_run(cfg, models)`: the epochs each network of the run will train (epochs x ensemble members),
  so every epoch line can say how long the run has left; `PLAN` keeps the epochs done and their time.
- `counter(total, desc, unit)`: a progress counter for long loops (the TEP simulation): tqdm's live
  bar when stderr is a terminal, otherwise one plain line every `interval` seconds (a SLURM log or a
  pipe gets readable lines, never a line of carriage returns).
- `duration(seconds)`: 0:42, 12:05, 1:02:03.

The Keras side (a live bar per batch on a terminal, one line per epoch with its time and the ETAs) is
mmfusion/models/progress.py.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
INTERVAL_ENV = "MMFUSION_PROGRESS_INTERVAL"  # seconds between plain progress lines (default 30)


def interval() -> float:
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, "30")))
    except ValueError:
        return 30.0


def is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams (pytest's capture): not a terminal
        return False


def duration(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class Plan:
    """Epochs planned / done per network of the run and the seconds they took."""

    total: dict[str, int] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    first: dict[str, float] = field(default_factory=dict)  # each network's first epoch (graph tracing)

    def epoch_done(self, name: str, seconds: float) -> None:
        self.done[name] = self.done.get(name, 0) + 1
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.first.setdefault(name, seconds)

    def per_epoch(self, name: str) -> float | None:
        """Seconds per epoch of `name`: the mean after its first epoch, which also traces the graph."""
        done = self.done.get(name, 0)
        if not done:
            return None
        if done == 1:
            return self.seconds[name]
        return (self.seconds[name] - self.first[name]) / (done - 1)

    def stopped_early(self, name: str, epochs_not_run: int) -> None:
        """Early stopping (or a resumed run) skipped epochs: the run has that much less to do."""
        if name in self.total:
            self.total[name] = max(self.done.get(name, 0), self.total[name] - max(0, epochs_not_run))

    def left(self, name: str) -> float | None:
        """Seconds the network `name` has left, from its own epochs so far (None: none yet)."""
        rate = self.per_epoch(name)
        if name not in self.total or rate is None:
            return None
        return (self.total[name] - self.done[name]) * rate

    def run_left(self) -> float | None:
        """Seconds the run's networks have left; networks not started yet are reckoned at the mean time
        per epoch of those measured so far (None: no plan or no epoch measured)."""
        measured = {n: self.per_epoch(n) for n in self.done if self.done[n]}
        if not self.total or not measured:
            return None
        mean = sum(measured.values()) / len(measured)
        return sum((t - self.done.get(n, 0)) * measured.get(n, mean) for n, t in self.total.items())


PLAN = Plan()


def plan_run(cfg, models: list[str]) -> Plan:
    """Start the run's plan: for each network trained by epochs (not tfidf_logreg / minirocket), its
    epochs times its ensemble members."""
    from omegaconf import OmegaConf

    from mmfusion.schemas.models import UntrainedSchema

    global PLAN
    PLAN = Plan()
    for name in models:
        c = cfg.get("joint") if name == "joint" else (cfg.get("model") or {}).get(name)
        epochs = c.get("epochs") if c is not None else None
        kind = OmegaConf.get_type(c) if OmegaConf.is_config(c) else None
        if isinstance(kind, type) and issubclass(kind, UntrainedSchema):
            continue  # tfidf_logreg, minirocket: an experiment's epochs=... are ignored for them
        if epochs:
            PLAN.total[name] = int(epochs) * int(c.get("ensemble") or 1)
    return PLAN


class _Plain:
    """Plain progress lines through the log, at most one every `interval()` seconds, and the last one."""

    def __init__(self, total: int, desc: str, unit: str, clock=time.monotonic):
        self.total, self.desc, self.unit, self.clock = total, desc, unit, clock
        self.n, self.start = 0, clock()
        self.last = self.start

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= interval() or self.n >= self.total:
            self.last = now
            elapsed = now - self.start
            eta = elapsed / self.n * (self.total - self.n) if self.n else 0.0
            log.info(
                "%s: %d/%d %s(s) (%d%%), %s elapsed, ETA %s",
                self.desc,
                self.n,
                self.total,
                self.unit,
                100 * self.n // max(1, self.total),
                duration(elapsed),
                duration(eta),
            )

    def close(self) -> None:
        pass


def counter(total: int, desc: str, unit: str, disable: bool = False, stream=None):
    """tqdm on a terminal (stderr), plain periodic log lines otherwise; `update()` and `close()`."""
    stream = sys.stderr if stream is None else stream
    if not disable and is_tty(stream):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, file=stream)
    if disable:
        return _Silent()
    return _Plain(total, desc, unit)


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass
