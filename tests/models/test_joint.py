"""`joint=lstm`: one network over both modalities beside the decision-level rules (issue 14)."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from helpers import SHRINK_JOINT, compose_cfg

from mmfusion.errors import ConfigError
from mmfusion.fusion import FUSIONS
from mmfusion.rundir.files import load_npz


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from mmfusion.commands.train import train

    out = tmp_path_factory.mktemp("joint") / "run"
    train(compose_cfg(SHRINK_JOINT + ["joint.fusion_layer=gated", "joint.modality_dropout=0.3"]), out)
    return out


def test_training_writes_the_joint_model_its_probabilities_and_table_columns(run):
    assert {"joint.keras", "joint.json"} <= {p.name for p in (run / "models").iterdir()}
    state = json.loads((run / "models/joint.json").read_text())  # preprocessing as plain JSON
    assert state["text"]["vocabulary"] and len(state["series"]["mean"]) == 4
    pred = load_npz(run / "predictions.npz")
    for split in ("train", "val", "test"):
        p = pred[f"proba_{split}_joint"]
        assert p.shape == (len(pred[f"y_{split}"]), 4) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    m = json.loads((run / "metrics.json").read_text())
    acc = float(np.mean(pred["proba_test_joint"].argmax(1) == pred["y_test"]))
    assert m["models"]["joint"]["accuracy"] == pytest.approx(acc)
    assert m["models"]["joint"]["accuracy_ci"][0] <= acc <= m["models"]["joint"]["accuracy_ci"][1]
    assert "ece" in m["models"]["joint"] and set(m["models"]["joint"]["auc"]) == set(m["classes"])
    table = pd.read_csv(run / "tables/accuracy.csv", index_col=0)
    assert list(table.columns) == ["series", "text", "fused", "joint"]
    assert table.loc["accuracy", "joint"] == pytest.approx(acc)
    assert "joint" in pd.read_csv(run / "tables/auc.csv", index_col=0).columns
    assert m["comparison"]["a"] == "fused" and m["comparison"]["b"] in ("series", "text")
    (single, rule) = m["joint"]["comparisons"]
    assert single["a"] == "joint" and single["b"] in ("series", "text") and rule["b"] == "fused"
    assert "joint vs fused" in (run / "tables/accuracy_ci.md").read_text()
    assert (run / "history/joint.csv").is_file() and (run / "figures/training_joint.png").is_file()


def test_reload_is_exact_and_serves_records_missing_a_modality(run):
    from omegaconf import OmegaConf

    from mmfusion.commands.train import joint_inputs
    from mmfusion.data import build_dataset
    from mmfusion.models import load_model

    cfg = OmegaConf.load(run / "config.yaml")
    pred = load_npz(run / "predictions.npz")
    model = load_model("joint", cfg.joint, 4, run / "models")
    test = build_dataset(cfg.dataset).splits["test"]
    np.testing.assert_allclose(model.predict_proba(joint_inputs(test)), pred["proba_test_joint"], rtol=0, atol=1e-6)
    for m in ("text", "series"):
        x = joint_inputs(test, hide=m)
        # what a missing modality's rows hold is never read: garbage there changes nothing
        x[m] = np.array([None] * len(test), dtype=object) if m == "text" else np.full_like(x["series"], np.nan)
        p = model.predict_proba(x)
        assert np.allclose(p.sum(axis=1), 1, atol=1e-5)
        np.testing.assert_allclose(p, pred[f"proba_test_joint_without_{m}"], rtol=0, atol=1e-6)
        assert not np.allclose(p, pred["proba_test_joint"])  # hiding a modality does change the answer


def test_predict_command_uses_the_joint_model(run, tmp_path):
    from omegaconf import OmegaConf

    from mmfusion.commands.predict import predict
    from mmfusion.data import build_dataset

    test = build_dataset(OmegaConf.load(run / "config.yaml").dataset).splits["test"]
    ids = [f"r{i}" for i in range(len(test))]
    pd.DataFrame({"id": ids[:8], "text": test.x["text"][:8]}).to_csv(tmp_path / "t.csv", index=False)
    np.savez(tmp_path / "s.npz", ids=np.array(ids[4:]), x=test.x["series"][4:])
    out = predict(run, tmp_path / "t.csv", tmp_path / "s.npz")
    assert list(out["id"]) == ids
    cols = [f"joint_{c}" for c in json.loads((run / "metrics.json").read_text())["classes"]]
    assert out[cols].notna().all().all() and np.allclose(out[cols].sum(axis=1), 1, atol=1e-5)
    assert out["text_" + cols[0][6:]].isna().sum() == len(ids) - 8  # text-less records: no text model output
    pred = load_npz(run / "predictions.npz")
    both = slice(4, 8)  # records with both modalities match the run's own test probabilities
    np.testing.assert_allclose(out[cols].to_numpy()[both], pred["proba_test_joint"][both], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out[cols].to_numpy()[:4], pred["proba_test_joint_without_series"][:4], atol=1e-6)
    assert set(out["joint_class"]) <= set(json.loads((run / "metrics.json").read_text())["classes"])


def test_fuse_all_has_a_joint_row_and_robustness_line(run, tmp_path):
    from mmfusion.commands.fuse import fuse_run

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    out = fuse_run(copy, ["fusion=all", "robustness.enabled=true", "evaluation.bootstrap=100"])
    table = pd.read_csv(out / "tables/comparison.csv", index_col=0)
    assert list(table.index) == ["series", "text", *FUSIONS, "joint"]
    m = json.loads((out / "metrics.json").read_text())
    single, rule = m["joint"]["comparisons"]
    assert single["b"] in ("series", "text") and rule["b"] in FUSIONS
    best_rule = max(FUSIONS, key=lambda r: table.loc[r, "accuracy"])
    assert table.loc[rule["b"], "accuracy"] == table.loc[best_rule, "accuracy"]
    assert table.loc["joint", "mcnemar_p"] == pytest.approx(single["p_value"])
    assert "joint vs " + rule["b"] in (out / "tables/comparison.md").read_text()
    rob = pd.read_csv(out / "tables/robustness.csv")
    joint = rob[rob.rule == "joint"]
    assert len(joint) == 3 * 4
    assert joint[joint.rate == 0].accuracy.tolist() == pytest.approx([table.loc["joint", "accuracy"]] * 3)
    pred = load_npz(copy / "predictions.npz")
    no_text = joint[(joint["drop"] == "text") & (joint.rate == 1)].accuracy.item()
    assert no_text == pytest.approx(np.mean(pred["proba_test_joint_without_text"].argmax(1) == pred["y_test"]))
    own = fuse_run(copy, [])  # the run's own rule: its metrics, joint included, reproduced
    assert (
        json.loads((own / "metrics.json").read_text())["models"]
        == json.loads((run / "metrics.json").read_text())["models"]
    )


def test_modality_dropout_hides_one_modality_of_the_given_share_every_epoch():
    from mmfusion.models.joint import ModalityDropout

    present = np.ones((100, 2), np.float32)
    present[:10, 1] = 0  # ten records without a series in the data: never touched, never emptied
    inputs = {"tokens": np.zeros((100, 3), np.int32), "series": np.zeros((100, 2, 1), np.float32), "present": present}
    data = ModalityDropout(inputs, np.zeros(100), batch_size=32, rate=0.5, seed=0)
    first = data.present.copy()
    assert len(data) == 4 and (first[:10] == present[:10]).all()
    assert (first.sum(axis=1) >= 1).all() and int((first[10:].sum(axis=1) == 1).sum()) == 45
    data.on_epoch_end()
    assert not (data.present == first).all() and int((data.present[10:].sum(axis=1) == 1).sum()) == 45
    x, y = data[3]
    assert len(y) == 4 and x["present"].shape == (4, 2)
    assert ModalityDropout(inputs, np.zeros(100), 32, 0.0, 0).present.tolist() == present.tolist()


@pytest.mark.parametrize("layer", ["concat", "gated", "attention"])
def test_fusion_layers_ignore_a_masked_branch_and_reload_in_safe_mode(layer, tmp_path):
    import keras

    from mmfusion.models.joint import build_joint_lstm

    net = build_joint_lstm(
        20,
        5,
        (6, 3),
        3,
        embedding_dim=4,
        text_units=4,
        series_units=(4, 3),
        dense_units=(4,),
        fusion=layer,
        fusion_units=4,
    )
    rng = np.random.default_rng(0)
    x = {
        "tokens": rng.integers(1, 20, (5, 5)).astype(np.int32),
        "series": rng.normal(size=(5, 6, 3)).astype(np.float32),
        "present": np.array([[1, 1], [1, 0], [0, 1], [1, 0], [1, 1]], np.float32),
    }
    p = net.predict(x, verbose=0)
    x2 = {**x, "series": x["series"].copy()}
    x2["series"][[1, 3]] += 5.0  # rows whose series is masked: the output must not move
    p2 = net.predict(x2, verbose=0)
    np.testing.assert_allclose(p2[[1, 3]], p[[1, 3]], atol=1e-6)
    net.save(tmp_path / "j.keras")
    again = keras.models.load_model(tmp_path / "j.keras", safe_mode=True)
    np.testing.assert_allclose(again.predict(x, verbose=0), p, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    "override, key",
    [
        (["modalities=[text]"], "modalities"),
        (["joint.modality_dropout=1.5"], "joint.modality_dropout"),
        (["joint.fusion_layer=sum"], "joint.fusion_layer"),
        (["joint.epochs=0"], "joint.epochs"),
    ],
)
def test_bad_joint_settings_stop_before_training(override, key, tmp_path):
    from mmfusion.commands.train import train

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        train(compose_cfg(SHRINK_JOINT + override), tmp_path / "r")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_joint_defaults_keep_todays_behaviour():
    cfg = compose_cfg(shrink=False)
    assert cfg.joint.name == "none"
    lstm = compose_cfg(["joint=lstm"], shrink=False).joint
    assert (lstm.text_lstm_units, list(lstm.series_lstm_units), list(lstm.dense_units)) == (
        80,
        [52, 40, 25],
        [64, 32, 16],
    )
    assert lstm.sequence_length == compose_cfg(["joint=lstm"], shrink=False).model.text.sequence_length


def test_cli_refuses_a_bad_joint_setting_with_one_message(tmp_path):
    from helpers import run_cli

    r = run_cli(
        "train",
        "dataset=synthetic",
        "joint=lstm",
        "joint.modality_dropout=2",
        f"hydra.run.dir={tmp_path / 'r'}",
        cwd=tmp_path,
    )
    assert r.returncode != 0 and "joint.modality_dropout" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r" / "COMPLETE").exists()
