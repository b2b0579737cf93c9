"""What a user sees on the console: no TensorFlow start-up noise (unless -v), the run-start and run-end
lines, the sweep summary, per-epoch progress lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from helpers import ROOT, SHRINK, run_cli

TF_NOISE = re.compile(r"oneDNN|absl|cuda|computation placer|cpu_feature_guard|^[IWE]0000 ", re.I | re.M)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "MMFUSION_VERBOSE")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One default `mmfusion train` run (tiny), as a user types it: its stdout, stderr and directory."""
    tmp = tmp_path_factory.mktemp("console")
    run_dir = tmp / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "mmfusion", "train", *SHRINK, f"hydra.run.dir={run_dir}"],
        cwd=tmp,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, run_dir


def test_default_run_has_no_tensorflow_lines_on_stderr(tiny_run):
    proc, _ = tiny_run
    assert not TF_NOISE.search(proc.stderr), proc.stderr[:2000]


def _fake_tensorflow(tmp_path):
    """A package named tensorflow that writes to file descriptor 2 at import, as TensorFlow's C++ does."""
    pkg = tmp_path / "tensorflow"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import os\nos.write(2, b'I0000 port.cc oneDNN custom operations are on\\n')\n")
    return tmp_path


@pytest.mark.parametrize("verbose", [False, True])
def test_quiet_import_silences_fd2_unless_verbose(tmp_path, verbose):
    code = textwrap.dedent(
        """
        import sys
        from mmfusion.runtime import quiet
        quiet.install()
        import tensorflow
        sys.stderr.write("python stderr still works\\n")
        import importlib.util; importlib.util.find_spec("tensorflow")
        """
    )
    env = _env(
        PYTHONPATH=f"{_fake_tensorflow(tmp_path)}{os.pathsep}{ROOT}", **({"MMFUSION_VERBOSE": "1"} if verbose else {})
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "python stderr still works" in proc.stderr
    assert ("oneDNN" in proc.stderr) == verbose


def test_find_spec_before_import_keeps_the_import_quiet(tmp_path):
    """Libraries ask importlib.util.find_spec('tensorflow') before anything imports it: still quiet."""
    code = "import importlib.util\nfrom mmfusion.runtime import quiet\nquiet.install()\n"
    code += "importlib.util.find_spec('tensorflow')\nimport tensorflow\n"
    env = _env(PYTHONPATH=f"{_fake_tensorflow(tmp_path)}{os.pathsep}{ROOT}")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "oneDNN" not in proc.stderr, proc.stderr


def test_verbose_flag_is_taken_before_the_command(tmp_path):
    proc = run_cli("-v", "--version", cwd=tmp_path, env=_env())
    assert proc.returncode == 0 and proc.stdout.startswith("mmfusion ")
    proc = run_cli("--verbose", "nope", cwd=tmp_path, env=_env())
    assert proc.returncode == 2 and "unknown command 'nope'" in proc.stderr


def test_run_start_lines_come_before_training_and_end_lines_after(tiny_run):
    proc, run_dir = tiny_run
    out = proc.stdout
    start = out.index(f"run directory: {run_dir}\n")
    assert start < out.index("| metric |")  # printed when the run starts, before the table
    head = out[start:].split("| metric |")[0]
    assert "dataset: synthetic" in head and "modalities ['series', 'text']" in head
    assert "models: series=lstm, text=lstm; fusion: accuracy" in head and "seed: 0; device: " in head
    tail = out.split("| metric |")[1]
    assert f"mmfusion report {run_dir}" in tail and f"mmfusion fuse {run_dir} fusion=all" in tail


def _job(sweep, name, overrides, accuracy=None, complete=True):
    import json

    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if accuracy is not None:
        models = {"text": {"accuracy": 0.5}, "series": {"accuracy": 0.6}, "fused": {"accuracy": accuracy}}
        (job / "metrics.json").write_text(json.dumps({"modalities": ["series", "text"], "models": models}))
    if complete:
        (job / "COMPLETE").write_text("done\n")


def test_sweep_summary_lists_jobs_failures_and_the_report_command(tmp_path, capsys):
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    from mmfusion.commands.summary import SweepSummary, sweep_summary

    sweep = tmp_path / "sweep"
    _job(sweep, "0", ["dataset=synthetic", "seed=0"], accuracy=0.75)
    _job(sweep, "1", ["dataset=synthetic", "seed=1"], accuracy=0.8125)
    _job(sweep, "10", ["dataset=synthetic", "seed=2"], complete=False)
    text, bad = sweep_summary(sweep)
    lines = text.splitlines()
    assert bad == 1 and lines[0] == f"sweep directory: {sweep} (3 job(s))"
    assert lines[1] == "  every job: dataset=synthetic"
    assert [ln.split()[0] for ln in lines[2:5]] == ["0", "1", "10"]  # numeric order, not 0, 1, 10 as text
    assert "seed=0" in lines[2] and "complete" in lines[2] and lines[2].endswith("fused accuracy 0.7500")
    assert "seed=2" in lines[4] and "not finished" in lines[4]
    assert lines[5] == f"failed: job 10 ({sweep / '10'}): no COMPLETE marker"
    assert lines[-1] == f"next: mmfusion report {sweep}"

    class Failed:  # what Hydra hands on_job_end for a job whose task raised
        from hydra.core.utils import JobStatus

        status = JobStatus.FAILED
        _return_value = ValueError("bad data\nsecond line")

    cb = SweepSummary()
    job_cfg = OmegaConf.create(
        {
            "hydra": {
                "mode": RunMode.MULTIRUN,
                "sweep": {"dir": str(sweep)},
                "runtime": {"output_dir": str(sweep / "10")},
            }
        }
    )
    cb.on_job_end(job_cfg, Failed())
    printed = capsys.readouterr().out
    assert "(3 job(s) so far)" in printed and "FAILED" in printed
    assert f"failed: job 10 ({sweep / '10'}): ValueError: bad data\n" in printed
    cb.on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}}))
    printed = capsys.readouterr().out
    assert "(3 job(s))" in printed and "ValueError: bad data" in printed and f"mmfusion report {sweep}" in printed


def test_sweep_summary_is_a_registered_hydra_callback():
    from hydra import compose, initialize_config_module

    from mmfusion.schemas import register

    register()
    with initialize_config_module(config_module="mmfusion.conf", version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True)
    assert cfg.hydra.callbacks.sweep_summary._target_ == "mmfusion.commands.summary.SweepSummary"


class _Stream:
    """A stream that says whether it is a terminal."""

    def __init__(self, tty: bool):
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _epochs(cb, clock, epochs: int, steps: int, step_s: float) -> None:
    cb.set_params({"epochs": epochs, "steps": steps})
    cb.on_train_begin()
    for e in range(epochs):
        cb.on_epoch_begin(e)
        for b in range(steps):
            clock.now += step_s
            cb.on_train_batch_end(b)
        cb.on_epoch_end(e, {"accuracy": 0.5, "loss": 1.25, "learning_rate": 0.001})
    cb.on_train_end()


def test_epoch_lines_have_time_and_etas_and_a_live_bar_on_a_terminal(caplog, monkeypatch):
    from omegaconf import OmegaConf

    from mmfusion.models.progress import EpochProgress
    from mmfusion.runtime import progress

    cfg = OmegaConf.create({"model": {"series": {"epochs": 3}, "text": {"epochs": 2, "ensemble": 2}}})
    plan = progress.plan_run(cfg, ["series", "text"])
    assert plan.total == {"series": 3, "text": 4}
    clock, out = _Clock(), _Stream(tty=True)
    cb = EpochProgress("series", 3, stream=out, clock=clock)
    with caplog.at_level("INFO", logger="mmfusion.models.base"):
        _epochs(cb, clock, 3, 4, 0.5)  # 2 s per epoch
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "series epoch 1/3 accuracy=0.5000 loss=1.2500 | 2 s, series 0:04 left, run ~0:12 left"
    assert lines[2].endswith("series 0:00 left, run ~0:08 left")  # text: 4 epochs at series' 2 s
    assert "\r\x1b[K" in out.text and "series epoch 2/3 [" in out.text and "4/4" in out.text
    assert out.text.endswith("\r\x1b[K")  # the bar is cleared before each epoch line and at the end


def test_no_bar_and_no_carriage_return_when_not_a_terminal(caplog, monkeypatch):
    from mmfusion.models.progress import EpochProgress
    from mmfusion.runtime import progress

    progress.PLAN = progress.Plan()
    monkeypatch.setenv(progress.INTERVAL_ENV, "1.5")  # a plain line at most every 1.5 s within an epoch
    clock, out = _Clock(), _Stream(tty=False)
    cb = EpochProgress("text", 2, stream=out, clock=clock)
    with caplog.at_level("INFO", logger="mmfusion.models.base"):
        _epochs(cb, clock, 2, 4, 1.0)
    lines = [r.getMessage() for r in caplog.records]
    assert out.text == "" and not any("\r" in ln for ln in lines)
    assert lines[0] == "text epoch 1/2: batch 2/4, 0:02 elapsed, epoch ETA 0:02"
    assert "text epoch 1/2 accuracy=0.5000 loss=1.2500 | 4 s, text 0:04 left" in lines
    assert len(lines) == 6  # 2 batch lines and 1 epoch line per epoch


def test_simulation_counter_is_tqdm_on_a_terminal_and_plain_lines_otherwise(caplog, monkeypatch):
    from mmfusion.runtime import progress

    tty = progress.counter(3, "TEP runs", "run", stream=_Stream(tty=True))
    assert type(tty).__module__.startswith("tqdm")
    tty.close()
    monkeypatch.setenv(progress.INTERVAL_ENV, "1000")
    plain = progress.counter(3, "TEP runs", "run", stream=_Stream(tty=False))
    with caplog.at_level("INFO", logger="mmfusion.runtime.progress"):
        for _ in range(3):
            plain.update()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("TEP runs: 3/3 run(s) (100%)")  # the last one always


def test_a_real_run_logs_timed_epochs_without_carriage_returns(tiny_run):
    proc, _ = tiny_run
    assert "\r" not in proc.stdout and "\r" not in proc.stderr
    assert re.search(r"series epoch 2/2 accuracy=\S+ loss=\S+ \| \S+ s, series 0:00 left", proc.stdout)


def test_run_plan_counts_networks_trained_by_epochs_only():
    from mmfusion.config import compose_config
    from mmfusion.runtime import progress

    cfg = compose_config(["experiment=early", "model/text=tfidf_logreg", "model/series=lstm"])
    assert progress.plan_run(cfg, ["series", "text"]).total == {"series": 60}  # early's text epochs: ignored
    cfg = compose_config(["experiment=early"])  # lstm_tuned: 5 text / 3 series networks averaged
    assert progress.plan_run(cfg, ["series", "text"]).total == {"series": 3 * 60, "text": 5 * 40}
