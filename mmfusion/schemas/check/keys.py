"""Every key against its schema: the range each field declares (`mmfusion.schemas.fields`), required
keys (??? in the YAML), and no key a typed section does not have (keys added with `+` included)."""

from __future__ import annotations

import dataclasses

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from mmfusion.errors import ConfigError
from mmfusion.schemas.check.messages import composition_message, show
from mmfusion.schemas.run import ConfigSchema


def _get(node, key: str, path: str):
    try:
        return node[key]
    except MissingMandatoryValue:
        raise ConfigError(f"{path} is required (??? in the YAML): set it, e.g. {path}=<value>") from None
    except OmegaConfBaseException as err:
        raise ConfigError(composition_message(err) or f"{path}: {str(err).splitlines()[0]}") from None


def check_ranges(node, path: str, cls=None) -> None:
    """Each key of `node` (recursively) against the range of its schema field (`cls`, else the node's type)."""
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
            check_ranges(value, full)


def check_unknown_keys(node, path: str = "") -> None:
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
            check_unknown_keys(value, f"{path}.{key}" if path else str(key))
