"""provenance.json: the code (git commit, dirty, version) behind a run, its times and its stage seconds;
the report's Provenance section; the golden check ignoring both."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from tiny_run import tiny_val_run

import mmfusion
from mmfusion.commands.fuse import fuse_run
from mmfusion.reporting.sections import provenance_section
from mmfusion.rundir.files import VERSIONS
from mmfusion.rundir.provenance import PROVENANCE, Provenance, git_state, package_version, read_provenance

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("data", "setup", "model_series", "model_text", "fusion", "evaluation")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return tiny_val_run(tmp_path_factory)


def _git(*args: str, cwd: Path) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def test_run_records_its_provenance_and_stage_seconds(run):
    prov = json.loads((run / PROVENANCE).read_text())
    assert {"command", "commit", "dirty", "version", "started", "finished", "resumed", "stages"} <= set(prov)
    assert prov["command"] == "train" and prov["resumed"] == []
    assert prov["version"] == package_version()
    started, finished = (datetime.fromisoformat(prov[k]) for k in ("started", "finished"))
    assert started <= finished
    assert set(prov["stages"]) == set(STAGES)
    for stage, t in prov["stages"].items():
        assert t["wall_s"] >= 0 and t["cpu_s"] >= 0, stage
    assert prov["stages"]["model_text"]["wall_s"] > 0 and prov["stages"]["model_series"]["wall_s"] > 0
    # the stages run one after another inside the run: together no longer than the run (times in seconds)
    total = sum(t["wall_s"] for t in prov["stages"].values())
    elapsed = (finished - started).total_seconds()
    assert total <= elapsed + 2.0
    assert total >= 0.5 * elapsed - 2.0  # and the stages cover the run's time: none is left out


def test_commit_is_the_checkout_head(run):
    prov = read_provenance(run)
    pkg = Path(mmfusion.__file__).resolve().parent
    if _git("ls-files", "--error-unmatch", "__init__.py", cwd=pkg) is None:
        assert prov["commit"] is None and prov["dirty"] is None  # an installed package: unknown, not invented
        return
    assert prov["commit"] == _git("rev-parse", "HEAD", cwd=pkg)
    assert isinstance(prov["dirty"], bool)
    versions = json.loads((run / VERSIONS).read_text())
    assert versions["commit"] == prov["commit"] and versions["provenance"] == PROVENANCE


def test_git_state_is_unknown_outside_a_checkout(tmp_path):
    (tmp_path / "__init__.py").write_text("")
    assert git_state(tmp_path) == {"commit": None, "dirty": None}
    if _git("init", "-q", cwd=tmp_path) is None:
        pytest.skip("git is not installed")
    # a repository that does not track the package (e.g. a venv inside some other checkout): unknown too
    assert git_state(tmp_path) == {"commit": None, "dirty": None}


def test_git_state_of_a_committed_then_changed_package(tmp_path):
    if _git("init", "-q", cwd=tmp_path) is None:
        pytest.skip("git is not installed")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("x = 1\n")
    who = ["-c", "user.name=t", "-c", "user.email=t@t"]
    _git("add", ".", cwd=tmp_path)
    assert _git(*who, "commit", "-q", "-m", "one", cwd=tmp_path) is not None
    head = _git("rev-parse", "HEAD", cwd=tmp_path)
    assert git_state(tmp_path / "pkg") == {"commit": head, "dirty": False}
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "run.txt").write_text("untracked run output\n")
    assert git_state(tmp_path / "pkg")["dirty"] is False  # untracked files are not code changes
    (tmp_path / "pkg" / "__init__.py").write_text("x = 2\n")
    assert git_state(tmp_path / "pkg") == {"commit": head, "dirty": True}


def test_a_resumed_run_keeps_its_start_and_adds_its_seconds(tmp_path):
    first = Provenance(tmp_path, "train")
    with first.stage("data"):
        pass
    first.stages["model_text"] = {"wall_s": 5.0, "cpu_s": 7.0}  # as if interrupted after the text model
    first.save()
    assert read_provenance(tmp_path)["finished"] is None
    again = Provenance(tmp_path, "train", resumed=True)
    with again.stage("model_text"):
        pass
    record = again.finish()
    assert record["started"] == first.record["started"]
    assert len(record["resumed"]) == 1 and record["finished"] is not None
    assert record["stages"]["model_text"]["wall_s"] >= 5.0 and record["stages"]["model_text"]["cpu_s"] >= 7.0
    assert set(record["stages"]) == {"data", "model_text"}
    assert read_provenance(tmp_path) == record


def test_fuse_records_its_provenance(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    out = fuse_run(copy, ["fusion=equal"])
    prov = read_provenance(out)
    assert prov["command"] == "fuse" and prov["finished"] is not None
    assert set(prov["stages"]) == {"fusion", "evaluation"}
    assert prov["commit"] == read_provenance(run)["commit"]


def test_report_section_only_for_runs_that_have_provenance(run, tmp_path):
    lines = provenance_section({"all runs": [{"dir": run}]})
    assert lines[0] == "## Provenance"
    text = "\n".join(lines)
    prov = read_provenance(run)
    assert (prov["commit"] or "unknown")[:12] in text and prov["version"] in text
    assert all(f"{s} (s)" in text for s in STAGES)
    old = tmp_path / "old"
    old.mkdir()
    assert provenance_section({"all runs": [{"dir": old}]}) == []  # older runs: their reports unchanged


def test_golden_check_ignores_provenance():
    spec = importlib.util.spec_from_file_location("golden_check", ROOT / "scripts" / "golden_check.py")
    golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(golden)
    report = "# r\n\n## Accuracy\n\n| a |\n\n## Provenance\n\n| job | commit |\n| . | abc |\n\n## Training\n\nx\n"
    assert golden.without_provenance(report) == "# r\n\n## Accuracy\n\n| a |\n\n## Training\n\nx\n"
    assert golden.without_provenance("# r\n\n## Provenance\n\n| t |\n\n") == "# r\n"  # as before it existed
