"""The run directory, the one reader and writer of its format: `config.yaml` (the resolved config),
`metrics.json`, `predictions.npz` (per split: labels, ids, presence masks, probabilities of every
model), `versions.json`, and the marker `COMPLETE`.

A run writes every file first and the marker last, so an interrupted run never looks complete;
`fuse`, `predict` and `report` read only these files, through this module. metrics.json and
predictions.npz are typed records here (`Metrics`, `RuleComparison`, `Predictions`, a finished `Run`):
no other module parses them, and the defaults for keys older runs lack are set once, in the records.

Every write goes to a temporary name in the same folder, then is renamed over the target (a full disk
or a kill leaves the previous file whole); every failed read or write is one `FileError` naming the
file (`mmfusion.errors.describe`). Before the marker, `checksums.json` records the size and SHA-256 of
the files a run (or a re-fusion) wrote, its models included; readers check them, so a damaged or
changed file is named as such instead of failing somewhere inside NumPy or Keras.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from mmfusion.errors import FileError, RunDirError, reading, writing

MARKER = "COMPLETE"
METRICS = "metrics.json"
PREDICTIONS = "predictions.npz"
VERSIONS = "versions.json"
CHECKSUMS = "checksums.json"  # {"files": {relative path: {"bytes": n, "sha256": hex}}}, written before the marker
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


def write_atomic(path: Path, write, suffix: str = "") -> None:
    """`write(tmp)` writes the content to a temporary name in the same folder, then it is renamed over
    `path`: the file is whole or as it was before. Any OSError (no space, read-only) is one FileError
    naming `path`; the temporary file is removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _update_checksum(path)


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


def write_json(path: Path, obj) -> None:
    """Write to a temporary name, then rename: a file is either whole or absent."""
    write_text(path, json.dumps(obj, indent=2, allow_nan=False))


def write_npz(path: Path, arrays: dict) -> None:
    write_atomic(path, lambda tmp: np.savez_compressed(tmp, **arrays), suffix=".npz")


def read_json(path: Path, what: str = "a JSON file"):
    """A JSON file, or one FileError naming it (missing, unreadable, cut off)."""
    path = Path(path)
    with reading(path):
        return json.loads(path.read_text(encoding="utf-8"))


def load_npz(path: Path) -> dict:
    path = Path(path)
    if path.is_file() and not _is_zip(path):  # np.load would call it "pickled data" (allow_pickle=False)
        raise FileError(f"{path}: not an .npz file (it does not start like a zip archive); give the .npz file")
    with reading(path, "not a readable .npz file"):
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}


def _is_zip(path: Path) -> bool:
    with reading(path):
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")  # an archive, or an empty one


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


def write_config(run_dir: Path, cfg) -> None:
    write_text(Path(run_dir) / CONFIG, OmegaConf.to_yaml(cfg, resolve=True))


def read_config(run_dir: Path):
    """The run's resolved config (config.yaml, else Hydra's .hydra/config.yaml), or None. Plain YAML only
    (OmegaConf's safe loader: a `!!python/...` tag is refused); anything but a mapping is a FileError."""
    for path in (Path(run_dir) / CONFIG, Path(run_dir) / ".hydra" / "config.yaml"):
        if path.is_file():
            with reading(path):
                cfg = OmegaConf.load(path)
            if not isinstance(cfg, DictConfig):
                raise FileError(
                    f"{path}: not a config (a YAML mapping of keys); the run directory was changed, rerun it"
                )
            return cfg
    return None


# --- the records: metrics.json and predictions.npz, written and read only here ------------------------

_JSON_TYPES = {list: "a list", dict: "a mapping", int: "a number", str: "a string"}


@dataclass
class Metrics:
    """metrics.json of a run, or of a re-fusion with one rule (`source_run` set). The defaults are what a
    file written before a key existed means (`joint`: the run had no joint model; `objective`: no
    search), in this one place; a key the file holds that is not a field is kept in `extra`."""

    classes: list = field(default_factory=list)
    modalities: list = field(default_factory=list)
    models: dict = field(default_factory=dict)  # {model: score_models' metrics}, fused and joint included
    train_accuracy: dict = field(default_factory=dict)
    fusion: dict | None = None  # {"name", "params"}; None with one model
    comparison: dict | None = None  # McNemar: fused vs the best single model
    sizes: dict = field(default_factory=dict)
    class_counts: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)  # the dataset's info (cv_fold, series_info, ...)
    seed: int = 0
    joint: dict | None = None  # the joint model's settings and McNemar comparisons
    objective: dict | None = None  # {"metric", "direction", "value"}; written only when set
    source_run: str | None = None  # a re-fusion: the run it fused; written only when set
    extra: dict = field(default_factory=dict)

    OPTIONAL = ("objective", "source_run")  # left out of the file when None

    def as_dict(self) -> dict:
        """The file's content, keys in the order they have always been written."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out["seed"] = int(self.seed)
        for key in self.OPTIONAL:
            if out[key] is None:
                del out[key]
        return {**out, **self.extra}


@dataclass
class RuleComparison:
    """metrics.json of `mmfusion fuse <run> fusion=all`: the base models and every rule, scored."""

    classes: list = field(default_factory=list)
    modalities: list = field(default_factory=list)
    models: dict = field(default_factory=dict)  # the base models
    rules: dict = field(default_factory=dict)  # {rule: metrics, mcnemar and params}
    joint: dict | None = None
    skipped: dict = field(default_factory=dict)  # {rule: why it was skipped}
    source_run: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}, **self.extra}


def _record(cls, data, path: Path):
    """A record from a JSON object: each known key of its field's JSON type, or one FileError naming
    the file; a missing key takes the field's default."""
    if not isinstance(data, dict):
        raise FileError(f"{path}: not a metrics record (a JSON object of keys); the file was changed, rerun the run")
    known = {f.name: f for f in fields(cls) if f.name != "extra"}
    values = {}
    for key, value in data.items():
        if key not in known:
            continue
        want = next((t for t in _JSON_TYPES if t.__name__ in str(known[key].type)), None)
        if value is not None and want is not None and not isinstance(value, want):
            raise FileError(
                f"{path}: {key} is {value!r:.60}, not {_JSON_TYPES[want]}; the file was changed after the run, rerun it"
            )
        values[key] = value
    return cls(**values, extra={k: v for k, v in data.items() if k not in known})


def write_metrics(run_dir: Path, record: Metrics | RuleComparison) -> None:
    write_json(Path(run_dir) / METRICS, record.as_dict())


def read_metrics(run_dir: Path) -> Metrics | RuleComparison:
    """A run's (or a fuse directory's) metrics.json: `RuleComparison` for a `fusion=all` directory,
    else `Metrics`; a missing, cut-off or foreign file is one FileError naming it."""
    path = Path(run_dir) / METRICS
    data = read_json(path)
    return _record(RuleComparison if isinstance(data, dict) and "rules" in data else Metrics, data, path)


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


@dataclass
class Predictions:
    """predictions.npz, read through these methods (`arrays`: every array under its name in the file)."""

    path: Path
    arrays: dict

    @property
    def splits(self) -> list[str]:
        return [s for s in SPLITS if f"y_{s}" in self.arrays]

    def has(self, split: str, model: str) -> bool:
        return f"proba_{split}_{model}" in self.arrays

    def y(self, split: str) -> np.ndarray:
        return self._get(f"y_{split}")

    def ids(self, split: str) -> np.ndarray:
        """The samples' ids (runs made before they were saved: their positions, as text)."""
        key = f"ids_{split}"
        return self.arrays[key] if key in self.arrays else np.arange(len(self.y(split))).astype(str)

    def proba(self, split: str, model: str) -> np.ndarray:
        return self._get(f"proba_{split}_{model}")

    def logproba(self, split: str, model: str) -> np.ndarray:
        """logproba_<s>_<m>, or (runs from before it was saved) the unclipped log of the probabilities."""
        if f"logproba_{split}_{model}" in self.arrays:
            return self.arrays[f"logproba_{split}_{model}"]
        with np.errstate(divide="ignore"):
            return np.log(self.proba(split, model))

    def present(self, split: str, model: str) -> np.ndarray:
        """Where the model has the sample (runs made before the masks were saved: its rows without NaN)."""
        key = f"present_{split}_{model}"
        if key in self.arrays:
            return self.arrays[key].astype(bool)
        return ~np.isnan(self.proba(split, model)).any(axis=1)

    def units(self, split: str, model: str) -> np.ndarray | None:
        """The text / run behind each sample (cluster CIs); None for runs made before it was saved."""
        return self.arrays.get(f"units_{split}_{model}")

    def _get(self, key: str) -> np.ndarray:
        if key not in self.arrays:
            raise RunDirError(f"{self.path}: lacks {key!r}; the file was changed after the run, rerun it")
        return self.arrays[key]


def write_predictions(run_dir: Path, arrays: dict) -> None:
    write_npz(Path(run_dir) / PREDICTIONS, arrays)


def read_predictions(run_dir: Path) -> Predictions:
    path = Path(run_dir) / PREDICTIONS
    return Predictions(path, load_npz(path))


@dataclass
class Run:
    """A finished run, as `fuse` reads it: its metrics, its predictions, and per split y, probs[m],
    logprobs[m], present[m] of its base models (`names`); the test units per modality (cluster CIs);
    train_acc in `names` order; the jointly trained model's probabilities (joint=lstm), when it has one."""

    dir: Path
    metrics: Metrics
    predictions: Predictions
    names: list[str]
    classes: list
    y: dict
    probs: dict
    present: dict
    logprobs: dict
    units: list
    train_acc: list
    joint: dict  # {split: probabilities}
    joint_without: dict  # {"text" | "series": test probabilities with that modality hidden}
    oof: dict | None = None  # fusion.fit_on=crossfit runs: the out-of-fold predictions (fusion/crossfit.py)
    subset: list[str] | None = None  # `fuse models=[...]`: the base models kept (None: every one)


def load_run(run_dir) -> Run:
    """A finished run's metrics and predictions (require_complete: marker, files, checksums)."""
    d = require_complete(Path(run_dir))
    metrics = read_metrics(d)
    pred = read_predictions(d)
    arrays = pred.arrays
    try:
        if not isinstance(metrics, Metrics):
            raise KeyError("train_accuracy")  # a fuse fusion=all directory, not a run
        names = list(metrics.modalities)
        splits = pred.splits
        return Run(
            dir=d,
            metrics=metrics,
            predictions=pred,
            names=names,
            classes=list(metrics.classes),
            y={s: arrays[f"y_{s}"] for s in splits},
            probs={s: {m: arrays[f"proba_{s}_{m}"] for m in names} for s in splits},
            present={s: {m: arrays[f"present_{s}_{m}"].astype(bool) for m in names} for s in splits},
            logprobs={s: {m: pred.logproba(s, m) for m in names} for s in splits},
            units=[arrays[f"units_test_{m}"] for m in names if f"units_test_{m}" in arrays],
            train_acc=[float(metrics.train_accuracy[m]) for m in names],
            joint={s: arrays[f"proba_{s}_joint"] for s in splits if f"proba_{s}_joint" in arrays},
            joint_without={
                m: arrays[f"proba_test_joint_without_{m}"]
                for m in ("text", "series")
                if f"proba_test_joint_without_{m}" in arrays
            },
        )
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise RunDirError(
            f"{d}: predictions.npz / metrics.json are unreadable or incomplete (lacks {err}); rerun it"
        ) from None


# --- checksums: damaged files found by their content -------------------------------------------------

RECORDED = (METRICS, PREDICTIONS, CONFIG, VERSIONS, "models")  # what a run's checksums.json covers


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with reading(path):
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _entry(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": sha256(path)}


def record_checksums(run_dir: Path) -> None:
    """checksums.json: size and SHA-256 of the run's files (RECORDED; every file under models/)."""
    d = Path(run_dir)
    files = {}
    for name in RECORDED:
        p = d / name
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file() and not f.name.startswith("."):
                files[f.relative_to(d).as_posix()] = _entry(f)
    write_json(d / CHECKSUMS, {"algorithm": "sha256", "files": files})


def _read_checksums(d: Path) -> dict | None:
    path = d / CHECKSUMS
    if not path.is_file():
        return None  # a run made before checksums were recorded: nothing to compare
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise FileError(f"{path}: not a checksum list; the run directory was changed, rerun it")
    return data["files"]


def verify(run_dir: Path, names=RECORDED) -> None:
    """Each recorded file at or under `names` is present, of its size and SHA-256; else one RunDirError
    naming the file. A run without checksums.json (made before it existed) passes."""
    d = Path(run_dir)
    files = _read_checksums(d)
    if not files:
        return
    for rel, want in files.items():
        if not any(rel == n or rel.startswith(f"{n}/") for n in names):
            continue
        path = d / rel
        if not path.is_file():
            raise RunDirError(f"{path}: missing (the run wrote it, see {CHECKSUMS}); restore it or rerun the run")
        size = path.stat().st_size
        if size != want.get("bytes"):
            raise RunDirError(
                f"{path}: damaged or changed since the run wrote it ({size} bytes, the run wrote {want.get('bytes')}); "
                f"restore it or rerun the run"
            )
        if sha256(path) != want.get("sha256"):
            raise RunDirError(
                f"{path}: damaged or changed since the run wrote it (its SHA-256 differs from {CHECKSUMS}); "
                f"restore it or rerun the run"
            )


def _update_checksum(path: Path) -> None:
    """A file rewritten through this module in a directory with checksums keeps its entry current."""
    path = Path(path)
    if path.name in (CHECKSUMS, MARKER):
        return
    for d in (path.parent, path.parent.parent):
        manifest = d / CHECKSUMS
        if manifest.is_file():
            rel = path.relative_to(d).as_posix()
            data = read_json(manifest)
            if rel in data.get("files", {}):
                data["files"][rel] = _entry(path)
                write_json(manifest, data)
            return


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


# --- collected results: a run's report-ready copy under outputs/results/ ----------------------------

COLLECTED = "collected.json"  # scripts/collect_results.py: what it kept, from where, and whether it re-reports


def read_collected(root: Path) -> dict | None:
    """The collected.json of a folder made by scripts/collect_results.py, or None (a run directory)."""
    path = Path(root) / COLLECTED
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise FileError(f"{path}: not a record of a collected folder (a JSON object); collect the run again")
    return data


def report_title(root: Path) -> str:
    """The directory a report names in its heading: the run directory a collected folder was made from
    (collected.json), so that its report regenerates unchanged anywhere; else `root` as given."""
    collected = read_collected(root)
    return str(collected["source"]) if collected and collected.get("source") else str(root)
