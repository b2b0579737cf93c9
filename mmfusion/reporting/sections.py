"""Sections of the `mmfusion report` page: the paper's tables (IV, III, accuracy against time) and the
provenance, as Markdown built from the metrics dicts of finished runs; a cross-validation group's
pooled tables and figures are in pooled_section.py.

commands/report.py finds and groups the jobs and writes report.md / report.html; group_figures.py draws
the figures of a group of single-split runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmfusion.basemodels import MODALITIES, modality_of
from mmfusion.reporting.figures_hours import plot_accuracy_vs_time
from mmfusion.reporting.tables import to_markdown
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.provenance import read_provenance
from mmfusion.rundir.records import read_metrics

PAPER_ACCURACY = {"series": 95.00, "text": 91.00, "fused": 97.50}  # Table IV, percent
PAPER_AUC = {"series": "lowest; 0.9339 for type 3", "text": "> 0.99 for every type", "fused": "> 0.998 for every type"}
TEP_SOURCES = ("simulate", "braatz", "rieth")  # the Tennessee Eastman process, simulated or from files


def is_paper_dataset(metrics: dict) -> bool:
    """The paper's data: MathWorks' factory reports paired with Tennessee Eastman series; the paper's
    rows are shown only beside runs on it (not beside synthetic or custom data)."""
    d = metrics.get("dataset") or {}
    text_file = str((d.get("text_info") or {}).get("file", ""))
    factory = d.get("text_source") == "factory_reports" or text_file.lower() == "factoryreports.csv"
    return factory and d.get("series_source") in TEP_SOURCES


def _paper(groups) -> bool:
    return all(is_paper_dataset(jobs[0]["metrics"]) for jobs in groups.values())


def _pm(values, scale=1.0, digits=2) -> str:
    v = np.asarray([x for x in values if x is not None], dtype=float) * scale
    if not len(v):
        return "n/a"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}" if len(v) > 1 else f"{v[0]:.{digits}f}"


def with_ci(value, ci, scale=100.0, digits=2) -> str:
    if value is None:
        return "n/a"
    text = f"{value * scale:.{digits}f}"
    return text + (f" [{ci[0] * scale:.{digits}f}, {ci[1] * scale:.{digits}f}]" if ci else "")


def accuracy_table(groups, pools: dict | None = None) -> pd.DataFrame:
    rows = {}
    for label, jobs in groups.items():
        models = list(jobs[0]["metrics"]["models"])
        pool = (pools or {}).get(label)
        if pool and "models" in pool:  # cross-validation: pooled out-of-fold accuracy [95% interval]
            row = {m: with_ci(pool["models"][m]["accuracy"], pool["models"][m].get("accuracy_ci")) for m in models}
            row["seeds"] = f"{pool['repeats']} x {pool['folds']} folds (pooled)"
        elif len(jobs) == 1:  # one run: its bootstrap interval from metrics.json
            res = jobs[0]["metrics"]["models"]
            row = {m: with_ci(res[m]["accuracy"], res[m].get("accuracy_ci")) for m in models}
            row["seeds"] = "1"
        else:
            row = {m: _pm([j["metrics"]["models"][m]["accuracy"] for j in jobs], 100) for m in models}
            row["seeds"] = str(len(jobs))
        rows[label] = row
    if _paper(groups):
        rows["paper (Table IV)"] = {m: f"{v:.2f}" for m, v in PAPER_ACCURACY.items()} | {"seeds": ""}
    df = pd.DataFrame(rows).T.fillna("")
    base = [c for c in df.columns if modality_of(c) in MODALITIES]  # several per modality: grouped by it
    first = sorted(base, key=lambda c: MODALITIES.index(modality_of(c))) + [c for c in ("fused",) if c in df.columns]
    df = df[first + [c for c in df.columns if c not in first and c != "seeds"] + ["seeds"]]
    df.index.name = "accuracy % (mean ± std over seeds; one run or CV pooled: [CI])"
    return df


def auc_table(jobs) -> pd.DataFrame:
    classes, models = jobs[0]["metrics"]["classes"], list(jobs[0]["metrics"]["models"])
    if len(jobs) == 1:  # one run: AUC [bootstrap interval] from metrics.json
        res = jobs[0]["metrics"]["models"]
        cell = {
            m: [with_ci(res[m]["auc"][c], (res[m].get("auc_ci") or {}).get(c), 1, 4) for c in classes] for m in models
        }
    else:
        cell = {m: [_pm([j["metrics"]["models"][m]["auc"][c] for j in jobs], 1, 4) for c in classes] for m in models}
    df = pd.DataFrame(cell, index=classes)
    if is_paper_dataset(jobs[0]["metrics"]):
        df.loc["paper (Table III)"] = [PAPER_AUC.get(m, "") for m in models]
    df.index.name = "class"
    return df


def rule_accuracies(job: Path) -> dict[str, float]:
    """Test accuracy of every fusion rule from the newest finished `mmfusion fuse <job> fusion=all`."""
    done = sorted(d for d in (job / "fuse").glob("all-*") if is_complete(d)) if (job / "fuse").is_dir() else []
    if not done:
        return {}
    rules = getattr(read_metrics(done[-1]), "rules", {})
    return {f"fused ({r})": v["accuracy"] for r, v in rules.items()}


def time_table(groups, pools: dict | None = None) -> pd.DataFrame | None:
    """Accuracy against hours since the fault onset (end of the series window), mean and std over seeds
    (cross-validation groups: over repeats of the pooled out-of-fold accuracy)."""
    rows = []
    for label, jobs in groups.items():
        pool = (pools or {}).get(label)
        for j in jobs:
            info = j["metrics"].get("dataset", {}).get("series_info", {})
            if "window_length" not in info:
                return None
            hours = (info["window_start"] + info["window_length"]) * float(info.get("sample_interval_h", 0.05))
            if pool and "models" in pool:
                for i in range(pool["repeats"]):
                    rows.append(
                        {
                            "hours since onset": round(hours, 3),
                            **{m: r["accuracy_per_repeat"][i] for m, r in pool["models"].items()},
                        }
                    )
                break
            acc = {m: r["accuracy"] for m, r in j["metrics"]["models"].items()}
            rows.append({"hours since onset": round(hours, 3), **acc, **rule_accuracies(j["dir"])})
    df = pd.DataFrame(rows)
    if df["hours since onset"].nunique() < 2:
        return None
    return df.groupby("hours since onset").agg(["mean", "std", "count"])


def time_section(table: pd.DataFrame, fig_dir: Path) -> list[str]:
    models = list(dict.fromkeys(c[0] for c in table.columns))
    plot_accuracy_vs_time(table, models, fig_dir / "accuracy_vs_time.png")
    shown = pd.DataFrame(
        {
            m: [
                _pm([mu], 100) + (f" ± {sd * 100:.2f}" if sd == sd else "")
                for mu, sd in zip(table[(m, "mean")], table[(m, "std")])
            ]
            for m in models
        },
        index=table.index,
    )
    shown["seeds"] = table[(models[0], "count")].astype(int).astype(str).tolist()
    return [
        "## Accuracy against hours since the fault onset",
        "",
        "Test accuracy in % (mean ± std over seeds); the series sees only the window up to that time, "
        "the text is the same at every time.",
        "",
        to_markdown(shown),
        "![accuracy_vs_time.png](report_figures/accuracy_vs_time.png)",
        "",
    ]


def provenance_section(groups) -> list[str]:
    """## Provenance: each job's commit, dirty flag, version and wall seconds per stage (provenance.json);
    nothing for runs made before provenance was recorded, so their reports regenerate as they were."""
    jobs = [j for members in groups.values() for j in members]
    records = [(j, read_provenance(j["dir"])) for j in jobs]
    if not any(p for _, p in records):
        return []
    stages = list(dict.fromkeys(s for _, p in records if p for s in p.get("stages") or {}))
    rows = []
    for j, p in records:
        p = p or {}
        commit = p.get("commit")
        dirty = p.get("dirty")
        row = {
            "job": j["dir"].name if len(jobs) > 1 else ".",
            "commit": commit[:12] if commit else "unknown",
            "dirty": "unknown" if dirty is None else ("yes" if dirty else "no"),
            "version": p.get("version", "unknown"),
        }
        for s in stages:
            t = (p.get("stages") or {}).get(s)
            row[f"{s} (s)"] = f"{t['wall_s']:.1f}" if t else ""
        rows.append(row)
    return [
        "## Provenance",
        "",
        "The code behind each run (provenance.json) and the wall-clock seconds of each stage; the CPU seconds,"
        " start, finish and resume times are in each run's provenance.json.",
        "",
        to_markdown(pd.DataFrame(rows).set_index("job")),
        "",
    ]
