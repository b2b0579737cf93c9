"""`mmfusion report <run-or-multirun-dir>`: the paper's tables and figures from finished runs.

A hyper-parameter search (`hparams_search=...`) is reported by reporting/search_section.py instead:
trials, their validation objective and the best parameters.

Reads only run directories. Jobs are grouped by the overrides that differ between them (seed and
cross-validation fold excluded); each group's metrics are averaged over its seeds (mean +/- std).
A cross-validation group (`dataset.cv.folds=K`) pools its out-of-fold predictions instead
(pooled.py): Tables IV and III with cluster-bootstrap intervals, Fig. 7 over every unit, a per-fold
table, the number of unique texts and runs covered; repeats (seeds) are averaged. Jobs that failed
or never finished are listed, never averaged. Beside report.md, a self-contained report.html.
metrics.json and predictions.npz are checked against the run's checksums.json before use. A folder
collected by scripts/collect_results.py (outputs/results/) reports as its run did: the heading names
the run directory recorded in its collected.json, so report.md is the same wherever it is made.
This module finds and groups the jobs and writes the pages; the tables, figures and Markdown sections
are built in mmfusion/reporting/ (sections.py, pooled_section.py, hours.py, group_figures.py, html.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml

from mmfusion.commands import parsers
from mmfusion.errors import RunDirError
from mmfusion.evaluation import pooled
from mmfusion.reporting import group_figures, hours, pooled_section, search_section, sections
from mmfusion.reporting.html import markdown_to_html
from mmfusion.reporting.tables import to_markdown
from mmfusion.rundir.checksums import verify
from mmfusion.rundir.collected import COLLECTED, report_title
from mmfusion.rundir.files import MARKER, METRICS, PREDICTIONS, write_text
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.records import read_metrics
from mmfusion.runtime import interrupt
from mmfusion.schemas import over_defaults
from mmfusion.schemas.run import EvaluationSchema

IGNORED = ("seed=", "hydra.", "dataset.seed=", "resume=", "dataset.cv.fold=")


REPORT = "report.md"  # the page a report writes (report.html beside it)
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
    if not done and (root / REPORT).is_file() and not (root / COLLECTED).is_file():
        raise RunDirError(
            f"{root}: a copy of results kept without their predictions or {MARKER} markers (made by older code), "
            "so its report.md cannot be regenerated; rerun the command outputs/results/INDEX.md gives for it "
            "and report the new run directory"
        )
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


def report(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise RunDirError(f"{root}: no such directory; give a run or multirun directory made by `mmfusion train`")
    if search_section.is_search(root):  # hparams_search=...: trials and best parameters, judged on validation data
        jobs = find_jobs(root)
        if not any(is_complete(j) for j in jobs) and (root / REPORT).is_file():  # a copy without its markers
            raise RunDirError(
                f"{root}: a copy of a hyper-parameter search kept without its trials' {MARKER} markers (citable "
                "files only), so its report.md cannot be regenerated (each trial's objective is in its "
                "metrics.json); rerun the command outputs/results/INDEX.md gives for it and report the new sweep "
                "directory"
            )
        lines = [
            f"# mmfusion report: `{report_title(root)}`",
            "",
            *search_section.section(root, jobs),
        ]
        out = _write_pages(root, lines, f"mmfusion search: {root.name}")
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
    pools = _pools(groups)
    lines = _heading(root, groups, failed)
    lines += [
        "",
        "## Accuracy on the test split (Table IV layout)",
        "",
        to_markdown(sections.accuracy_table(groups, pools)),
    ]
    training = group_figures.training_figures(groups, fig_dir)
    lines += _time_sections(root, groups, pools, fig_dir)
    for i, (label, jobs) in enumerate(groups.items()):
        if label in pools:
            lines += pooled_section.pooled_section(
                label, pools[label], fig_dir, f"g{i}", jobs[0]["metrics"]["classes"], jobs
            )
        else:
            lines += group_figures.group_section(label, jobs, fig_dir, f"g{i}")
    if training:
        lines += ["## Training curves (Fig. 5)", ""] + [f"![{n}](report_figures/{n})" for n in training] + [""]
    lines += sections.provenance_section(groups)  # commit, version, stage times; absent for older runs
    out = _write_pages(root, lines, f"mmfusion report: {root.name}")
    log.info("report written to %s and %s (figures in %s)", out, "report.html", fig_dir)
    return out


def _heading(root: Path, groups, failed: list[Path]) -> list[str]:
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
    return lines


def _pools(groups) -> dict:
    """{label: pooled.pool(...)} of the cross-validation groups: their out-of-fold predictions pooled."""
    pools = {}
    for label, jobs in groups.items():
        if is_cv(jobs):
            ev = _evaluation(jobs[0])
            pools[label] = pooled.pool(jobs, ev.bootstrap, ev.ci_level, 0)
    return pools


def _time_sections(root: Path, groups, pools: dict, fig_dir: Path) -> list[str]:
    """Accuracy against hours since the fault onset: per model (mean over seeds), then per model and
    rule with intervals (reporting/hours.py); nothing unless the groups differ in their window."""
    lines = []
    timing = sections.time_table(groups, pools)
    if timing is not None:
        lines += sections.time_section(timing, fig_dir)
    table = hours.hours_table(groups, lambda jobs: _evaluation(jobs[0]))  # per model and rule, pooled
    if table is not None:
        lines += hours.hours_section(table, root, fig_dir)
    return lines


def _write_pages(root: Path, lines: list[str], title: str) -> Path:
    """report.md and the self-contained report.html, each whole or the previous one as it was (also when
    interrupted)."""
    out = root / REPORT
    write_text(out, "\n".join(lines))
    write_text(root / "report.html", markdown_to_html("\n".join(lines), root, title))
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
