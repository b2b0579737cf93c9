"""Tracking (tracking=tensorboard | mlflow) and the GPU-readiness switches, on the CPU."""

import importlib.util

import pytest
from helpers import compose_cfg, run_cli


def test_tracking_options_compose():
    assert compose_cfg([]).tracking.tensorboard is False
    assert compose_cfg(["tracking=tensorboard"]).tracking.tensorboard is True
    cfg = compose_cfg(["tracking=mlflow"])
    assert cfg.tracking.mlflow is True and cfg.tracking.mlflow_uri is None and cfg.mixed_precision is False
    assert cfg.distribute == "auto"


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    """One tiny run tracked by TensorBoard and MLflow at once (both extras are installed by `make test`)."""
    pytest.importorskip("tensorboard")
    pytest.importorskip("mlflow")
    from mmfusion.commands.train import train

    run = tmp_path_factory.mktemp("tracked") / "sweep" / "0"
    train(compose_cfg(["tracking=mlflow", "tracking.tensorboard=true", "evaluation.bootstrap=0"]), run)
    return run


def test_tensorboard_writes_event_files_per_modality(tracked_run):
    for m in ("series", "text"):
        events = list((tracked_run / "tensorboard" / m).rglob("events.out.tfevents.*"))
        assert events and all(e.stat().st_size > 0 for e in events), m
    assert (tracked_run / "COMPLETE").exists()


def test_tensorboard_hparams_and_test_metrics_read_back_with_tensorboards_reader(tracked_run):
    import json

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(tracked_run / "tensorboard"))
    acc.Reload()
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)[metadata.SESSION_START_INFO_TAG]
    info = metadata.parse_session_start_info_plugin_data(content)
    hp = {k: v.number_value if v.HasField("number_value") else v.string_value for k, v in info.hparams.items()}
    assert hp["model.text.lr"] == pytest.approx(1e-3) and hp["dataset.name"] == "synthetic"
    assert hp["model.series.epochs"] == 2 and hp["seed"] == 0 and hp["modalities"] == "['series', 'text']"
    metrics = json.loads((tracked_run / "metrics.json").read_text())["models"]
    for m in ("series", "text", "fused"):
        (event,) = acc.Tensors(f"test/{m}/accuracy")
        assert float(tensor_util.make_ndarray(event.tensor_proto)) == pytest.approx(metrics[m]["accuracy"])


def test_mlflow_logs_params_epochs_test_metrics_and_artifacts_to_a_local_store(tracked_run):
    from mlflow import MlflowClient

    store = tracked_run.parent / "mlflow.db"
    assert store.is_file() and (tracked_run.parent / "mlartifacts").is_dir()
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    (r,) = client.search_runs([client.get_experiment_by_name("mmfusion").experiment_id])
    assert r.info.status == "FINISHED" and r.info.run_name == "sweep/0"
    assert r.data.params["model.series.lr"] == "0.001" and r.data.params["dataset.name"] == "synthetic"
    assert 0 <= r.data.metrics["series.accuracy"] <= 1 and "fused.macro_auc" in r.data.metrics
    history = client.get_metric_history(r.info.run_id, "text.epoch.loss")  # per epoch, logged while training
    assert [h.step for h in history] == [1, 2] and all(h.value > 0 for h in history)
    assert [h.step for h in client.get_metric_history(r.info.run_id, "text.accuracy")] == [0]  # test only
    artifacts = {a.path for a in client.list_artifacts(r.info.run_id)}
    assert {"metrics.json", "config.yaml", "tables", "figures", "history"} <= artifacts
    figures = {a.path for a in client.list_artifacts(r.info.run_id, "figures")}
    assert {"figures/confusion_fused.png", "figures/confusion_fused_normalized.svg"} <= figures


def test_a_missing_tracker_package_is_one_clear_error(tmp_path, monkeypatch):
    from mmfusion.config import validate
    from mmfusion.errors import ConfigError
    from mmfusion.schemas.check import plugins

    real = importlib.util.find_spec
    monkeypatch.setattr(
        plugins.importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'mmfusion\[mlflow\]'"):
        validate(compose_cfg(["tracking=mlflow"]))  # the config check, before any data is built


def test_tracking_mlflow_without_mlflow_stops_before_any_work(tmp_path):
    """mlflow hidden from the CLI's interpreter (a sitecustomize that blocks it), installed or not."""
    import os

    (tmp_path / "hide").mkdir()
    (tmp_path / "hide" / "sitecustomize.py").write_text("import sys\nsys.modules['mlflow'] = None\n")
    path = os.pathsep.join(p for p in (str(tmp_path / "hide"), os.environ.get("PYTHONPATH")) if p)
    run = tmp_path / "run"
    res = run_cli(
        "train", "dataset=synthetic", "tracking=mlflow", f"hydra.run.dir={run}", cwd=tmp_path, env={"PYTHONPATH": path}
    )
    assert res.returncode != 0 and "pip install 'mmfusion[mlflow]'" in res.stderr
    assert "Traceback" not in res.stderr and not (run / "COMPLETE").exists() and not (run / "models").exists()


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
    import re

    from mmfusion.config import validate
    from mmfusion.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape("distribute=mirorred: expected one of auto | mirrored | none")):
        validate(compose_cfg(["distribute=mirorred"]))  # the config check, before devices are set up
