"""`train(cfg)` on shrunken synthetic data: every output file with sane contents; determinism."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import compose_cfg

from mmfusion.commands.train import train
from mmfusion.errors import ConfigError
from mmfusion.rundir.files import load_npz

EXPECTED_FILES = [
    "models/text.keras",
    "models/series.keras",
    "models/text.json",
    "models/series.json",
    "history/text.csv",
    "history/series.csv",
    "predictions.npz",
    "metrics.json",
    "versions.json",
    "tables/accuracy.csv",
    "tables/accuracy.md",
    "tables/auc.csv",
    "tables/auc.md",
    "figures/roc_series.png",
    "figures/roc_text.png",
    "figures/roc_fused.png",
    "figures/confusion_series.png",
    "figures/confusion_text.png",
    "figures/confusion_fused.png",
    "figures/training_text.png",
    "figures/training_series.png",
    "COMPLETE",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = train(compose_cfg(["dataset.val_fraction=0.2"]), out)
    return out, result


def test_train_writes_every_output(finished_run):
    out, result = finished_run
    for name in EXPECTED_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert result["run_dir"] == str(out)


def test_metrics_and_predictions_are_consistent(finished_run):
    out, _ = finished_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["models"]) == ["series", "text", "fused"]
    assert metrics["sizes"] == {"train": 38, "val": 13, "test": 13}
    assert sum(metrics["class_counts"]["test"]) == 13 and min(metrics["class_counts"]["test"]) >= 3
    w = metrics["fusion"]["params"]["weights"]
    assert metrics["fusion"]["name"] == "accuracy" and abs(sum(w) - 1) < 1e-12
    acc = [metrics["train_accuracy"][m] for m in ("series", "text")]
    np.testing.assert_allclose(w, np.array(acc) / sum(acc))

    pred = load_npz(out / "predictions.npz")
    assert pred["classes"].tolist() == metrics["classes"]
    y = pred["y_test"]
    for name in ("series", "text", "fused"):
        p = pred[f"proba_test_{name}"]
        assert p.shape == (13, 4)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
        assert metrics["models"][name]["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y))
        assert np.sum(metrics["models"][name]["confusion"]) == 13
    np.testing.assert_allclose(
        pred["proba_test_fused"], w[0] * pred["proba_test_series"] + w[1] * pred["proba_test_text"]
    )
    assert "proba_val_text" in pred and pred["y_val"].shape == (13,)


def test_tables_have_the_papers_layout(finished_run):
    out, _ = finished_run
    acc = pd.read_csv(out / "tables/accuracy.csv", index_col=0)
    assert list(acc.columns) == ["series", "text", "fused"] and list(acc.index) == ["accuracy"]
    auc = pd.read_csv(out / "tables/auc.csv", index_col=0)
    assert list(auc.index) == ["type1", "type2", "type3", "type4"]
    assert ((auc.values >= 0) & (auc.values <= 1)).all()
    assert "| accuracy |" in (out / "tables/accuracy.md").read_text()


def test_history_has_one_row_per_epoch(finished_run):
    out, _ = finished_run
    hist = pd.read_csv(out / "history/text.csv")
    assert len(hist) == 2 and {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist.columns)


def test_saved_models_reload_with_their_preprocessing(finished_run):
    out, _ = finished_run
    from mmfusion.data import build_dataset
    from mmfusion.models import load_model

    cfg = compose_cfg(["dataset.val_fraction=0.2"])
    test = build_dataset(cfg.dataset).splits["test"]
    pred = load_npz(out / "predictions.npz")
    for m in ("text", "series"):
        model = load_model(m, cfg.model[m], 4, out / "models")
        np.testing.assert_allclose(model.predict_proba(test.x[m]), pred[f"proba_test_{m}"], atol=1e-6)


def test_same_seed_same_metrics(tmp_path):
    a = train(compose_cfg(["seed=3"]), tmp_path / "a")
    b = train(compose_cfg(["seed=3"]), tmp_path / "b")
    assert a["metrics"]["models"] == b["metrics"]["models"]
    pa, pb = (load_npz(tmp_path / d / "predictions.npz") for d in "ab")
    np.testing.assert_array_equal(pa["proba_test_fused"], pb["proba_test_fused"])


def test_a_finished_run_is_never_overwritten(finished_run):
    out, _ = finished_run
    before = (out / "metrics.json").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        train(compose_cfg(), out)
    assert (out / "metrics.json").read_bytes() == before


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.text.lr=-1", "model.text.lr"),
        ("model.series.epochs=0", "model.series.epochs"),
        ("model.text.batch_size=0", "model.text.batch_size"),
    ],
)
def test_bad_values_are_named(tmp_path, override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        train(compose_cfg([override]), tmp_path)
    assert not (tmp_path / "COMPLETE").exists()


def test_one_modality_alone_trains_without_fusion(tmp_path):
    result = train(compose_cfg(["modalities=[series]"]), tmp_path)
    assert list(result["accuracy"]) == ["series"]
    assert result["metrics"]["fusion"] is None and (tmp_path / "COMPLETE").exists()
