"""Summarise a sweep trained with `joint=lstm` and re-fused with `mmfusion fuse <job> fusion=all
robustness.enabled=true`: the jointly trained model beside the best decision-level rule and the
single models, and the missing-modality curves (docs/joint-network.md). Run as

    python scripts/reproduce/joint_summary.py <sweep-dir> <results-dir> [--group <override key>] [--pooled|--per-seed]

A cross-validation sweep (every job's metrics.json has dataset.cv_folds) is summarised in pooled mode
(joint_pooled.py): per group, the folds' out-of-fold test pairs pooled, cluster-bootstrap
intervals, joint minus the best rule from the same draws, McNemar on the pooled pairs, the
missing-modality rows pooled over folds; also writes joint_accuracy.csv (numbers per model and group).
`--per-seed` forces the mean over jobs below; `--pooled` fails unless the sweep is cross-validated.

Otherwise, per group (jobs sharing the value of `--group`, e.g. dataset.series.window.length; one group without
it), over seeds: test accuracy mean +/- std, the mean of the per-seed 95% bootstrap intervals, the
best rule (the rule with the highest mean accuracy over the group's seeds, one rule per group) and
McNemar's exact test of joint against it (discordant pairs summed over seeds; per-seed p-values).
Writes <results-dir>/joint_summary.md, joint_summary.csv, joint_robustness.csv and
joint_robustness_<group>.png (accuracy against the share of test samples missing a modality).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mmfusion.evaluation.stats import mcnemar
from mmfusion.reporting import joint_pooled
from mmfusion.reporting.tables import to_markdown
from mmfusion.rundir.records import read_metrics, read_predictions

WINDOW = "dataset.series.window.length"  # grouped by it: the groups are named by hours since the onset
POOLED_NOTE = (
    "Pooled out-of-fold test accuracy in % [95% cluster-bootstrap interval over the test units, texts and"
    " runs; the same draws for every model]; a figure is the mean over repeats (seeds) of each repeat's"
    " pooled folds. The best rule is the rule of `fuse fusion=all` with the highest pooled accuracy:"
    " it is picked on the test data. joint − best rule: the paired difference in points [95% interval"
    " from the same draws]; McNemar: exact test on each repeat's pooled pairs.\n\n"
)


def jobs(sweep: Path, group: str | None) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for job in sorted(p for p in sweep.iterdir() if (p / "COMPLETE").is_file()):
        fuses = sorted((job / "fuse").glob("all-*/COMPLETE"))
        if not fuses:
            print(f"skipped {job}: no finished `fuse fusion=all` directory", file=sys.stderr)
            continue
        fdir = fuses[-1].parent
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
        value = next((o.split("=", 1)[1] for o in overrides if group and o.startswith(group + "=")), "all runs")
        out.setdefault(value, []).append(
            {
                "job": job,
                "fuse": fdir,
                "metrics": read_metrics(fdir).as_dict(),
                "table": pd.read_csv(fdir / "tables" / "comparison.csv", index_col=0),
                "robustness": pd.read_csv(fdir / "tables" / "robustness.csv"),
                "pred": read_predictions(fdir).arrays,
                "run_metrics": (rm := read_metrics(job).as_dict()),
                "rule": rm["fusion"]["name"],
            }
        )
    return out


def cell(values: list[float], lo: list[float], hi: list[float]) -> str:
    v = 100 * np.asarray(values)
    return (
        f"{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0:.2f} [{100 * np.mean(lo):.1f}, {100 * np.mean(hi):.1f}]"
    )


def summarise(members: list[dict]) -> tuple[dict, str]:
    rules = [r for r in members[0]["table"].index if r not in ("series", "text", "joint")]
    mean_acc = {r: np.mean([m["table"].loc[r, "accuracy"] for m in members]) for r in rules}
    best = max(rules, key=mean_acc.get)
    row = {"seeds": len(members)}
    for label, key in (
        ("series", "series"),
        ("text", "text"),
        ("run's rule", members[0]["rule"]),
        ("best rule", best),
        ("joint", "joint"),
    ):
        t = [m["table"].loc[key] for m in members]
        row[label] = cell([x["accuracy"] for x in t], [x["accuracy_lo"] for x in t], [x["accuracy_hi"] for x in t])
        row[label] = (f"`{key}` " if label.endswith("rule") else "") + row[label]
    b = c = 0
    ps = []
    for m in members:
        y, pj, pr = m["pred"]["y_test"], m["pred"]["proba_test_joint"], m["pred"][f"proba_test_{best}"]
        res = mcnemar(y, pj.argmax(1), pr.argmax(1))
        b, c = b + res["a_right_b_wrong"], c + res["a_wrong_b_right"]
        ps.append(res["p_value"])
    pooled = mcnemar(np.zeros(b + c), np.r_[np.zeros(b), np.ones(c)], np.r_[np.ones(b), np.zeros(c)])
    row["joint vs best rule: joint only right / rule only right (p)"] = f"{b} / {c} (p = {pooled['p_value']:.3g})"
    row["per-seed p"] = ", ".join(f"{p:.2g}" for p in ps)
    return row, best


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep", type=Path)
    ap.add_argument("results", type=Path)
    ap.add_argument("--group", help=f"override key whose value groups the jobs (e.g. {WINDOW})")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--pooled", action="store_true", help="insist on the pooled cross-validation summary")
    mode.add_argument("--per-seed", action="store_true", help="mean over jobs even for a cross-validation sweep")
    ap.add_argument(
        "--resamples", type=int, help="bootstrap draws of the pooled mode (default: the runs' evaluation.bootstrap)"
    )
    return ap


def summarise_groups(groups: dict, ns, pooled_mode: bool) -> tuple[dict, list, list]:
    """(summary row per group label, the robustness curves per role, numeric accuracy rows of the pooled
    mode); draws each group's joint_robustness_<group>.png."""
    rows, curves, numbers = {}, [], []
    for value in sorted(groups, key=lambda v: float(v) if v.replace(".", "").isdigit() else 0):
        members = groups[value]
        label = f"{float(value) * 3 / 60:g} h" if ns.group == WINDOW else value
        slug = label.replace(" ", "")
        if pooled_mode:
            joint_pooled.check_folds(label, members, ns.group)
            rows[label], best, _, num = joint_pooled.summarise(members, ns.resamples)
            numbers.append(num.assign(group=label))
            rob = joint_pooled.robustness(members)
        else:
            rows[label], best = summarise(members)
            rob = pd.concat([m["robustness"] for m in members])
            rob = rob.groupby(["rule", "drop", "rate"], sort=False, as_index=False)["accuracy"].mean()
        roles = (("run's rule", members[0]["rule"]), ("best rule", best), ("joint", "joint"))
        rob = joint_pooled.figure(rob, roles, ns.results / f"joint_robustness_{slug}.png")
        curves.append(rob.assign(group=label))
    return rows, curves, numbers


def every_model(numbers: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Pooled mode: every model and rule of `fuse fusion=all` (rows) per group, accuracy % [interval]."""
    models = numbers[~numbers["model"].str.startswith("joint - ")]
    every = models.assign(
        cell=[
            f"{100 * a:.2f} [{100 * lo:.1f}, {100 * hi:.1f}]"
            for a, lo, hi in models[["accuracy", "accuracy_lo", "accuracy_hi"]].to_numpy()
        ]
    ).pivot(index="model", columns="group", values="cell")
    every = every.loc[models["model"].unique(), groups]
    every.columns.name = None
    every.index.name = "model or rule"
    return every


def missing_table(curves: pd.DataFrame) -> pd.DataFrame:
    """The missing-modality rows at 0, 50 and 100% of the test samples, one column per role."""
    wide = curves[curves["rate"].isin([0.0, 0.5, 1.0])].pivot_table(
        index=["group", "drop", "rate"], columns="role", values="accuracy", sort=False
    )
    wide.index = [f"{g}, {d} missing in {r:.0%}" for g, d, r in wide.index]
    wide.index.name = "test samples"
    return wide


def write(ns, rows: dict, curves: list, numbers: list, pooled_mode: bool) -> str:
    """Writes the summary files into ns.results; returns joint_summary.md's text."""
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "hours since onset" if ns.group == WINDOW else (ns.group or "group")
    table.to_csv(ns.results / "joint_summary.csv")
    curves = pd.concat(curves)
    curves.to_csv(ns.results / "joint_robustness.csv", index=False)
    wide = missing_table(curves)
    if pooled_mode:
        numbers = pd.concat(numbers)
        numbers.to_csv(ns.results / "joint_accuracy.csv", index=False)
        text = (
            POOLED_NOTE
            + to_markdown(table)
            + "\nEvery model and rule of `fuse fusion=all`: pooled accuracy in % [95% interval]\n\n"
            + to_markdown(every_model(numbers, list(rows)))
            + "\nMissing modalities: accuracy in % (the folds' test pairs pooled, mean over repeats)\n\n"
            + to_markdown(100 * wide, "{:.2f}")
        )
    else:
        text = (
            "Test accuracy in %: mean ± std over seeds [mean of the per-seed 95% bootstrap intervals]\n\n"
            + to_markdown(table)
            + "\nMissing modalities: accuracy (mean over seeds)\n\n"
            + to_markdown(100 * wide, "{:.2f}")
        )
    (ns.results / "joint_summary.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    ns = parser().parse_args(argv)
    groups = jobs(ns.sweep, ns.group)
    if not groups:
        sys.exit(f"{ns.sweep}: no finished job with a `fuse fusion=all` directory")
    cv = all(joint_pooled.is_cv(m) for m in groups.values())
    if ns.pooled and not cv:
        sys.exit(
            f"{ns.sweep}: --pooled needs a cross-validation sweep (dataset.cv.folds set in every job's metrics.json)"
        )
    pooled_mode = cv and not ns.per_seed
    ns.results.mkdir(parents=True, exist_ok=True)
    rows, curves, numbers = summarise_groups(groups, ns, pooled_mode)
    print(write(ns, rows, curves, numbers, pooled_mode))
