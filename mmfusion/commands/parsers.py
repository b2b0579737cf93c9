"""The argparse parsers of the commands other than `train`, in a module that imports nothing heavy.

`mmfusion <command> --help` and a mistyped argument are answered from here by the CLI before the
command's module (and with it TensorFlow, scikit-learn or matplotlib) is imported. Each command's
`main(args)` parses its arguments with the same parser (tests/commands/test_cli_speed.py compares the help
texts), so what `--help` says is what the command accepts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DESCRIPTIONS = {  # the first paragraph of each command module's docstring
    "data": "`mmfusion data build [overrides...]`: build the configured dataset ahead of training (simulated TEP\n"
    "runs land in the on-disk cache on the way) and print its summary.",
    "report": "`mmfusion report <run-or-multirun-dir>`: the paper's tables and figures from finished runs.",
    "fuse": "`mmfusion fuse <run-dir> [fusion=<rule>|all] [overrides...]`: fuse a finished run again, without\n"
    "retraining and without Keras, from its predictions.npz and metrics.json only.",
    "predict": "`mmfusion predict <run-dir> [--text FILE] [--series FILE] [--out FILE]`: classify new records with a\n"
    "finished run's saved models (and their saved vocabulary / normalisation statistics) and fusion params.",
}


def _data() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mmfusion data", description=DESCRIPTIONS["data"])
    ap.add_argument("action", choices=["build"], help="build: build (and cache) the dataset")
    ap.add_argument("overrides", nargs="*", help="config overrides as for `mmfusion train`, e.g. dataset=factory")
    return ap


def _report() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mmfusion report", description=DESCRIPTIONS["report"])
    ap.add_argument("directory", help="a run directory or a multirun (sweep) directory of finished runs")
    return ap


def _fuse() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mmfusion fuse",
        description=DESCRIPTIONS["fuse"],
        epilog="e.g. mmfusion fuse outputs/2026-01-01/12-00-00 fusion=all robustness.enabled=true; "
        "mmfusion fuse <run> fusion=all models=[text,series] (only those base models)",
    )
    ap.add_argument("run_dir", help="a finished run directory (with COMPLETE)")
    ap.add_argument(
        "overrides",
        nargs="*",
        help="fusion=<rule>|all, fusion.<key>=..., evaluation.*, robustness.*, seed, "
        "models=[<base model>,...] (default: every base model of the run)",
    )
    return ap


def _predict() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="mmfusion predict", description=DESCRIPTIONS["predict"])
    ap.add_argument("run_dir", type=Path, help="a finished run directory (with COMPLETE)")
    ap.add_argument("--text", type=Path, help="CSV with id and text columns")
    ap.add_argument("--series", type=Path, help=".npz (ids, x) or long CSV (id, step, variables...)")
    ap.add_argument("--text-column", help="name of the text column (default: text, else the run's)")
    ap.add_argument("--out", type=Path, default=Path("predictions.csv"), help="output CSV (default predictions.csv)")
    return ap


PARSERS = {"data": _data, "report": _report, "fuse": _fuse, "predict": _predict}


def build(command: str) -> argparse.ArgumentParser:
    """The parser of `mmfusion <command>` (a command without one here, e.g. train: KeyError)."""
    return PARSERS[command]()


def check(command: str, args: list[str]) -> argparse.Namespace | None:
    """Parse `args` as the command will: --help prints and exits 0, a usage error prints and exits 2,
    both before the command's module is imported. None for a command that parses its own (train)."""
    if command not in PARSERS:
        return None
    return build(command).parse_args(args)
