"""The hyper-parameter search part of `mmfusion report`: for a sweep made with `hparams_search=...`
(Hydra's Optuna sweeper writes `optimization_results.yaml` beside the trials), one row per trial with
its searched parameters and its validation objective, and the best parameters.

Test-split figures of single trials are left out on purpose: a trial is chosen by its validation
objective only; measure the chosen settings afterwards on fresh seeds or cross-validation folds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from mmfusion import rundir
from mmfusion.evaluation.tables import to_markdown

RESULTS = "optimization_results.yaml"  # written by Hydra's Optuna sweeper into the sweep directory
STUDY = "optuna.db"  # conf/hparams_search/ stores the study here


def is_search(root: Path) -> bool:
    return (Path(root) / RESULTS).exists()


def _overrides(job: Path) -> dict[str, str]:
    f = job / ".hydra" / "overrides.yaml"
    pairs = (o.split("=", 1) for o in (yaml.safe_load(f.read_text()) or []) if "=" in o) if f.exists() else []
    return {k: v for k, v in pairs}


def trials_table(root: Path, jobs: list[Path], best: dict) -> pd.DataFrame:
    rows, searched = [], sorted(best)
    for job in jobs:
        params = _overrides(job)
        done = rundir.is_complete(job) and (job / rundir.METRICS).exists()
        record = json.loads((job / rundir.METRICS).read_text()).get("objective", {}) if done else {}
        value = record.get("value")
        is_best = value is not None and all(params.get(k) == str(v) for k, v in best.items())
        rows.append(
            {
                "trial": job.name,
                "objective": f"{value:.4f}" if value is not None else "failed",
                "best": "*" if is_best else "",
                **{k: params.get(k, "") for k in searched},
            }
        )
    return pd.DataFrame(rows).set_index("trial")


def section(root: Path, jobs: list[Path]) -> list[str]:
    results = yaml.safe_load((root / RESULTS).read_text()) or {}
    best = results.get("best_params") or {}
    metrics = [
        json.loads((j / rundir.METRICS).read_text()).get("objective", {}) for j in jobs if (j / rundir.METRICS).exists()
    ]
    metric = next((m for m in metrics if m), {})
    lines = [
        "## Hyper-parameter search",
        "",
        f"{len(jobs)} trial(s); objective `{metric.get('metric', '?')}` ({metric.get('direction', '?')}), "
        "computed on the validation split only.",
    ]
    if (root / STUDY).exists():
        lines += ["", f"Optuna study: `{root / STUDY}` (SQLite)."]
    lines += [
        "",
        "### Best parameters",
        "",
        f"Best objective: {results.get('best_value')}",
        "",
        to_markdown(pd.DataFrame({"value": [str(v) for v in best.values()]}, index=pd.Index(list(best), name="key"))),
        "",
        "### Trials",
        "",
        to_markdown(trials_table(root, jobs, best)),
        "",
        "Test-split scores of single trials are not shown: choose by the validation objective, then measure "
        "the chosen settings on fresh seeds or folds. Each trial's test metrics stay in its metrics.json.",
        "",
    ]
    return lines
