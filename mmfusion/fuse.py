"""`mmfusion fuse <run-dir> [fusion=<rule>|all] [overrides...]`: fuse a finished run again, without
retraining and without Keras, from its predictions.npz and metrics.json only.

The fusion config is composed like `mmfusion train` would (`fusion=<rule>`, `fusion.<key>=...`,
`evaluation.*`, `robustness.*`, `seed`); left out, `fusion` is the run's own rule with the run's own
settings and `seed` the run's seed, so `mmfusion fuse <run>` reproduces the run's metrics exactly.
Output: a new directory `<run-dir>/fuse/<rule>-<timestamp>/` (never overwriting) with metrics.json,
predictions.npz, config.yaml, tables/, figures/ as a run has them, and COMPLETE last. `fusion=all`
fuses with every rule and writes `tables/comparison.{csv,md}` (accuracy, macro AUC with CIs, NLL, ...).
`robustness.enabled=true` adds `tables/robustness.*` and `figures/robustness.png`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from mmfusion import calibration, fusion, rundir
from mmfusion.errors import ConfigError, MmfusionError, RunDirError
from mmfusion.results import compare, draw_weights, eval_settings, score_models
from mmfusion.robustness import robustness_table, write_robustness
from mmfusion.tables import to_markdown, write_tables

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def load_run(run_dir) -> dict:
    d = rundir.require_complete(Path(run_dir))
    try:
        metrics = json.loads((d / rundir.METRICS).read_text())
        pred = rundir.load_npz(d / rundir.PREDICTIONS)
        names = list(metrics["modalities"])
        splits = [s for s in SPLITS if f"y_{s}" in pred]
        run = {"dir": d, "metrics": metrics, "pred": pred, "names": names, "classes": list(metrics["classes"]),
               "y": {s: pred[f"y_{s}"] for s in splits},
               "probs": {s: {m: pred[f"proba_{s}_{m}"] for m in names} for s in splits},
               # log-probabilities (runs before they were saved: the unclipped log of the probabilities)
               "logprobs": {s: {m: pred[f"logproba_{s}_{m}"] if f"logproba_{s}_{m}" in pred
                                else calibration.as_log(pred[f"proba_{s}_{m}"]) for m in names} for s in splits},
               "present": {s: {m: pred[f"present_{s}_{m}"].astype(bool) for m in names} for s in splits},
               "units": [pred[f"units_test_{m}"] for m in names if f"units_test_{m}" in pred],  # cluster CIs
               "train_acc": [float(metrics["train_accuracy"][m]) for m in names]}
    except (KeyError, ValueError, OSError) as err:
        raise RunDirError(f"{d}: predictions.npz / metrics.json are unreadable or incomplete ({err}); rerun it") from None
    if len(names) < 2:
        raise RunDirError(f"{d}: the run has one modality ({names}); there is nothing to fuse")
    return run


def run_config(run_dir: Path):
    for path in (run_dir / "config.yaml", run_dir / ".hydra" / "config.yaml"):
        if path.is_file():
            return OmegaConf.load(path)
    return None


def compose(run: dict, rule: str, overrides: list[str]):
    """The fusion config: the run's own settings for its own rule, then the user's overrides."""
    from mmfusion.cli import compose_config

    if rule not in fusion.FUSIONS:
        raise ConfigError(f"fusion={rule!r} is not known; choose one of {sorted(fusion.FUSIONS) + ['all']}")
    base = [f"fusion={rule}", f"seed={int(run['metrics'].get('seed', 0))}"]
    saved = run_config(run["dir"])
    own = (run["metrics"].get("fusion") or {}).get("name")
    if saved is not None and rule == own and "fusion" in saved:
        base += [f"++fusion.{k}={json.dumps(v)}" for k, v in OmegaConf.to_container(saved.fusion).items()
                 if k != "name" and not isinstance(v, (dict, list))]
    if saved is not None and "evaluation" in saved:
        base += [f"++evaluation.{k}={json.dumps(v)}" for k, v in OmegaConf.to_container(saved.evaluation).items()]
    return compose_config(base + overrides)


def fuse_one(run: dict, cfg) -> dict:
    """Fit and apply one rule; score the test split. Returns params, fused probs, results, comparison."""
    y, names = run["y"], run["names"]
    params, fused, fused_log = fusion.fuse_splits(cfg.fusion, run["probs"], y, run["present"], run["train_acc"],
                                                  names, run["logprobs"])
    test_probs = {**{m: run["probs"]["test"][m] for m in names}, "fused": fused["test"]}
    test_log = {**{m: run["logprobs"]["test"][m] for m in names}, "fused": fused_log["test"]}
    return {"params": params, "fused": fused, "fused_log": fused_log, "test_probs": test_probs, "test_log": test_log}


def new_dir(run_dir: Path, label: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(1000):
        out = run_dir / "fuse" / (f"{label}-{stamp}" + (f"-{i}" if i else ""))
        try:
            out.mkdir(parents=True)
            return out
        except FileExistsError:
            continue
    raise RunDirError(f"{run_dir / 'fuse'}: cannot create a new output directory")


def write_single(run: dict, cfg, res: dict, out: Path) -> dict:
    m0, names, test = run["metrics"], run["names"], "test"
    temps = dict(zip(names, res["params"]["temperatures"])) if res["params"].get("temperatures") else None
    weights = draw_weights(cfg, len(run["y"][test]), run["units"])
    results = score_models(run["y"][test], res["test_probs"], run["present"][test], run["classes"], cfg,
                           out / "figures", temps, res["test_log"], weights=weights)
    metrics = {
        "classes": run["classes"], "modalities": names, "models": results, "train_accuracy": m0["train_accuracy"],
        "fusion": {"name": cfg.fusion.name, "params": res["params"]},
        "comparison": compare(run["y"][test], res["test_probs"], run["present"][test], names + ["fused"], weights,
                              eval_settings(cfg)["ci_level"]),
        "sizes": m0.get("sizes"), "class_counts": m0.get("class_counts"), "dataset": m0.get("dataset"),
        "seed": int(cfg.seed), "source_run": str(run["dir"]),
    }
    arrays = {k: v for k, v in run["pred"].items() if not k.endswith("_fused")}
    arrays.update({f"proba_{s}_fused": p for s, p in res["fused"].items()})
    arrays.update({f"logproba_{s}_fused": p for s, p in res["fused_log"].items()})
    rundir.write_npz(out / rundir.PREDICTIONS, arrays)
    rundir.write_json(out / rundir.METRICS, metrics)
    write_tables(metrics, out / "tables")
    return metrics


def comparison_table(singles: dict, per_rule: dict) -> pd.DataFrame:
    rows = {}
    for label, r in [*singles.items(), *per_rule.items()]:
        acc, auc = r.get("accuracy_ci") or [None, None], r.get("macro_auc_ci") or [None, None]
        rows[label] = {"accuracy": r["accuracy"], "accuracy_lo": acc[0], "accuracy_hi": acc[1],
                       "macro_auc": r["macro_auc"], "macro_auc_lo": auc[0], "macro_auc_hi": auc[1],
                       "nll": r["nll"], "brier": r["brier"], "ece": r["ece"],
                       "mcnemar_p": (r.get("mcnemar") or {}).get("p_value")}
    df = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    df.index.name = "model"
    return df


def fuse_run(run_dir, overrides: list[str]) -> Path:
    run = load_run(run_dir)
    rule = next((o.split("=", 1)[1] for o in overrides if o.startswith("fusion=")), None)
    rest = [o for o in overrides if not o.startswith("fusion=")]
    rule = rule or (run["metrics"].get("fusion") or {}).get("name") or "accuracy"
    rules = list(fusion.FUSIONS) if rule == "all" else [rule]
    cfgs, fitted, skipped = {}, {}, {}
    for r in rules:
        cfgs[r] = compose(run, r, rest)
        try:
            fitted[r] = fuse_one(run, cfgs[r])
        except MmfusionError as err:
            if rule != "all":
                raise
            skipped[r] = str(err)
            log.warning("fusion=%s skipped: %s", r, err)
    out = new_dir(run["dir"], rule)
    cfg = cfgs[rules[0]] if rule != "all" else cfgs[next(iter(fitted))]
    saved = {k: cfg[k] for k in ("seed", "fusion", "evaluation", "robustness") if k in cfg}
    (out / "config.yaml").write_text(OmegaConf.to_yaml(
        {"source_run": str(run["dir"]), "overrides": list(overrides), **saved}))
    if rule != "all":
        write_single(run, cfg, fitted[rule], out)
    else:
        write_all(run, cfgs, fitted, skipped, out)
    rob = cfg.get("robustness") or {}
    if rob.get("enabled", False):
        table = robustness_table({r: (cfgs[r].fusion, f["params"]) for r, f in fitted.items()},
                                 run["probs"]["test"], run["y"]["test"], run["present"]["test"], run["names"],
                                 list(rob.drop), list(rob.rates), int(cfg.seed))
        write_robustness(table, out)
    rundir.mark_complete(out)
    return out


def write_all(run: dict, cfgs: dict, fitted: dict, skipped: dict, out: Path) -> None:
    names, y, present = run["names"], run["y"]["test"], run["present"]["test"]
    first = cfgs[next(iter(fitted))]
    weights = draw_weights(first, len(y), run["units"])
    singles = score_models(y, {m: run["probs"]["test"][m] for m in names}, present, run["classes"], first, None,
                           logprobs={m: run["logprobs"]["test"][m] for m in names}, weights=weights)
    per_rule = {}
    for r, f in fitted.items():
        w = draw_weights(cfgs[r], len(y), run["units"])
        fused = score_models(y, {"fused": f["test_probs"]["fused"]}, present, run["classes"], cfgs[r], None,
                             logprobs={"fused": f["fused_log"]["test"]}, weights=w)["fused"]
        fused["mcnemar"] = compare(y, f["test_probs"], present, names + ["fused"], w, eval_settings(cfgs[r])["ci_level"])
        per_rule[r] = {**fused, "params": f["params"]}
    table = comparison_table(singles, per_rule)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "tables" / "comparison.csv")
    note = "".join(f"\nskipped {r}: {msg}\n" for r, msg in skipped.items())
    (out / "tables" / "comparison.md").write_text(to_markdown(table) + note)
    rundir.write_json(out / rundir.METRICS, {"classes": run["classes"], "modalities": names, "models": singles,
                                             "rules": per_rule, "skipped": skipped, "source_run": str(run["dir"])})
    arrays = {k: v for k, v in run["pred"].items() if not k.endswith("_fused")}
    arrays.update({f"proba_{s}_{r}": p for r, f in fitted.items() for s, p in f["fused"].items()})
    arrays.update({f"logproba_{s}_{r}": p for r, f in fitted.items() for s, p in f["fused_log"].items()})
    rundir.write_npz(out / rundir.PREDICTIONS, arrays)
