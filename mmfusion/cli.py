"""`mmfusion <command> [arguments]`: argument parsing and dispatch only.

Each command lives in `mmfusion.commands.<name>` and exposes `main(args)`; `train` hands every argument
to Hydra (overrides, -m, --cfg, --help, -sc install=bash|zsh|fish), the others parse their own with
argparse (so each has --help). A user error (`MmfusionError`) is printed as one line, exit status 2;
Ctrl-C or SIGTERM as one line saying where it stopped and what was kept, exit status 130 or 143.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from mmfusion import __version__
from mmfusion.runtime import failures, interrupt, quiet

COMMANDS = {  # name -> one-line summary (the module is mmfusion.commands.<name>)
    "train": "train one model per modality, fuse, evaluate (Hydra: -m, --cfg job, --help, ...)",
    "data": "data build [overrides...]: build (and cache) the configured dataset ahead of training",
    "report": "report <run-or-multirun-dir>: Tables III-IV and Figures 5-7 into <dir>/report.md",
    "fuse": "fuse <run-dir> [fusion=<rule>|all] [overrides...]: fuse a finished run again, no retraining",
    "predict": "predict <run-dir> [--text CSV] [--series NPZ|CSV] [--out CSV]: classify new records",
}
USAGE = (
    "usage: mmfusion [--version] [--help] [-v|--verbose] [--debug] <command> [arguments]\n\ncommands:\n"
    + "".join(f"  {name:<8} {summary}\n" for name, summary in COMMANDS.items())
    + "\n`mmfusion <command> --help` describes a command; `mmfusion train --help` lists the config groups.\n"
    + "-v / --verbose (or MMFUSION_VERBOSE=1): show TensorFlow's own start-up and log lines.\n"
)
LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # the format Hydra gives `train`


def _complete(args: list[str]) -> int:
    """Shell completion queries (`-sc query=...`, sent by the script `mmfusion train -sc install=bash`
    installs): complete the command name, or hand the line to Hydra without the word `train`."""
    line = os.environ.get("COMP_LINE", "")
    words = line.split()
    if len(words) >= 2 and words[1] == "train" and (len(words) > 2 or line.endswith(" ")):
        os.environ["COMP_LINE"] = line.replace(" train", "", 1)
        from mmfusion.commands import train_app  # Hydra and the schemas only: no TensorFlow

        train_app.help_or_complete(args)
        return 0
    prefix = words[1] if len(words) == 2 and not line.endswith(" ") else ""
    print(" ".join(c for c in COMMANDS if c.startswith(prefix)))
    return 0


def _global_flags(argv: list[str]) -> list[str]:
    """Take the flags that come before the command (-v / --verbose) and quiet TensorFlow unless verbose."""
    while argv and argv[0] in ("-v", "--verbose"):
        os.environ[quiet.VERBOSE_ENV] = "1"  # also for the processes a run starts (simulation workers)
        argv = argv[1:]
    quiet.install()  # before any command imports TensorFlow: no absl / oneDNN / CUDA start-up lines
    return argv


def _help_only(command: str, rest: list[str]) -> bool:
    """`mmfusion <command> --help` (and usage errors) answered without importing the command's module:
    argparse parsers from commands/parsers.py, train's help and Hydra's queries from commands/train_app.py."""
    if command == "train":
        from mmfusion.commands import train_app

        if not train_app.runs_nothing(rest):
            return False
        train_app.help_or_complete(rest)
        return True
    from mmfusion.commands import parsers

    parsers.check(command, rest)  # exits on --help (0) or a usage error (2)
    return False


def main(argv: list[str] | None = None) -> int:
    argv = _global_flags(failures.take_debug_flag(list(sys.argv[1:] if argv is None else argv)))  # --debug: tracebacks
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"mmfusion {__version__}")
        return 0
    if argv[0] == "-sc":
        return _complete(argv)
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"mmfusion: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    if _help_only(command, rest):
        return 0
    if command != "train":  # train's logging is configured by Hydra
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    interrupt.install()  # Ctrl-C / SIGTERM: one line saying where it stopped, exit status 130 / 143
    failures.prepare(command)  # train: Hydra passes a job's exception on instead of printing it
    try:
        importlib.import_module(f"mmfusion.commands.{command}").main(rest)
    except Exception as err:  # one line naming the file or key, exit 2 (a bug: exit 1); --debug: traceback
        return failures.handle_failure(command, err)
    except interrupt.Interrupted as err:
        sys.stdout.flush()
        label = f"{command} {rest[0]}" if command == "data" and rest else command
        print(interrupt.message(label, err), file=sys.stderr, flush=True)
        return err.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
