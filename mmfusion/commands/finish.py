"""The one score-and-write step of `mmfusion train` (commands/train.py) and of `mmfusion fuse` with one
rule (commands/fuse_outputs.py): score the test split's models, then write predictions.npz, metrics.json
(Metrics), tables/ and figures/ (drawn by mmfusion/reporting/) into the output directory. One
step, so a re-fusion of a run with its own rule reproduces the run's metrics and tables exactly.
"""

from __future__ import annotations

from pathlib import Path

from mmfusion.evaluation.scoring import compare, draw_weights, eval_settings, joint_comparisons, score_models
from mmfusion.reporting.run_figures import draw_scores
from mmfusion.reporting.tables import write_tables
from mmfusion.rundir.records import Metrics, write_metrics, write_predictions


def score_and_write(
    cfg,
    out: Path,
    test: dict,
    names: list[str],
    params: dict | None,
    arrays: dict,
    record: Metrics,
    joint_settings: dict | None = None,
) -> tuple[Metrics, str]:
    """Score the test split and write the output directory's records; returns (metrics, accuracy table).

    test: y, present[m], units (per modality, for cluster CIs), probs and logprobs of every model to
    score, in table order: the base models `names`, `fused` (params: the rule's fitted parameters, None
    with one model) and `joint` when the run has one (its settings: joint_settings). record: the fields
    of metrics.json that are not scored here (classes, modalities, train accuracy, sizes, dataset, seed,
    ...); models, fusion, comparison and joint are filled in. arrays: predictions.npz's content."""
    y, probs, present = test["y"], test["probs"], test["present"]
    temps = dict(zip(names, params["temperatures"])) if params and params.get("temperatures") else None
    weights = draw_weights(cfg, len(y), test["units"], y)  # texts, runs within class
    record.models = score_models(y, probs, present, record.classes, cfg, temps, test["logprobs"], weights=weights)
    draw_scores(y, probs, present, record.classes, record.models, cfg, out / "figures", temps, test["logprobs"])
    record.fusion = {"name": cfg.fusion.name, "params": params} if params is not None else None
    compared = [n for n in probs if n != "joint"]
    record.comparison = compare(y, probs, present, compared, weights, eval_settings(cfg)["ci_level"])
    record.joint = (
        {**(joint_settings or {}), "comparisons": joint_comparisons(y, probs, present, names, ["fused"])}
        if "joint" in probs
        else None
    )
    write_predictions(out, arrays)
    write_metrics(out, record)
    table = write_tables(record.as_dict(), out / "tables")
    return record, table
