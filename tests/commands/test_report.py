"""`mmfusion report` on a tiny multirun made by the test (and on a single run)."""

import shutil

import pytest
from helpers import SHRINK, run_cli


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    res = run_cli("train", "-m", *SHRINK, "model.text.lr=1e-3,1e-5", "seed=0,1", f"hydra.sweep.dir={root}", cwd=root)
    assert res.returncode == 0, res.stderr[-3000:]
    return root


def test_report_groups_by_learning_rate_and_averages_seeds(sweep):
    # an interrupted job: config written, no COMPLETE marker
    broken = sweep / "9"
    shutil.copytree(sweep / "0" / ".hydra", broken / ".hydra")
    res = run_cli("report", str(sweep), cwd=sweep)
    assert res.returncode == 0, res.stderr[-3000:]
    text = (sweep / "report.md").read_text()
    assert "model.text.lr=0.001" in text and "model.text.lr=1e-05" in text
    assert "4 finished job(s) in 2 group(s)" in text
    assert "Not finished" in text and "`9`" in text
    assert "paper (Table" not in text  # synthetic data: the paper's rows belong beside its dataset only
    assert "±" in text  # two seeds per group: mean ± std
    for name in (
        "fig5_training_text.png",
        "fig5_training_series.png",
        "fig6_roc_fused_g0.png",
        "fig7_confusion_series_g1.png",
    ):
        assert (sweep / "report_figures" / name).stat().st_size > 0


def test_report_on_a_single_run(sweep):
    res = run_cli("report", str(sweep / "1"), cwd=sweep)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "1 finished job(s) in 1 group(s)" in (sweep / "1" / "report.md").read_text()


def test_report_on_a_directory_without_runs_fails_clearly(tmp_path):
    res = run_cli("report", str(tmp_path), cwd=tmp_path)
    assert res.returncode != 0 and "neither a run directory nor a multirun" in res.stderr
    assert "Traceback" not in res.stderr


def test_report_draws_accuracy_against_hours_since_onset(tmp_path):
    """Two tiny factory runs with 0.5 h and 1 h windows after the onset, one re-fused with every rule."""
    from helpers import compose_cfg

    from mmfusion.commands.fuse import fuse_run
    from mmfusion.commands.report import report
    from mmfusion.commands.train import train

    base = [
        "dataset=factory",
        "dataset.samples_per_class=12",
        "dataset.series.runs_per_class=4",
        "dataset.series.horizon_h=2.0",
        "dataset.series.onset_h=0.5",
        "dataset.series.workers=1",
        f"dataset.series.cache_dir={tmp_path / 'cache'}",
        "dataset.val_fraction=0.25",
        "dataset.test_fraction=0.25",
        "dataset.series.window.start=0",
    ]
    for job, length in (("0", 10), ("1", 20)):
        train(compose_cfg(base + [f"dataset.series.window.length={length}"]), tmp_path / "sweep" / job)
    fuse_run(tmp_path / "sweep" / "0", ["fusion=all"])
    text = report(tmp_path / "sweep").read_text()
    assert "Accuracy against hours since the fault onset" in text
    assert "| 0.5 |" in text and "| 1.0 |" in text
    assert "fused (product)" in text
    assert (tmp_path / "sweep" / "report_figures" / "accuracy_vs_time.png").stat().st_size > 0


def test_report_on_a_results_copy_without_predictions_says_it_cannot_regenerate(tmp_path):
    """A committed folder made by older code (report.md and per-job metrics, no markers, no
    collected.json) is refused with what to do, not with a missing-marker puzzle."""
    from mmfusion.commands.report import load_jobs
    from mmfusion.errors import RunDirError

    for job in ("0", "1"):
        (tmp_path / job / ".hydra").mkdir(parents=True)
        (tmp_path / job / "metrics.json").write_text("{}")
        (tmp_path / job / ".hydra" / "overrides.yaml").write_text("[]\n")
    (tmp_path / "report.md").write_text("# an old report\n")
    with pytest.raises(RunDirError, match=r"cannot be regenerated; rerun the command outputs/results/INDEX.md"):
        load_jobs(tmp_path)
    (tmp_path / "collected.json").write_text("{}")  # a re-reportable copy that lost its markers: the plain message
    with pytest.raises(RunDirError, match="no finished run"):
        load_jobs(tmp_path)


def test_report_on_a_collected_search_says_it_cannot_regenerate(tmp_path):
    """A search under outputs/results/ keeps no trial markers and no Optuna study: `mmfusion report` on it
    is refused with what to do, and its committed report.md is left as it was (not rewritten with every
    trial 'failed')."""
    from mmfusion.commands.report import report
    from mmfusion.errors import RunDirError

    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    (tmp_path / "0" / ".hydra" / "overrides.yaml").write_text("- model.text.lr=0.01\n")
    (tmp_path / "0" / "metrics.json").write_text('{"objective": {"value": 0.12}}')
    (tmp_path / "optimization_results.yaml").write_text("best_params:\n  model.text.lr: 0.01\nbest_value: 0.12\n")
    (tmp_path / "report.md").write_text("# the committed search report\n")
    (tmp_path / "collected.json").write_text(
        '{"source": "outputs/runs/search", "reportable": false, "reason": "a hyper-parameter search: its report '
        'reads the Optuna study, which is not kept"}'
    )
    with pytest.raises(
        RunDirError, match=r"search kept without its trials' COMPLETE markers .*cannot be regenerated.*INDEX.md"
    ):
        report(tmp_path)
    assert (tmp_path / "report.md").read_text() == "# the committed search report\n"
    assert not (tmp_path / "report_figures").exists()
    (tmp_path / "collected.json").unlink()  # an older copy, collected before collected.json existed: the same
    with pytest.raises(RunDirError, match="cannot be regenerated"):
        report(tmp_path)
