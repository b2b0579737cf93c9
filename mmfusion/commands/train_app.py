"""`mmfusion train`'s Hydra application, apart from the training code so that it starts fast.

`app(task, overrides)` registers the typed schemas and resolvers and hands the arguments to Hydra.
`mmfusion train --help`, `--hydra-help`, `--info` and shell-completion queries (`-sc query=...`) never
run a task, so the CLI sends them here through `help_or_complete(overrides)` without importing
commands/train.py (and with it TensorFlow, scikit-learn, matplotlib): only Hydra, OmegaConf and the
schemas. The help lists the config groups users choose from (conf/config.yaml's
`hydra.help.template` names `${mmfusion.groups:}`), without the `schema/*` groups that only type the
YAML files and the presets an experiment applies by itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

NO_RUN_FLAGS = ("-h", "--help", "-hh", "--hydra-help", "-sc", "--shell-completion", "-i", "--info")
HIDDEN_GROUPS = ("schema", "experiment/series")  # typed schemas; per-source presets an experiment applies


def runs_nothing(overrides: list[str]) -> bool:
    """True when Hydra only prints (help, info, completion) and no task runs."""
    return any(arg in NO_RUN_FLAGS or arg.startswith(("--info=", "--shell-completion=")) for arg in overrides)


def config_groups() -> str:
    """The config groups a user picks from, one line each as Hydra lists them (`group: a, b, c`)."""
    from importlib.resources import files

    from mmfusion.config import CONFIG_MODULE

    groups: dict[str, list[str]] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir() and not child.name.startswith(("_", ".")):
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".yaml") and prefix:
                groups.setdefault(prefix.rstrip("/"), []).append(child.name[: -len(".yaml")])

    walk(files(CONFIG_MODULE), "")
    shown = {
        g: sorted(o)
        for g, o in groups.items()
        if not any(g == h or g.startswith(h + "/") for h in (*HIDDEN_GROUPS, "hydra"))
    }
    return "\n".join(f"{g}: {', '.join(o)}" for g, o in sorted(shown.items()))


def register() -> None:
    """The typed schemas and every resolver the configs name (before Hydra composes anything)."""
    from omegaconf import OmegaConf

    from mmfusion.config import register_resolvers
    from mmfusion.schemas import register as register_schemas

    register_resolvers()  # ${mmfusion.dir:...} in conf/hparams_search/
    if not OmegaConf.has_resolver("mmfusion.groups"):
        OmegaConf.register_new_resolver("mmfusion.groups", config_groups)
    register_schemas()  # the typed schemas the YAML files name in their defaults lists


def app(task: Callable, overrides: list[str]) -> None:
    """Run `task(cfg)` under Hydra with these command-line arguments (-m, --cfg, overrides, ...)."""
    import hydra

    from mmfusion.config import CONFIG_MODULE

    register()
    main = hydra.main(version_base="1.3", config_path=f"pkg://{CONFIG_MODULE}", config_name="config")(task)
    sys.argv = ["mmfusion", *overrides]  # Hydra's completion installs for the program `mmfusion`
    main()


def _no_task(cfg) -> None:
    raise RuntimeError("mmfusion train: help, info and completion run no task")


def help_or_complete(overrides: list[str]) -> None:
    """`mmfusion train --help` / `--hydra-help` / `--info` / `-sc ...`: Hydra prints, nothing trains."""
    app(_no_task, overrides)
