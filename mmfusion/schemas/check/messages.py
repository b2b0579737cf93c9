"""The config check's one-line messages: `<full key>=<value>: expected <type or range>`, values shown as
the user would type them in an override, and the same line for the errors OmegaConf raises while composing."""

from __future__ import annotations

import dataclasses
import re
import types
import typing

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from mmfusion.errors import ConfigError
from mmfusion.schemas import registry

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
        return _not_a_key(key, cls)
    value = getattr(cause, "value", None)
    if cls in (list, ListConfig) and getattr(cause, "ref_type", None) is not None:
        item = [a for a in typing.get_args(cause.ref_type) if a is not type(None)]
        return f"{key}={show(value)}: expected {type_words(item[0]) if item else 'another type'}"
    want = expected(cls, str(cause.key)) if cls is not None else "another type"
    return f"{key}={show(value)}: expected {want}"


def _not_a_key(key: str, cls) -> str:
    """An unknown key of a typed section; a key of another data source says which source has it."""
    parent = key.rsplit(".", 1)[0] if "." in key else "the top level"
    names = ", ".join(f.name for f in dataclasses.fields(cls))
    sources = registry.schemas(parent.replace(".", "/")) if parent in ("dataset.series", "dataset.text") else {}
    owners = [name for name, schema in sources.items() if key.rsplit(".", 1)[1] in schema.__dataclass_fields__]
    where = f" (it belongs to {parent.replace('.', '/')}={'|'.join(owners)})" if owners else ""
    return f"{key} is not a key of {parent}{where}; its keys are: {names}"


def fail(key: str, value, want: str) -> None:
    """Refuse `key=value`: `<key>=<value>: expected <want>`."""
    raise ConfigError(f"{key}={show(value)}: expected {want}")
