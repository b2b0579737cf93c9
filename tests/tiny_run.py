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


def tiny_report(tmp_path_factory) -> Path:
    """A reported copy of the tiny run (`mmfusion report` writes report.md / report.html into it),
    made once per session; treat it as read-only."""
    if "report" not in _CACHE:
        import shutil

        from mmfusion.commands.report import report

        out = tmp_path_factory.mktemp("tiny_report") / "run"
        shutil.copytree(tiny_val_run(tmp_path_factory), out)
        report(out)
        _CACHE["report"] = out
    return _CACHE["report"]
