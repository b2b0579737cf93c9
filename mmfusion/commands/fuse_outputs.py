"""What `mmfusion fuse` writes into its output directory (commands/fuse.py): the metrics, predictions
and tables of one rule, or of every rule with `fusion=all` (comparison table, joint-model McNemar).
"""

from __future__ import annotations

from pathlib import Path

from mmfusion.commands.finish import score_and_write
from mmfusion.evaluation.scoring import compare, draw_weights, eval_settings, joint_comparisons, score_models
from mmfusion.reporting.tables import comparison_table, mcnemar_line, to_markdown
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


def _score_rules(run: Run, cfgs: dict, fitted: dict) -> dict:
    """{rule: fused scores, McNemar against the best single model, fitted params} of every fitted rule."""
    names, y, present = run.names, run.y["test"], run.present["test"]
    per_rule = {}
    for r, f in fitted.items():
        w = draw_weights(cfgs[r], len(y), run.units, y)
        fused = score_models(
            y,
            {"fused": f["test_probs"]["fused"]},
            present,
            run.classes,
            cfgs[r],
            logprobs={"fused": f["fused_log"]["test"]},
            weights=w,
        )["fused"]
        fused["mcnemar"] = compare(
            y, f["test_probs"], present, names + ["fused"], w, eval_settings(cfgs[r])["ci_level"]
        )
        per_rule[r] = {**fused, "params": f["params"]}
    return per_rule


def _score_joint(run: Run, first, fitted: dict) -> dict | None:
    """The jointly trained model's scores, with McNemar against the best single model and the best rule;
    None when the run has no joint model."""
    if "test" not in run.joint:
        return None
    names, y, present = run.names, run.y["test"], run.present["test"]
    probs = {
        **{m: run.probs["test"][m] for m in names},
        "joint": run.joint["test"],
        **{r: f["test_probs"]["fused"] for r, f in fitted.items()},
    }
    joint = score_models(y, {"joint": probs["joint"]}, present, run.classes, first)["joint"]
    comps = joint_comparisons(y, probs, present, names, list(fitted))
    joint.update(mcnemar=comps[0], comparisons=comps)
    return joint


def write_all(run: Run, cfgs: dict, fitted: dict, skipped: dict, out: Path) -> None:
    """Every rule's output (`fusion=all`): the comparison table, metrics.json and predictions.npz."""
    names, y, present = run.names, run.y["test"], run.present["test"]
    first = cfgs[next(iter(fitted))]
    weights = draw_weights(first, len(y), run.units, y)
    singles = score_models(
        y,
        {m: run.probs["test"][m] for m in names},
        present,
        run.classes,
        first,
        logprobs={m: run.logprobs["test"][m] for m in names},
        weights=weights,
    )
    per_rule = _score_rules(run, cfgs, fitted)
    joint = _score_joint(run, first, fitted)  # a row for the jointly trained model, when the run has one
    table = comparison_table(singles, {**per_rule, "joint": joint} if joint else per_rule)
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
