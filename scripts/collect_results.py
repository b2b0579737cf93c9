"""Publish a run or multirun into the repository's outputs/results/<name>/: its citable files (reports,
tables, metrics, figures) and, per job, exactly what `mmfusion report` reads, so that
`mmfusion report outputs/results/<name>` regenerates its report.md byte for byte without the models.

    python scripts/collect_results.py <run-or-sweep-dir> outputs/results/<name>
    python scripts/collect_results.py --no-check <run-or-sweep-dir> outputs/results/<name>

Kept per job (a run, or each job of a sweep: numbered or custom subfolders such as `h5-0`): the
COMPLETE marker, metrics.json, config.yaml, provenance.json, versions.json, `.hydra/overrides.yaml`,
history/*.csv, the test split of predictions.npz (labels, ids, presence masks, units and the
probabilities of every model: the arrays the report reads, saved compressed with their dtypes), and
of each `fuse/<rule>-<time>/` the marker, its small files (metrics.json: the rule accuracies of
`fuse fusion=all`) and the test split of its predictions.npz (the rules' probabilities: the accuracy
against hours per rule). Left behind: models/, the train and validation arrays, log-probabilities,
per-job figures, logs. Each kept job gets a new checksums.json of what was
kept (the run's own listed the models and the full predictions), after the source run's checksums were
checked: a damaged run is refused, not published.

collected.json at the top records the run directory it came from (the report's heading names it, so
the report regenerates unchanged anywhere), the jobs, the kept arrays, the SHA-256 of each source
predictions.npz, the commits of provenance.json, and whether the folder re-reports. Unless --no-check,
the report is regenerated from a temporary copy of the collected folder and compared with the run's
report.md (run `mmfusion report <run-or-sweep-dir>` first; without one, the collected folder's report
is written from the collected files); a difference is printed and the exit status is 1.
A hyper-parameter search (`hparams_search=...`) is collected the same way, each trial as a job, with its
Optuna study (optuna.db: the report's parameter importances); searches collected before this kept their
citable files only, and `mmfusion report` refuses them.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import tempfile
from pathlib import Path

from mmfusion.errors import MmfusionError
from mmfusion.rundir.checksums import record_checksums, verify
from mmfusion.rundir.collected import COLLECTED
from mmfusion.rundir.files import (
    CHECKSUMS,
    CONFIG,
    MARKER,
    METRICS,
    PREDICTIONS,
    VERSIONS,
    load_npz,
    sha256,
    write_json,
    write_npz,
)
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.provenance import PROVENANCE, read_provenance

KEEP = {".md", ".html", ".png", ".csv", ".json", ".yaml"}
SKIP_DIRS = {"models", "tensorboard", "mlruns"}
SKIP_FILES = {CHECKSUMS, COLLECTED}  # written anew for what is kept
REPORT_FILES = (MARKER, METRICS, CONFIG, PROVENANCE, VERSIONS)
ARRAYS = re.compile(r"(classes|y_test|ids_test|(present|units|proba)_test_.+)")  # what `report` reads
HEADING = re.compile(r"^# mmfusion report: `([^`]+)`")


def _citable(src: Path, dst: Path) -> int:
    """The small files to cite: reports, tables, metrics, small figures (as before re-reporting)."""
    n = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or path.suffix not in KEEP or SKIP_DIRS & set(rel.parts) or path.name in SKIP_FILES:
            continue
        if path.suffix == ".png" and (
            path.stat().st_size > 400_000 or ("figures" in rel.parts and "fuse" not in rel.parts)
        ):
            continue  # per-job figures stay in the run; report_figures/ and fuse/*/figures/ come along
        if ".hydra" in rel.parts and path.name != "overrides.yaml":
            continue  # Hydra's config.yaml / hydra.yaml hold the machine's paths; overrides.yaml says how
        _copy(path, dst / rel)
        n += 1
    return n


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def trimmed_predictions(src: Path, dst: Path) -> list[str]:
    """dst: the arrays of src that `report` reads, compressed, dtypes as they were; their names."""
    arrays = load_npz(src)
    kept = {k: v for k, v in arrays.items() if ARRAYS.fullmatch(k)}
    write_npz(dst, kept)
    return sorted(kept)


def _job(src: Path, dst: Path) -> dict:
    """One job's report files into dst; {arrays, predictions sha256, commit, dirty}."""
    info: dict = {}
    if is_complete(src):
        verify(src)  # the source whole, models included: a damaged run is not published
    for name in REPORT_FILES:
        if (src / name).is_file():
            _copy(src / name, dst / name)
    overrides = src / ".hydra" / "overrides.yaml"
    if overrides.is_file():
        _copy(overrides, dst / ".hydra" / "overrides.yaml")
    if (src / PREDICTIONS).is_file() and is_complete(src):
        info["arrays"] = trimmed_predictions(src / PREDICTIONS, dst / PREDICTIONS)
        info["source_predictions_sha256"] = sha256(src / PREDICTIONS)
    fused = sorted(p for p in (src / "fuse").iterdir() if p.is_dir()) if (src / "fuse").is_dir() else []
    for out in fused:  # `fuse <job> fusion=all`: the rule accuracies (metrics.json) and, for the accuracy
        for name in REPORT_FILES:  # against hours per rule (reporting/hours.py), their test arrays
            if (out / name).is_file():
                _copy(out / name, dst / "fuse" / out.name / name)
        if (out / PREDICTIONS).is_file() and is_complete(out):
            trimmed_predictions(out / PREDICTIONS, dst / "fuse" / out.name / PREDICTIONS)
        if (out / CHECKSUMS).is_file():
            record_checksums(dst / "fuse" / out.name)
    if (src / CHECKSUMS).is_file():
        record_checksums(dst)  # what was kept, as the collected folder holds it
    prov = read_provenance(src) or {}
    info["commit"], info["dirty"] = prov.get("commit"), prov.get("dirty")
    return info


def regenerate(folder: Path) -> str:
    """report.md as `mmfusion report` writes it from a temporary copy of `folder` (the folder untouched)."""
    from mmfusion.commands.report import report

    with tempfile.TemporaryDirectory(prefix="mmfusion-verify-") as tmp:
        copy = Path(shutil.copytree(folder, Path(tmp) / folder.name))
        return report(copy).read_text(encoding="utf-8")


def difference(folder: Path) -> str:
    """'' when the report regenerated from `folder` equals its report.md, else a unified diff."""
    want = (folder / "report.md").read_text(encoding="utf-8")
    got = regenerate(folder)
    if got == want:
        return ""
    diff = difflib.unified_diff(
        want.splitlines(), got.splitlines(), f"{folder}/report.md", "regenerated", lineterm="", n=1
    )
    return "\n".join(list(diff)[:60])


def collect(src: Path, dst: Path, check: bool = True) -> dict:
    """Collect `src` into `dst` (absent or empty); the collected.json record, also written into dst."""
    from mmfusion.commands import report
    from mmfusion.reporting import search_section as search

    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise SystemExit(f"{src}: no such directory; give a run or a multirun (sweep) directory")
    if dst.exists() and any(dst.iterdir()):
        raise SystemExit(f"{dst}: not empty; remove it first (a collected folder is written whole)")
    files = _citable(src, dst)
    title = str(src)
    if (src / "report.md").is_file():
        m = HEADING.match((src / "report.md").read_text(encoding="utf-8").split("\n", 1)[0])
        title = m.group(1) if m else title
    if Path(title).is_absolute():
        print(
            f"note: the report's heading names {title}, a path of this machine; for a heading without it, "
            f"report the run from the repository with a relative path (mmfusion report outputs/runs/...) first",
            file=sys.stderr,
        )
    record: dict = {"source": title, "citable_files": files, "reportable": False}
    try:
        jobs = report.find_jobs(src)
    except MmfusionError as err:
        jobs, record["reason"] = [], f"not a run or sweep directory ({err})"
    if search.is_search(src) and (src / search.STUDY).is_file():  # the importances are read from the study
        _copy(src / search.STUDY, dst / search.STUDY)
    jobs_info = {}
    for job in jobs:
        rel = job.relative_to(src).as_posix()
        jobs_info[rel] = _job(job, dst / rel)
    record["jobs"] = jobs_info
    if jobs_info:
        record["arrays"] = ARRAYS.pattern
        record["commits"] = sorted({i["commit"] for i in jobs_info.values() if i.get("commit")})
    write_json(dst / COLLECTED, record)
    if record.get("jobs"):
        if not (src / "report.md").is_file():
            report.report(dst)  # no report of the run: the collected folder's own, from the kept files
            record.update(reportable=True, checked="report.md written from the collected files")
        elif not check:
            record["checked"] = "not checked (--no-check)"
        else:
            diff = difference(dst)
            record.update(reportable=not diff, checked="report.md regenerated identically" if not diff else "differs")
            if diff:
                record["reason"] = "the regenerated report.md differs from the run's (rerun `mmfusion report` on it?)"
                print(diff, file=sys.stderr)
        write_json(dst / COLLECTED, record)
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", type=Path, help="a run or multirun (sweep) directory")
    ap.add_argument("destination", type=Path, help="outputs/results/<name>")
    ap.add_argument("--no-check", action="store_true", help="do not regenerate the report to compare it")
    ns = ap.parse_args(argv)
    created = not ns.destination.exists()
    try:
        record = collect(ns.source, ns.destination, check=not ns.no_check)
    except (MmfusionError, OSError, KeyboardInterrupt) as err:
        if created and ns.destination.exists():
            shutil.rmtree(ns.destination)  # no half-collected folder left looking complete
        if isinstance(err, KeyboardInterrupt):
            raise
        print(f"collect_results: error: {err} (nothing was collected into {ns.destination})", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in ns.destination.rglob("*") if p.is_file())
    jobs = len(record.get("jobs") or {})
    state = "re-reportable" if record["reportable"] else f"not re-reportable: {record.get('reason', '?')}"
    print(f"collected {jobs} job(s) into {ns.destination} ({size / 1024:.0f} KB; {state})")
    if record.get("checked") == "differs":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
