"""The `COMPLETE` marker, written last: a directory with it is a finished run, checked before it is read."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from mmfusion.errors import RunDirError
from mmfusion.rundir.checksums import record_checksums, verify
from mmfusion.rundir.files import MARKER, METRICS, PREDICTIONS, write_text


def mark_complete(run_dir: Path) -> None:
    """checksums.json for what the run wrote, then the marker (both written atomically)."""
    record_checksums(run_dir)
    write_text(Path(run_dir) / MARKER, datetime.now(timezone.utc).isoformat() + "\n")


def is_complete(run_dir: Path) -> bool:
    return (Path(run_dir) / MARKER).is_file()


def holds_results(run_dir: Path) -> bool:
    """True when a directory already holds a run's results (never to be overwritten)."""
    d = Path(run_dir)
    return any((d / name).exists() for name in (MARKER, METRICS, PREDICTIONS, "models"))


def require_complete(run_dir: Path, needs=(METRICS, PREDICTIONS)) -> Path:
    d = Path(run_dir)
    if not d.is_dir():
        raise RunDirError(f"{d}: no such run directory; give the directory that `mmfusion train` printed")
    if not is_complete(d):
        raise RunDirError(f"{d}: the run never finished (no {MARKER} marker); rerun it or choose another run")
    missing = [n for n in needs if not (d / n).exists()]
    if missing:
        raise RunDirError(f"{d}: the run directory lacks {missing}; it was changed after the run, rerun it")
    verify(d, needs)
    return d
