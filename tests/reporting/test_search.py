"""Hyper-parameter search: the objective `mmfusion train` returns (validation data only), the refusal
of an objective without a validation split, and a 2-trial Optuna search through the CLI (needs the
`tune` extra; skipped without it)."""

import importlib.util
import json
import shutil

import numpy as np
import pytest
import yaml
from helpers import ROOT, compose_cfg, run_cli

from mmfusion.commands.train import train
from mmfusion.config import validate
from mmfusion.errors import ConfigError
from mmfusion.evaluation import objective
from mmfusion.probability import nll
from mmfusion.rundir.files import MARKER, METRICS, PREDICTIONS, load_npz
from mmfusion.schemas.check import plugins
from mmfusion.schemas.check.objective import check_objective


def test_objective_is_computed_on_the_validation_split_only(tmp_path):
    cfg = compose_cfg(
        [
            "dataset.val_fraction=0.25",
            "objective.metric=val/fused/loss",
            "objective.direction=minimize",
            "evaluation.bootstrap=0",
        ]
    )
    result = train(cfg, tmp_path / "run")
    pred = load_npz(tmp_path / "run" / PREDICTIONS)
    y_val, p_val = pred["y_val"], pred["proba_val_fused"]
    assert result["objective"] == pytest.approx(nll(y_val, p_val))
    assert result["objective"] != pytest.approx(nll(pred["y_test"], pred["proba_test_fused"]))
    record = json.loads((tmp_path / "run" / METRICS).read_text())["objective"]
    assert record == {"metric": "val/fused/loss", "direction": "minimize", "value": result["objective"]}
    # the other metrics, from the same validation probabilities
    present = {m: ~np.isnan(pred[f"proba_val_{m}"]).any(axis=1) for m in ("series", "text")}
    probs = {m: pred[f"proba_val_{m}"] for m in ("series", "text", "fused")}
    for m in ("series", "text", "fused"):
        cfg.objective.metric = f"val/{m}/accuracy"
        expected = np.mean(np.argmax(probs[m], axis=1) == y_val)
        assert objective.value(cfg, y_val, probs, present) == pytest.approx(expected)


def test_an_objective_without_a_validation_split_is_refused_before_training(tmp_path):
    cfg = compose_cfg(["dataset.val_fraction=0.0", "objective.metric=val/text/accuracy"])
    with pytest.raises(ConfigError, match=r"dataset\.val_fraction"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


@pytest.mark.parametrize(
    "override, message",
    [
        ("objective.metric=test/text/accuracy", "not a validation metric"),
        ("objective.metric=val/text/f1", "not a validation metric"),
        ("objective.metric=val/image/accuracy", "not trained in this run"),
        ("objective.direction=up", "objective.direction"),
    ],
)
def test_objectives_that_cannot_be_computed_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):  # the config check, before any data is built
        validate(compose_cfg(["dataset.val_fraction=0.25", override]))
    with pytest.raises(ConfigError, match="not trained"):  # one modality: nothing is fused
        validate(compose_cfg(["dataset.val_fraction=0.25", "modalities=[text]", "objective.metric=val/fused/loss"]))


def test_cli_refuses_a_search_objective_without_validation_in_one_line(tmp_path):
    proc = run_cli(
        "train",
        "objective.metric=val/text/accuracy",
        "dataset=synthetic",
        f"hydra.run.dir={tmp_path}/run",
        cwd=tmp_path,
    )
    assert proc.returncode != 0
    assert "dataset.val_fraction" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / MARKER).exists()


def test_a_search_without_the_tune_extra_names_it(monkeypatch):
    monkeypatch.setattr(plugins, "_installed", lambda module: False)
    with pytest.raises(ConfigError, match=r"mmfusion\[tune\]"):
        plugins.check_plugins(["hparams_search=text_lstm"])


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None,
    reason="needs the tune extra: pip install 'mmfusion[tune]'",
)
def test_two_trial_optuna_search_writes_results_study_and_report(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli(
        "train",
        "-m",
        "hparams_search=text_lstm",
        "dataset=synthetic",
        "hydra.sweeper.n_trials=2",
        "dataset.samples_per_class=16",
        "dataset.val_fraction=0.25",
        "model.text.epochs=1",
        "model.text.embedding_dim=8",
        "model.text.lstm_units=8",
        "model.text.dense_units=[8,8,8]",
        "evaluation.bootstrap=0",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert "model.text.lr" in results["best_params"]
    values = [json.loads((sweep / str(i) / METRICS).read_text())["objective"]["value"] for i in (0, 1)]
    assert results["best_value"] == pytest.approx(max(values))
    import optuna

    study = optuna.load_study(study_name="text_lstm", storage=f"sqlite:///{sweep}/optuna.db")
    assert sorted(t.value for t in study.trials) == pytest.approx(sorted(values))
    proc = run_cli("report", str(sweep), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (sweep / "report.md").read_text()
    assert "## Hyper-parameter search" in text and "val/text/accuracy" in text and "model.text.lr" in text
    # the HTML page with the optimisation history and the parameter importances (Optuna's API)
    page = (sweep / "report.html").read_text()
    assert page.count("<img ") == 2 and "missing figure" not in page and "<table>" in page
    for name in ("search_history", "search_importances"):
        assert (sweep / "report_figures" / f"{name}.png").stat().st_size > 0
        assert (sweep / "report_figures" / f"{name}.svg").stat().st_size > 0
    assert "Importances: Optuna, mean decrease in impurity" in text
    # collected like any sweep (each trial a job, the study beside them), it re-reports identically elsewhere
    spec = importlib.util.spec_from_file_location("collect_results", ROOT / "scripts" / "collect_results.py")
    collect_results = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(collect_results)
    record = collect_results.collect(sweep, tmp_path / "collected")
    assert record["reportable"] and record["checked"] == "report.md regenerated identically", record
    assert sorted(record["jobs"]) == ["0", "1"] and (tmp_path / "collected" / "optuna.db").is_file()
    moved = shutil.copytree(tmp_path / "collected", tmp_path / "elsewhere" / "search")
    (moved / "report.md").unlink()
    proc = run_cli("report", str(moved), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (moved / "report.md").read_text() == text


@pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None,
    reason="needs the tune extra: pip install 'mmfusion[tune]'",
)
@pytest.mark.parametrize("name", ["text_lstm", "series_lstm", "fusion"])
def test_every_search_composes_and_searches_existing_keys(name):
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module(config_module="mmfusion.conf", version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=[f"hparams_search={name}", "dataset.val_fraction=0.2"],
            return_hydra_config=True,
        )
    check_objective(cfg)
    params = cfg.hydra.sweeper.params
    assert params and cfg.objective.metric.startswith("val/")
    for key in params:
        assert OmegaConf.select(cfg, key, default="<missing>") != "<missing>", f"{name}: {key} is not a config key"
