"""What the tests share besides fixtures: the shrunk config, the paths, and the CLI in a subprocess.

Test modules import these with `from helpers import ...` (pytest puts tests/ on sys.path, since
tests/ is not a package); conftest.py holds only fixtures and hooks, built from these helpers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_module
from omegaconf import DictConfig

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Tiny data, tiny networks, two epochs: every code path of the real pipeline, in seconds.
SHRINK_SYNTHETIC = [
    "dataset=synthetic",
    "dataset.samples_per_class=16",
    "dataset.series_length=12",
    "dataset.series_variables=4",
]
SHRINK_MODELS = [
    "model.text.epochs=2",
    "model.series.epochs=2",
    "model.text.embedding_dim=8",
    "model.text.lstm_units=8",
    "model.text.dense_units=[8,8,8]",
    "model.series.lstm_units=[8,6,4]",
    "model.series.dense_units=[8,8,8]",
]
SHRINK = SHRINK_SYNTHETIC + SHRINK_MODELS
SHRINK_JOINT = [  # a tiny joint network with a validation split (tests of the joint network and its summary)
    "joint=lstm",
    "joint.epochs=2",
    "joint.embedding_dim=8",
    "joint.text_lstm_units=8",
    "joint.series_lstm_units=[8,6,4]",
    "joint.dense_units=[8,8,8]",
    "dataset.val_fraction=0.25",
]


def compose_cfg(overrides: list[str] | None = None, shrink: bool = True) -> DictConfig:
    """The real config with overrides; shrunk models, and shrunk data when the dataset is synthetic."""
    overrides = list(overrides or [])
    other_dataset = any(o.startswith("dataset=") and o != "dataset=synthetic" for o in overrides)
    base = (SHRINK_MODELS + ([] if other_dataset else SHRINK_SYNTHETIC)) if shrink else []
    with initialize_config_module(config_module="mmfusion.conf", version_base="1.3"):
        return compose(config_name="config", overrides=base + overrides)


def run_cli(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """`mmfusion ...` in a subprocess, as a user would type it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mmfusion", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stop_at_epoch(monkeypatch, n: int) -> list[int]:
    """Raise Interrupted (what a signal raises) as the n-th epoch begins, counted over fits; returns the
    epochs begun."""
    import signal

    from mmfusion.models.base import EpochLogger
    from mmfusion.runtime import interrupt

    calls: list[int] = []

    def begin(self, epoch, logs=None):
        calls.append(epoch)
        if len(calls) == n:
            raise interrupt.Interrupted(signal.SIGINT, [])

    monkeypatch.setattr(EpochLogger, "on_epoch_begin", begin, raising=False)
    return calls


def assert_resume_is_exact(tmp_path: Path, monkeypatch, modality: str, cfg, num_classes: int, data, subdir: str):
    """A modality model's fit (seed 2, the first 18 rows for training, the rest for validation) stopped as
    its third epoch begins, then rerun from its epoch checkpoints (`<run>/<subdir>`), gives the history
    and predictions of an uninterrupted fit exactly. The batched and grouped ensembles' resume test."""
    import keras
    import numpy as np
    import pytest

    from mmfusion.models import build_model
    from mmfusion.runtime import interrupt

    x, y = data

    def run(directory):
        keras.utils.set_random_seed(2)
        model = build_model(modality, cfg, num_classes)
        model.checkpoint_dir = directory
        history = model.fit((x[:18], y[:18]), (x[18:], y[18:]))
        return model, history

    ref, ref_history = run(tmp_path / "ref")
    calls = stop_at_epoch(monkeypatch, 3)
    with pytest.raises(interrupt.Interrupted):
        run(tmp_path / "run")
    assert (tmp_path / "run" / subdir / "training_metadata.json").is_file()
    again, history = run(tmp_path / "run")
    assert calls[3] == 2  # the rerun began with the third epoch
    assert history == ref_history
    np.testing.assert_array_equal(again.predict_proba(x), ref.predict_proba(x))


def weights_after_steps(model, cfg, x, targets, steps: int) -> list[list]:
    """[the per-member batched model's weights, the grouped model's] (models/batched.py, models/grouped.py)
    after `steps` training steps on (x, targets), each built from seed 1 and compiled as the ensemble
    trains (training.compile_network, the sum of the members' losses); members in order."""
    import keras

    from mmfusion.models import batched, ensemble_model, grouped
    from mmfusion.models import training as training_step

    weights = []
    for use_grouped in (False, True):
        keras.utils.set_random_seed(1)
        net, _, members = batched.build(model, cfg)
        views = members
        if use_grouped:
            g = grouped.Grouped(members, batched.inputs(model, members))
            net, views = g.training, g.views
        training_step.compile_network(net, cfg, len(targets), loss=ensemble_model.SumOfMemberLosses(cfg), metrics=[])
        for _ in range(steps):
            net.train_on_batch(x, targets)
        weights.append([w for v in views for w in v.get_weights()])
    return weights


def cv_sweep(root: Path, *overrides: str) -> Path:
    """A tiny 3-fold cross-validation sweep (`train -m`) of the shrunk config into `root`."""
    res = run_cli(
        "train",
        "-m",
        *SHRINK,
        *overrides,
        "evaluation.bootstrap=200",
        "dataset.cv.folds=3",
        "dataset.cv.fold=0,1,2",
        f"hydra.sweep.dir={root}",
        cwd=root,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return root
