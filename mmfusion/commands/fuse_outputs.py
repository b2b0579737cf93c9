"""What `mmfusion fuse` writes into its output directory (commands/fuse.py): the metrics, predictions
and tables of one rule, or of every rule with `fusion=all` (comparison table, joint-model McNemar).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmfusion.commands.finish import score_and_write
from mmfusion.evaluation.scoring import compare, draw_weights, eval_settings, joint_comparisons, score_models
from mmfusion.evaluation.tables import mcnemar_line, to_markdown
from mmfusion.rundir.records import Metrics, RuleComparison, Run, write_metrics, write_predictions


def write_single(run: Run, cfg, res: dict, out: Path) -> Metrics:
    """One rule's output directory, scored and written by the step `mmfusion train` uses (commands/finish.py)."""
    m0, test = run.metrics, "test"
    arrays = {k: v for k, v in run.predictions.arrays.items() if not k.endswith("_fused")}
    arrays.update({f"proba_{s}_fused": p for s, p in res["fused"].items()})
    arrays.update({f"logproba_{s}_fused": p for s, p in res["fused_log"].items()})
    record = Metrics(
        classes=run.classes,
        modalities=run.names,
        train_accuracy=m0.train_accuracy,
        sizes=m0.sizes,
        class_counts=m0.class_counts,
        dataset=m0.dataset,
        seed=int(cfg.seed),
        source_run=str(run.dir),
    )
    test_data = {"y": run.y[test], "present": run.present[test], "units": run.units}
    test_data.update(probs=res["test_probs"], logprobs=res["test_log"])
    metrics, _ = score_and_write(cfg, out, test_data, run.names, res["params"], arrays, record, m0.joint)
    return metrics


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


def write_all(run: Run, cfgs: dict, fitted: dict, skipped: dict, out: Path) -> None:
    names, y, present = run.names, run.y["test"], run.present["test"]
    first = cfgs[next(iter(fitted))]
    weights = draw_weights(first, len(y), run.units, y)
    singles = score_models(
        y,
        {m: run.probs["test"][m] for m in names},
        present,
        run.classes,
        first,
        None,
        logprobs={m: run.logprobs["test"][m] for m in names},
        weights=weights,
    )
    per_rule = {}
    for r, f in fitted.items():
        w = draw_weights(cfgs[r], len(y), run.units, y)
        fused = score_models(
            y,
            {"fused": f["test_probs"]["fused"]},
            present,
            run.classes,
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
    if "test" in run.joint:  # a row for the jointly trained model; McNemar vs the best single and best rule
        probs = {
            **{m: run.probs["test"][m] for m in names},
            "joint": run.joint["test"],
            **{r: f["test_probs"]["fused"] for r, f in fitted.items()},
        }
        joint = score_models(y, {"joint": probs["joint"]}, present, run.classes, first, None)["joint"]
        comps = joint_comparisons(y, probs, present, names, list(fitted))
        joint.update(mcnemar=comps[0], comparisons=comps)
        rows["joint"] = joint
    table = comparison_table(singles, rows)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "tables" / "comparison.csv")
    note = "".join(f"\nskipped {r}: {msg}\n" for r, msg in skipped.items())
    note += mcnemar_line({"joint": joint}) if joint else ""
    (out / "tables" / "comparison.md").write_text(to_markdown(table) + note)
    write_metrics(
        out,
        RuleComparison(
            classes=run.classes,
            modalities=names,
            models=singles,
            rules=per_rule,
            joint=joint,
            skipped=skipped,
            source_run=str(run.dir),
        ),
    )
    arrays = {k: v for k, v in run.predictions.arrays.items() if not k.endswith("_fused")}
    arrays.update({f"proba_{s}_{r}": p for r, f in fitted.items() for s, p in f["fused"].items()})
    arrays.update({f"logproba_{s}_{r}": p for r, f in fitted.items() for s, p in f["fused_log"].items()})
    write_predictions(out, arrays)
