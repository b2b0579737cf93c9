"""The one range check, right after composition and before any data is built: every key against its
schema's range (`mmfusion.schemas.fields`), then the rules that tie keys together. Also turns the type
errors OmegaConf raises at composition into the same one-line message:
`<full key>=<value>: expected <type or range>`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from mmfusion.errors import ConfigError
from mmfusion.schemas.dataset import MAX_FAULT, SERIES, TEXT
from mmfusion.schemas.models import TRAINING_KEYS, UntrainedSchema
from mmfusion.schemas.run import ConfigSchema

log = logging.getLogger(__name__)
RIETH_SAMPLES = {"training": 500, "testing": 960}  # samples per run of each part of the Rieth release
RENAMED = {  # old key -> what to write instead
    "fusion.weights_from": "fusion.weights=train_accuracy|val_accuracy (train -> train_accuracy, val -> val_accuracy)",
}
TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def show(value) -> str:
    """A value as the user would type it in an override."""
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:g}"
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def type_words(tp) -> str:
    """`int` -> 'an integer', `List[int]` -> 'a list of integers', `Optional[X]` -> 'null or ...'."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return "null or " + type_words(args[0])
    if origin is list:
        inner = type_words(args[0]) if args else "values"
        return "a list of " + {"an integer": "integers", "a number": "numbers", "a string": "strings"}.get(inner, inner)
    if origin is dict:
        return "a mapping"
    return TYPE_WORDS.get(tp, getattr(tp, "__name__", str(tp)))


def expected(cls, key: str) -> str:
    """What the field `key` of schema `cls` accepts, in words (its range when it has one)."""
    field = next((f for f in dataclasses.fields(cls) if f.name == key), None) if dataclasses.is_dataclass(cls) else None
    if field is None:
        return "a known key"
    if field.metadata.get("expect"):
        return field.metadata["expect"]
    return type_words(typing.get_type_hints(cls).get(key, typing.Any))


def composition_message(err: BaseException) -> str | None:
    """One line for an OmegaConf error met while composing (a wrong type, an unknown key), else None."""
    cause = err if isinstance(err, OmegaConfBaseException) else err.__cause__
    if not isinstance(cause, OmegaConfBaseException) or not getattr(cause, "full_key", None):
        return None
    key, cls = cause.full_key, getattr(cause, "object_type", None)
    if key in RENAMED:
        return f"{key} was renamed: use {RENAMED[key]}"
    if "not in" in str(getattr(cause, "msg", "")) and dataclasses.is_dataclass(cls):
        parent = key.rsplit(".", 1)[0] if "." in key else "the top level"
        names = ", ".join(f.name for f in dataclasses.fields(cls))
        sources = {"dataset.series": SERIES, "dataset.text": TEXT}.get(parent, {})
        owners = [name for name, schema in sources.items() if key.rsplit(".", 1)[1] in schema.__dataclass_fields__]
        where = f" (it belongs to {parent.replace('.', '/')}={'|'.join(owners)})" if owners else ""
        return f"{key} is not a key of {parent}{where}; its keys are: {names}"
    value = getattr(cause, "value", None)
    if cls in (list, ListConfig) and getattr(cause, "ref_type", None) is not None:
        item = [a for a in typing.get_args(cause.ref_type) if a is not type(None)]
        return f"{key}={show(value)}: expected {type_words(item[0]) if item else 'another type'}"
    want = expected(cls, str(cause.key)) if cls is not None else "another type"
    return f"{key}={show(value)}: expected {want}"


def _get(node, key: str, path: str):
    try:
        return node[key]
    except MissingMandatoryValue:
        raise ConfigError(f"{path} is required (??? in the YAML): set it, e.g. {path}=<value>") from None
    except OmegaConfBaseException as err:
        raise ConfigError(composition_message(err) or f"{path}: {str(err).splitlines()[0]}") from None


def _walk(node, path: str, cls=None) -> None:
    cls = cls or OmegaConf.get_type(node)
    schema = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
    for key in node.keys():
        full = f"{path}.{key}" if path else str(key)
        value = _get(node, key, full)
        field = schema.get(key)
        ok = field.metadata.get("ok") if field is not None else None
        if ok is not None and value is not None:
            try:
                good = bool(ok(value))
            except (TypeError, ValueError):
                good = False
            if not good and full in ("dataset.series.source", "dataset.text.source"):
                group = full.rsplit(".", 1)[0].replace(".", "/")
                raise ConfigError(
                    f"{full}={show(value)}: the source is a config group: choose it with {group}={show(value)}"
                )
            if not good:
                raise ConfigError(f"{full}={show(value)}: expected {field.metadata['expect']}")
        if isinstance(value, DictConfig):
            _walk(value, full)


def _fail(key: str, value, want: str) -> None:
    raise ConfigError(f"{key}={show(value)}: expected {want}")


def _split_sizes(d) -> None:
    """Stratified splits (scikit-learn) need at least one sample per class on every side."""
    q, n = len(d.classes), len(d.classes) * d.samples_per_class
    n_test = math.ceil(d.test_fraction * n)
    sides = [n_test, n - n_test]
    if d.val_fraction > 0:
        n_val = math.ceil(d.val_fraction / (1 - d.test_fraction) * (n - n_test))
        sides = [n_test, n_val, n - n_test - n_val]
    if min(sides) < q:
        _fail(
            "dataset.samples_per_class",
            d.samples_per_class,
            f"enough samples for one of each of the {q} classes in every split (test_fraction="
            f"{show(d.test_fraction)}, val_fraction={show(d.val_fraction)}; {n} samples give {sides})",
        )


def _exists(key: str, value, folder_ok: bool) -> None:
    """A data path of dataset=factory: it must exist before minutes of loading or simulating begin."""
    path = Path(str(value)).expanduser()
    if not (path.is_file() or (folder_ok and path.is_dir())):
        what = "file or folder" if folder_ok else "file"
        state = "is a folder" if path.is_dir() else "does not exist"
        raise ConfigError(f"{key}={show(value)}: {path.absolute()} {state}; expected an existing {what}")


def _dataset(d) -> None:
    for part, folder_ok in (("series", True), ("text", False)):
        if d.get("name") == "factory" and "path" in d[part]:
            _exists(f"dataset.{part}.path", d[part].path, folder_ok)
    test, val = d.get("test_fraction"), d.get("val_fraction")
    if test is not None and val is not None and test + val >= 1:
        _fail(
            "dataset.val_fraction",
            val,
            f"dataset.test_fraction + dataset.val_fraction < 1 (test_fraction={show(test)})",
        )
    cv = d.get("cv")
    if cv is not None and cv.folds and not cv.fold < cv.folds:
        _fail("dataset.cv.fold", cv.fold, f"an integer in 0..{cv.folds - 1} for dataset.cv.folds={cv.folds}")
    if d.get("name") == "synthetic":
        _split_sizes(d)
    if d.get("name") != "factory":
        return
    n, s, t = len(d.classes), d.series, d.text
    if len(s.faults) != n:
        _fail("dataset.series.faults", s.faults, f"one fault number per class ({n} classes: {show(d.classes)})")
    top = MAX_FAULT.get(s.source)
    if top is not None and max(s.faults) > top:
        _fail("dataset.series.faults", s.faults, f"fault numbers in 0..{top} for dataset/series={s.source}")
    if s.source == "simulate" and not s.onset_h < s.horizon_h:
        _fail("dataset.series.onset_h", s.onset_h, f"a number below dataset.series.horizon_h={show(s.horizon_h)}")
    if s.source == "simulate":
        for a, b in (("sample_interval_h", "control_interval_h"), ("horizon_h", "sample_interval_h")):
            steps = round(s[a] / s[b])
            if steps < 1 or abs(steps * s[b] - s[a]) > 1e-9 * max(s[a], 1.0):
                _fail(f"dataset.series.{a}", s[a], f"a whole multiple of dataset.series.{b}={show(s[b])}")
    w = s.get("window")
    if w is not None and w.get("jitter_start") and w.get("length") is None:
        _fail(
            "dataset.series.window.jitter_start",
            w.jitter_start,
            "0 while dataset.series.window.length is null (jittered windows need a fixed length)",
        )
    if s.source == "rieth" and s.length is not None and s.length > RIETH_SAMPLES[s.part]:
        _fail("dataset.series.length", s.length, f"null or 1..{RIETH_SAMPLES[s.part]} for dataset.series.part={s.part}")
    if t.source == "generate" and t.categories is not None and len(t.categories) != n:
        _fail("dataset.text.categories", t.categories, f"null or one report category per class ({n} classes)")


def _models(cfg) -> None:
    for m in cfg.modalities:
        if m not in cfg.model:
            raise ConfigError(f"modalities lists {m!r} but model.{m} is not configured; add model/{m}=<name>")
        mc = cfg.model[m]
        if "filters" in mc and "kernel_sizes" in mc and len(mc.filters) != len(mc.kernel_sizes):
            _fail(f"model.{m}.kernel_sizes", mc.kernel_sizes, f"one kernel size per filter entry ({len(mc.filters)})")
        if issubclass(OmegaConf.get_type(mc) or dict, UntrainedSchema):
            ignored = {k: mc[k] for k in TRAINING_KEYS if mc.get(k) is not None}
            if ignored:
                log.info(
                    "model.%s=%s is not trained by epochs: ignoring %s",
                    m,
                    mc.name,
                    ", ".join(f"model.{m}.{k}={show(v)}" for k, v in ignored.items()),
                )


def _joint(cfg) -> None:
    """joint=lstm trains one network on both modalities: both must be listed."""
    jc = cfg.get("joint")
    if jc is not None and jc.get("name", "none") != "none" and not {"text", "series"} <= set(cfg.modalities):
        _fail("modalities", cfg.modalities, "both series and text with joint=lstm (or joint=none)")


def check(cfg: DictConfig) -> None:
    """Raise ConfigError (one line naming the key) for the first key out of range; else return."""
    _walk(cfg, "", ConfigSchema if not dataclasses.is_dataclass(OmegaConf.get_type(cfg)) else None)
    if "dataset" in cfg:
        _dataset(cfg.dataset)
    _models(cfg)
    _joint(cfg)


def require_val_split(cfg, reason: str) -> None:
    """The validation-split rule, in one place: refuse `reason` (what needs validation data, e.g.
    "fusion=stacking is fitted on a validation split") unless `dataset.val_fraction > 0`. With cfg
    None the data at hand (a finished run's) has no validation split: always refused."""
    if cfg is not None and cfg.dataset.val_fraction > 0:
        return
    again = " and train again" if cfg is None else ""
    raise ConfigError(f"{reason}: set dataset.val_fraction > 0 (e.g. dataset.val_fraction=0.2){again}")
