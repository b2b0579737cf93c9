"""The joint network with the modality models' training recipe (issue 22): the recipe keys reach each
compiled member, an ensemble of seeded joint networks saves and reloads exactly, the borrowed values of
joint=lstm_tuned are the modality recipes', and hparams_search=joint_lstm searches val/joint/loss."""

import importlib.util
import json

import helpers
import keras
import numpy as np
import pytest
import yaml
from helpers import compose_cfg, run_cli

from mmfusion.errors import ConfigError
from mmfusion.models import recipes
from mmfusion.models.joint import JointLSTM
from mmfusion.probability import nll
from mmfusion.rundir.files import METRICS, PREDICTIONS, load_npz
from mmfusion.schemas.check.objective import check_objective

SHRINK_JOINT = [*helpers.SHRINK_JOINT, "evaluation.bootstrap=0"]
RECIPE = [
    "joint.ensemble=2",
    "joint.weight_decay=1e-3",
    "joint.clipnorm=0.5",
    "joint.label_smoothing=0.1",
    "joint.lr_schedule=cosine",
    "joint.class_weight=balanced",
    "joint.token_dropout=0.1",
    "joint.jitter=0.05",
    "joint.time_shift=1",
    "objective.metric=val/joint/loss",
    "objective.direction=minimize",
]
needs_optuna = pytest.mark.skipif(
    importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None,
    reason="needs the tune extra: pip install 'mmfusion[tune]'",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny run with a 2-member joint ensemble and every recipe key set; the compiled members kept."""
    from mmfusion.commands.train import train

    compiled = []
    fit_network = JointLSTM._fit_network

    def spy(self, *args, **kwargs):
        network, hist = fit_network(self, *args, **kwargs)
        compiled.append(network)
        return network, hist

    out = tmp_path_factory.mktemp("joint_recipe") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(JointLSTM, "_fit_network", spy)
        result = train(compose_cfg(SHRINK_JOINT + RECIPE), out)
    return out, compiled, result


def test_the_recipe_reaches_each_compiled_member(run):
    _, compiled, _ = run
    assert len(compiled) == 2
    for network in compiled:
        opt = network.optimizer
        assert isinstance(opt, keras.optimizers.AdamW)  # weight_decay > 0 with adam
        assert opt.weight_decay == pytest.approx(1e-3) and opt.clipnorm == pytest.approx(0.5)
        assert opt.get_config()["learning_rate"]["class_name"] == "CosineDecay"
        assert isinstance(network.loss, keras.losses.CategoricalCrossentropy)
        assert network.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
        names = {layer.name for layer in network.layers}
        assert {"token_dropout", "jitter", "time_shift"} <= names  # one per branch input


def test_the_ensemble_saves_and_reloads_with_identical_predictions(run):
    from omegaconf import OmegaConf

    from mmfusion.commands.train import joint_inputs
    from mmfusion.data import build_dataset
    from mmfusion.models import load_model
    from mmfusion.models.batched import unstack

    out, _, _ = run
    cfg = OmegaConf.load(out / "config.yaml")
    pred = load_npz(out / PREDICTIONS)
    model = load_model("joint", cfg.joint, 4, out / "models")
    members = unstack(model.network)
    assert len(members) == 2  # one joint.keras holding both members
    test = build_dataset(cfg.dataset).splits["test"]
    x = model.inputs(joint_inputs(test))
    np.testing.assert_allclose(model.predict_proba(joint_inputs(test)), pred["proba_test_joint"], rtol=0, atol=1e-6)
    each = [np.asarray(m.predict(x, verbose=0), dtype=np.float64) for m in members]
    np.testing.assert_allclose(np.mean(each, axis=0), pred["proba_test_joint"], rtol=0, atol=1e-6)
    # the members differ: seeded apart (initial weights, batches, modality dropout, augmentation draws)
    assert not np.allclose(each[0], each[1], atol=1e-4)
    w0, w1 = (np.concatenate([np.ravel(w) for w in m.get_weights()]) for m in members)
    assert w0.shape == w1.shape and not np.allclose(w0, w1)


def test_an_interrupted_ensemble_resumes_in_its_second_member(run, tmp_path, monkeypatch):
    """Stopped as member 1's second epoch begins (after 2 + 2 modality epochs and member 0's 2), the rerun
    loads member 0 from its checkpoint and trains member 1's last epoch only. Member 0 (whose history the
    run keeps) comes back exactly; the resumed epoch's augmentation draws are not replayed (Keras' seed
    generators are not in the checkpoint), so the probabilities agree closely, not bit for bit."""
    from helpers import stop_at_epoch

    from mmfusion.commands.train import train
    from mmfusion.runtime import interrupt

    ref, _, _ = run
    calls = stop_at_epoch(monkeypatch, 2 + 2 + 2 + 2)
    with pytest.raises(interrupt.Interrupted):
        train(compose_cfg(SHRINK_JOINT + RECIPE), tmp_path / "run")
    ckpt = tmp_path / "run" / "checkpoints" / "joint"
    assert sorted(p.name for p in ckpt.iterdir()) == ["member0", "member1"]
    assert json.loads((ckpt / "member1" / "training_metadata.json").read_text())["epoch"] == 1
    train(compose_cfg(SHRINK_JOINT + RECIPE), tmp_path / "run")
    assert calls[8:] == [1]  # the rerun trained member 1's second epoch only
    assert (ref / "history/joint.csv").read_text() == (tmp_path / "run/history/joint.csv").read_text()
    a, b = load_npz(ref / PREDICTIONS), load_npz(tmp_path / "run" / PREDICTIONS)
    np.testing.assert_allclose(a["proba_test_joint"], b["proba_test_joint"], rtol=0, atol=1e-3)


def test_the_search_objective_is_the_joint_validation_loss(run):
    out, _, result = run
    pred = load_npz(out / PREDICTIONS)
    assert result["objective"] == pytest.approx(nll(pred["y_val"], pred["proba_val_joint"]))
    record = json.loads((out / METRICS).read_text())["objective"]
    assert record["metric"] == "val/joint/loss" and record["direction"] == "minimize"
    with pytest.raises(ConfigError, match="not trained"):  # no joint network in the run: refused before training
        check_objective(compose_cfg(["dataset.val_fraction=0.25", "objective.metric=val/joint/loss"]))


def test_the_default_joint_keeps_its_plain_training():
    c = compose_cfg(["joint=lstm"]).joint
    assert type(recipes.make_optimizer(c, 10)) is keras.optimizers.Adam
    assert recipes.make_optimizer(c, 10).clipnorm is None
    assert recipes.make_loss(c) == "sparse_categorical_crossentropy"
    assert recipes.ensemble_size(c) == 1 and recipes.class_weights(c, [0, 1], 2) is None
    net = keras.Sequential([keras.Input((2,), name="series"), keras.layers.Dense(2)])
    assert JointLSTM(c, 2).augmented(net) is net  # no augmentation layers in front


def test_lstm_tuned_borrows_the_modality_recipes_values():
    j = compose_cfg(["joint=lstm_tuned"]).joint
    text = compose_cfg(["model/text=lstm_tuned"]).model.text
    series = compose_cfg(["model/series=lstm_tuned"]).model.series
    assert j.token_dropout == text.token_dropout and j.clipnorm == text.clipnorm
    for key in ("jitter", "time_shift", "lr", "weight_decay", "dropout", "label_smoothing", "batch_size", "ensemble"):
        assert j[key] == series[key], key
    for key in ("epochs", "modality_dropout", "fusion_layer", "text_lstm_units", "series_lstm_units"):
        assert j[key] == compose_cfg(["joint=lstm"]).joint[key], key  # only the recipe changes


@needs_optuna
def test_the_joint_search_composes_and_searches_existing_keys():
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    with initialize_config_module(config_module="mmfusion.conf", version_base="1.3"):
        cfg = compose(
            config_name="config",
            overrides=["hparams_search=joint_lstm", "dataset.val_fraction=0.2"],
            return_hydra_config=True,
        )
    check_objective(cfg)
    assert cfg.joint.name == "lstm" and cfg.objective.metric == "val/joint/loss"
    for key in cfg.hydra.sweeper.params:
        assert key.startswith("joint.") and OmegaConf.select(cfg, key, default="<missing>") != "<missing>", key


@pytest.mark.slow
@needs_optuna
def test_two_trial_joint_search_runs(tmp_path):
    sweep = tmp_path / "sweep"
    shrink = [o for o in SHRINK_JOINT if o != "joint=lstm"] + [
        "joint.epochs=1",
        "model.text.epochs=1",
        "model.series.epochs=1",
    ]
    proc = run_cli(
        "train",
        "hparams_search=joint_lstm",
        "dataset=synthetic",
        "dataset.samples_per_class=16",
        "dataset.series_length=12",
        "dataset.series_variables=4",
        "model.text.embedding_dim=8",
        "model.text.lstm_units=8",
        "model.text.dense_units=[8,8,8]",
        "model.series.lstm_units=[8,6,4]",
        "model.series.dense_units=[8,8,8]",
        "hydra.sweeper.n_trials=2",
        *shrink,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert "joint.lr" in results["best_params"]
    values = [json.loads((sweep / str(i) / METRICS).read_text())["objective"]["value"] for i in (0, 1)]
    assert results["best_value"] == pytest.approx(min(values))  # a loss: minimised
    for i in (0, 1):
        pred = load_npz(sweep / str(i) / PREDICTIONS)
        assert values[i] == pytest.approx(nll(pred["y_val"], pred["proba_val_joint"]))
