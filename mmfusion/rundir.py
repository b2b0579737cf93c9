"""The run directory: stable file names, the completion marker, library versions.

A run writes every file first and the marker `COMPLETE` last, so an interrupted run never looks
complete; `fuse`, `predict` and `report` read only these files.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from mmfusion.errors import RunDirError

MARKER = "COMPLETE"
METRICS = "metrics.json"
PREDICTIONS = "predictions.npz"
VERSIONS = "versions.json"
KEY_PACKAGES = (
    "mmfusion", "tensorflow", "tensorflow-cpu", "keras", "hydra-core", "omegaconf", "numpy", "scikit-learn",
    "gensim", "pandas", "matplotlib", "tep-studio", "pyreadr",
)


def versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in KEY_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_json(path: Path, obj) -> None:
    """Write to a temporary name, then rename: a file is either whole or absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=False))
    os.replace(tmp, path)


def write_npz(path: Path, arrays: dict) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def load_npz(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def mark_complete(run_dir: Path) -> None:
    (Path(run_dir) / MARKER).write_text(datetime.now(timezone.utc).isoformat() + "\n")


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
    return d
