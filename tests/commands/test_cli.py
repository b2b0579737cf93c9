"""The command line in a subprocess, as a user types it."""

import json

import pytest
from helpers import SHRINK, run_cli
from omegaconf import OmegaConf


def test_help_lists_the_subcommands(tmp_path):
    res = run_cli("--help", cwd=tmp_path)
    assert res.returncode == 0 and "train" in res.stdout


def test_unknown_subcommand_fails(tmp_path):
    res = run_cli("trian", cwd=tmp_path)
    assert res.returncode != 0 and "unknown command 'trian'" in res.stderr


def test_train_with_overrides_prints_table_and_run_dir(tmp_path):
    run = tmp_path / "myrun"
    res = run_cli("train", *SHRINK, "fusion=equal", "seed=1", f"hydra.run.dir={run}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "| accuracy |" in res.stdout and f"run directory: {run}" in res.stdout
    assert (run / "COMPLETE").exists() and (run / ".hydra" / "config.yaml").exists()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["fusion"]["name"] == "equal" and metrics["fusion"]["params"]["weights"] == [0.5, 0.5]
    assert "seed=1" in (run / ".hydra" / "overrides.yaml").read_text()
    # a second run into the same directory is refused, and the first is untouched
    again = run_cli("train", *SHRINK, f"hydra.run.dir={run}", cwd=tmp_path)
    assert again.returncode != 0 and "already holds a run" in again.stderr
    assert "seed=1" in (run / ".hydra" / "overrides.yaml").read_text()


def test_multirun_over_learning_rates(tmp_path):
    sweep = tmp_path / "sweep"
    res = run_cli("train", "-m", *SHRINK, "model.text.lr=1e-3,1e-5", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [j.name for j in jobs] == ["0", "1"]
    lrs = []
    for job in jobs:
        assert (job / "COMPLETE").exists()
        lrs.append(OmegaConf.load(job / ".hydra" / "config.yaml").model.text.lr)
    assert lrs == [1e-3, 1e-5]
    # the sweep summary (commands/summary.py, a Hydra callback) ends the output
    assert f"sweep directory: {sweep} (2 job(s))" in res.stdout and "model.text.lr=1e-05  complete" in res.stdout
    assert res.stdout.rstrip().endswith(f"next: mmfusion report {sweep}")


def test_cfg_job_prints_the_composed_config(tmp_path):
    res = run_cli("train", "--cfg", "job", "model.text.lr=0.01", cwd=tmp_path)
    assert res.returncode == 0 and "lr: 0.01" in res.stdout and "fusion:" in res.stdout
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    "override, message",
    [
        ("fusion=medianx", "fusion/medianx"),
        ("model.text.lrr=0.1", "lrr"),
        ("model.text.lr=-0.001", "model.text.lr=-0.001: expected a number > 0"),
    ],
)
def test_bad_overrides_fail_with_one_clear_message(tmp_path, override, message):
    res = run_cli("train", *SHRINK, override, f"hydra.run.dir={tmp_path / 'r'}", cwd=tmp_path)
    assert res.returncode != 0
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "r" / "COMPLETE").exists()


def test_version(tmp_path):
    from mmfusion import __version__

    res = run_cli("--version", cwd=tmp_path)
    assert res.returncode == 0 and res.stdout.strip() == f"mmfusion {__version__}"


@pytest.mark.parametrize("command", ["data", "report", "fuse", "predict"])
def test_every_command_has_help(tmp_path, command):
    res = run_cli(command, "--help", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"usage: mmfusion {command}") and "no such" not in res.stdout + res.stderr


def test_train_help_is_hydras(tmp_path):
    res = run_cli("train", "--help", cwd=tmp_path)
    assert res.returncode == 0 and "== Configuration groups ==" in res.stdout and "fusion: accuracy" in res.stdout


def test_completion_installs_for_mmfusion_and_completes_train_overrides(tmp_path):
    res = run_cli("train", "-sc", "install=bash", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip().endswith("hydra_bash_completion mmfusion"), res.stdout[-200:]
    env = {"COMP_LINE": "mmfusion train fusion=", "COMP_POINT": "22"}
    res = run_cli("-sc", "query=bash", cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "fusion=equal" in res.stdout.split() and "fusion=accuracy" in res.stdout.split()
    res = run_cli("-sc", "query=bash", cwd=tmp_path, env={"COMP_LINE": "mmfusion fu", "COMP_POINT": "11"})
    assert res.stdout.split() == ["fuse"]


def test_fuse_and_report_log_to_the_console(tmp_path, tmp_path_factory):
    import shutil

    from tiny_run import tiny_val_run

    run = tmp_path / "run"
    shutil.copytree(tiny_val_run(tmp_path_factory), run)  # the shared run stays untouched
    res = run_cli("fuse", str(run), "fusion=equal", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "[mmfusion.commands.fuse][INFO]" in res.stderr
    res = run_cli("report", str(run), cwd=tmp_path)
    assert res.returncode == 0 and "[mmfusion.commands.report][INFO]" in res.stderr, res.stderr[-2000:]
