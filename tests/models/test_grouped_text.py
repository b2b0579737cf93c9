"""Grouped LSTM for the text network (`model.text.grouped_lstm=true`, models/grouped.py): the members'
embeddings feed one recurrent loop that keeps each row's state over its padding, as the Keras LSTM's mask
does; `clipnorm` clips each member's slice of a stacked variable by its own norm (recipes.MemberClipping),
so training steps equal the per-member batched model's; a trained grouped ensemble saves, reloads and
resumes exactly."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from helpers import assert_resume_is_exact, compose_cfg, weights_after_steps

from mmfusion.models import batched, build_model, grouped, recipes

TEXTS = [
    "pump leak near the valve",
    "motor failure with a loud noise in the bearing",
    "software crash after update",
    "",  # no token at all: every step is padding
    "leak leak oil on the floor of the station today again and again",
] * 6
Y = np.arange(len(TEXTS)) % 3


def text_cfg(extra=()):
    keys = ["ensemble=3", "grouped_lstm=true", "sequence_length=12", "lstm_units=6", "embedding_dim=5"]
    return compose_cfg([f"model.text.{k}" for k in [*keys, *extra]]).model.text


def prepared(cfg):
    model = build_model("text", cfg, 3)
    model.fit_preprocessing(TEXTS)
    return model, model.transform(TEXTS)


def built(cfg, seed=1):
    model, tokens = prepared(cfg)
    keras.utils.set_random_seed(seed)
    training, _, members = batched.build(model, cfg)
    return model, training, members, grouped.Grouped(members, batched.inputs(model, members)), tokens


def test_outputs_equal_the_masked_keras_members():
    """Same weights, padded texts of every length (an empty one too): the grouped loop's probabilities are
    the batched members' (a Keras LSTM over the embedding's mask), and its members are not copies."""
    _, training, _, g, tokens = built(text_cfg(["token_dropout=0.1"]))
    assert np.any(tokens == 0) and np.any(tokens[:, -1] == 0)
    expected = np.asarray(training(tokens, training=False))
    got = np.asarray(g.training(tokens, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got[:, 0], got[:, 1])


def test_padding_does_not_change_a_text_s_output():
    """More padding after a text leaves its output unchanged (the state is kept over masked steps)."""
    model, _, _, g, tokens = built(text_cfg())
    wider = np.zeros((tokens.shape[0], tokens.shape[1] + 7), dtype=tokens.dtype)
    wider[:, : tokens.shape[1]] = tokens
    short = np.asarray(g.layer(*_stacked(g, tokens)))
    long = np.asarray(g.layer(*_stacked(g, wider)))
    np.testing.assert_allclose(long, short, rtol=1e-5, atol=1e-6)


def _stacked(g, tokens):
    """(the members' embedded tokens n x T x K x e, the padding mask n x T)."""
    embedded = [np.asarray(front[0](tokens)) for front in g.front]
    return np.stack(embedded, axis=2), tokens != 0


@pytest.mark.parametrize("per_member", [True, False])
def test_clipnorm_per_member_matches_the_per_member_model(per_member, monkeypatch):
    """SGD (Adam's update barely depends on a gradient's scale) and a clip norm every gradient exceeds:
    three steps of the grouped model give the per-member batched model's weights only when each member's
    slice is clipped by its own norm; clipping the stacked variable as one (per_member=False) does not."""
    if not per_member:  # Keras' own clipping, whole-variable norms
        monkeypatch.setattr(recipes, "MemberClipping", type("NoMemberClipping", (), {}))
    cfg = text_cfg(["optimizer=sgd", "lr=0.5", "clipnorm=0.0001", "token_dropout=0.0"])
    model, tokens = prepared(cfg)
    weights = weights_after_steps(model, cfg, tokens, recipes.targets(cfg, Y, 3), 3)
    gap = max(float(np.abs(a - b).max()) for a, b in zip(*weights))
    if per_member:
        assert gap < 1e-7
    else:
        assert gap > 1e-6


@pytest.mark.e2e  # trains an ensemble for two epochs
def test_a_grouped_text_ensemble_trains_saves_and_reloads(tmp_path, caplog):
    cfg = text_cfg(["epochs=2", "clipnorm=1.0", "token_dropout=0.1"])
    keras.utils.set_random_seed(0)
    model = build_model("text", cfg, 3)
    with caplog.at_level("INFO", logger="mmfusion.models.batched"):
        history = model.fit((TEXTS, Y))
    assert any("text ensemble: 3 members, grouped LSTM" in r.getMessage() for r in caplog.records)
    assert len(history["loss"]) == 2
    members = batched.unstack(model.network)
    assert len(members) == 3
    probs = model.predict_proba(TEXTS)
    model.save(tmp_path)
    again = build_model("text", cfg, 3).load(tmp_path)
    np.testing.assert_array_equal(again.predict_proba(TEXTS), probs)


@pytest.mark.e2e  # three trainings
def test_resume_from_a_checkpoint_is_exact(tmp_path, monkeypatch):
    keys = ["epochs=3", "weight_decay=0.01", "clipnorm=1.0", "token_dropout=0.0", "lr_schedule=cosine"]
    assert_resume_is_exact(tmp_path, monkeypatch, "text", text_cfg(keys), 3, (TEXTS, Y), grouped.SUBDIR)
