"""Results as data: scripts/collect_results.py keeps what `mmfusion report` reads, so a collected folder
re-reports byte for byte in any directory, without the models; scripts/results_index.py --verify checks
every committed re-reportable folder.

One tiny 2-fold cross-validation sweep (trained once for the module, one job re-fused with
`fusion=all`) is reported, collected, and reported again from copies.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, SHRINK, run_cli

from mmfusion.commands import report
from mmfusion.commands.fuse import fuse_run
from mmfusion.errors import RunDirError
from mmfusion.reporting import sections
from mmfusion.rundir.checksums import verify
from mmfusion.rundir.collected import COLLECTED
from mmfusion.rundir.files import CONFIG, MARKER, METRICS, PREDICTIONS, load_npz, sha256
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.provenance import PROVENANCE, read_provenance


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


collect_results = _script("collect_results")
results_index = _script("results_index")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A reported 2-fold CV sweep (job 0 re-fused with fusion=all), its report.md written from `sweep`."""
    base = tmp_path_factory.mktemp("results")
    res = run_cli(
        "train",
        "-m",
        *SHRINK,
        "evaluation.bootstrap=50",
        "dataset.cv.folds=2",
        "dataset.cv.fold=0,1",
        f"hydra.sweep.dir={base / 'sweep'}",
        cwd=base,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    fuse_run(base / "sweep" / "0", ["fusion=all"])
    return base / "sweep"


@pytest.fixture(scope="module")
def collected(sweep, tmp_path_factory) -> Path:
    """The sweep reported under a relative name (as a user types it), then collected."""
    report.report(sweep)
    out = tmp_path_factory.mktemp("published") / "cv_tiny"
    record = collect_results.collect(sweep, out)
    assert record["reportable"] and record["checked"] == "report.md regenerated identically", record
    return out


def test_the_collected_folder_reports_identically_elsewhere(collected, sweep, tmp_path):
    copy = Path(shutil.copytree(collected, tmp_path / "elsewhere" / "renamed"))
    out = report.report(copy)
    assert out.read_bytes() == (sweep / "report.md").read_bytes() == (collected / "report.md").read_bytes()
    text = out.read_text()
    assert text.startswith(f"# mmfusion report: `{sweep}`")  # the run it came from, not the copy's path
    assert "2-fold cross-validation, pooled out of fold" in text and "## Provenance" in text
    assert str(tmp_path) not in text


def test_what_is_kept_and_what_is_left_behind(collected, sweep):
    record = json.loads((collected / COLLECTED).read_text())
    assert sorted(record["jobs"]) == ["0", "1"]
    for job in ("0", "1"):
        src, dst = sweep / job, collected / job
        for name in (MARKER, METRICS, CONFIG, PROVENANCE, ".hydra/overrides.yaml"):
            assert (dst / name).is_file(), name
        assert not (dst / "models").exists() and not (dst / ".hydra" / "hydra.yaml").exists()
        want, got = load_npz(src / PREDICTIONS), load_npz(dst / PREDICTIONS)
        assert set(got) == {k for k in want if collect_results.ARRAYS.fullmatch(k)} and "y_train" not in got
        for k, v in got.items():  # the same numbers, the same dtypes
            assert v.dtype == want[k].dtype and np.array_equal(v, want[k]), k
        verify(dst)  # its checksums.json lists what was kept
        assert record["jobs"][job]["source_predictions_sha256"] == sha256(src / PREDICTIONS)
        assert record["jobs"][job]["commit"] == read_provenance(src)["commit"]
    (fused,) = (collected / "0" / "fuse").iterdir()  # fusion=all: its marker and rule accuracies
    assert fused.name.startswith("all-") and is_complete(fused) and sections.rule_accuracies(collected / "0")
    kept = load_npz(fused / PREDICTIONS)  # the rules' test arrays (accuracy against hours per rule)
    assert (
        kept and all(k == "classes" or "_test" in k for k in kept) and not any(k.startswith("logproba") for k in kept)
    )


def test_custom_job_folders_and_a_failed_job(sweep, tmp_path):
    """Jobs in named subfolders (h5-0, h5-1) and an unfinished one, listed by name in the report."""
    src = tmp_path / "custom"
    for job, name in (("0", "h5-0"), ("1", "h5-1"), ("1", "h5-2")):
        shutil.copytree(sweep / job, src / name)
    (src / "h5-2" / MARKER).unlink()  # never finished
    report.report(src)
    assert "`h5-2`" in (src / "report.md").read_text()
    record = collect_results.collect(src, tmp_path / "published" / "custom")
    assert record["reportable"] and sorted(record["jobs"]) == ["h5-0", "h5-1", "h5-2"]
    assert not (tmp_path / "published" / "custom" / "h5-2" / PREDICTIONS).exists()


def test_a_damaged_predictions_file_is_named(collected, tmp_path):
    copy = Path(shutil.copytree(collected, tmp_path / "damaged"))
    pred = copy / "1" / PREDICTIONS
    pred.write_bytes(pred.read_bytes()[:-50])
    with pytest.raises(RunDirError, match=f"{pred}: damaged or changed"):
        report.report(copy)


def test_a_missing_predictions_file_is_one_clear_error(collected, tmp_path):
    copy = Path(shutil.copytree(collected, tmp_path / "missing"))
    (copy / "0" / PREDICTIONS).unlink()
    res = run_cli("report", str(copy), cwd=tmp_path, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("mmfusion report: error: ")]
    assert len(errors) == 1 and f"{copy / '0' / PREDICTIONS}: missing" in errors[0], res.stderr[-3000:]


def test_collect_refuses_a_damaged_run(sweep, tmp_path):
    src = Path(shutil.copytree(sweep / "1", tmp_path / "run"))
    (src / "models" / "text.json").write_text("{}")
    with pytest.raises(RunDirError, match="text.json: damaged or changed"):
        collect_results.collect(src, tmp_path / "published" / "run")


def test_results_index_verifies_collected_folders(collected, tmp_path, monkeypatch):
    results = tmp_path / "results"
    shutil.copytree(collected, results / "cv_tiny")
    (results / "old_style").mkdir()  # a folder from before: cited, not re-reportable
    (results / "old_style" / "report.md").write_text("# mmfusion report: `outputs/runs/x`\n")
    monkeypatch.setattr(results_index, "RESULTS", results)
    assert results_index.reportable(results / "cv_tiny") and not results_index.reportable(results / "old_style")
    prov = read_provenance(collected / "0")  # made from this checkout: dirty while it has edits
    commit = prov["commit"][:10] + ("+dirty" if prov.get("dirty") else "")
    assert results_index.made_by(results / "cv_tiny") == commit
    assert results_index.made_by(results / "old_style") == "not recorded"
    assert results_index.main(["--verify"]) == 0
    report_md = results / "cv_tiny" / "report.md"
    report_md.write_text(report_md.read_text().replace("2 finished job(s)", "3 finished job(s)"))
    assert results_index.main(["--verify"]) == 1


@pytest.mark.e2e  # a report per published folder (none yet)
def test_every_committed_reportable_folder_regenerates_its_report():
    """outputs/results/: each folder whose collected.json says it re-reports does so (none before
    collect_results kept the predictions; the folders from before are skipped)."""
    assert results_index.verify() == []
