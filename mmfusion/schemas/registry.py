"""The one registry of what configs build: kind -> name -> (schema, builder).

A kind is a config group (`model/text`, `model/series`, `joint`, `fusion`, `dataset`, `dataset/series`,
`dataset/text`, `tracking`); a name is one of its options (the YAML file conf/<kind>/<name>.yaml). Each
option's schema dataclass registers itself, naming what builds it:

    @register("fusion", "equal", "mmfusion.fusion.weighted:Equal")
    @dataclass
    class EqualSchema(RuleSchema): ...

That one line is the only place linking the name, the schema and the builder: the schema goes into
Hydra's ConfigStore as `schema/<kind>/<name>` (the YAML names it in its defaults list), and
`build(kind, cfg, *args)` calls the builder with the typed node and the arguments. A builder is a class
or a function taking the node first; a "module:attribute" string is imported only when something is
built, so composing a config (`mmfusion train --help`, completion) imports no TensorFlow. Options that
only type a config (`joint=none`, `tracking`) register no builder.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

SELECTOR = {"dataset/series": "source", "dataset/text": "source"}  # the key naming the option; else `name`


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    schema: type
    builder: str | Callable | None  # "module:attribute", the class or function itself, or None


_ENTRIES: dict[str, dict[str, Entry]] = {}
_stored = False  # whether store() has put the schemas into Hydra's ConfigStore


def register(kind: str, name: str, builder: str | Callable | None = None):
    """Decorator for the schema dataclass of option `name` of config group `kind`, built by `builder`."""

    def add(schema: type) -> type:
        said = _default(schema, SELECTOR.get(kind, "name"))
        if said is not None and said != name:
            raise ValueError(f"{schema.__qualname__} registers {kind}={name} but its default says {said!r}")
        old = _ENTRIES.get(kind, {}).get(name)
        if old is not None and (old.schema.__module__, old.schema.__qualname__) != (
            schema.__module__,
            schema.__qualname__,
        ):
            raise ValueError(f"{kind}={name} is registered already (by {old.schema.__qualname__})")
        entry = Entry(kind, name, schema, builder)
        _ENTRIES.setdefault(kind, {})[name] = entry
        if _stored:
            _store(entry)
        return schema

    return add


def unregister(kind: str, name: str) -> None:
    """Forget option `name` of `kind` (a test's or a plugin's own; its ConfigStore node stays, unused)."""
    _ENTRIES.get(kind, {}).pop(name, None)


def kinds() -> list[str]:
    return list(_ENTRIES)


def names(kind: str) -> list[str]:
    """The options of `kind` in the order they were registered (tables list fusion rules in this order)."""
    return list(_options(kind))


def schemas(kind: str) -> dict[str, type]:
    return {name: e.schema for name, e in _options(kind).items()}


def schema(kind: str, name: str) -> type:
    return _entry(kind, name).schema


def schema_of(kind: str, builder: Callable) -> type | None:
    """The schema registered for `builder` (a class or function) under `kind`; None if it has none."""
    dotted = f"{builder.__module__}:{builder.__qualname__}"
    for e in _options(kind).values():
        if e.builder is builder or e.builder == dotted:
            return e.schema
    return None


def lookup(kind: str, name: str) -> Callable:
    """The class or function that builds option `name` of `kind` (imported now if named by a string)."""
    entry = _entry(kind, name)
    builder = entry.builder
    if builder is None:
        raise ValueError(f"{kind}={name} builds nothing")  # e.g. joint=none: callers build only what is set
    if isinstance(builder, str):
        module, attribute = builder.split(":")
        builder = getattr(importlib.import_module(module), attribute)
    return builder


def build(kind: str, cfg, *args, **kwargs):
    """Build the option `cfg` selects (its `name`, or `source` for data sources): builder(cfg, *args)."""
    return lookup(kind, cfg[SELECTOR.get(kind, "name")])(cfg, *args, **kwargs)


class Catalogue(Mapping):
    """A live, read-only view name -> builder of one kind, in registration order."""

    def __init__(self, kind: str):
        self.kind = kind

    def __getitem__(self, name: str) -> Callable:
        if name not in self:
            raise KeyError(name)  # Mapping.get relies on it; registry.lookup says which names there are
        return lookup(self.kind, name)

    def __contains__(self, name) -> bool:
        return name in _options(self.kind)

    def __iter__(self) -> Iterator[str]:
        return iter(names(self.kind))

    def __len__(self) -> int:
        return len(_options(self.kind))

    def __repr__(self) -> str:
        return f"Catalogue({self.kind!r}: {names(self.kind)})"


def store() -> None:
    """Put every registered schema into Hydra's ConfigStore (and those registered later, as they come)."""
    global _stored
    for options in _ENTRIES.values():
        for entry in options.values():
            _store(entry)
    _stored = True


def _store(entry: Entry) -> None:
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group=f"schema/{entry.kind}", name=entry.name, node=entry.schema)


def _default(schema: type, key: str):
    """The schema's default for `key` (its own name, e.g. `name: str = choice("equal", "equal")`), if any."""
    fields = {f.name: f for f in dataclasses.fields(schema)} if dataclasses.is_dataclass(schema) else {}
    default = fields[key].default if key in fields else None
    return default if isinstance(default, str) else None


def _options(kind: str) -> dict[str, Entry]:
    if kind not in _ENTRIES:
        raise ValueError(f"no config group {kind!r} is registered; known: {kinds()}")
    return _ENTRIES[kind]


def _entry(kind: str, name: str) -> Entry:
    options = _options(kind)
    if name not in options:
        key = f"{kind.replace('/', '.')}.{SELECTOR.get(kind, 'name')}"
        # a config's names are refused before (Hydra's config groups, the schemas' choices): a Python-API guard
        raise ValueError(f"{key}={name!r} is not known; choose one of {sorted(options)}")
    return options[name]
