"""One tiny finished run with a validation split, trained once per test session and shared by
test_fuse.py and test_predict.py (a module-level cache, since each module's fixture asks for it)."""

from __future__ import annotations

from pathlib import Path

from helpers import compose_cfg

OVERRIDES = ["dataset.val_fraction=0.25"]
_CACHE: dict[str, Path] = {}


def tiny_val_run(tmp_path_factory) -> Path:
    """The run directory (treat it as read-only: copy it before changing anything)."""
    if "run" not in _CACHE:
        from mmfusion.commands.train import train

        out = tmp_path_factory.mktemp("tiny_val_run") / "run"
        train(compose_cfg(OVERRIDES), out)
        _CACHE["run"] = out
    return _CACHE["run"]
