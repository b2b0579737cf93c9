"""`mmfusion <subcommand>`: `train` hands every remaining argument to Hydra (overrides, -m, --cfg,
--help, launchers); the other subcommands read finished run directories."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mmfusion import interrupt, launchers
from mmfusion.errors import MmfusionError

log = logging.getLogger("mmfusion")

USAGE = """usage: mmfusion <command> [arguments]

commands:
  train [overrides...]   train one model per modality, fuse, evaluate (Hydra: -m, --cfg job, --help, ...)
  report <run-or-multirun-dir>
                         Tables III-IV and Figures 5-7 from finished runs, into <dir>/report.md
  data build [overrides...]
                         build (and cache) the configured dataset ahead of training, print its summary
  fuse <run-dir> [fusion=<rule>|all] [overrides...]
                         fuse a finished run again from its saved probabilities (no retraining) into
                         <run-dir>/fuse/<rule>-<time>/; robustness.enabled=true adds missing-modality results
  predict <run-dir> [--text CSV] [--series NPZ|CSV] [--out CSV]
                         classify new records with a finished run's models and fusion
  --help                 this message

Run `mmfusion train --help` for the configuration groups and their options.
"""

CONFIG_MODULE = "mmfusion.conf"


def _resume_hint(cfg, out: str) -> str:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    checkpoint = bool(cfg.get("training", {}).get("checkpoint", False))
    if hc.mode == RunMode.MULTIRUN:
        return (f"job {hc.job.num} ({out}) is not marked complete; rerun the same command with "
                f"hydra.sweep.dir={hc.sweep.dir} resume=true to continue the sweep")
    if checkpoint:
        return f"{out} is not marked complete; rerun the same command with hydra.run.dir={out} to continue"
    return f"{out} is not marked complete (training.checkpoint=false: a rerun starts again in a new directory)"


def _train_task(cfg) -> dict:
    from hydra.core.hydra_config import HydraConfig

    from mmfusion.train import train

    out = HydraConfig.get().runtime.output_dir
    with interrupt.stage("starting the run", hint=_resume_hint(cfg, out)):
        result = train(cfg, out)
    print(result["table"], end="")
    print(f"run directory: {out}" + (" (already complete with the same config; kept as it was)"
                                     if result.get("skipped") else ""))
    return result["accuracy"]


def _existing_run_dir(overrides: list[str]) -> Path | None:
    """Hydra rewrites .hydra/ of an existing directory before the task starts, so decide up front: a run
    directory that holds results is refused, unless it is an interrupted run with checkpoints and the
    same config (resumed) or, with resume=true, a finished run with the same config (returned: kept)."""
    from mmfusion import resume

    if any(arg.startswith("-") for arg in overrides):  # -m (each job decides), --cfg, --help: no run here
        return None
    for arg in overrides:
        if arg.startswith("hydra.run.dir="):
            target = Path(arg.split("=", 1)[1])
            if target.is_dir() and resume.state(target) != "fresh":
                return target if resume.prepare(compose_config(overrides), target) == "skip" else None
    return None


def _refuse_unwritable_dirs(overrides: list[str]) -> None:
    """An output directory that cannot be created: one message up front instead of a traceback from Hydra."""
    import os

    for arg in overrides:
        key, _, value = arg.partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and "${" not in value:
            target = Path(value).absolute()
            parent = next(p for p in (target, *target.parents) if p.exists())
            if not parent.is_dir():
                raise MmfusionError(f"{key}={value} cannot be created: {parent} is a file, not a directory; choose another {key}")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise MmfusionError(f"{key}={value} cannot be created: {parent} is not writable; choose another {key}")


def run_train(overrides: list[str]) -> None:
    import hydra

    finished = _existing_run_dir(overrides)
    if finished is not None:  # resume=true and complete with the same config: nothing to do
        print((finished / "tables" / "accuracy.md").read_text(), end="")
        print(f"run directory: {finished} (already complete with the same config; kept as it was)")
        return
    _refuse_unwritable_dirs(overrides)
    launchers.check(overrides)  # a launcher preset whose plugin is missing: name the extra
    task = hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="config")(_train_task)
    sys.argv = ["mmfusion-train", *overrides]
    task()


def compose_config(overrides: list[str]):
    """The config `mmfusion train` would use with these overrides (Hydra's compose API)."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        raise MmfusionError(f"{err} (overrides: {' '.join(overrides) or 'none'})") from None


def run_data(args: list[str]) -> None:
    if not args or args[0] != "build":
        raise MmfusionError("usage: mmfusion data build [overrides...], e.g. mmfusion data build dataset=factory")
    import json
    import logging as _logging

    _logging.basicConfig(level=_logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    cfg = compose_config(args[1:])
    from mmfusion.data import build_dataset

    with interrupt.stage("building the dataset", hint="rerun the same command to continue (finished runs are reused)"):
        ds = build_dataset(cfg.dataset)  # simulated series land in the on-disk cache on the way
    print(f"dataset {cfg.dataset.name}: classes {ds.classes}; sizes {ds.sizes()}; class counts {ds.class_counts()}")
    print(json.dumps({k: v for k, v in ds.info.items() if k != "series_variables"}, indent=1))


def run_report(args: list[str]) -> None:
    if len(args) != 1:
        raise MmfusionError("usage: mmfusion report <run-or-multirun-dir>")
    from mmfusion.report import report

    with interrupt.stage("writing the report", kept=f"nothing new in {args[0]}", hint="rerun the same command"):
        out = report(args[0])
    print(f"report: {out}")


def run_fuse(args: list[str]) -> None:
    if not args or args[0].startswith("-") or "=" in args[0]:
        raise MmfusionError("usage: mmfusion fuse <run-dir> [fusion=<rule>|all] [overrides...]")
    from mmfusion.fuse import fuse_run

    with interrupt.stage("fusing", kept=f"{args[0]} itself unchanged; a new fuse/ folder there, if any, has no "
                                         "COMPLETE marker", hint="rerun the same command"):
        out = fuse_run(args[0], args[1:])
    for name in ("comparison.md", "accuracy_ci.md", "robustness.md"):
        if (out / "tables" / name).is_file():
            print((out / "tables" / name).read_text(), end="")
    print(f"fuse directory: {out}")


def run_predict(args: list[str]) -> None:
    from mmfusion.predict import run_predict as _predict

    with interrupt.stage("classifying", kept="no output file written", hint="rerun the same command"):
        _predict(args)


COMMANDS = {"train": run_train, "data": run_data, "report": run_report, "fuse": run_fuse, "predict": run_predict}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"mmfusion: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
        return 2
    interrupt.install()  # Ctrl-C / SIGTERM: one line saying where it stopped, exit 130 / 143
    try:
        COMMANDS[command](rest)
    except MmfusionError as err:
        print(f"mmfusion {command}: error: {err}", file=sys.stderr)
        return 2
    except interrupt.Interrupted as err:
        sys.stdout.flush()
        label = f"{command} {rest[0]}" if command == "data" and rest else command
        print(interrupt.message(label, err), file=sys.stderr, flush=True)
        return err.exit_status
    return 0


if __name__ == "__main__":
    sys.exit(main())
