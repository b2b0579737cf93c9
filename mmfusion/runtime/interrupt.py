"""Ctrl-C and SIGTERM: stop at once, end worker processes, say in one line where it stopped and what was kept.

`install()` (the CLI calls it) turns SIGINT and SIGTERM into `Interrupted`, a KeyboardInterrupt that
remembers the signal and the stages running when it came. Code marks what it is doing with
`stage(what, kept=..., hint=...)`; `message()` builds the line from the innermost stage's `what`, every
stage's `kept` (evaluated after clean-up, so counts are final) and the innermost `hint`. `deferred()`
holds a signal back while a file set is written, so a checkpoint is never half-written by Ctrl-C.

Worker processes: `worker_init(parent_pid)` is the initializer of every process pool. The worker ignores
SIGINT (its parent handles Ctrl-C and ends it), asks Linux to kill it when the parent dies
(prctl PR_SET_PDEATHSIG), and watches the parent's pid as a fallback, so no worker outlives a killed
parent. `end_pool(pool)` kills a pool's workers at once instead of waiting for their tasks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread when SIGINT or SIGTERM arrives; carries the signal and the stages."""

    def __init__(self, signum: int, stages: list):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.stages = signum, stages

    @property
    def exit_status(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


@dataclass
class Stage:
    what: str
    kept: Callable[[], str] | str | None = None
    hint: str | None = None


_stages: list[Stage] = []
_state = {"defer": 0, "pending": None, "raised": False}


@contextlib.contextmanager
def stage(what: str, kept: Callable[[], str] | str | None = None, hint: str | None = None):
    """Mark a stage of work for the interruption message (`kept` may be a function: read when reported)."""
    _stages.append(Stage(what, kept, hint))
    try:
        yield
    finally:
        _stages.pop()


def _raise(signum: int):
    _state["raised"] = True
    raise Interrupted(signum, list(_stages))


def _handler(signum, frame):
    if _state["raised"]:  # already stopping: a second Ctrl-C must not break the clean-up
        return
    if _state["defer"]:
        _state["pending"] = _state["pending"] or signum
        return
    _raise(signum)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT/SIGTERM back inside the block (an atomic write); raise after it, if one came."""
    _state["defer"] += 1
    try:
        yield
    finally:
        _state["defer"] -= 1
    if not _state["defer"] and _state["pending"] and not _state["raised"]:
        signum, _state["pending"] = _state["pending"], None
        _raise(signum)


def install() -> None:
    """SIGINT and SIGTERM raise Interrupted in the main thread (call once, from the main thread)."""
    _state.update(defer=0, pending=None, raised=False)
    for sig in SIGNALS:
        signal.signal(sig, _handler)


def message(command: str, err: Interrupted) -> str:
    """One line: where it stopped, what was kept, what to do."""
    stages = err.stages or [Stage("starting")]
    kept = []
    for s in reversed(stages):
        try:
            text = s.kept() if callable(s.kept) else s.kept
        except Exception:  # noqa: BLE001 - the message must come out whatever state the files are in
            text = None
        if text:
            kept.append(text)
    hint = next((s.hint for s in reversed(stages) if s.hint), None)  # the innermost one
    names = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}
    name = names.get(err.signum, signal.Signals(err.signum).name)
    parts = ["; ".join(kept) if kept else "nothing was kept"] + ([hint] if hint else [])
    return f"mmfusion {command}: interrupted by {name} while {stages[-1].what}: {'; '.join(parts)}"


# --- worker processes -------------------------------------------------------------------------
def worker_init(parent_pid: int) -> None:
    """Initializer of pool workers: ignore Ctrl-C, die with the parent (prctl, plus a pid watchdog)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends its workers itself
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # blocked by the parent while we started
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while os.getppid() == parent_pid:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="mmfusion-parent-watchdog", daemon=True).start()


@contextlib.contextmanager
def signals_blocked():
    """Block SIGINT/SIGTERM while worker processes start: they inherit the mask and start deaf to a
    Ctrl-C of the terminal's process group until `worker_init` has set them up; the parent gets any
    signal that came in the meantime right after the block."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def end_pool(pool) -> None:
    """Kill a concurrent.futures process pool's workers now and release the pool without waiting."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        with contextlib.suppress(Exception):
            p.kill()
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(timeout=5)
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False, cancel_futures=True)
