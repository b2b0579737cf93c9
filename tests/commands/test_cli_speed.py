"""The CLI answers help and completion without the heavy libraries (timings: scripts/bench_cli.py).

Each probe runs `mmfusion.cli.main(...)` in a fresh interpreter and reports which heavy modules it
imported: `--help`, `<command> --help` and completion must import none of them, so they stay fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from mmfusion.commands import parsers

HEAVY = ("tensorflow", "keras", "sklearn", "matplotlib", "scipy", "pandas", "mmfusion.commands.train")


def probe(args: list[str], env: dict | None = None) -> dict:
    code = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        from mmfusion.cli import main
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                rc = main({args!r})
            except SystemExit as exit:
                rc = exit.code
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        print(json.dumps({{"rc": rc, "heavy": heavy, "out": out.getvalue()}}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_train_help_imports_no_heavy_library_and_hides_schema_groups():
    res = probe(["train", "--help"])
    assert res["rc"] in (0, None) and res["heavy"] == []
    groups = res["out"].split("== Configuration groups ==")[1].split("== Config ==")[0]
    assert "model/text: " in groups and "dataset/series: braatz, rieth, simulate" in groups
    assert "schema" not in groups and "experiment/series" not in groups


@pytest.mark.parametrize("command", ["data", "report", "fuse", "predict"])
def test_command_help_imports_no_heavy_library(command):
    res = probe([command, "--help"])
    assert res["rc"] == 0 and res["heavy"] == [] and res["out"].startswith(f"usage: mmfusion {command}")


def test_completion_query_imports_no_heavy_library():
    res = probe(["-sc", "query=bash"], env={"COMP_LINE": "mmfusion train model/te", "COMP_POINT": "23"})
    assert res["heavy"] == [] and "model/text=" in res["out"]
    res = probe(["-sc", "query=bash"], env={"COMP_LINE": "mmfusion re", "COMP_POINT": "11"})
    assert res["heavy"] == [] and res["out"].split() == ["report"]


@pytest.mark.parametrize("command", ["data", "report", "fuse", "predict"])
def test_light_parsers_match_the_commands_own(command, monkeypatch):
    """commands/parsers.py answers --help for each command: it must say what the command accepts."""
    import importlib

    module = importlib.import_module(f"mmfusion.commands.{command}")
    monkeypatch.setenv("COLUMNS", "100")
    own = io.StringIO()
    with contextlib.redirect_stdout(own), pytest.raises(SystemExit):
        module.main(["--help"])
    assert parsers.build(command).format_help() == own.getvalue()
    assert parsers.DESCRIPTIONS[command] == module.__doc__.split("\n\n")[0]  # the module's own words


def test_usage_error_is_argparse_exit_2_before_import():
    res = probe(["predict", "--nope", "x"])
    assert res["rc"] == 2 and res["heavy"] == []
