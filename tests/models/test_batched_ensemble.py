"""Batched ensembles (models/batched.py, `model.<m>.batched_ensemble=true`): the K members trained in one
Keras model predict the mean of their own probabilities, differ from each other, save and reload
exactly, and resume from an epoch checkpoint exactly as if never interrupted. Tiny networks and data."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import assert_resume_is_exact, compose_cfg

from mmfusion.models import batched, build_model

TEXTS = [
    "pump leak at valve",
    "valve stuck open now after the long shift",
    "software crash on reboot",
    "pump leak near valve seal",
]
TEXT_KEYS = [
    "ensemble=3",
    "batched_ensemble=true",
    "epochs=3",
    "token_dropout=0.1",
    "dropout=0.2",
    "early_stopping_patience=1",
]


def text_data():
    return np.asarray(TEXTS * 6, dtype=object), np.arange(24) % 4


def series_data(n=24, length=10, variables=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, length, variables)) + y[:, None, None], y


def text_cfg(extra=()):
    return compose_cfg([f"model.text.{k}" for k in [*TEXT_KEYS, *extra]]).model.text


@pytest.fixture(scope="module")
def trained_text():
    """One batched text ensemble (3 members), trained once for the module."""
    x, y = text_data()
    keras.utils.set_random_seed(0)
    model = build_model("text", text_cfg(), 4)
    history = model.fit((x[:18], y[:18]), (x[18:], y[18:]))
    return model, history, x


def test_prediction_is_the_mean_of_the_members_probabilities(trained_text):
    model, history, x = trained_text
    members = batched.unstack(model.network)
    assert len(members) == 3
    tokens = model.transform(x)  # full length: the members see no trimming here
    member_probs = [np.asarray(m.predict(tokens, verbose=0), dtype=np.float64) for m in members]
    probs = model.predict_proba(x)
    np.testing.assert_allclose(probs, np.mean(member_probs, axis=0), rtol=1e-5, atol=1e-7)
    # the saved network (trimmed batches, then the average layer) gives the same mean: trimming is exact
    np.testing.assert_allclose(
        np.asarray(model.network.predict(tokens, verbose=0)), np.mean(member_probs, axis=0), rtol=1e-5, atol=1e-6
    )
    # a member is the modality's usual network: its weights in a fresh one predict the same
    plain = model.build_network()  # fixed-length input, no augmentation layer (which has no weights)
    plain.set_weights(members[0].get_weights())
    np.testing.assert_allclose(np.asarray(plain.predict(tokens, verbose=0)), member_probs[0], rtol=1e-5, atol=1e-6)
    assert {"loss", "val_loss", "accuracy", "val_member2_loss", "member0_loss"} <= set(history)


def test_members_differ(trained_text):
    model, _, x = trained_text
    members = batched.unstack(model.network)
    embeddings = [m.get_weights()[0] for m in members]
    assert all(not np.allclose(embeddings[i], embeddings[j]) for i in range(3) for j in range(i + 1, 3))
    tokens = model.transform(x)
    p = [np.asarray(m.predict(tokens, verbose=0)) for m in members]
    assert not np.allclose(p[0], p[1]) and not np.allclose(p[1], p[2])


def test_save_and_load_are_exact(trained_text, tmp_path):
    model, _, x = trained_text
    model.save(tmp_path)
    again = build_model("text", text_cfg(), 4).load(tmp_path)
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(again.predict_log_proba(x), model.predict_log_proba(x))


def test_member_k_starts_from_sequential_member_ks_weights():
    """Same seeding as the sequential ensemble: member k's initial weights are sequential member k's."""
    cfg = compose_cfg(["model.series.ensemble=3", "model.series.ensemble_seed=5"]).model.series
    x, _ = series_data()
    model = build_model("series", cfg, 3)
    model.fit_preprocessing(x)
    keras.utils.set_random_seed(1)
    _, _, members = batched.build(model, cfg)
    from mmfusion.models import recipes

    keras.utils.set_random_seed(1)
    for k in range(3):
        recipes.seed_member(cfg, k)
        single = model.build_network()
        for a, b in zip(single.get_weights(), members[k].get_weights()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.e2e  # three trainings each
@pytest.mark.parametrize("modality", ["series", "text"])
def test_resume_from_a_checkpoint_is_exact(tmp_path, monkeypatch, modality):
    """Without random layers: their random streams are not in an epoch checkpoint (models/checkpoint.py
    saves weights and optimizer state), for batched and sequential ensembles alike."""
    if modality == "text":
        x, y = text_data()
        cfg, q = text_cfg(["epochs=4", "early_stopping_patience=2", "token_dropout=0.0", "dropout=0.0"]), 4
    else:
        x, y = series_data()
        keys = ["ensemble=2", "batched_ensemble=true", "epochs=4", "weight_decay=0.01", "clipnorm=1.0"]
        keys += ["lr_schedule=reduce_on_plateau", "lr_patience=1", "early_stopping_patience=2"]
        cfg, q = compose_cfg([f"model.series.{k}" for k in keys]).model.series, 3

    assert_resume_is_exact(tmp_path, monkeypatch, modality, cfg, q, (x, y), batched.SUBDIR)


def test_cpu_thread_default_gives_way_to_the_environment(monkeypatch):
    """runtime/devices.py: one inter-op thread on a CPU-only machine, unless TF_NUM_INTEROP_THREADS is set."""
    import tensorflow as tf

    from mmfusion.runtime import devices

    calls = []
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", calls.append)
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    devices.threads(cpu_only=True)
    devices.threads(cpu_only=False)  # a GPU machine keeps TensorFlow's pools
    devices.threads(cpu_only=True, grouped=True)  # so does a run with a grouped ensemble
    monkeypatch.setenv("TF_NUM_INTEROP_THREADS", "2")
    devices.threads(cpu_only=True)
    assert calls == [devices.CPU_INTER_OP_THREADS]


def test_a_grouped_ensemble_keeps_tensorflows_inter_op_pool():
    from mmfusion.config import compose_config
    from mmfusion.runtime import devices

    grouped = ["model.text.grouped_lstm=true", "model.text.ensemble=3"]
    assert devices.grouped_ensembles(compose_cfg(grouped))
    assert not devices.grouped_ensembles(compose_cfg(["model.text.grouped_lstm=true"]))  # one network: nothing to group
    assert not devices.grouped_ensembles(compose_cfg(["model.text.ensemble=3"]))
    assert not devices.grouped_ensembles(compose_config(["model/text=tfidf_logreg"]))  # no such key
