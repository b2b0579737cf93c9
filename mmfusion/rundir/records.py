"""The typed records of a run directory: metrics.json (`Metrics`, or `RuleComparison` for
`fuse fusion=all`), predictions.npz (`Predictions`) and a finished `Run`, written and read only here;
the defaults for keys older runs lack are set once, in the records."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from mmfusion.errors import FileError, RunDirError
from mmfusion.rundir.files import METRICS, PREDICTIONS, SPLITS, load_npz, read_json, write_json, write_npz
from mmfusion.rundir.markers import require_complete

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
