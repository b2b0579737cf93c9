"""Tracking (tracking=tensorboard | mlflow) and the GPU-readiness switches, on the CPU."""

import importlib.util

import pytest
from helpers import compose_cfg, run_cli

ONE_MODALITY = ["modalities=[series]", "evaluation.bootstrap=0"]


def test_tracking_options_compose():
    assert compose_cfg([]).tracking.tensorboard is False
    assert compose_cfg(["tracking=tensorboard"]).tracking.tensorboard is True
    cfg = compose_cfg(["tracking=mlflow"])
    assert cfg.tracking.mlflow is True and cfg.tracking.mlflow_uri is None and cfg.mixed_precision is False
    assert cfg.distribute == "auto"


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="pip install 'mmfusion[tensorboard]'")
def test_tensorboard_writes_event_files_per_modality(tmp_path):
    from mmfusion.commands.train import train

    run = tmp_path / "run"
    train(compose_cfg(["tracking=tensorboard", "evaluation.bootstrap=0"]), run)
    for m in ("series", "text"):
        events = list((run / "tensorboard" / m).rglob("events.out.tfevents.*"))
        assert events and all(e.stat().st_size > 0 for e in events), m
    assert (run / "COMPLETE").exists()


def test_a_missing_tracker_package_is_one_clear_error(tmp_path, monkeypatch):
    from mmfusion.errors import ConfigError
    from mmfusion.runtime import tracking

    real = importlib.util.find_spec
    monkeypatch.setattr(
        tracking.importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'mmfusion\[mlflow\]'"):
        tracking.check(compose_cfg(["tracking=mlflow"]))


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is not None, reason="mlflow is installed")
def test_tracking_mlflow_without_mlflow_stops_before_any_work(tmp_path):
    run = tmp_path / "run"
    res = run_cli("train", "dataset=synthetic", "tracking=mlflow", f"hydra.run.dir={run}", cwd=tmp_path)
    assert res.returncode != 0 and "pip install 'mmfusion[mlflow]'" in res.stderr
    assert "Traceback" not in res.stderr and not (run / "COMPLETE").exists() and not (run / "models").exists()


def test_mlflow_logs_params_metrics_and_artifacts_to_a_local_store(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    from mmfusion.commands.train import train

    run = tmp_path / "sweep" / "0"
    train(compose_cfg(["tracking=mlflow", *ONE_MODALITY]), run)
    store = tmp_path / "sweep" / "mlflow.db"
    assert store.is_file() and (tmp_path / "sweep" / "mlartifacts").is_dir()
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    runs = mlflow.search_runs(experiment_names=["mmfusion"], output_format="list")
    assert len(runs) == 1
    r = runs[0]
    assert r.data.params["model.series.lr"] == "0.001" and r.data.params["dataset.name"] == "synthetic"
    assert 0 <= r.data.metrics["series.accuracy"] <= 1
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(r.info.run_id)}
    assert {"metrics.json", "tables", "figures"} <= artifacts


def test_accelerate_is_cpu_safe_and_mixed_precision_keeps_float32_probabilities(tmp_path):
    import keras

    from mmfusion.models.base import dense_head
    from mmfusion.runtime import devices

    try:
        text = devices.configure(compose_cfg(["mixed_precision=true"])).description
        assert "precision policy: mixed_float16" in text and "strategy:" in text
        inp = keras.Input((3,))
        out = dense_head(keras.layers.Dense(4)(inp), [4], 2, 0.0)
        assert keras.Model(inp, out).output.dtype == "float32"
    finally:
        devices.configure(compose_cfg([]))
    assert keras.mixed_precision.global_policy().name == "float32"


def test_a_run_under_an_explicit_mirrored_strategy_on_the_cpu(tmp_path):
    """distribute=mirrored takes the multi-GPU code path (strategy scope) with the one CPU device."""
    from mmfusion.commands.train import train
    from mmfusion.runtime import devices

    try:
        result = train(compose_cfg(["distribute=mirrored", "evaluation.bootstrap=0"]), tmp_path / "run")
    finally:
        devices.configure(compose_cfg([]))
    assert (tmp_path / "run" / "COMPLETE").exists() and set(result["accuracy"]) == {"series", "text", "fused"}


def test_an_unknown_distribute_value_is_refused():
    from mmfusion.errors import ConfigError
    from mmfusion.runtime import devices

    with pytest.raises(ConfigError, match="distribute='mirorred'"):
        devices.configure(compose_cfg(["distribute=mirorred"]))
