"""The run directory, the one reader and writer of its format: `config.yaml` (the resolved config),
`metrics.json`, `predictions.npz` (per split: labels, ids, presence masks, probabilities of every
model), `versions.json`, and the marker `COMPLETE`.

A run writes every file first and the marker last, so an interrupted run never looks complete;
`fuse`, `predict` and `report` read only these files, through this module.
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
from omegaconf import OmegaConf

from mmfusion.errors import RunDirError

MARKER = "COMPLETE"
METRICS = "metrics.json"
PREDICTIONS = "predictions.npz"
VERSIONS = "versions.json"
CONFIG = "config.yaml"  # the resolved config (also without Hydra); Hydra's copy is .hydra/config.yaml
SPLITS = ("train", "val", "test")
KEY_PACKAGES = (
    "mmfusion",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "hydra-core",
    "omegaconf",
    "numpy",
    "scikit-learn",
    "gensim",
    "pandas",
    "matplotlib",
    "tep-studio",
    "pyreadr",
)


def versions() -> dict:
    """Python, platform and key package versions, with the code's git commit (details: provenance.json)."""
    out = {"python": sys.version.split()[0], "platform": platform.platform(), **git_state(), "provenance": PROVENANCE}
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


def write_config(run_dir: Path, cfg) -> None:
    (Path(run_dir) / CONFIG).write_text(OmegaConf.to_yaml(cfg, resolve=True))


def read_config(run_dir: Path):
    """The run's resolved config (config.yaml, else Hydra's .hydra/config.yaml), or None."""
    for path in (Path(run_dir) / CONFIG, Path(run_dir) / ".hydra" / "config.yaml"):
        if path.is_file():
            return OmegaConf.load(path)
    return None


def metrics_record(
    classes,
    modalities,
    models: dict,
    train_accuracy,
    fusion,
    comparison,
    sizes,
    class_counts,
    dataset,
    seed: int,
    **extra,
) -> dict:
    """The metrics.json of a run (or of a re-fusion with one rule): one layout for train and fuse."""
    return {
        "classes": list(classes),
        "modalities": list(modalities),
        "models": models,
        "train_accuracy": train_accuracy,
        "fusion": fusion,
        "comparison": comparison,
        "sizes": sizes,
        "class_counts": class_counts,
        "dataset": dataset,
        "seed": int(seed),
        **extra,
    }


def prediction_arrays(classes, splits: dict, names: list[str], probs: dict, logprobs: dict | None = None) -> dict:
    """predictions.npz arrays: splits[s] has y, ids, present[m], units[m] (the text / run behind each
    sample, for cluster CIs); probs[s][model] (n, q) NaN where absent; logprobs[s][model] beside them."""
    arrays = {"classes": np.asarray(classes)}
    for s, split in splits.items():
        arrays[f"y_{s}"] = split.y
        arrays[f"ids_{s}"] = split.ids
        for m in names:
            arrays[f"present_{s}_{m}"] = split.present[m]
            if m in getattr(split, "units", {}):
                arrays[f"units_{s}_{m}"] = split.units[m]
        for model, p in probs[s].items():
            arrays[f"proba_{s}_{model}"] = p
        for model, lp in (logprobs or {}).get(s, {}).items():
            arrays[f"logproba_{s}_{model}"] = lp  # exact NLL and temperature scaling
    return arrays


def _log_or(pred: dict, s: str, m: str) -> np.ndarray:
    """logproba_<s>_<m>, or (runs from before it was saved) the unclipped log of the probabilities."""
    if f"logproba_{s}_{m}" in pred:
        return pred[f"logproba_{s}_{m}"]
    with np.errstate(divide="ignore"):
        return np.log(pred[f"proba_{s}_{m}"])


def load_run(run_dir) -> dict:
    """A finished run's predictions and metrics: dir, metrics, pred (raw arrays), names, classes, and per
    split y, probs[m], logprobs[m], present[m]; the test units per modality; train_acc in modality order."""
    d = require_complete(Path(run_dir))
    try:
        metrics = json.loads((d / METRICS).read_text())
        pred = load_npz(d / PREDICTIONS)
        names = list(metrics["modalities"])
        splits = [s for s in SPLITS if f"y_{s}" in pred]
        return {
            "dir": d,
            "metrics": metrics,
            "pred": pred,
            "names": names,
            "classes": list(metrics["classes"]),
            "y": {s: pred[f"y_{s}"] for s in splits},
            "probs": {s: {m: pred[f"proba_{s}_{m}"] for m in names} for s in splits},
            "present": {s: {m: pred[f"present_{s}_{m}"].astype(bool) for m in names} for s in splits},
            "logprobs": {s: {m: _log_or(pred, s, m) for m in names} for s in splits},
            "units": [pred[f"units_test_{m}"] for m in names if f"units_test_{m}" in pred],  # cluster CIs
            "train_acc": [float(metrics["train_accuracy"][m]) for m in names],
        }
    except (KeyError, ValueError, OSError) as err:
        raise RunDirError(
            f"{d}: predictions.npz / metrics.json are unreadable or incomplete ({err}); rerun it"
        ) from None


# --- provenance: which code made a run, and where its time went ------------------------------------

PROVENANCE = "provenance.json"


def git_state(package_dir: Path | None = None) -> dict:
    """The git commit of the code and whether its tracked files differ from it (`dirty`), found from the
    package's own directory; both None when that is not a git checkout (an installed package, no git)."""
    import subprocess

    pkg = Path(package_dir or Path(__file__).resolve().parent)
    unknown = {"commit": None, "dirty": None}

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(pkg), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout if proc.returncode == 0 else None

    # the package must be tracked by the repository found: a venv's site-packages inside some other
    # checkout is not a checkout of this code
    if git("ls-files", "--error-unmatch", "__init__.py") is None:
        return unknown
    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    if commit is None:
        return unknown
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def package_version() -> str:
    """The installed distribution's version, else the package's own __version__."""
    try:
        return metadata.version("mmfusion")
    except metadata.PackageNotFoundError:
        from mmfusion import __version__

        return __version__


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished child processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class timed:
    """`with timed(timings, name):` adds the block's wall and CPU seconds to timings[name] (also when the
    block is interrupted; timings None: nothing), then calls `then()` if given. Also start() ... stop()."""

    def __init__(self, timings: dict | None, name: str, then=None):
        self.timings, self.name, self.then = timings, name, then

    def __enter__(self):
        import time

        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()
        return self

    def start(self):
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def __exit__(self, *exc):
        import time

        if self.timings is not None:
            t = self.timings.setdefault(self.name, {"wall_s": 0.0, "cpu_s": 0.0})
            t["wall_s"] = round(t["wall_s"] + time.perf_counter() - self._wall, 3)
            t["cpu_s"] = round(t["cpu_s"] + _cpu_seconds() - self._cpu, 3)
        if self.then is not None:
            self.then()
        return False


class Provenance:
    """provenance.json of a run (or of a fuse directory): the code's git commit and dirty flag, the
    package version, when it started and finished (and each resume), and the wall and CPU seconds of each
    stage (`data`, `setup` (seeding, TensorFlow and devices), `model_<modality>`, `model_joint`, `fusion`,
    `evaluation`; a fuse: `fusion`, `evaluation`).

    Saved after every stage, so an interrupted run keeps what it measured (`finished` null); a resumed
    run keeps its first start, adds the time it resumed, and adds this session's seconds to each stage.
    `dirty` counts changes to tracked files only (run outputs are untracked)."""

    def __init__(self, run_dir: Path | None, command: str = "train", resumed: bool = False):
        self.path = None if run_dir is None else Path(run_dir) / PROVENANCE  # None: kept until locate()
        earlier = read_provenance(run_dir) if resumed and run_dir is not None else None
        self.record = {
            "command": command,
            **git_state(),
            "version": package_version(),
            "started": _now(),
            "finished": None,
            "resumed": [],
            "stages": {},
        }
        if earlier:  # the first session's start; this session's start is the time it resumed
            self.record["resumed"] = [*(earlier.get("resumed") or []), self.record["started"]]
            self.record["started"] = earlier.get("started") or self.record["started"]
            self.record["stages"] = dict(earlier.get("stages") or {})
        self.stages = self.record["stages"]
        self._open: dict = {}

    def stage(self, name: str | None) -> timed:
        """A timed stage, saved afterwards (name None: only saved, e.g. around fit_modalities' own timings)."""
        return timed(self.stages if name else None, name or "", then=self._save_quietly)

    def start(self, name: str) -> None:
        """Begin a stage that ends at stop(name): for a stage that is not one block of code."""
        self._open[name] = self.stage(name).start()

    def stop(self, name: str) -> None:
        self._open.pop(name).stop()

    def _save_quietly(self) -> None:
        try:
            self.save()
        except OSError:  # e.g. the disk filled up: the run's results matter more than its timings
            pass

    def locate(self, run_dir: Path) -> None:
        """Where to save, for a record begun before its directory existed (fuse)."""
        self.path = Path(run_dir) / PROVENANCE
        self.save()

    def save(self) -> None:
        if self.path is not None:
            write_json(self.path, self.record)

    def finish(self) -> dict:
        """Stamp the finish time and save; call before the COMPLETE marker."""
        self.record["finished"] = _now()
        self.save()
        return self.record


def read_provenance(run_dir: Path) -> dict | None:
    """A run's provenance.json, or None (runs made before it was recorded, or unreadable)."""
    path = Path(run_dir) / PROVENANCE
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None
