"""Resuming beyond the modality models' weights (tests/commands/test_interrupt.py has those): the joint network
(joint=lstm) interrupted mid-training and after it finished, and reduce-on-plateau's state.

Signals are real (tests/signal_at.py) for the joint network; the schedule test stops training in-process
at the start of an epoch, as a signal would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import SHRINK, run_cli, stop_at_epoch

from mmfusion.rundir.files import PREDICTIONS, load_npz
from mmfusion.rundir.markers import is_complete
from mmfusion.runtime import interrupt

HERE = Path(__file__).resolve().parents[1]  # tests/, where signal_at.py lives
JOINT = [
    "joint=lstm",
    "joint.epochs=4",
    "joint.embedding_dim=8",
    "joint.text_lstm_units=8",
    "joint.series_lstm_units=[8,6,4]",
    "joint.dense_units=[8,8,8]",
    "joint.modality_dropout=0.3",
    "dataset.val_fraction=0.25",
    "evaluation.bootstrap=0",
]  # the modality models train 2 epochs each (SHRINK), so the joint network's epoch e is the (4 + e)-th


def signal_at(sig: str, target: str, n: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(HERE / "signal_at.py"), sig, target, str(n), "--", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def same_files(a: Path, b: Path, names: tuple[str, ...]) -> None:
    for name in names:
        assert (a / name).read_text() == (b / name).read_text(), name
    pa, pb = load_npz(a / PREDICTIONS), load_npz(b / PREDICTIONS)
    assert pa.keys() == pb.keys() and all((pa[k] == pb[k]).all() for k in pa)


@pytest.mark.slow
def test_joint_network_resumes_at_epoch_k_plus_1_and_a_finished_one_is_loaded(tmp_path):
    ref = tmp_path / "ref"
    res = run_cli("train", *SHRINK, *JOINT, f"hydra.run.dir={ref}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]

    run = tmp_path / "run"
    args = ("train", *SHRINK, *JOINT, f"hydra.run.dir={run}")
    # 1. SIGTERM as the joint network's third epoch begins: epochs 1-2 are checkpointed
    res = signal_at("SIGTERM", "epoch", 4 + 3, *args, cwd=tmp_path)
    assert res.returncode == 143, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    ckpt = run / "checkpoints" / "joint"
    assert "while training the joint model: epochs 1-2 checkpointed in " + str(ckpt) in last, last
    assert f"the series model, the text model saved in {run / 'models'}" in last, last
    state = json.loads((ckpt / "training_metadata.json").read_text())
    assert state["epoch"] == 2 and not state["finished"] and len(state["history"]["loss"]) == 2
    assert not (run / "models" / "joint.keras").exists() and not is_complete(run)

    # 2. the rerun trains epochs 3-4 only; SIGTERM once the joint network is saved, before the results
    res = signal_at("SIGTERM", "mmfusion.commands.train:_finish", 1, *args, cwd=tmp_path)
    assert res.returncode == 143, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert "while evaluating and writing the results" in last, last
    log = (run / "mmfusion.log").read_text().split("resuming the interrupted run")
    assert len(log) == 2
    assert "joint model: resuming after epoch 2 of 4" in log[1]
    assert re.findall(r"joint epoch (\d)/4", log[1]) == ["3", "4"]
    assert "the series model had finished; loading it" in log[1] and "series epoch" not in log[1]
    assert (run / "models" / "joint.keras").is_file() and not ckpt.exists()  # saved whole: checkpoints gone

    # 3. the next rerun loads the finished joint network: no epoch of any model runs again
    again = run_cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    log = (run / "mmfusion.log").read_text().split("resuming the interrupted run")
    assert len(log) == 3
    assert "the joint model had finished; loading it" in log[2] and not re.search(r"\w+ epoch \d/", log[2])
    assert is_complete(run) and not (run / "checkpoints").exists()
    assert len((run / "history" / "joint.csv").read_text().splitlines()) == 1 + 4  # both sessions' epochs
    same_files(ref, run, ("history/series.csv", "history/text.csv", "history/joint.csv", "metrics.json"))


def test_reduce_on_plateau_state_survives_an_interruption(tmp_path, monkeypatch):
    """wait, best and the reduced learning rate come back with the checkpoint: resumed == uninterrupted."""
    from helpers import compose_cfg

    from mmfusion.commands.train import train

    overrides = [
        "modalities=[series]",
        "evaluation.bootstrap=0",
        "dataset.val_fraction=0.25",
        "model.series.epochs=8",
        "model.series.lr=0.05",
        "model.series.lr_schedule=reduce_on_plateau",
        "model.series.lr_patience=2",
        "model.series.lr_factor=0.5",
    ]
    ref = train(compose_cfg(overrides), tmp_path / "ref")
    ref_history = (tmp_path / "ref" / "history" / "series.csv").read_text()
    calls = stop_at_epoch(monkeypatch, 6)
    with pytest.raises(interrupt.Interrupted):
        train(compose_cfg(overrides), tmp_path / "run")
    state = json.loads((tmp_path / "run" / "checkpoints" / "series" / "training_metadata.json").read_text())
    assert state["epoch"] == 5
    saved = state["reduce_lr"]
    # stopped mid-plateau after a cut: a fresh callback would forget all three (best None, wait 0, lr 0.05)
    assert (
        saved["learning_rate"] < 0.05 and saved["wait"] > 0 and saved["best"] < min(state["history"]["val_loss"][-2:])
    )
    again = train(compose_cfg(overrides), tmp_path / "run")
    assert calls[6] == 5  # the rerun began with the sixth epoch
    assert (tmp_path / "run" / "history" / "series.csv").read_text() == ref_history
    assert again["metrics"]["models"] == ref["metrics"]["models"]
