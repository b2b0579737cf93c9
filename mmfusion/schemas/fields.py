"""Field helpers for the config schemas: a default plus the range the value must lie in.

OmegaConf checks the type of every key at composition (`int`, `float`, `List[int]`, ...); the range a
value must lie in travels as dataclass field metadata (`expect`: words for the message, `ok`: the test)
and `mmfusion.schemas.check` applies it right after composition, before any data is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import Any


def spec(default: Any, expect: str = "", ok: Callable[[Any], bool] | None = None):
    """A field with a default (a list or dict default is copied per instance) and its allowed range."""
    meta = {"expect": expect, "ok": ok} if ok is not None else {}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def at_least(default: Any, low: int) -> Any:
    return spec(default, f"an integer >= {low}", lambda v: v >= low)


def positive(default: Any) -> Any:
    return spec(default, "a number > 0", lambda v: v > 0)


def fraction(default: Any, closed: bool = False) -> Any:
    """A share in [0, 1) (closed=True: [0, 1])."""
    if closed:
        return spec(default, "a number in [0, 1]", lambda v: 0 <= v <= 1)
    return spec(default, "a number in [0, 1)", lambda v: 0 <= v < 1)


def choice(default: Any, *options: str) -> Any:
    return spec(default, "one of " + " | ".join(options), lambda v: v in options)


def int_list(default: list, low: int = 1, min_len: int = 1) -> Any:
    """A list of at least `min_len` integers, each >= `low`."""
    what = f"a list of {'at least ' + str(min_len) + ' ' if min_len else ''}integers >= {low}"
    return spec(default, what, lambda v: len(v) >= min_len and all(x >= low for x in v))


def int_range(default: Any, low: int = 1) -> Any:
    """null or [min, max] with low <= min <= max (e.g. an n-gram range)."""
    return spec(default, f"null or [min, max] with {low} <= min <= max", lambda v: len(v) == 2 and low <= v[0] <= v[1])
