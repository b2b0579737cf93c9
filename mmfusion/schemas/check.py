"""The one range check, right after composition and before any data is built: every key against its
schema's range (`mmfusion.schemas.fields`), then the rules that tie keys together. Also turns the type
errors OmegaConf raises at composition into the same one-line message:
`<full key>=<value>: expected <type or range>`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import types
import typing
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from mmfusion.errors import ConfigError
from mmfusion.schemas import registry
from mmfusion.schemas.check_sources import check_sources
from mmfusion.schemas.dataset import MAX_FAULT
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
    cause = err if isinstance(err, OmegaConfBaseException) else (err.__cause__ or err.__context__)
    if not isinstance(cause, OmegaConfBaseException) or not getattr(cause, "full_key", None):
        return None
    where = re.match(r"In '([^']+)': \w+ raised while composing", str(err))  # a config file's own key
    if where and where.group(1) != "config":
        text = composition_message(cause)
        return f"{text} (set by {where.group(1)})" if text else None
    key, cls = cause.full_key, getattr(cause, "object_type", None)
    if key in RENAMED:
        return f"{key} was renamed: use {RENAMED[key]}"
    if "not in" in str(getattr(cause, "msg", "")) and dataclasses.is_dataclass(cls):
        parent = key.rsplit(".", 1)[0] if "." in key else "the top level"
        names = ", ".join(f.name for f in dataclasses.fields(cls))
        sources = registry.schemas(parent.replace(".", "/")) if parent in ("dataset.series", "dataset.text") else {}
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
    if cv is not None and cv.folds and not d.split_before_resampling:  # data/pairing.py makes the folds
        raise ConfigError(
            "dataset.cv.folds needs dataset.split_before_resampling=true: folds are made of "
            "unique texts and runs, which the paper's protocol resamples before splitting"
        )
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


def _added_models(cfg) -> None:
    """More than one model per modality: `model.<modality>_<label>` (mmfusion/basemodels.py)."""
    from mmfusion import basemodels

    basemodels.check(cfg, {m: registry.names(f"model/{m}") for m in ("text", "series")})
    for name in basemodels.base_models(cfg):  # TF-IDF: at least one of its two analyzers
        mc = cfg.model[name]
        if "word_ngrams" in mc and "char_ngrams" in mc and not mc.word_ngrams and not mc.char_ngrams:
            raise ConfigError("model.text: set word_ngrams and/or char_ngrams; both are off")


def _joint(cfg) -> None:
    """joint=lstm trains one network on both modalities: both must be listed."""
    jc = cfg.get("joint")
    if jc is not None and jc.name != "none" and not {"text", "series"} <= set(cfg.modalities):
        _fail("modalities", cfg.modalities, "both series and text with joint=lstm (or joint=none)")


def _crossfit(cfg) -> None:
    """fusion.fit_on=crossfit deals each class's training units (texts, runs) into fusion.crossfit_folds
    folds: more folds than a class has training units is impossible. Known here for dataset=synthetic
    (each sample its own unit) and for series sources that set runs_per_class; the data's own count is
    checked again once it is built (commands/train_crossfit.py)."""
    f, d = cfg.get("fusion"), cfg.get("dataset")
    if f is None or d is None or f.get("fit_on") != "crossfit":
        return
    folds = f.crossfit_folds
    cv = d.get("cv")
    test = 1.0 / cv.folds if cv is not None and cv.folds else d.test_fraction
    val = d.val_fraction
    limits = []
    if d.get("name") == "synthetic":
        per_class = d.samples_per_class - math.ceil(d.samples_per_class * test) - math.ceil(d.samples_per_class * val)
        limits.append((per_class, f"training samples (dataset.samples_per_class={d.samples_per_class})"))
    runs = (d.get("series") or {}).get("runs_per_class") if d.get("name") == "factory" else None
    if runs is not None and "series" in cfg.modalities:
        limits.append((runs, f"runs in all (dataset.series.runs_per_class={runs})"))
    for most, what in limits:
        if folds > most:
            _fail(
                "fusion.crossfit_folds",
                folds,
                f"at most {max(most, 0)} with fusion.fit_on=crossfit: each class has about {max(most, 0)} {what}, "
                f"and every fold must hold out one of each class; lower fusion.crossfit_folds "
                f"or use fusion.fit_on=val",
            )


OBJECTIVE_MEASURES = ("accuracy", "loss")


def objective_parts(spec) -> tuple[str, str] | None:
    """(model, measure) of `objective.metric` = val/<model>/<accuracy|loss>; None: no objective."""
    if spec in (None, "", "none"):
        return None
    parts = str(spec).split("/")
    if len(parts) != 3 or parts[0] != "val" or parts[2] not in OBJECTIVE_MEASURES:
        raise ConfigError(
            f"objective.metric={spec!r} is not a validation metric; write val/<model>/accuracy or "
            f"val/<model>/loss, e.g. objective.metric=val/fused/accuracy (the test split is never used)"
        )
    return parts[1], parts[2]


def check_objective(cfg) -> None:
    """A search objective (evaluation/objective.py) names a trained model and has a validation split."""
    from mmfusion import basemodels

    parsed = objective_parts(cfg.objective.metric)
    if parsed is None:
        return
    model, _ = parsed
    added = [m for m in basemodels.base_models(cfg) if basemodels.extra_key(m)]  # e.g. text_tfidf
    modalities = list(cfg.modalities) + added
    known = modalities + (["fused"] if len(modalities) > 1 else [])
    if "joint" in cfg and cfg.joint.name != "none":
        known.append("joint")  # joint=lstm: its validation probabilities (hparams_search=joint_lstm)
    if model not in known:
        raise ConfigError(
            f"objective.metric={cfg.objective.metric}: {model!r} is not trained in this run; name one of {known}"
        )
    require_val_split(
        cfg,
        f"objective.metric={cfg.objective.metric} is computed on the validation split, but "
        f"dataset.val_fraction={cfg.dataset.val_fraction}",
    )


def check(cfg: DictConfig) -> None:
    """Raise ConfigError (one line naming the key) for the first key out of range; else return."""
    _walk(cfg, "", ConfigSchema if not dataclasses.is_dataclass(OmegaConf.get_type(cfg)) else None)
    if "dataset" in cfg:
        _dataset(cfg.dataset)
    _models(cfg)
    _added_models(cfg)
    _joint(cfg)
    _crossfit(cfg)
    check_bounds(cfg)
    if "objective" in cfg:
        check_objective(cfg)
    check_sources(cfg, _series_length)


# --- bounds: keys that size memory or time, finite numbers, seeds, windows that fit the series --------

MAX_SEED = 2**32 - 1  # NumPy's and TensorFlow's seeds are 32-bit
# highest accepted value of each key that sizes memory or time, by its last name (anywhere in the config);
# far above any run this project makes, low enough that a typo (1e20 epochs) stops at once
SIZE_LIMITS = {
    "samples_per_class": 10_000_000,
    "runs_per_class": 1_000_000,
    "reports_per_class": 10_000_000,
    "series_length": 1_000_000,
    "series_variables": 100_000,
    "length": 1_000_000,
    "text_length": 100_000,
    "class_words": 1_000_000,
    "shared_words": 1_000_000,
    "jitter_start": 1_000_000,
    "braatz_window": 1_000_000,
    "braatz_stride": 1_000_000,
    "first_run": 1_000_000,
    "workers": 4096,
    "folds": 100_000,
    "epochs": 1_000_000,
    "word2vec_epochs": 1_000_000,
    "batch_size": 10_000_000,
    "lstm_units": 100_000,
    "gru_units": 100_000,
    "dense_units": 100_000,
    "filters": 100_000,
    "kernel_sizes": 100_000,
    "embedding_dim": 100_000,
    "max_tokens": 100_000_000,
    "sequence_length": 1_000_000,
    "word2vec_window": 100_000,
    "min_df": 1_000_000_000,
    "max_features": 1_000_000_000,
    "ensemble": 1000,
    "n_kernels": 10_000_000,
    "max_dilations_per_kernel": 100_000,
    "max_iter": 1_000_000_000,
    "lr_patience": 1_000_000,
    "early_stopping_patience": 1_000_000,
    "time_shift": 1_000_000,
    "bootstrap": 10_000_000,
    "ece_bins": 1_000_000,
    "memory_budget_gb": 1_000_000,
    "horizon_h": 100_000,
}
SEED_KEYS = ("seed", "random_state")  # and every key ending in _seed


def _numbers(node, path: str):
    """(full key, value) of every number in the config, list items included (booleans are not numbers)."""
    for key in node.keys():
        full = f"{path}.{key}" if path else str(key)
        try:
            value = node[key]
        except OmegaConfBaseException:
            continue  # reported by _walk
        if isinstance(value, DictConfig):
            yield from _numbers(value, full)
        elif isinstance(value, ListConfig):
            items = list(value)
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
                yield full, items
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield full, value


def _bounds(cfg) -> None:
    """Finite numbers everywhere; seeds in 0..2**32-1; sizes up to SIZE_LIMITS; learning rates > 0."""
    for key, value in _numbers(cfg, ""):
        name = key.rsplit(".", 1)[-1]
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            _fail(key, value, "a finite number (not inf or nan)")
        if name in SEED_KEYS or name.endswith("_seed"):
            if any(not 0 <= v <= MAX_SEED for v in values):
                _fail(
                    key, value, f"an integer in 0..{MAX_SEED} (2**32 - 1, the largest seed NumPy and TensorFlow take)"
                )
        limit = SIZE_LIMITS.get(name)
        if limit is not None and any(v > limit for v in values):
            _fail(key, value, f"at most {limit:,} (a size this large would exhaust memory or time)".replace(",", "_"))
        if name == "lr" and any(not v > 0 for v in values):
            _fail(key, value, "a finite number > 0")


def _series_length(d) -> tuple[int, int] | None:
    """(samples per series, index of the first faulty sample) the dataset will build, when known up front."""
    if d.get("name") == "synthetic":
        return int(d.series_length), 0
    if d.get("name") != "factory":
        return None
    s = d.series
    if s.source == "simulate":
        step = float(s.sample_interval_h)
        return int(round(float(s.horizon_h) / step)), max(
            0, math.ceil((float(s.onset_h) - s.control_interval_h) / step)
        )
    if s.source == "rieth":
        total = RIETH_SAMPLES[s.part]
        return (int(s.length) if s.length is not None else total), (20 if s.part == "training" else 160)
    if s.source == "braatz":
        return int(s.braatz_window), 0
    return None


def _fits_series(cfg) -> None:
    """A window (dataset.series.window) and a time shift (model.series.time_shift) inside the series."""
    d = cfg.get("dataset")
    known = _series_length(d) if d is not None else None
    if known is None:
        return
    total, onset = known
    length = total
    w = d.series.get("window") if d.get("name") == "factory" else None
    if w is not None and (w.get("start") is not None or w.get("length") is not None):
        begin = onset + int(w.start or 0)
        if w.get("start") is not None and begin >= total:
            _fail(
                "dataset.series.window.start",
                w.start,
                f"a start inside the series: the onset is sample {onset} of {total}, so start < {total - onset}",
            )
        length = int(w.length) if w.get("length") is not None else total - begin
    shift = OmegaConf.select(cfg, "model.series.time_shift", default=None) if "series" in cfg.modalities else None
    if shift is not None and int(shift) >= length:
        _fail("model.series.time_shift", shift, f"an integer below the series length ({length} samples)")


def _unknown_keys(node, path: str = "") -> None:
    """Keys added with `+` (e.g. +model.text.epoch=5) are checked like any other: a typed section only
    takes the keys of its schema."""
    cls = OmegaConf.get_type(node)
    if not path and not dataclasses.is_dataclass(cls):
        cls = ConfigSchema  # the top level: conf/config.yaml's keys
    if dataclasses.is_dataclass(cls):
        names = [f.name for f in dataclasses.fields(cls)]
        extra = [k for k in node.keys() if k not in names and not (not path and k == "hydra")]
        if extra:
            where = path or "the top level"
            full = f"{path}.{extra[0]}" if path else str(extra[0])
            raise ConfigError(f"{full} is not a key of {where}; its keys are: {', '.join(names)}")
    for key in node.keys():
        try:
            value = node[key]
        except OmegaConfBaseException:
            continue
        if isinstance(value, DictConfig):
            _unknown_keys(value, f"{path}.{key}" if path else str(key))


def check_bounds(cfg: DictConfig) -> None:
    """The bounds above, after the per-key ranges of `check` (one ConfigError naming the key)."""
    _unknown_keys(cfg)
    _bounds(cfg)
    _fits_series(cfg)


def require_val_split(cfg, reason: str) -> None:
    """The validation-split rule, in one place: refuse `reason` (what needs validation data, e.g.
    "fusion=stacking is fitted on a validation split") unless `dataset.val_fraction > 0`. With cfg
    None the data at hand (a finished run's) has no validation split: always refused."""
    if cfg is not None and cfg.dataset.val_fraction > 0:
        return
    again = " and train again" if cfg is None else ""
    raise ConfigError(f"{reason}: set dataset.val_fraction > 0 (e.g. dataset.val_fraction=0.2){again}")
