"""Several base models per modality (`+model/<modality>@model.<modality>_<label>=<option>`): trained,
saved, scored, fused by every rule, dropped together when their modality is missing. One tiny run with
two models per modality is trained once and shared by the tests of this module."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import compose_cfg
from omegaconf import OmegaConf

from mmfusion import basemodels
from mmfusion.commands import resume
from mmfusion.commands.fuse import fuse_run
from mmfusion.commands.predict import predict
from mmfusion.config import compose_config
from mmfusion.errors import ConfigError, MmfusionError
from mmfusion.fusion import FUSIONS
from mmfusion.fusion.robustness import drop_modalities
from mmfusion.rundir.files import load_npz

EXTRA = [
    "+model/text@model.text_tfidf=tfidf_logreg",
    "+model/series@model.series_conv1d=conv1d",
    "model.series_conv1d.epochs=2",
    "model.series_conv1d.filters=[4,4]",
    "model.series_conv1d.kernel_sizes=[3,3]",
    "model.series_conv1d.dense_units=[8]",
    "dataset.val_fraction=0.25",
    "evaluation.bootstrap=200",
    "training.checkpoint=false",
]
BASE = ["series", "series_conv1d", "text", "text_tfidf"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from mmfusion.commands.train import train

    out = tmp_path_factory.mktemp("several_models") / "run"
    train(compose_cfg(EXTRA), out)
    return out


def metrics(d):
    return json.loads((d / "metrics.json").read_text())


def test_every_base_model_is_trained_saved_and_scored(run):
    m = metrics(run)
    assert m["modalities"] == BASE
    assert set(m["models"]) == {*BASE, "fused"} and set(m["train_accuracy"]) == set(BASE)
    header = (run / "tables" / "accuracy.md").read_text().splitlines()[0]
    assert all(name in header for name in [*BASE, "fused"])
    assert len(m["fusion"]["params"]["weights"]) == 4  # the run's rule (accuracy) weighs all four
    models = run / "models"
    assert (models / "text.keras").is_file() and (models / "series.keras").is_file()
    assert (models / "series_conv1d" / "series.keras").is_file() and any((models / "text_tfidf").iterdir())
    pred = load_npz(run / "predictions.npz")
    for name in BASE:
        same = basemodels.modality_of(name)
        assert np.array_equal(pred[f"present_test_{name}"], pred[f"present_test_{same}"])
        assert (run / "history" / f"{name}.csv").is_file()
        assert resume.finished(run, name)  # a rerun of an interrupted run would load it, not retrain it
    # two models of one modality are different models: not the same predictions
    assert not np.allclose(pred["proba_test_text"], pred["proba_test_text_tfidf"])


def test_every_rule_fuses_all_base_models(run):
    out = fuse_run(run, ["fusion=all"])
    m = metrics(out)
    assert set(m["rules"]) == set(FUSIONS)
    assert m["modalities"] == BASE
    for rule, r in m["rules"].items():
        params = r["params"]
        if "weights" in params:
            assert len(params["weights"]) == 4, rule
        if rule == "stacking":
            assert max(len(s["modalities"]) for s in params["models"]) == 4
    table = (out / "tables" / "comparison.md").read_text()
    assert all(name in table for name in BASE)


def test_robustness_drops_every_model_of_a_modality(run):
    present = {n: np.ones(10, bool) for n in BASE}
    masks = drop_modalities(present, BASE, "text", 1.0, 0)
    assert not masks["text"].any() and not masks["text_tfidf"].any() and masks["series_conv1d"].all()
    masks = drop_modalities(present, BASE, "either", 1.0, 0)
    for i in range(10):  # each sample keeps exactly one modality, with all of its models
        kept = {basemodels.modality_of(n) for n in BASE if masks[n][i]}
        assert len(kept) == 1
        assert all(masks[n][i] for n in BASE if basemodels.modality_of(n) in kept)
    out = fuse_run(run, ["fusion=equal", "robustness.enabled=true", "robustness.rates=[0.0,1.0]"])
    table = pd.read_csv(out / "tables" / "robustness.csv")
    assert len(table) == 3 * 2 and table["accuracy"].between(0, 1).all()


def test_predict_with_a_missing_modality_drops_all_its_models(run, tmp_path):
    from mmfusion.data import build_dataset

    cfg = OmegaConf.load(run / "config.yaml")
    test = build_dataset(cfg.dataset).splits["test"]
    classes = metrics(run)["classes"]
    pd.DataFrame({"id": test.ids, "text": test.x["text"]}).to_csv(tmp_path / "text.csv", index=False)
    np.savez(tmp_path / "series.npz", ids=test.ids, x=test.x["series"])
    both = predict(run, text=tmp_path / "text.csv", series=tmp_path / "series.npz")
    pred = load_npz(run / "predictions.npz")
    for name in BASE:  # the saved models reproduce the run's own test predictions
        got = both[[f"{name}_{c}" for c in classes]].to_numpy()
        np.testing.assert_allclose(got, pred[f"proba_test_{name}"], atol=1e-5)
    np.testing.assert_allclose(both[[f"fused_{c}" for c in classes]].to_numpy(), pred["proba_test_fused"], atol=1e-5)
    text_only = predict(run, text=tmp_path / "text.csv")
    for name in ("series", "series_conv1d"):
        assert text_only[[f"{name}_{c}" for c in classes]].isna().all().all()
    for name in ("text", "text_tfidf"):
        assert text_only[[f"{name}_{c}" for c in classes]].notna().all().all()
    fused = text_only[[f"fused_{c}" for c in classes]].to_numpy()
    np.testing.assert_allclose(fused.sum(axis=1), 1.0, atol=1e-6)


def test_report_lists_every_base_model(run):
    from mmfusion.commands.report import report

    lines = report(run).read_text().splitlines()
    header = next(ln for ln in lines if ln.startswith("| accuracy %"))
    columns = [c.strip() for c in header.strip("|").split("|")][1:]
    assert columns == [*BASE, "fused", "seeds"]  # base models grouped by modality, then the fused one
    assert (run / "report_figures" / "fig7_confusion_text_tfidf_g0.png").is_file()


def test_one_model_per_modality_keeps_its_names():
    cfg = compose_cfg([])
    assert basemodels.base_models(cfg) == ["series", "text"]
    assert basemodels.base_models(compose_cfg(["modalities=[text]", *EXTRA[:2]])) == ["text", "text_tfidf"]


def test_added_models_are_checked_at_config_time():
    with pytest.raises(ConfigError, match=r"model.text_conv1d.name='conv1d' is not a text model"):
        compose_config(["+model/series@model.text_conv1d=conv1d"])
    with pytest.raises(ConfigError, match=r"model.audio_x: an added model"):
        compose_config(["+model/text@model.audio_x=lstm"])
    with pytest.raises(ConfigError, match=r"model.text_X"):
        compose_config(["+model/text@model.text_X=lstm"])
    with pytest.raises(MmfusionError, match="tfidf_nope"):
        compose_config(["+model/text@model.text_b=tfidf_nope"])


def test_a_list_of_options_adds_one_model_per_option():
    assert basemodels.expand_overrides(["model/text=[lstm_tuned,tfidf_logreg]", "seed=1", "model/series=gru"]) == [
        "model/text=lstm_tuned",
        "+model/text@model.text_tfidf_logreg=tfidf_logreg",
        "seed=1",
        "model/series=gru",
    ]
    cfg = compose_config(["model/text=[lstm,tfidf_logreg]", "model/series=[lstm,conv1d]"])
    assert basemodels.base_models(cfg) == ["series", "series_conv1d", "text", "text_tfidf_logreg"]
    assert cfg.model.text.name == "lstm" and cfg.model.text_tfidf_logreg.name == "tfidf_logreg"
    with pytest.raises(ConfigError, match="listed twice"):
        compose_config(["model/text=[lstm,lstm]"])


def test_an_added_model_can_be_the_search_objective():
    compose_config([*EXTRA[:2], "dataset.val_fraction=0.2", "objective.metric=val/text_tfidf/loss"])  # checked
    with pytest.raises(ConfigError, match="text_nope"):
        compose_config(["dataset.val_fraction=0.2", "objective.metric=val/text_nope/loss"])
