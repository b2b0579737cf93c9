"""The hyper-parameter search section of `mmfusion report`: for a sweep made with `hparams_search=...`
(Hydra's Optuna sweeper writes `optimization_results.yaml` beside the trials), one row per trial with
its searched parameters and its validation objective, and the best parameters.

Test-split figures of single trials are left out on purpose: a trial is chosen by its validation
objective only; measure the chosen settings afterwards on fresh seeds or cross-validation folds.

Figures (report_figures/): the optimisation history (each trial's objective, best so far) from the
trials' metrics.json, and the parameters' importances from the Optuna study (optuna.db) through
Optuna's own API, `optuna.importance.get_param_importances` with its mean-decrease-impurity
evaluator (a random forest of scikit-learn; Optuna 2.10's default fANOVA evaluator fails under
NumPy 2). Without optuna installed or without the study, the importances are left out with a note.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from pathlib import Path

import pandas as pd
import yaml
from matplotlib.ticker import MaxNLocator

from mmfusion.reporting.figures import new_figure, save
from mmfusion.reporting.tables import to_markdown
from mmfusion.rundir.collected import report_title
from mmfusion.rundir.files import METRICS
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.records import read_metrics

log = logging.getLogger(__name__)

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
        done = is_complete(job) and (job / METRICS).exists()
        record = (read_metrics(job).objective or {}) if done else {}
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


def trial_values(jobs: list[Path]) -> list[float | None]:
    """Each trial's objective (None: failed or unfinished), in trial order."""
    out = []
    for job in sorted(jobs, key=lambda j: (len(j.name), j.name)):
        done = is_complete(job) and (job / METRICS).exists()
        record = (read_metrics(job).objective or {}) if done else {}
        out.append(record.get("value"))
    return out


def importances(root: Path) -> tuple[dict[str, float] | None, str]:
    """The searched parameters' importances from the study beside the trials, and a note."""
    if not (root / STUDY).exists():
        return None, f"no Optuna study ({STUDY}) beside the trials"
    if importlib.util.find_spec("optuna") is None:
        return None, "optuna is not installed (pip install 'mmfusion[tune]')"
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{root / STUDY}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-API warnings of optuna 2.10
            name = optuna.study.get_all_study_summaries(storage)[0].study_name
            study = optuna.load_study(study_name=name, storage=storage)
            evaluator = optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0)
            values = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError, IndexError) as err:  # e.g. fewer than two finished trials
        return None, f"not computed: {err}"
    return {k: float(v) for k, v in values.items()}, "Optuna, mean decrease in impurity of a random forest"


def search_figures(root: Path, jobs: list[Path], direction: str, fig_dir: Path) -> list[str]:
    """The optimisation history and, when the study allows, the parameter importances; Markdown lines."""
    fig_dir.mkdir(exist_ok=True)
    lines = ["### Optimisation history and parameter importances", ""]
    values = trial_values(jobs)
    if any(v is not None for v in values):
        plot_search_history(values, direction, "Optimisation history", fig_dir / "search_history.png")
        lines.append("![search_history.png](report_figures/search_history.png)")
    imp, note = importances(root)
    if imp:
        plot_importances(imp, "Parameter importances", fig_dir / "search_importances.png")
        lines += ["![search_importances.png](report_figures/search_importances.png)", "", f"Importances: {note}."]
    else:
        lines += ["", f"Parameter importances: {note}."]
    return lines + [""]


def section(root: Path, jobs: list[Path]) -> list[str]:
    results = yaml.safe_load((root / RESULTS).read_text()) or {}
    best = results.get("best_params") or {}
    metrics = [read_metrics(j).objective or {} for j in jobs if (j / METRICS).exists()]
    metric = next((m for m in metrics if m), {})
    lines = [
        "## Hyper-parameter search",
        "",
        f"{len(jobs)} trial(s); objective `{metric.get('metric', '?')}` ({metric.get('direction', '?')}), "
        "computed on the validation split only.",
    ]
    if (root / STUDY).exists():  # named under the run directory (a collected copy: the one it was made from)
        lines += ["", f"Optuna study: `{Path(report_title(root)) / STUDY}` (SQLite)."]
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
        *search_figures(root, jobs, str(metric.get("direction", "maximize")), root / "report_figures"),
        "Test-split scores of single trials are not shown: choose by the validation objective, then measure "
        "the chosen settings on fresh seeds or folds. Each trial's test metrics stay in its metrics.json.",
        "",
    ]
    return lines


def plot_search_history(values: list[float | None], direction: str, title: str, path: Path) -> None:
    """A hyper-parameter search's optimisation history: each trial's objective (trial number from 0,
    failed trials left out) and the best value so far."""
    fig, ax = new_figure((6.4, 3.8))
    trials = [i for i, v in enumerate(values) if v is not None]
    done = [values[i] for i in trials]
    better = max if direction == "maximize" else min
    best = [better(done[: k + 1]) for k in range(len(done))]
    ax.plot(trials, done, "o", ms=5, label="objective of the trial")
    ax.step(trials, best, where="post", color="C3", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="trial", ylabel="objective (validation)", title=title)
    ax.legend(fontsize=8, loc="best")
    save(fig, path)


def plot_importances(importances: dict[str, float], title: str, path: Path) -> None:
    """Horizontal bars of each searched parameter's importance (largest on top)."""
    items = sorted(importances.items(), key=lambda kv: kv[1])
    fig, ax = new_figure((6.4, 1.2 + 0.45 * len(items)))
    ax.barh([k for k, _ in items], [v for _, v in items], color="C0")
    for i, (_, v) in enumerate(items):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=8)
    ax.set(xlabel="importance (share of the objective's variance explained)", title=title)
    ax.set_xlim(0, max([v for _, v in items] + [0.0]) * 1.15 or 1)
    save(fig, path)
