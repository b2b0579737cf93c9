"""A section of `mmfusion report`: accuracy against hours since the fault onset, per base model and rule.

A sweep of `dataset.series.window.length` (experiment=early) gives one group per window; the hours
since the onset are (window start + length) x `dataset.series.sample_interval_h` (0.05 h a step). At
each hours value this section has a line for every base model (several per modality: `text`,
`text_tfidf_logreg`, `series`, `series_conv1d`, ...), the run's own fusion rule (`fused`), every rule
of `mmfusion fuse <job> fusion=all` where every job of the group was re-fused (the newest finished
`fuse/all-*` folder of each job), and the joint network (`joint=lstm`) where the runs have it.

Cross-validation groups pool their out-of-fold predictions (evaluation/pooled.py): the accuracy is
the mean over repeats (seeds) of each repeat's pooled accuracy, its interval the cluster bootstrap
over the units (texts, runs) with the same draws for every line, so the base models' figures are
those of the group's pooled Table IV. A single run shows its own bootstrap interval; several seeds of
a single split show mean ± std over the seeds. The best of the `fuse fusion=all` rules at an hours
value is picked on the test data, and labelled so.

Writes `report_figures/accuracy_vs_hours.{png,svg}` and `report_tables/accuracy_vs_hours.{csv,md}`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.basemodels import MODALITIES, modality_of
from mmfusion.evaluation import pooled
from mmfusion.fusion import FUSIONS
from mmfusion.reporting.figures_hours import plot_accuracy_vs_hours
from mmfusion.reporting.tables import to_markdown
from mmfusion.rundir.files import write_atomic, write_text
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.records import read_metrics, read_predictions

FIGURE = "accuracy_vs_hours"
TABLE = "accuracy_vs_hours"
TABLES_DIR = "report_tables"
WINDOW_KEY = "dataset.series.window."
PICKED = "picked on test"
KINDS = ("base model", "run's rule", "fuse fusion=all rule", "joint network")  # the figure's and table's order


def hours_of(metrics: dict) -> float | None:
    """Hours since the onset at the end of the run's series window, or None (no window recorded)."""
    info = (metrics.get("dataset") or {}).get("series_info") or {}
    if "window_length" not in info:
        return None
    return round((info.get("window_start", 0) + info["window_length"]) * float(info.get("sample_interval_h", 0.05)), 3)


def fuse_all_dir(job_dir: Path) -> Path | None:
    """The newest finished `mmfusion fuse <job> fusion=all` output (`fuse/all-<stamp>`), or None."""
    root = Path(job_dir) / "fuse"
    done = sorted(d for d in root.glob("all-*") if is_complete(d)) if root.is_dir() else []
    return done[-1] if done else None


def rule_label(rule: str) -> str:
    return f"rule {rule}"


def _lines(jobs) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """[(line, kind)] of a group in table order, and {rule line: rule} of the `fuse fusion=all` rules that
    every job of the group has."""
    shared = set.intersection(*(set(j["metrics"]["models"]) for j in jobs))  # every job of the group has it
    models = [m for m in jobs[0]["metrics"]["models"] if m in shared]
    base = [m for m in models if modality_of(m) in MODALITIES]
    base.sort(key=lambda m: MODALITIES.index(modality_of(m)))  # grouped by modality, configured order within
    rules: dict[str, str] = {}
    found = [fuse_all_dir(j["dir"]) for j in jobs]
    if all(found):
        have = set.intersection(*(set(read_metrics(d).rules) for d in found))
        rules = {rule_label(r): r for r in FUSIONS if r in have}
    lines = [(m, KINDS[0]) for m in base]
    lines += [("fused", KINDS[1])] if "fused" in models else []
    lines += [(label, KINDS[2]) for label in rules]
    lines += [("joint", KINDS[3])] if "joint" in models else []
    return lines, rules


def _with_rules(job: dict, rules: dict[str, str]) -> dict:
    """The job as pooled.pool reads it, with its `fuse fusion=all` rules as models beside its own."""
    if not rules:
        return job
    d = fuse_all_dir(job["dir"])
    fm, fp = read_metrics(d), read_predictions(d).arrays
    pred = dict(read_predictions(job["dir"]).arrays)
    pred.update({f"proba_test_{label}": fp[f"proba_test_{r}"] for label, r in rules.items()})
    models = {**job["metrics"]["models"], **{label: fm.rules[r] for label, r in rules.items()}}
    return {**job, "pred": pred, "metrics": {**job["metrics"], "models": models}}


def _group_rows(jobs, lines, rules, ev) -> list[dict]:
    names = [n for n, _ in lines]
    cv = "cv_folds" in (jobs[0]["metrics"].get("dataset") or {})
    if cv:
        aug = [_with_rules(j, rules) for j in jobs]
        for j in aug:  # only the lines drawn (pooled.pool pools every model of metrics.json)
            j["metrics"] = {**j["metrics"], "models": {m: j["metrics"]["models"][m] for m in names}}
        pool = pooled.pool(aug, ev.bootstrap, ev.ci_level, 0, contrast=("fused", []))
        if "models" not in pool:
            return []
        interval = f"{ev.ci_level:.0%} cluster bootstrap, pooled out of fold"
        return [
            {
                "model": n,
                "accuracy": pool["models"][n]["accuracy"],
                "ci_lo": (pool["models"][n].get("accuracy_ci") or [np.nan, np.nan])[0],
                "ci_hi": (pool["models"][n].get("accuracy_ci") or [np.nan, np.nan])[1],
                "interval": interval,
                "repeats": pool["repeats"],
                "folds": pool["folds"],
            }
            for n in names
        ]
    per_job = []
    for j in jobs:
        res = dict(j["metrics"]["models"])
        if rules:
            fm = read_metrics(fuse_all_dir(j["dir"]))
            res.update({label: fm.rules[r] for label, r in rules.items()})
        per_job.append(res)
    rows = []
    for n in names:
        acc = np.array([r[n]["accuracy"] for r in per_job], dtype=float)
        if len(acc) == 1:
            lo, hi = per_job[0][n].get("accuracy_ci") or [np.nan, np.nan]
            interval = f"{ev.ci_level:.0%} bootstrap of the run" if per_job[0][n].get("accuracy_ci") else "none"
        else:
            sd = acc.std(ddof=1)
            lo, hi, interval = acc.mean() - sd, acc.mean() + sd, "± std over seeds"
        rows.append(
            {
                "model": n,
                "accuracy": float(acc.mean()),
                "ci_lo": lo,
                "ci_hi": hi,
                "interval": interval,
                "repeats": len(acc),
                "folds": 1,
            }
        )
    return rows


def _rest(label: str) -> str:
    """A group's label without the window overrides: what else varies between the groups."""
    return " ".join(t for t in label.split() if not t.startswith(WINDOW_KEY))


def hours_table(groups, evaluation) -> pd.DataFrame | None:
    """One row per line (base model, the run's rule, each `fuse fusion=all` rule, the joint network) at
    each hours value: accuracy, its interval, repeats; `best_rule` marks the best `fuse fusion=all` rule at
    that hours value (picked on test). None unless at least two hours values. `evaluation(jobs)`: the
    group's evaluation settings (bootstrap, ci_level)."""
    hours = {label: hours_of(jobs[0]["metrics"]) for label, jobs in groups.items()}
    if any(h is None for h in hours.values()) or len(set(hours.values())) < 2:
        return None
    rests = {label: _rest(label) for label in groups}
    prefix = len(set(rests.values())) > 1  # something besides the window varies: it names the lines
    rows = []
    for label, jobs in groups.items():
        lines, rules = _lines(jobs)
        kinds = dict(lines)
        own = str((jobs[0]["metrics"].get("fusion") or {}).get("name") or "")
        rule_of = {**rules, "fused": own}
        for r in _group_rows(jobs, lines, rules, evaluation(jobs)):
            line = f"{rests[label]}: {r['model']}" if prefix and rests[label] else r["model"]
            rows.append(
                {
                    "hours since onset": hours[label],
                    "group": rests[label],
                    "kind": kinds[r["model"]],
                    "line": line,
                    "rule": rule_of.get(r["model"], ""),
                    **r,
                }
            )
    if not rows:
        return None
    df = pd.DataFrame(rows)
    df["best_rule"] = False
    rule_rows = df[df["kind"] == KINDS[2]]
    if len(rule_rows):
        top = rule_rows.groupby(["hours since onset", "group"])["accuracy"].transform("max")
        best = rule_rows["accuracy"] == top
        df.loc[best[best].index, "best_rule"] = True
    order = {k: i for i, k in enumerate(KINDS)}
    df["_k"] = df["kind"].map(order)
    df["_l"] = df.groupby("line", sort=False).ngroup()
    df = df.sort_values(["hours since onset", "_k", "_l"], kind="stable").drop(columns=["_k", "_l"])
    return df.reset_index(drop=True)


def _cell(r) -> str:
    text = f"{r['accuracy'] * 100:.2f}"
    if r["ci_lo"] == r["ci_lo"] and r["ci_hi"] == r["ci_hi"]:
        if r["interval"].startswith("±"):
            return f"{text} ± {(r['ci_hi'] - r['accuracy']) * 100:.2f}"
        text += f" [{r['ci_lo'] * 100:.2f}, {r['ci_hi'] * 100:.2f}]"
    return text


def wide(df: pd.DataFrame) -> pd.DataFrame:
    """The Markdown layout: one row per hours value, one column per line (accuracy % [interval]), then the
    best `fuse fusion=all` rule, picked on test."""
    lines = list(dict.fromkeys(df["line"]))
    out = {}
    for h, part in df.groupby("hours since onset", sort=True):
        row = {r["line"]: _cell(r) for _, r in part.iterrows()}
        best = part[part["best_rule"]]
        if len(best):  # per group (what else varies), ties named together
            row[f"best rule ({PICKED})"] = "; ".join(
                ", ".join(b["line"]) + f": {b['accuracy'].iloc[0] * 100:.2f}"
                for _, b in best.groupby("group", sort=False)
            )
        out[f"{h:g}"] = row
    table = pd.DataFrame(out).T.reindex(columns=[c for c in lines + [f"best rule ({PICKED})"]]).fillna("")
    table = table.loc[:, [c for c in table.columns if (table[c] != "").any()]]
    table.index.name = "hours since onset"
    return table


def hours_section(df: pd.DataFrame, root: Path, fig_dir: Path) -> list[str]:
    """Writes the figure and the table (CSV in long form, Markdown wide); returns the report's lines."""
    plot_accuracy_vs_hours(df, fig_dir / f"{FIGURE}.png")
    tables = Path(root) / TABLES_DIR
    tables.mkdir(exist_ok=True)
    csv = df.rename(columns={"best_rule": f"best_rule_{PICKED.replace(' ', '_')}"})
    write_atomic(tables / f"{TABLE}.csv", lambda tmp: csv.to_csv(tmp, index=False))
    shown = to_markdown(wide(df))
    intervals = sorted(set(df["interval"]))
    own = sorted(set(df.loc[df["kind"] == KINDS[1], "rule"]) - {""})
    note = (
        "Test accuracy in % of every base model, the run's own fusion rule (`fused`"
        + (f": {', '.join(own)}" if own else "")
        + "), each rule of "
        "`mmfusion fuse <job> fusion=all` (`rule <name>`, where every job of the window was re-fused) and the "
        f"joint network (`joint`), against hours since the fault onset; intervals: {'; '.join(intervals)}. "
        f"The best rule at each time is {PICKED}: it flatters the rules."
    )
    write_text(tables / f"{TABLE}.md", shown + "\n" + note + "\n")
    return [
        "## Accuracy against hours since onset, per model and rule",
        "",
        note,
        "",
        shown,
        f"![{FIGURE}.png](report_figures/{FIGURE}.png)",
        "",
        f"Table: [`{TABLES_DIR}/{TABLE}.csv`]({TABLES_DIR}/{TABLE}.csv) (one row per line and hours value).",
        "",
    ]
