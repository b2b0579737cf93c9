"""`mmfusion report <run-or-multirun-dir>`: the paper's tables and figures from finished runs.

A hyper-parameter search (`hparams_search=...`) is reported by commands/search.py instead: trials,
their validation objective and the best parameters.

Reads only run directories. Jobs are grouped by the overrides that differ between them (seed and
cross-validation fold excluded); each group's metrics are averaged over its seeds (mean +/- std).
A cross-validation group (`dataset.cv.folds=K`) pools its out-of-fold predictions instead
(pooled.py): Tables IV and III with cluster-bootstrap intervals, Fig. 7 over every unit, a per-fold
table, the number of unique texts and runs covered; repeats (seeds) are averaged. Jobs that failed
or never finished are listed, never averaged. Beside report.md, a self-contained report.html.
metrics.json and predictions.npz are checked against the run's checksums.json before use. A folder
collected by scripts/collect_results.py (outputs/results/) reports as its run did: the heading names
the run directory recorded in its collected.json, so report.md is the same wherever it is made.
The tables and their Markdown sections are built in report_sections.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mmfusion.commands import parsers, report_hours, search
from mmfusion.commands.report_sections import (  # noqa: F401 (re-exported: the tables used to live here)
    PAPER_ACCURACY,
    PAPER_AUC,
    accuracy_table,
    auc_table,
    pooled_section,
    provenance_section,
    rule_accuracies,
    time_section,
    time_table,
)
from mmfusion.errors import RunDirError
from mmfusion.evaluation import figures, pooled
from mmfusion.evaluation.html import markdown_to_html
from mmfusion.evaluation.metrics import roc_curves
from mmfusion.evaluation.tables import to_markdown
from mmfusion.rundir.checksums import verify
from mmfusion.rundir.collected import report_title
from mmfusion.rundir.files import MARKER, METRICS, PREDICTIONS, write_text
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.records import read_metrics, read_predictions
from mmfusion.runtime import interrupt
from mmfusion.schemas import over_defaults
from mmfusion.schemas.run import EvaluationSchema

IGNORED = ("seed=", "hydra.", "dataset.seed=", "resume=", "dataset.cv.fold=")


log = logging.getLogger(__name__)


def find_jobs(root: Path) -> list[Path]:
    if (root / MARKER).exists() or (root / ".hydra").is_dir() or (root / METRICS).exists():
        return [root]
    jobs = sorted(
        (p for p in root.iterdir() if p.is_dir() and ((p / ".hydra").is_dir() or (p / METRICS).exists())),
        key=lambda p: (len(p.name), p.name),
    )
    if not jobs:
        raise RunDirError(f"{root}: neither a run directory nor a multirun directory (no job subdirectories found)")
    return jobs


def overrides(job: Path) -> list[str]:
    f = job / ".hydra" / "overrides.yaml"
    return [o for o in (yaml.safe_load(f.read_text()) or []) if not o.startswith(IGNORED)] if f.exists() else []


def load_jobs(root: Path):
    done, failed = [], []
    for job in find_jobs(root):
        if is_complete(job) and (job / METRICS).exists():
            done.append({"dir": job, "overrides": overrides(job), "metrics": read_metrics(job).as_dict()})
            verify(job, (METRICS, PREDICTIONS))  # a damaged file: named, not a NumPy error
        else:
            failed.append(job)
    if not done:
        raise RunDirError(f"{root}: no finished run (no {MARKER} marker in {[str(f) for f in failed]})")
    for j in done:  # one report compares runs of the same classes (a damaged or foreign metrics.json says so)
        if not isinstance(j["metrics"], dict) or j["metrics"].get("classes") != done[0]["metrics"].get("classes"):
            classes = j["metrics"].get("classes") if isinstance(j["metrics"], dict) else None
            raise RunDirError(
                f"{j['dir'] / METRICS}: its classes {classes} differ from {done[0]['metrics'].get('classes')} "
                f"of {done[0]['dir']}; report runs of the same classes together (move the others to their own folder)"
            )
    varying = sorted({o for j in done for o in j["overrides"]} - set.intersection(*(set(j["overrides"]) for j in done)))
    groups: dict[str, list] = {}
    for j in done:
        label = " ".join(o for o in j["overrides"] if o in varying) or "all runs"
        groups.setdefault(label, []).append(j)
    for members in groups.values():
        members.sort(key=lambda j: j["metrics"]["seed"])
    return groups, failed


def is_cv(jobs) -> bool:
    return "cv_folds" in (jobs[0]["metrics"].get("dataset") or {})


def training_figures(groups, out: Path) -> list[str]:
    """Fig. 5: training accuracy and loss per epoch, one line per group (e.g. learning rate), per modality."""
    names = []
    modalities = sorted({m for jobs in groups.values() for m in jobs[0]["metrics"]["modalities"]})
    for m in modalities:
        curves = {}
        for label, jobs in groups.items():
            hists = [
                pd.read_csv(j["dir"] / "history" / f"{m}.csv")
                for j in jobs
                if (j["dir"] / "history" / f"{m}.csv").exists()
            ]
            hists = [h for h in hists if len(h) and {"accuracy", "loss"} <= set(h.columns)]  # non-neural: no epochs
            if hists:
                n = min(len(h) for h in hists)
                curves[label] = {k: np.mean([h[k].to_numpy()[:n] for h in hists], axis=0) for k in ("accuracy", "loss")}
        if curves:
            name = f"fig5_training_{m}.png"
            figures.plot_curves(curves, f"Training of the {m} model (mean over seeds)", out / name)
            names.append(name)
    return names


def model_figures(label: str, jobs, out: Path, slug: str) -> list[str]:
    """Fig. 6 (ROC, first seed) and Fig. 7 (confusion matrices pooled over seeds) of every model."""
    first = jobs[0]
    pred = read_predictions(first["dir"])
    classes = first["metrics"]["classes"]
    names = []
    for m in first["metrics"]["models"]:
        y, p = pred.y("test"), pred.proba("test", m)
        keep = ~np.isnan(p).any(axis=1)
        curves = roc_curves(y[keep], p[keep], len(classes))
        figures.plot_roc(
            curves,
            first["metrics"]["models"][m]["auc"],
            classes,
            f"ROC, {m} (seed {first['metrics']['seed']})",
            out / f"fig6_roc_{m}_{slug}.png",
        )
        cm = np.sum([j["metrics"]["models"][m]["confusion"] for j in jobs], axis=0)
        cm_name = f"fig7_confusion_{m}_{slug}.png"
        figures.plot_confusion(cm, classes, f"{m}, {len(jobs)} seed(s) summed", out / cm_name)
        names += [f"fig6_roc_{m}_{slug}.png", cm_name, figures.normalized_path(Path(cm_name)).name]
    return names


def report(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise RunDirError(f"{root}: no such directory; give a run or multirun directory made by `mmfusion train`")
    if search.is_search(root):  # hparams_search=...: trials and best parameters, judged on validation data
        out = root / "report.md"
        lines = [f"# mmfusion report: `{report_title(root)}`", "", *search.section(root, find_jobs(root))]
        write_text(out, "\n".join(lines))
        write_text(root / "report.html", markdown_to_html("\n".join(lines), root, f"mmfusion search: {root.name}"))
        log.info("search report written to %s and report.html", out)
        return out
    groups, failed = load_jobs(root)
    log.info(
        "%s: %d finished job(s) in %d group(s), %d not finished",
        root,
        sum(map(len, groups.values())),
        len(groups),
        len(failed),
    )
    fig_dir = root / "report_figures"
    fig_dir.mkdir(exist_ok=True)
    lines = [
        f"# mmfusion report: `{report_title(root)}`",  # a collected folder: the run it was made from
        "",
        f"{sum(map(len, groups.values()))} finished job(s) in {len(groups)} group(s).",
    ]
    if failed:
        lines += [
            "",
            "**Not finished (failed or interrupted), not averaged:** " + ", ".join(f"`{f.name}`" for f in failed),
        ]
    pools = {}
    for label, jobs in groups.items():
        if is_cv(jobs):
            ev = _evaluation(jobs[0])
            pools[label] = pooled.pool(jobs, ev.bootstrap, ev.ci_level, 0)
    lines += ["", "## Accuracy on the test split (Table IV layout)", "", to_markdown(accuracy_table(groups, pools))]
    training = training_figures(groups, fig_dir)
    timing = time_table(groups, pools)
    if timing is not None:
        lines += time_section(timing, fig_dir)
    hours = report_hours.hours_table(groups, lambda jobs: _evaluation(jobs[0]))  # per model and rule, pooled
    if hours is not None:
        lines += report_hours.hours_section(hours, root, fig_dir)
    for i, (label, jobs) in enumerate(groups.items()):
        if label in pools:
            lines += pooled_section(label, pools[label], fig_dir, f"g{i}", jobs[0]["metrics"]["classes"], jobs)
            continue
        seeds = ", ".join(str(j["metrics"]["seed"]) for j in jobs)
        lines += [
            f"## Group `{label}`",
            "",
            f"Seeds: {seeds}.",
            "",
            "### One-vs-rest AUC (Table III layout, " + ("[CI])" if len(jobs) == 1 else "mean ± std)"),
            "",
            to_markdown(auc_table(jobs)),
        ]
        names = model_figures(label, jobs, fig_dir, f"g{i}")
        lines += ["### ROC curves (Fig. 6, first seed) and confusion matrices (Fig. 7, pooled over seeds)", ""]
        lines += [f"![{n}](report_figures/{n})" for n in names] + [""]
    if training:
        lines += ["## Training curves (Fig. 5)", ""] + [f"![{n}](report_figures/{n})" for n in training] + [""]
    lines += provenance_section(groups)  # commit, version, stage times; absent for older runs
    out, page = root / "report.md", root / "report.html"
    write_text(out, "\n".join(lines))  # whole, or the previous report as it was (also when interrupted)
    write_text(page, markdown_to_html("\n".join(lines), root, f"mmfusion report: {root.name}"))
    log.info("report written to %s and %s (figures in %s)", out, page.name, fig_dir)
    return out


def _evaluation(job: dict):
    """The job's evaluation settings (bootstrap resamples, CI level) from its saved config; a key it
    lacks takes the schema's default."""
    path = job["dir"] / "config.yaml"
    cfg = yaml.safe_load(path.read_text()) if path.is_file() else {}
    return over_defaults(EvaluationSchema, (cfg or {}).get("evaluation") or {})


def main(args: list[str]) -> None:
    ns = parsers.build("report").parse_args(args)
    with interrupt.stage("writing the report", kept=f"nothing new in {ns.directory}", hint="rerun the same command"):
        out = report(ns.directory)
    print(f"report: {out}")
