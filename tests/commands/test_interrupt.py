"""Interrupted work (Ctrl-C, SIGTERM, kill -9): one line, exit 130/143, no traceback, no COMPLETE, no
orphaned workers; epoch checkpoints resume a run to the same numbers; a resumed sweep skips finished jobs.

Signals are real: sent by the kernel to a subprocess running the CLI. For training, tests/signal_at.py
sends it at an exact point (the start of the N-th epoch), so "interrupted after epoch k" is not a race.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import SHRINK, run_cli

from mmfusion.rundir.files import METRICS, PREDICTIONS, load_npz
from mmfusion.rundir.markers import is_complete
from mmfusion.runtime import interrupt

HERE = Path(__file__).resolve().parents[1]  # tests/, where signal_at.py lives
TINY_SIM = [
    "dataset=factory",
    "dataset.samples_per_class=8",
    "dataset.series.runs_per_class=4",
    "dataset.series.horizon_h=3",
    "dataset.series.onset_h=0.5",
    "dataset.series.workers=2",
]
EPOCHS4 = ["model.series.epochs=4", "model.text.epochs=4", "evaluation.bootstrap=0"]
CODES = {"SIGINT": 130, "SIGTERM": 143}


def descendants(pid: int) -> set[int]:
    """Live (not zombie) processes below pid, from /proc."""
    parent, state = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            state[int(d.name)], parent[int(d.name)] = fields[0], int(fields[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - out
        out |= frontier
    return {p for p in out if state.get(p) != "Z"}


def alive(pids) -> set[int]:
    live = set()
    for p in pids:
        try:
            if (Path("/proc") / str(p) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                live.add(p)
        except OSError:
            pass
    return live


def start_data_build(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    cache = tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmfusion", "data", "build", *TINY_SIM, f"dataset.series.cache_dir={cache}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return proc, cache / "tep"


def wait_for(condition, proc, what: str, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"the command ended before {what}: {proc.communicate()[1][-2000:]}"
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_mid_simulation_ends_cleanly_and_keeps_the_cache(tmp_path, name):
    proc, cache = start_data_build(tmp_path)
    try:
        wait_for(lambda: len(descendants(proc.pid)) >= 2 and any(cache.glob("*.json")), proc, "the first cached run")
        workers = descendants(proc.pid)
        if name == "SIGINT":
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group gets it
        else:
            proc.send_signal(signal.SIGTERM)  # `kill <pid>`: the parent alone
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == CODES[name], err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    m = re.fullmatch(
        rf"mmfusion data build: interrupted by .*{name}.* while simulating TEP runs: (\d+) of 16 runs "
        rf"cached in {re.escape(str(cache))}; rerun the same command to continue.*",
        last,
    )
    assert m, last
    cached = int(m.group(1))
    assert 1 <= cached < 16 and len(list(cache.glob("*.json"))) == cached
    assert not list(cache.glob("*.tmp"))  # no half-written entry
    time.sleep(0.5)
    assert not alive(workers), "worker processes outlived the command"
    # the rerun simulates only the rest
    res = run_cli("data", "build", *TINY_SIM, f"dataset.series.cache_dir={cache.parent}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    info = json.loads(res.stdout.split("\n", 1)[1])
    assert info["series_info"]["cache_hits"] == cached and info["series_info"]["cache_misses"] == 16 - cached


def test_kill_9_of_the_parent_leaves_no_live_workers(tmp_path):
    proc, _ = start_data_build(tmp_path)
    try:
        wait_for(lambda: len(descendants(proc.pid)) >= 2, proc, "the simulation workers started")
        time.sleep(1.0)  # the workers are simulating now
        workers = descendants(proc.pid)
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.time() + 5
        while alive(workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not alive(workers), "orphaned simulation workers are still running 5 s after kill -9"
    finally:
        for p in alive(descendants(proc.pid)):
            os.kill(p, signal.SIGKILL)


def test_the_message_names_the_stage_what_was_kept_and_what_to_do():
    err = interrupt.Interrupted(
        signal.SIGINT,
        [interrupt.Stage("a run", hint="rerun it"), interrupt.Stage("simulating", kept=lambda: "3 of 9 runs cached")],
    )
    assert err.exit_status == 130 and interrupt.Interrupted(signal.SIGTERM, []).exit_status == 143
    assert interrupt.message("data build", err) == (
        "mmfusion data build: interrupted by Ctrl-C (SIGINT) while simulating: 3 of 9 runs cached; rerun it"
    )


# --- training: interrupted, resumed, the same numbers --------------------------------------------
def signal_at(sig: str, epoch: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(HERE / "signal_at.py"), sig, "epoch", str(epoch), "--", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference: the same tiny run (4 epochs per model) without interruption."""
    tmp = tmp_path_factory.mktemp("ref")
    res = run_cli("train", *SHRINK, *EPOCHS4, f"hydra.run.dir={tmp / 'run'}", cwd=tmp)
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "run"


def assert_same_run(a: Path, b: Path) -> None:
    for name in ("history/series.csv", "history/text.csv", "metrics.json"):
        assert (a / name).read_text() == (b / name).read_text(), name
    pa, pb = load_npz(a / PREDICTIONS), load_npz(b / PREDICTIONS)
    assert pa.keys() == pb.keys() and all((pa[k] == pb[k]).all() for k in pa)


@pytest.mark.slow
@pytest.mark.parametrize("sig, epoch, model, finished", [("SIGINT", 3, "series", 2), ("SIGTERM", 6, "text", 1)])
def test_training_interrupted_after_epoch_k_resumes_at_k_plus_1_and_matches(
    tmp_path, uninterrupted, sig, epoch, model, finished
):
    run = tmp_path / "run"
    args = ("train", *SHRINK, *EPOCHS4, f"hydra.run.dir={run}")
    res = signal_at(sig, epoch, *args, cwd=tmp_path)
    assert res.returncode == CODES[sig], res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    ckpt = run / "checkpoints" / model
    assert last.startswith("mmfusion train: interrupted by ") and f"while training the {model} model: " in last
    assert f"{'epochs 1-' if finished > 1 else 'epoch '}{finished} checkpointed in {ckpt}" in last
    assert f"{run} is not marked complete; rerun the same command with hydra.run.dir={run} to continue" in last
    assert not is_complete(run) and not (run / METRICS).exists()
    assert json.loads((ckpt / "training_metadata.json").read_text())["epoch"] == finished

    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    log = (run / "mmfusion.log").read_text().split("resuming the interrupted run", 1)[1]
    assert f"{model} model: resuming after epoch {finished} of 4" in log
    epochs = re.findall(rf"{model} epoch (\d)/4", log)
    assert epochs == [str(e) for e in range(finished + 1, 5)]  # the rerun trained only the epochs left
    if model == "text":
        assert "the series model had finished; loading it" in log and "series epoch" not in log
    assert is_complete(run) and not (run / "checkpoints").exists()
    assert len((run / "history" / f"{model}.csv").read_text().splitlines()) == 1 + 4  # every epoch, both sessions
    assert_same_run(uninterrupted, run)


def test_checkpoints_do_not_change_the_numbers(tmp_path):
    from helpers import compose_cfg

    from mmfusion.commands.train import train

    on = train(compose_cfg(["evaluation.bootstrap=0"]), tmp_path / "on")
    off = train(compose_cfg(["evaluation.bootstrap=0", "training.checkpoint=false"]), tmp_path / "off")
    assert on["metrics"]["models"] == off["metrics"]["models"]
    assert not (tmp_path / "on" / "checkpoints").exists()


def test_an_interrupted_run_is_resumed_only_with_the_same_config(tmp_path):
    run = tmp_path / "run"
    res = signal_at(
        "SIGINT",
        2,
        "train",
        *SHRINK,
        "modalities=[series]",
        "evaluation.bootstrap=0",
        f"hydra.run.dir={run}",
        cwd=tmp_path,
    )
    assert res.returncode == 130, res.stderr[-3000:]
    hydra_cfg = (run / ".hydra" / "config.yaml").read_text()
    other = run_cli(
        "train",
        *SHRINK,
        "modalities=[series]",
        "evaluation.bootstrap=0",
        "model.series.lr=0.01",
        f"hydra.run.dir={run}",
        cwd=tmp_path,
    )
    assert other.returncode != 0 and "Traceback" not in other.stderr
    assert (
        "holds an interrupted run with a different config (model.series.lr: 0.001 in the run, 0.01 now)" in other.stderr
    )
    assert (run / ".hydra" / "config.yaml").read_text() == hydra_cfg  # refused before Hydra touched it


# --- sweeps -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_resumed_sweep_skips_the_finished_job_resumes_the_interrupted_one_runs_the_missing_one(tmp_path):
    sweep = tmp_path / "sweep"
    args = (
        "train",
        "-m",
        *SHRINK,
        "modalities=[series]",
        "evaluation.bootstrap=0",
        "seed=0,1,2",
        f"hydra.sweep.dir={sweep}",
    )
    res = signal_at("SIGINT", 4, *args, cwd=tmp_path)  # job 0: epochs 1-2; job 1: stopped after its epoch 1
    assert res.returncode == 130, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert "while training the series model: epoch 1 checkpointed" in last
    assert f"rerun the same command with hydra.sweep.dir={sweep} resume=true to continue the sweep" in last
    assert is_complete(sweep / "0") and not is_complete(sweep / "1") and not (sweep / "2").exists()
    finished = {
        p: p.stat().st_mtime_ns
        for p in (sweep / "0").rglob("*")
        if p.is_file() and ".hydra" not in p.parts and p.name != "mmfusion.log"
    }

    again = run_cli(*args, "resume=true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # job 0 kept as it was, not retrained
    assert "complete with the same config; skipped" in (sweep / "0" / "mmfusion.log").read_text()
    assert "series model: resuming after epoch 1 of 2" in (sweep / "1" / "mmfusion.log").read_text()
    assert all(is_complete(sweep / j) for j in "012")
    rep = run_cli("report", str(sweep), cwd=tmp_path)
    assert rep.returncode == 0, rep.stderr[-3000:]
    text = (sweep / "report.md").read_text()
    assert "3 finished job(s) in 1 group(s)" in text and "Not finished" not in text


# --- the commands that read runs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "command, target, kept",
    [
        ("report", "mmfusion.reporting.group_figures:model_figures", "nothing new in"),
        ("fuse", "mmfusion.commands.fuse:write_single", "itself unchanged"),
        ("predict", "mmfusion.commands.predict:predict", "no output file written"),
    ],
)
def test_report_fuse_predict_interrupted(tmp_path, tmp_path_factory, command, target, kept):
    import shutil

    from tiny_run import tiny_val_run

    run = tmp_path / "run"
    shutil.copytree(tiny_val_run(tmp_path_factory), run)
    shutil.rmtree(run / "fuse", ignore_errors=True)  # re-fusions other tests made in the shared run
    (tmp_path / "t.csv").write_text("id,text\na,a leak in the pump\n")
    extra = ["--text", str(tmp_path / "t.csv"), "--out", str(tmp_path / "out.csv")] if command == "predict" else []
    res = subprocess.run(
        [sys.executable, str(HERE / "signal_at.py"), "SIGTERM", target, "1", "--", command, str(run), *extra],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 143, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"mmfusion {command}: interrupted by SIGTERM while ") and kept in last, last
    assert "Traceback" not in res.stderr
    assert not (run / "report.md").exists() and not (tmp_path / "out.csv").exists()
    assert not any(is_complete(d) for d in (run / "fuse").glob("*")) if (run / "fuse").exists() else True


# --- SLURM: requeued jobs resume --------------------------------------------------------------------
@pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None, reason="pip install 'mmfusion[slurm]'"
)
def test_slurm_preset_requeues_timed_out_jobs_as_the_same_job(tmp_path):
    from omegaconf import OmegaConf

    res = run_cli("train", "hydra/launcher=slurm", "--cfg", "hydra", "-p", "hydra.launcher", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    launcher = OmegaConf.create(res.stdout.split("\n", 1)[1] if res.stdout.startswith("#") else res.stdout)
    assert launcher.max_num_timeout == 3 and launcher.signal_delay_s == 120
    # submitit requeues a preempted or timed-out job by calling the launcher's checkpoint(): the same call
    # again (same overrides, same job number, so the same job directory), which then resumes in train()
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher

    slurm = SlurmLauncher(**{k: v for k, v in OmegaConf.to_container(launcher).items() if k != "_target_"})
    call = (["seed=1"], "hydra.sweep.dir", 1, "job_id_for_1", {})
    again = slurm.checkpoint(*call)
    assert again.function is slurm and tuple(again.args) == call


def test_early_stopping_state_survives_an_interruption(tmp_path, monkeypatch):
    """In-process: training stopped at the start of epoch 3 (as a signal would), rerun: same numbers."""
    from helpers import compose_cfg

    from mmfusion.commands.train import train
    from mmfusion.models.base import EpochLogger

    overrides = [
        "modalities=[series]",
        "evaluation.bootstrap=0",
        "dataset.val_fraction=0.25",
        "model.series.epochs=8",
        "model.series.early_stopping_patience=2",
        "model.series.lr=0.05",
    ]
    ref = train(compose_cfg(overrides), tmp_path / "ref")
    calls = []

    def stop_at_3(self, epoch, logs=None):
        calls.append(epoch)
        if len(calls) == 3:
            raise interrupt.Interrupted(signal.SIGINT, [])

    monkeypatch.setattr(EpochLogger, "on_epoch_begin", stop_at_3, raising=False)
    with pytest.raises(interrupt.Interrupted):
        train(compose_cfg(overrides), tmp_path / "run")
    state = json.loads((tmp_path / "run" / "checkpoints" / "series" / "training_metadata.json").read_text())
    assert state["epoch"] == 2 and state["early_stopping"]["best_weights"]
    again = train(compose_cfg(overrides), tmp_path / "run")
    assert calls[3] == 2  # the rerun began with the third epoch
    assert again["metrics"]["models"] == ref["metrics"]["models"]
    assert (tmp_path / "run" / "history" / "series.csv").read_text() == (
        tmp_path / "ref" / "history" / "series.csv"
    ).read_text()
