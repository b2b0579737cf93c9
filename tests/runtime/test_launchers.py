"""Hydra launcher presets (conf/hydra/launcher/): a real joblib sweep, a failing job, the others compose."""

import importlib.util

import pytest
from helpers import SHRINK, run_cli
from omegaconf import OmegaConf

needs_joblib = pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_joblib_launcher") is None, reason="pip install 'mmfusion[joblib]'"
)
needs_submitit = pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None, reason="pip install 'mmfusion[slurm]'"
)
ONE_MODALITY = ["modalities=[series]", "evaluation.bootstrap=0"]  # one small network: the sweep stays short


@needs_joblib
def test_joblib_sweep_runs_jobs_in_parallel_each_in_its_own_directory(tmp_path):
    sweep = tmp_path / "sweep"
    res = run_cli(
        "train",
        "-m",
        "hydra/launcher=local_parallel",
        *SHRINK,
        *ONE_MODALITY,
        "seed=0,1",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "JoblibLauncher" in res.stderr + res.stdout or "Joblib" in res.stderr + res.stdout
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [j.name for j in jobs] == ["0", "1"]
    for job, seed in zip(jobs, (0, 1)):
        assert (job / "COMPLETE").exists() and (job / "models" / "series.keras").exists()
        assert OmegaConf.load(job / ".hydra" / "config.yaml").seed == seed
    # nothing but the job directories (and Hydra's multirun.yaml) in the sweep directory
    assert {p.name for p in sweep.iterdir()} == {"0", "1", "multirun.yaml"}
    assert not (tmp_path / "outputs").exists()


@needs_joblib
def test_a_failing_job_does_not_stop_the_sweep_and_report_lists_it(tmp_path):
    sweep = tmp_path / "sweep"
    (sweep / "0" / "models").mkdir(parents=True)  # job 0 fails when it runs: its directory holds a run
    # (a wrong config value no longer gets this far: `mmfusion train -m` checks every swept value first)
    res = run_cli(
        "train",
        "-m",
        "hydra/launcher=local_parallel",
        *SHRINK,
        *ONE_MODALITY,
        "seed=0,1",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert res.returncode != 0
    assert "already holds a run" in res.stderr and "Traceback" not in res.stderr
    assert not (sweep / "0" / "COMPLETE").exists()
    assert (sweep / "1" / "COMPLETE").exists()
    rep = run_cli("report", str(sweep), cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr[-3000:]
    text = (sweep / "report.md").read_text()
    assert "1 finished job(s)" in text and "Not finished" in text and "`0`" in text


@needs_submitit
def test_slurm_preset_composes_on_the_plugin_schema(tmp_path):
    res = run_cli(
        "train",
        "hydra/launcher=slurm",
        "hydra.launcher.partition=gpu",
        "--cfg",
        "hydra",
        "-p",
        "hydra.launcher",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    launcher = OmegaConf.create(res.stdout.split("\n", 1)[1] if res.stdout.startswith("#") else res.stdout)
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.partition == "gpu" and launcher.timeout_min == 120 and launcher.gpus_per_node == 0
    assert "automatic_schema_matching" not in res.stderr  # our name never shadows the plugin's schema
    assert not (tmp_path / "outputs").exists()


@needs_submitit
def test_slurm_preset_rejects_a_misspelt_launcher_key(tmp_path):
    res = run_cli("train", "hydra/launcher=slurm", "hydra.launcher.partion=gpu", "--cfg", "hydra", cwd=tmp_path)
    assert res.returncode != 0 and "partion" in res.stderr and "Traceback" not in res.stderr


def test_ray_preset_composes_or_names_the_extra(tmp_path):
    res = run_cli("train", "hydra/launcher=ray_cluster", "--cfg", "hydra", "-p", "hydra.launcher", cwd=tmp_path)
    if importlib.util.find_spec("hydra_plugins.hydra_ray_launcher") is None:
        assert res.returncode != 0
        assert "pip install 'mmfusion[ray]'" in res.stderr and "Traceback" not in res.stderr
    else:
        assert res.returncode == 0, res.stderr[-3000:]
        assert "RayLauncher" in res.stdout and "num_cpus: 2" in res.stdout


def test_launcher_presets_extend_the_plugin_configs_under_their_own_names():
    from pathlib import Path

    from mmfusion.schemas.check.plugins import PRESETS

    conf = Path(__file__).resolve().parents[2] / "conf" / "hydra" / "launcher"
    for preset, plugin in {"local_parallel": "joblib", "slurm": "submitit_slurm", "ray_cluster": "ray"}.items():
        text = (conf / f"{preset}.yaml").read_text()
        assert f"  - {plugin}\n" in text and preset in PRESETS
        assert not (conf / f"{plugin}.yaml").exists()  # a file named like the plugin's config would shadow it
