"""Grouped LSTM (models/grouped.py, `model.series.grouped_lstm=true`): the batched series ensemble with the
members' LSTMs in one recurrent loop per depth. Members start from the sequential members' weights, stay
exactly independent (outputs and gradients), train as the per-member batched model does (AdamW per
element), save and reload exactly, resume from checkpoints, and fall back for other networks. The text
network (embedding, masked padding, clipnorm per member): tests/models/test_grouped_text.py."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_resume_is_exact, compose_cfg, weights_after_steps

from mmfusion.models import batched, build_model, grouped, recipes

KEYS = ["ensemble=3", "grouped_lstm=true", "jitter=0.05", "time_shift=1", "dropout=0.1", "label_smoothing=0.05"]


def series_data(n=24, length=10, variables=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, length, variables)) + y[:, None, None], y


def series_cfg(extra=()):
    return compose_cfg([f"model.series.{k}" for k in [*KEYS, *extra]]).model.series


def built(cfg, seed=1):
    """(model with preprocessing fitted, members built the batched way, their Grouped model, x)."""
    x, _ = series_data()
    model = build_model("series", cfg, 3)
    model.fit_preprocessing(x)
    keras.utils.set_random_seed(seed)
    _, _, members = batched.build(model, cfg)
    return (
        model,
        members,
        grouped.Grouped(members, batched.inputs(model, members)),
        model.transform(x).astype("float32"),
    )


@pytest.fixture(scope="module")
def group():
    return built(series_cfg(["ensemble_seed=5"]))


@pytest.fixture(scope="module")
def trained():
    """One grouped ensemble (3 members, early stopping per member), trained once for the module."""
    x, y = series_data()
    keras.utils.set_random_seed(0)
    model = build_model("series", series_cfg(["epochs=3", "early_stopping_patience=1", "weight_decay=1e-4"]), 3)
    history = model.fit((x[:18], y[:18]), (x[18:], y[18:]))
    return model, history, x


def test_member_k_starts_from_sequential_member_ks_weights(group):
    model, members, g, _ = group
    cfg = model.cfg
    keras.utils.set_random_seed(1)
    for k in range(3):
        recipes.seed_member(cfg, k)
        single = model.build_network()
        view = g.views[k].get_weights()  # the LSTM part read back from the stacked variables
        assert len(view) == len(single.get_weights())
        for a, b in zip(single.get_weights(), view):
            np.testing.assert_array_equal(a, b)
        lstm = [layer for layer in single.layers if isinstance(layer, keras.layers.LSTM)]
        for d, layer in enumerate(lstm):
            np.testing.assert_array_equal(g.layer.kernels[d].numpy()[k], layer.get_weights()[0])
            np.testing.assert_array_equal(g.layer.recurrent_kernels[d].numpy()[k], layer.get_weights()[1])


def test_grouped_outputs_are_the_members_outputs(group):
    _, members, g, xs = group
    stacked = np.asarray(g.training(xs, training=False))
    for k, member in enumerate(members):
        np.testing.assert_allclose(stacked[:, k], np.asarray(member(xs, training=False)), rtol=1e-5, atol=1e-6)


def test_members_are_exactly_independent():
    """Perturbing member 1's weights leaves member 0's output bit for bit; member 0's loss has exactly zero
    gradient on every other member's slices and head."""
    _, members, g, xs = built(series_cfg(["ensemble_seed=5"]), seed=3)
    before = np.asarray(g.training(xs, training=False))
    for var in g.layer.weights:
        value = var.numpy().copy()
        value[1] += np.random.default_rng(0).normal(size=value[1].shape).astype(value.dtype)
        var.assign(value)
    after = np.asarray(g.training(xs, training=False))
    np.testing.assert_array_equal(after[:, 0], before[:, 0])
    np.testing.assert_array_equal(after[:, 2], before[:, 2])
    assert not np.allclose(after[:, 1], before[:, 1])
    variables = g.training.trainable_variables
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.math.log(g.training(xs, training=True)[:, 0, 0]))
    grads = dict(zip([id(v) for v in variables], tape.gradient(loss, variables)))
    for var in g.layer.weights:
        grad = np.asarray(grads[id(var)])
        assert np.any(grad[0] != 0)
        assert np.all(grad[1:] == 0)
    for k in (1, 2):
        for var in members[k].trainable_variables:  # the other members' dense heads
            if id(var) in grads:
                assert grads[id(var)] is None or np.all(np.asarray(grads[id(var)]) == 0)


def test_training_steps_match_the_per_member_batched_model():
    """AdamW and weight decay act per element: two optimizer steps of the grouped model give the same
    weights as two steps of the per-member batched model (no random layers, same batches)."""
    cfg = series_cfg(["jitter=0.0", "time_shift=0", "dropout=0.0", "weight_decay=0.01", "lr=0.01"])
    x, y = series_data()
    model = build_model("series", cfg, 3)
    model.fit_preprocessing(x)
    xs, yt = model.transform(x).astype("float32"), recipes.targets(cfg, y, 3)
    for a, b in zip(*weights_after_steps(model, cfg, xs, yt, 2)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_gpu_layout_is_the_same_function(group):
    """The wide layout for cuDNN (block-diagonal kernels of K*u units, models/grouped.py) run by a plain
    Keras LSTM on the CPU gives the grouped loop's outputs; its off-block entries are exact zeros."""
    _, _, g, xs = group
    layer = g.layer
    inputs = np.stack([xs, xs[::-1], xs * 0.5], axis=2)  # n x T x K x v, a different series per member
    reference = np.asarray(layer(inputs))
    h = inputs.reshape(inputs.shape[0], inputs.shape[1], -1)
    for d, u in enumerate(layer.units):
        kernel, recurrent, bias = (np.asarray(w) for w in layer.wide_weights(d))
        blocks = kernel.reshape(3, -1, 4, 3, u)
        for k in range(3):
            for other in range(3):
                if other != k:
                    assert np.all(blocks[k, :, :, other] == 0)
        wide = keras.layers.LSTM(3 * u, return_sequences=d < len(layer.units) - 1)
        wide.build(h.shape)
        wide.set_weights([kernel, recurrent, bias])
        h = np.asarray(wide(h))
    np.testing.assert_allclose(h.reshape(reference.shape), reference, rtol=1e-5, atol=1e-6)


def test_prediction_save_and_load(trained, tmp_path):
    model, history, x = trained
    members = batched.unstack(model.network)
    assert len(members) == 3
    xs = model.transform(x)
    probs = [np.asarray(m.predict(xs, verbose=0), dtype=np.float64) for m in members]
    np.testing.assert_allclose(model.predict_proba(x), np.mean(probs, axis=0), rtol=1e-5, atol=1e-7)
    assert not np.allclose(probs[0], probs[1])
    assert {"loss", "val_loss", "accuracy", "member0_loss", "val_member2_loss"} <= set(history)
    model.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series.json", "series.keras"]
    again = build_model("series", model.cfg, 3).load(tmp_path)
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(again.predict_log_proba(x), model.predict_log_proba(x))


def test_other_networks_fall_back_and_clipnorm_groups(group, caplog):
    model = group[0]
    _, _, members = batched.build(model, model.cfg)  # not grouped yet
    assert grouped.why_not(members) is None
    gru = keras.Sequential([keras.Input((10, 3)), keras.layers.GRU(4), keras.layers.Dense(3)])
    assert "LSTM" in grouped.why_not([gru])
    x, y = series_data()
    cfg = series_cfg(["clipnorm=1.0", "epochs=1", "jitter=0.0", "time_shift=0"])
    with caplog.at_level(logging.INFO, logger="mmfusion.models.batched"):
        model = build_model("series", cfg, 3)
        model.fit((x, y))
    assert any("grouped LSTM (one recurrent loop" in r.getMessage() for r in caplog.records)
    assert not any("not applied" in r.getMessage() for r in caplog.records)
    assert model.predict_proba(x).shape == (24, 3)


@pytest.mark.e2e  # three trainings
def test_resume_from_a_checkpoint_is_exact(tmp_path, monkeypatch):
    """Without random layers (their random streams are not in an epoch checkpoint)."""
    x, y = series_data()
    keys = ["ensemble=2", "epochs=4", "weight_decay=0.01", "jitter=0.0", "time_shift=0", "dropout=0.0"]
    keys += ["label_smoothing=0.0", "lr_schedule=reduce_on_plateau", "lr_patience=1", "early_stopping_patience=2"]
    cfg = series_cfg(keys)
    assert_resume_is_exact(tmp_path, monkeypatch, "series", cfg, 3, (x, y), grouped.SUBDIR)
