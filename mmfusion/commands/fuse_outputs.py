"""What `mmfusion fuse` writes into its output directory (commands/fuse.py): the metrics, predictions
and tables of one rule, or of every rule with `fusion=all` (comparison table, joint-model McNemar).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmfusion import rundir
from mmfusion.evaluation.scoring import compare, draw_weights, eval_settings, joint_comparisons, score_models
from mmfusion.evaluation.tables import mcnemar_line, to_markdown, write_tables


def write_single(run: dict, cfg, res: dict, out: Path) -> dict:
    m0, names, test = run["metrics"], run["names"], "test"
    temps = dict(zip(names, res["params"]["temperatures"])) if res["params"].get("temperatures") else None
    weights = draw_weights(cfg, len(run["y"][test]), run["units"], run["y"][test])
    results = score_models(
        run["y"][test],
        res["test_probs"],
        run["present"][test],
        run["classes"],
        cfg,
        out / "figures",
        temps,
        res["test_log"],
        weights=weights,
    )
    metrics = rundir.metrics_record(
        run["classes"],
        names,
        results,
        m0["train_accuracy"],
        {"name": cfg.fusion.name, "params": res["params"]},
        compare(
            run["y"][test],
            res["test_probs"],
            run["present"][test],
            names + ["fused"],
            weights,
            eval_settings(cfg)["ci_level"],
        ),
        m0.get("sizes"),
        m0.get("class_counts"),
        m0.get("dataset"),
        int(cfg.seed),
        joint=joint_block(m0, run, res["test_probs"], ["fused"]),
        source_run=str(run["dir"]),
    )
    arrays = {k: v for k, v in run["pred"].items() if not k.endswith("_fused")}
    arrays.update({f"proba_{s}_fused": p for s, p in res["fused"].items()})
    arrays.update({f"logproba_{s}_fused": p for s, p in res["fused_log"].items()})
    rundir.write_npz(out / rundir.PREDICTIONS, arrays)
    rundir.write_json(out / rundir.METRICS, metrics)
    write_tables(metrics, out / "tables")
    return metrics


def joint_block(m0: dict, run: dict, test_probs: dict, rules: list[str]) -> dict | None:
    """The run's `joint` entry with McNemar recomputed against these rules (None without a joint model)."""
    if "joint" not in test_probs:
        return None
    comps = joint_comparisons(run["y"]["test"], test_probs, run["present"]["test"], run["names"], rules)
    return {**(m0.get("joint") or {}), "comparisons": comps}


def comparison_table(singles: dict, per_rule: dict) -> pd.DataFrame:
    rows = {}
    for label, r in [*singles.items(), *per_rule.items()]:
        acc, auc = r.get("accuracy_ci") or [None, None], r.get("macro_auc_ci") or [None, None]
        rows[label] = {
            "accuracy": r["accuracy"],
            "accuracy_lo": acc[0],
            "accuracy_hi": acc[1],
            "macro_auc": r["macro_auc"],
            "macro_auc_lo": auc[0],
            "macro_auc_hi": auc[1],
            "nll": r["nll"],
            "brier": r["brier"],
            "ece": r["ece"],
            "mcnemar_p": (r.get("mcnemar") or {}).get("p_value"),
            # fused minus the best single model, with its interval from the same bootstrap draws
            "minus_best": (r.get("mcnemar") or {}).get("difference"),
            "minus_best_lo": ((r.get("mcnemar") or {}).get("difference_ci") or [None, None])[0],
            "minus_best_hi": ((r.get("mcnemar") or {}).get("difference_ci") or [None, None])[1],
        }
    df = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    df.index.name = "model"
    return df


def write_all(run: dict, cfgs: dict, fitted: dict, skipped: dict, out: Path) -> None:
    names, y, present = run["names"], run["y"]["test"], run["present"]["test"]
    first = cfgs[next(iter(fitted))]
    weights = draw_weights(first, len(y), run["units"], y)
    singles = score_models(
        y,
        {m: run["probs"]["test"][m] for m in names},
        present,
        run["classes"],
        first,
        None,
        logprobs={m: run["logprobs"]["test"][m] for m in names},
        weights=weights,
    )
    per_rule = {}
    for r, f in fitted.items():
        w = draw_weights(cfgs[r], len(y), run["units"], y)
        fused = score_models(
            y,
            {"fused": f["test_probs"]["fused"]},
            present,
            run["classes"],
            cfgs[r],
            None,
            logprobs={"fused": f["fused_log"]["test"]},
            weights=w,
        )["fused"]
        fused["mcnemar"] = compare(
            y, f["test_probs"], present, names + ["fused"], w, eval_settings(cfgs[r])["ci_level"]
        )
        per_rule[r] = {**fused, "params": f["params"]}
    rows, joint = dict(per_rule), None
    if "test" in run["joint"]:  # a row for the jointly trained model; McNemar vs the best single and best rule
        probs = {
            **{m: run["probs"]["test"][m] for m in names},
            "joint": run["joint"]["test"],
            **{r: f["test_probs"]["fused"] for r, f in fitted.items()},
        }
        joint = score_models(y, {"joint": probs["joint"]}, present, run["classes"], first, None)["joint"]
        comps = joint_comparisons(y, probs, present, names, list(fitted))
        joint.update(mcnemar=comps[0], comparisons=comps)
        rows["joint"] = joint
    table = comparison_table(singles, rows)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "tables" / "comparison.csv")
    note = "".join(f"\nskipped {r}: {msg}\n" for r, msg in skipped.items())
    note += mcnemar_line({"joint": joint}) if joint else ""
    (out / "tables" / "comparison.md").write_text(to_markdown(table) + note)
    rundir.write_json(
        out / rundir.METRICS,
        {
            "classes": run["classes"],
            "modalities": names,
            "models": singles,
            "rules": per_rule,
            "joint": joint,
            "skipped": skipped,
            "source_run": str(run["dir"]),
        },
    )
    arrays = {k: v for k, v in run["pred"].items() if not k.endswith("_fused")}
    arrays.update({f"proba_{s}_{r}": p for r, f in fitted.items() for s, p in f["fused"].items()})
    arrays.update({f"logproba_{s}_{r}": p for r, f in fitted.items() for s, p in f["fused_log"].items()})
    rundir.write_npz(out / rundir.PREDICTIONS, arrays)
