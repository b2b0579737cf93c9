"""Pooled mode of joint_summary.py (scripts/reproduce/joint_summary.py): a cross-validation sweep (`dataset.cv.folds=K
dataset.cv.fold=0,...,K-1`, seeds = repeats) trained with `joint=lstm` and re-fused per job with
`mmfusion fuse <job> fusion=all robustness.enabled=true`.

Each fold tests other units (texts, runs), so the folds' test pairs pool into one out-of-fold set per
repeat; a figure is the mean over repeats of the figure of each repeat's pooled set, exactly as
`mmfusion report` pools a CV group (mmfusion.evaluation.pooled). Intervals: the cluster bootstrap
over units (text ids and run ids), one set of draws shared by every model, rule and repeat, so the
paired difference joint minus the best rule comes from the same draws. The best rule is the rule
with the highest pooled accuracy: it is picked on the test data (the strongest rival for the joint
network, so the comparison is conservative for it). McNemar's exact test runs on each repeat's pooled
pairs. The missing-modality table pools each job's robustness.csv rows, weighted by the job's number
of test pairs, then averages over repeats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from mmfusion.evaluation import pooled
from mmfusion.fusion import FUSIONS
from mmfusion.reporting.robustness import plot_robustness


def is_cv(members: list[dict]) -> bool:
    return all((m["run_metrics"].get("dataset") or {}).get("cv_folds") for m in members)


def check_folds(label: str, members: list[dict], group: str | None) -> None:
    seen: dict[tuple, str] = {}
    for m in members:
        key = (int(m["run_metrics"]["seed"]), int(m["run_metrics"]["dataset"]["cv_fold"]))
        if key in seen:
            hint = (
                "pass --group <the override key that varies>" if not group else f"besides {group}, another key varies"
            )
            raise SystemExit(
                f"group {label!r}: jobs {seen[key]} and {m['job']} are both seed {key[0]}, fold {key[1]}; {hint}"
            )
        seen[key] = str(m["job"])


def rules_of(members: list[dict]) -> list[str]:
    """The rules that every job's `fuse fusion=all` scored, in the library's order."""
    have = set.intersection(*(set(m["metrics"]["rules"]) for m in members))
    return [r for r in FUSIONS if r in have]


def pool_jobs(members: list[dict], rules: list[str]) -> list[dict]:
    """The fuse directories as pooled.pool reads run directories: every rule and the joint network
    are models beside the single ones."""
    out = []
    for m in members:
        fm, rm = m["metrics"], m["run_metrics"]
        models = {**fm["models"], **{r: fm["rules"][r] for r in rules}, "joint": fm["joint"]}
        metrics = {
            "models": models,
            "classes": fm["classes"],
            "modalities": fm["modalities"],
            "seed": rm["seed"],
            "dataset": rm["dataset"],
        }
        out.append({"dir": m["fuse"], "metrics": metrics})
    return out


def evaluation(members: list[dict]) -> dict:
    path = members[0]["job"] / "config.yaml"
    cfg = yaml.safe_load(path.read_text()) if path.is_file() else {}
    return (cfg or {}).get("evaluation") or {}


def _ci(value: float, ci) -> str:
    return f"{100 * value:.2f}" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")


def _numbers(acc: dict, c: dict, best: str) -> pd.DataFrame:
    """Numeric rows of joint_accuracy.csv: each model's pooled accuracy and interval, and joint minus the
    best rule."""
    return pd.DataFrame(
        [
            {
                "model": k,
                "accuracy": v["accuracy"],
                "accuracy_lo": (v.get("accuracy_ci") or [np.nan])[0],
                "accuracy_hi": (v.get("accuracy_ci") or [np.nan, np.nan])[1],
                "n": v["n"],
            }
            for k, v in acc.items()
        ]
        + [
            {
                "model": f"joint - {best} (best rule)",
                "accuracy": c["difference"],
                "accuracy_lo": (c.get("difference_ci") or [np.nan])[0],
                "accuracy_hi": (c.get("difference_ci") or [np.nan, np.nan])[1],
                "n": acc["joint"]["n"],
            }
        ]
    )


def summarise(members: list[dict], resamples: int | None) -> tuple[dict, str, dict, pd.DataFrame]:
    """One group: (row of the summary table, best rule, the pool, numeric accuracy rows)."""
    rules = rules_of(members)
    ev = evaluation(members)
    b = int(ev.get("bootstrap", 1000) if resamples is None else resamples)
    res = pooled.pool(pool_jobs(members, rules), b, float(ev.get("ci_level", 0.95)), 0, contrast=("joint", rules))
    if "models" not in res:
        raise SystemExit(
            f"{members[0]['job'].parent}: {res['error']} (seeds with unfinished folds: {res['incomplete_seeds']})"
        )
    acc = res["models"]
    best, rule = res["comparison"]["b"], members[0]["rule"]
    row = {"repeats x folds": f"{res['repeats']} x {res['folds']}", "test pairs per repeat": res["pairs_per_repeat"]}
    for label, key in (
        ("series", "series"),
        ("text", "text"),
        ("run's rule", rule),
        ("best rule", best),
        ("joint", "joint"),
    ):
        row[label] = (f"`{key}` " if label.endswith("rule") else "") + _ci(
            acc[key]["accuracy"], acc[key].get("accuracy_ci")
        )
    c = res["comparison"]
    row["joint − best rule"] = f"{100 * c['difference']:+.2f}" + (
        f" [{100 * c['difference_ci'][0]:+.1f}, {100 * c['difference_ci'][1]:+.1f}]" if c.get("difference_ci") else ""
    )
    if rule in acc:  # the run's own rule, fitted without the test data: joint minus it, from the same draws
        own = pooled.pool(pool_jobs(members, rules), b, float(ev.get("ci_level", 0.95)), 0, contrast=("joint", [rule]))
        o = own["comparison"]
        row["joint − run's rule"] = f"{100 * o['difference']:+.2f}" + (
            f" [{100 * o['difference_ci'][0]:+.1f}, {100 * o['difference_ci'][1]:+.1f}]"
            if o.get("difference_ci")
            else ""
        )
    row["McNemar per repeat: joint only right / rule only right (p)"] = "; ".join(
        f"{t['a_right_b_wrong']} / {t['a_wrong_b_right']} (p = {t['p_value']:.3g})"
        for t in c.get("mcnemar_per_repeat", [])
    )
    return row, best, res, _numbers(acc, c, best)


def robustness(members: list[dict]) -> pd.DataFrame:
    """Each (rule, drop, rate) row pooled over a repeat's folds (weighted by the fold's test pairs),
    then averaged over repeats."""
    parts = []
    for m in members:
        n = len(m["pred"]["y_test"])
        parts.append(
            m["robustness"].assign(seed=int(m["run_metrics"]["seed"]), n=n, hits=m["robustness"]["accuracy"] * n)
        )
    rob = pd.concat(parts)
    keys = ["rule", "drop", "rate"]
    per_repeat = rob.groupby(keys + ["seed"], sort=False, as_index=False)[["hits", "n"]].sum()
    per_repeat["accuracy"] = per_repeat["hits"] / per_repeat["n"]
    return per_repeat.groupby(keys, sort=False, as_index=False)["accuracy"].mean()


def figure(rob: pd.DataFrame, roles, path) -> pd.DataFrame:
    rob = pd.concat([rob[rob["rule"] == r].assign(role=role) for role, r in roles])
    shown = rob.assign(
        rule=[("joint network" if r == "joint" else f"{role}: {r}") for role, r in zip(rob.role, rob.rule)]
    )
    plot_robustness(shown, path)
    return rob
