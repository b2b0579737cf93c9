"""One writer per run directory: `<run-dir>/.mmfusion.lock` holds the owner's pid, host and start time.

`acquire(run_dir)` creates it exclusively (O_CREAT | O_EXCL) before anything else is written there. A
lock of a live process stops the second writer with one line naming the owner; a stale lock (its pid
gone on this host, or written by a process that is this one) is taken over, with a log line. The lock
is released when the owner returns it or exits (atexit); a killed owner leaves a stale lock that the
next writer takes over. A lock written on another host cannot be checked from here: it is obeyed, and
the message says how to remove it once that job is known to be gone.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import socket
import time
from pathlib import Path

from mmfusion.errors import FileError, RunDirError, writing

log = logging.getLogger(__name__)
LOCK = ".mmfusion.lock"
_HELD: dict[Path, int] = {}  # lock path -> how many acquire() calls of this process hold it
_CREATED: set[Path] = set()  # run directories that acquire() created: removed again if left empty


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _owner(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # half-written by a process killed at that moment
        return {}


def _stale(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    return not isinstance(pid, int) or pid == os.getpid() or not _alive(pid)


def run_dir_of(overrides: list[str]) -> Path | None:
    """The directory `mmfusion train <overrides>` writes, when named (hydra.run.dir=..., not a sweep)."""
    if any(arg in ("-m", "--multirun") or arg.startswith("-") for arg in overrides):
        return None
    for arg in overrides:
        key, _, value = arg.partition("=")
        if key == "hydra.run.dir" and value and "${" not in value:
            return Path(value)
    return None


def check(run_dir: Path) -> None:
    """RunDirError if a live process owns `run_dir` (creates nothing)."""
    path = Path(run_dir).resolve() / LOCK
    owner = _owner(path)
    if owner and path not in _HELD and not _stale(owner):
        raise RunDirError(_busy(path.parent, path, owner))


def _busy(run_dir: Path, path: Path, owner: dict) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("since", 0)))
    where = f"process {owner.get('pid')} on {owner.get('host')}"
    here = owner.get("host") == socket.gethostname()
    gone = "wait for it to finish" if here else f"if that job is gone, delete {path}"
    return (
        f"{run_dir} is in use by {where} (mmfusion {owner.get('command', '?')}, since {since}); "
        f"nothing was written: {gone}, or choose another directory"
    )


def owning(fn):
    """`fn(cfg, run_dir, ...)` holds the lock of run_dir while it runs."""

    @functools.wraps(fn)
    def wrapper(cfg, run_dir, *args, **kwargs):
        path = acquire(run_dir)
        try:
            return fn(cfg, run_dir, *args, **kwargs)
        finally:
            release(path)

    return wrapper


def acquire(run_dir: Path, command: str = "train") -> Path:
    """Own `run_dir` (created if missing) until release() or exit; RunDirError if a live process owns it."""
    run_dir = Path(run_dir).resolve()
    path = run_dir / LOCK
    if path in _HELD:
        _HELD[path] += 1
        return path
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": time.time()}
    for _ in range(5):
        with writing(path):
            if not run_dir.exists():
                run_dir.mkdir(parents=True, exist_ok=True)
                _CREATED.add(run_dir)
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                fd = None
        if fd is not None:
            try:
                with writing(path):
                    os.write(fd, json.dumps(record).encode())
            finally:
                os.close(fd)
            _HELD[path] = 1
            return path
        owner = _owner(path)
        if owner is None:
            continue  # released meanwhile: try again
        if owner and not _stale(owner):
            raise RunDirError(_busy(run_dir, path, owner))
        if not owner and time.time() - _mtime(path) < 5:  # being written right now: give it a moment
            time.sleep(0.2)
            continue
        log.warning("%s: taking over a stale lock (%s)", run_dir, _describe(owner))
        stale = path.with_name(f"{LOCK}.stale.{os.getpid()}")
        try:
            os.replace(path, stale)
            stale.unlink()
        except FileNotFoundError:
            pass  # another process took it over first: try again
    raise FileError(f"{path}: cannot take the run directory's lock; remove the file if no mmfusion process uses it")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _describe(owner: dict) -> str:
    if not owner:
        return "an unreadable lock file"
    return f"process {owner.get('pid')} on {owner.get('host')} is gone"


def release(path: Path) -> None:
    """Drop one hold of the lock; the last one removes the file (only if it is still ours)."""
    path = Path(path)
    if path not in _HELD:
        return
    _HELD[path] -= 1
    if _HELD[path] > 0:
        return
    del _HELD[path]
    owner = _owner(path)
    if owner and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
        try:
            path.unlink()
            if path.parent in _CREATED and not any(path.parent.iterdir()):
                path.parent.rmdir()  # nothing was written: leave no empty run directory behind
        except OSError:
            pass  # a read-only or vanished directory: the next writer finds the lock stale
    _CREATED.discard(path.parent)


@atexit.register
def _release_all() -> None:
    for path in list(_HELD):
        _HELD[path] = 1
        release(path)
