"""Provenance: which code made a run (versions.json, provenance.json: git commit, package versions) and
where its time went (`timed`, `Provenance`'s stages)."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from mmfusion.errors import FileError
from mmfusion.rundir.files import write_json

PROVENANCE = "provenance.json"
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


def git_state(package_dir: Path | None = None) -> dict:
    """The git commit of the code and whether its tracked files differ from it (`dirty`), found from the
    package's own directory; both None when that is not a git checkout (an installed package, no git)."""
    import subprocess

    pkg = Path(package_dir or Path(__file__).resolve().parents[1])  # the mmfusion package
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
        except (OSError, FileError):  # e.g. the disk filled up: the run's results matter more than its timings
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
