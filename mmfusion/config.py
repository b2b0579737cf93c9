"""The one place that composes and checks configs: `compose_config` (Hydra's compose API, as
`mmfusion train` would compose, with the typed schemas of `mmfusion.schemas` registered first) and
`validate` (every key's range and the rules between keys, before any data is built)."""

from __future__ import annotations

from omegaconf import DictConfig

from mmfusion.errors import MmfusionError

CONFIG_MODULE = "mmfusion.conf"  # conf/ ships inside the package under this name


def _make_dir(path: str) -> str:
    from pathlib import Path

    Path(path).mkdir(parents=True, exist_ok=True)
    return str(path)


def register_resolvers() -> None:
    """`${mmfusion.dir:<path>}`: the path, created first. The Optuna sweeper opens its SQLite study
    before Hydra creates the sweep directory, so conf/hparams_search/ stores it with this."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("mmfusion.dir"):
        OmegaConf.register_new_resolver("mmfusion.dir", _make_dir)


def one_line(err: BaseException) -> str:
    """A Hydra or OmegaConf composition error as one line naming the key (`key=value: expected ...`)."""
    from mmfusion.schemas.check.messages import composition_message

    text = composition_message(err)
    if text is None and getattr(err, "override", None):  # a malformed override: name it
        text = f"{err.override}: {str(err).splitlines()[0]} (Hydra's override syntax)"
    if text is None:
        lines = [ln.strip() for ln in str(err).split("Config search path")[0].splitlines() if ln.strip()]
        text = lines[0] if lines else type(err).__name__
        for prev, line in zip(lines, lines[1:]):  # "Available options in 'dataset':" then one option a line
            text += (" " if prev.endswith((":", ".")) else ", " if not line.endswith(":") else ". ") + line
    return text


def compose_config(overrides: list[str], check: bool = True):
    """The config `mmfusion train` would use with these overrides (Hydra's compose API), checked by
    `validate` unless check=False. Any problem is a one-line MmfusionError."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from mmfusion.basemodels import expand_overrides
    from mmfusion.schemas import register

    register()
    register_resolvers()
    overrides = expand_overrides(list(overrides))  # model/text=[a,b]: several models of a modality
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        raise MmfusionError(one_line(err)) from None
    if check:
        validate(cfg)
    return cfg


def validate(cfg: DictConfig) -> None:
    """Every key against its schema's range, then the rules between keys (one ConfigError naming the
    key as the user types it)."""
    from mmfusion.schemas.check import check

    check(cfg)


MAX_PRECHECKS = 200  # compositions spent on checking a sweep's values before any job starts


def precheck(args: list[str]) -> None:
    """`mmfusion train [args]`: compose and check what Hydra is about to run, before Hydra starts, so that
    a wrong type or range is one line (Hydra would print several) and no job of a sweep starts. With
    -m, every value of every swept key is checked (the other keys at their first value)."""
    import logging

    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        ns = get_args_parser().parse_args(args)
    except SystemExit:
        return  # a malformed flag: Hydra's own usage message says which
    if ns.help or ns.hydra_help or ns.shell_completion or ns.info or ns.config_dir or ns.config_name or ns.config_path:
        return
    ours = [o for o in ns.overrides if not o.lstrip("~+").startswith(("hydra.", "hydra/", "hydra="))]
    try:
        parsed = OverridesParser.create().parse_overrides(ours)
    except HydraException as err:
        raise MmfusionError(one_line(err)) from None
    try:
        values = [list(o.sweep_string_iterator()) if o.is_sweep_override() else None for o in parsed]
    except Exception:  # glob() needs Hydra's loader, interval() has no values: each job checks its own config
        return
    if any(v is not None for v in values) and not ns.multirun:
        return  # Hydra refuses a sweep without -m in its own words
    keys = [o.input_line.split("=", 1)[0] for o in parsed]

    def line(pick: dict) -> list[str]:
        return [
            f"{k}={pick.get(i, v[0])}" if v is not None else o.input_line
            for i, (k, v, o) in enumerate(zip(keys, values, parsed))
        ]

    jobs = [line({})] + [line({i: x}) for i, v in enumerate(values) if v is not None for x in v[1:]]
    quiet = logging.getLogger("mmfusion.schemas.check")
    level, quiet.level = quiet.level, logging.ERROR  # the job logs its notes; the check only stops bad input
    try:
        for job in jobs[:MAX_PRECHECKS]:
            compose_config(job, check=not ns.cfg)  # --cfg only prints: wrong types stop it, ranges do not
    finally:
        quiet.level = level
