"""Collected results: a run's report-ready copy under outputs/results/ (scripts/collect_results.py)."""

from __future__ import annotations

from pathlib import Path

from mmfusion.errors import FileError
from mmfusion.rundir.files import read_json

COLLECTED = "collected.json"  # scripts/collect_results.py: what it kept, from where, and whether it re-reports


def read_collected(root: Path) -> dict | None:
    """The collected.json of a folder made by scripts/collect_results.py, or None (a run directory)."""
    path = Path(root) / COLLECTED
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise FileError(f"{path}: not a record of a collected folder (a JSON object); collect the run again")
    return data


def report_title(root: Path) -> str:
    """The directory a report names in its heading: the run directory a collected folder was made from
    (collected.json), so that its report regenerates unchanged anywhere; else `root` as given."""
    collected = read_collected(root)
    return str(collected["source"]) if collected and collected.get("source") else str(root)
