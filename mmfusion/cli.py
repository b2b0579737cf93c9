"""`mmfusion <subcommand>`: `train` hands every remaining argument to Hydra (overrides, -m, --cfg,
--help, launchers); the other subcommands read finished run directories."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mmfusion.errors import MmfusionError

log = logging.getLogger("mmfusion")

USAGE = """usage: mmfusion <command> [arguments]

commands:
  train [overrides...]   train one model per modality, fuse, evaluate (Hydra: -m, --cfg job, --help, ...)
  --help                 this message

Run `mmfusion train --help` for the configuration groups and their options.
"""

CONFIG_MODULE = "mmfusion.conf"


def _train_task(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig

    from mmfusion.train import train

    out = HydraConfig.get().runtime.output_dir
    result = train(cfg, out)
    print(result["table"], end="")
    print(f"run directory: {out}")
    return result["accuracy"]


def _refuse_existing_run_dir(overrides: list[str]) -> None:
    """Hydra rewrites .hydra/ of an existing directory before the task starts: refuse that up front."""
    from mmfusion.rundir import holds_results

    for arg in overrides:
        if arg.startswith("hydra.run.dir="):
            target = Path(arg.split("=", 1)[1])
            if target.is_dir() and holds_results(target):
                raise MmfusionError(f"{target} already holds a run; choose a new hydra.run.dir (nothing was overwritten)")


def run_train(overrides: list[str]) -> None:
    import hydra

    _refuse_existing_run_dir(overrides)
    task = hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="config")(_train_task)
    sys.argv = ["mmfusion-train", *overrides]
    task()


COMMANDS = {"train": run_train}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"mmfusion: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    try:
        COMMANDS[command](rest)
    except MmfusionError as err:
        print(f"mmfusion {command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
