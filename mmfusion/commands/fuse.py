"""`mmfusion fuse <run-dir> [fusion=<rule>|all] [overrides...]`: fuse a finished run again, without
retraining and without Keras, from its predictions.npz and metrics.json only.

The fusion config is composed like `mmfusion train` would (`fusion=<rule>`, `fusion.<key>=...`,
`evaluation.*`, `robustness.*`, `seed`); left out, `fusion` is the run's own rule with the run's own
settings and `seed` the run's seed, so `mmfusion fuse <run>` reproduces the run's metrics exactly.
Output: a new directory `<run-dir>/fuse/<rule>-<timestamp>/` (never overwriting) with metrics.json,
predictions.npz, config.yaml, tables/, figures/ as a run has them, and COMPLETE last. `fusion=all`
fuses with every rule and writes `tables/comparison.{csv,md}` (accuracy, macro AUC with CIs, NLL, ...).
`robustness.enabled=true` adds `tables/robustness.*` and `figures/robustness.png`.
`models=[text,series]` fits and fuses only those base models of the run (several per modality:
docs/several-models.md), as a run that trained only them would; its output folder is
`fuse/<rule>_only_<model>+<model>-<timestamp>`, beside (never instead of) the fusion of every model.
The files of the output directory are written by fuse_outputs.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from mmfusion import fusion
from mmfusion.basemodels import modality_of
from mmfusion.commands import parsers
from mmfusion.commands.fuse_outputs import write_all, write_single  # looked up here, so patchable here
from mmfusion.config import compose_config
from mmfusion.errors import ConfigError, FileError, MmfusionError, RunDirError, writing
from mmfusion.fusion import crossfit as fusion_crossfit
from mmfusion.fusion.robustness import robustness_table
from mmfusion.reporting.robustness import write_robustness
from mmfusion.rundir.files import CONFIG, read_config, write_text
from mmfusion.rundir.markers import mark_complete
from mmfusion.rundir.provenance import Provenance
from mmfusion.rundir.records import Run
from mmfusion.rundir.records import load_run as load_finished_run
from mmfusion.runtime import interrupt

log = logging.getLogger(__name__)


def load_run(run_dir) -> Run:
    run = load_finished_run(run_dir)
    if len(run.names) < 2:
        raise RunDirError(f"{run.dir}: the run has one modality ({run.names}); there is nothing to fuse")
    run.oof = fusion_crossfit.from_arrays(run.predictions.arrays, run.names)  # fit_on=crossfit: refit on these
    return run


MODELS_KEY = "models="  # `models=[text,series]`: fuse only these base models (read by fuse, not by Hydra)


def models_override(overrides: list[str]) -> tuple[list[str] | None, list[str]]:
    """(the base models named by `models=[a,b]` / `models=a,b`, None for `models=null` or no such
    override; the other overrides)."""
    given = [o for o in overrides if o.startswith(MODELS_KEY)]
    rest = [o for o in overrides if not o.startswith(MODELS_KEY)]
    if not given:
        return None, rest
    value = given[-1][len(MODELS_KEY) :].strip()
    if value.lower() in ("null", "none", "", "[]"):
        return None, rest
    return [v.strip().strip("'\"") for v in value.strip("[]").split(",") if v.strip()], rest


def select_models(run: Run, models: list[str] | None) -> Run:
    """The run restricted to the base models `models` (in the run's order), as if it had trained only
    those: names, probabilities, presence, train accuracies and the test units of their modalities.
    None or every base model: the run as it is. An unknown or repeated name, or fewer than two: one
    ConfigError naming the run's base models."""
    names = run.names
    if models is None:
        return run
    unknown = [m for m in models if m not in names]
    if unknown or len(set(models)) != len(models) or len(models) < 2:
        why = (
            f"{unknown} {'is' if len(unknown) == 1 else 'are'} not among them"
            if unknown
            else "a model is named twice"
            if len(set(models)) != len(models)
            else "fusion needs two or more"
        )
        raise ConfigError(  # `models=` names the run's base models: checked once the run is loaded
            f"models={','.join(models)}: choose two or more base models of {run.dir} ({why}); "
            f"its base models are {names}"
        )
    keep = [m for m in names if m in models]
    if keep == names:
        return run
    pred = run.predictions.arrays
    mods = {modality_of(m) for m in keep}
    metrics = dataclasses.replace(run.metrics, train_accuracy={m: run.metrics.train_accuracy[m] for m in keep})
    oof = run.oof and {k: ({m: v[m] for m in keep if m in v} if isinstance(v, dict) else v) for k, v in run.oof.items()}
    return dataclasses.replace(
        run,
        names=keep,
        metrics=metrics,
        probs={s: {m: v[m] for m in keep} for s, v in run.probs.items()},
        present={s: {m: v[m] for m in keep} for s, v in run.present.items()},
        logprobs={s: {m: v[m] for m in keep} for s, v in run.logprobs.items()},
        train_acc=[a for m, a in zip(names, run.train_acc) if m in keep],
        units=[pred[f"units_test_{m}"] for m in names if m in mods and f"units_test_{m}" in pred],
        oof=oof,
        subset=keep,
    )


def compose(run: Run, rule: str, overrides: list[str]):
    """The fusion config: the run's own settings for its own rule, then the user's overrides."""
    if rule not in fusion.FUSIONS:  # fuse's own argument (a rule or `all`), read before composing a config
        raise ConfigError(f"fusion={rule!r} is not known; choose one of {sorted(fusion.FUSIONS) + ['all']}")
    base = [f"fusion={rule}", f"seed={int(run.metrics.seed)}"]
    saved = read_config(run.dir)
    for key in ("fusion", "evaluation"):
        if saved is not None and key in saved and not isinstance(saved.get(key), DictConfig):
            raise RunDirError(
                f"{run.dir / CONFIG}: {key} is {saved.get(key)!r}, not the section the run saved; the file "
                f"was changed after the run: restore it or rerun the run"
            )
    own = (run.metrics.fusion or {}).get("name")
    if saved is not None and rule == own and "fusion" in saved:
        own_keys = OmegaConf.to_container(saved.fusion)
        if own_keys.get("weights_from"):  # a run made before fusion.weights replaced weights_from
            own_keys["weights"] = f"{own_keys.pop('weights_from')}_accuracy"
        base += [
            f"++fusion.{k}={json.dumps(v)}"
            for k, v in own_keys.items()
            if k != "name" and not isinstance(v, (dict, list))
        ]
    if run.oof is not None and rule != own:  # a cross-fitted run: every rule refits on its OOF predictions
        base += ["++fusion.fit_on=crossfit", f"++fusion.crossfit_folds={run.oof['folds']}"]
    if saved is not None and "evaluation" in saved:
        base += [f"++evaluation.{k}={json.dumps(v)}" for k, v in OmegaConf.to_container(saved.evaluation).items()]
    return compose_config(base + overrides)


def fuse_one(run: Run, cfg) -> dict:
    """Fit and apply one rule; score the test split. Returns params, fused probs, results, comparison."""
    y, names = run.y, run.names
    params, fused, fused_log = fusion.fuse_splits(
        cfg.fusion, run.probs, y, run.present, run.train_acc, names, run.logprobs, run.oof
    )
    test_probs = {**{m: run.probs["test"][m] for m in names}, "fused": fused["test"]}
    test_log = {**{m: run.logprobs["test"][m] for m in names}, "fused": fused_log["test"]}
    if "test" in run.joint:  # the jointly trained model of the run, scored beside the rule
        test_probs["joint"] = run.joint["test"]
    return {"params": params, "fused": fused, "fused_log": fused_log, "test_probs": test_probs, "test_log": test_log}


def new_dir(run_dir: Path, label: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        out = run_dir / "fuse" / (f"{label}-{stamp}" + (f"-{i}" if i else ""))
        try:
            with writing(out):
                out.mkdir(parents=True)
            return out
        except FileError as err:
            if isinstance(err.__cause__, FileExistsError):
                continue
            raise
    raise RunDirError(f"{run_dir / 'fuse'}: cannot create a new output directory")


def fuse_run(run_dir, overrides: list[str]) -> Path:
    prov = Provenance(None, "fuse")  # the output's provenance.json, saved once that directory exists
    with prov.stage("fusion"):
        run = load_run(run_dir)
    models, others = models_override(overrides)
    run = select_models(run, models)
    rule, rest = _rule(run, others)
    rules = list(fusion.FUSIONS) if rule == "all" else [rule]
    log.info("re-fusing %s (modalities %s) with %s", run.dir, run.names, ", ".join(rules))
    cfgs, fitted, skipped = _fit_rules(run, rule, rules, rest, prov)
    # a subset of the base models has its own folder name: `fuse/all-*` stays the fusion of every model
    out = new_dir(run.dir, rule + (f"_only_{'+'.join(run.subset)}" if run.subset else ""))
    prov.locate(out)
    prov.start("evaluation")  # tables, figures and files
    cfg = cfgs[rules[0]] if rule != "all" else cfgs[next(iter(fitted))]
    _write_fuse_config(out, run, overrides, cfg)
    if rule != "all":
        write_single(run, cfg, fitted[rule], out)
    else:
        write_all(run, cfgs, fitted, skipped, out)
    if cfg.robustness.enabled:
        _write_robustness(run, cfg, cfgs, fitted, out)
    prov.stop("evaluation")
    prov.finish()
    mark_complete(out)
    log.info("fusion results written to %s", out)
    return out


def _rule(run: Run, others: list[str]) -> tuple[str, list[str]]:
    """(the rule of `fusion=<rule>`, else the run's own, else accuracy; the other overrides)."""
    rule = next((o.split("=", 1)[1] for o in others if o.startswith("fusion=")), None)
    rest = [o for o in others if not o.startswith("fusion=")]
    return rule or (run.metrics.fusion or {}).get("name") or "accuracy", rest


def _fit_rules(run: Run, rule: str, rules: list[str], rest: list[str], prov: Provenance) -> tuple[dict, dict, dict]:
    """({rule: config}, {rule: fuse_one's result}, {rule: why it was skipped}); with `fusion=all` a rule
    that fails is skipped, otherwise its error is raised."""
    cfgs, fitted, skipped = {}, {}, {}
    for r in rules:
        cfgs[r] = compose(run, r, rest)
        try:
            with prov.stage("fusion"):
                fitted[r] = fuse_one(run, cfgs[r])
        except MmfusionError as err:
            if rule != "all":
                raise
            skipped[r] = str(err)
            log.warning("fusion=%s skipped: %s", r, err)
    return cfgs, fitted, skipped


def _write_fuse_config(out: Path, run: Run, overrides: list[str], cfg) -> None:
    """config.yaml of the output: the run fused, the overrides, the models kept and the settings used."""
    saved = {k: cfg[k] for k in ("seed", "fusion", "evaluation", "robustness") if k in cfg}
    write_text(
        out / CONFIG,
        OmegaConf.to_yaml(
            {
                "source_run": str(run.dir),
                "overrides": list(overrides),
                **({"models": run.subset} if run.subset else {}),
                **saved,
            }
        ),
    )


def _write_robustness(run: Run, cfg, cfgs: dict, fitted: dict, out: Path) -> None:
    """tables/robustness.* and figures/robustness.png: every fitted rule (and the joint model, when the
    run has its predictions without each modality) with modalities dropped at random."""
    joint = (
        {"full": run.joint["test"], **run.joint_without}
        if "test" in run.joint and len(run.joint_without) == 2
        else None
    )
    table = robustness_table(
        {r: (cfgs[r].fusion, f["params"]) for r, f in fitted.items()},
        run.probs["test"],
        run.y["test"],
        run.present["test"],
        run.names,
        list(cfg.robustness.drop),
        list(cfg.robustness.rates),
        int(cfg.seed),
        joint,
    )
    write_robustness(table, out)


def main(args: list[str]) -> None:
    ap = parsers.build("fuse")
    ns = ap.parse_args(args)
    if "=" in ns.run_dir:
        ap.error(f"the first argument must be the run directory, got {ns.run_dir!r}")
    kept = f"{ns.run_dir} itself unchanged; a new fuse/ folder there, if any, has no COMPLETE marker"
    with interrupt.stage("fusing", kept=kept, hint="rerun the same command"):
        out = fuse_run(ns.run_dir, ns.overrides)
    for name in ("comparison.md", "accuracy_ci.md", "robustness.md"):
        if (out / "tables" / name).is_file():
            print((out / "tables" / name).read_text(), end="")
    print(f"fuse directory: {out}")
