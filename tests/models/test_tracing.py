"""Graph tracing, a fixed cost of every network (seconds each on a CPU): a training step is traced once,
and an ensemble predicts through one graph instead of one per member."""

from __future__ import annotations

import keras
import numpy as np
from helpers import compose_cfg

from mmfusion.models import build_model, training

TEXTS = ["pump leak at valve", "software crash on reboot", "valve stuck open now", "pump seal leak again"]


def data(n=24):
    return np.asarray((TEXTS * n)[:n], dtype=object), np.arange(n) % 4


def count_calls(monkeypatch, cls, name: str) -> list:
    """Python calls of cls.name: inside a tf.function they happen only while it is traced."""
    calls = []
    original = getattr(cls, name)

    def counted(self, *a, **kw):
        calls.append(self)
        return original(self, *a, **kw)

    monkeypatch.setattr(cls, name, counted)
    return calls


def test_a_training_step_is_traced_once(monkeypatch):
    # Keras builds the optimizer's slots inside the first traced step unless they exist; a tf.function
    # that creates variables on its first call is traced a second time
    cfg = compose_cfg(["model.text.epochs=2"]).model.text
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    network = keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="probabilities")(inputs))
    training.compile_network(network, cfg, 24)
    traced = count_calls(monkeypatch, type(network), "train_step")
    x, y = np.random.default_rng(0).normal(size=(24, 5)), np.arange(24) % 4
    network.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert len(traced) == 1


def test_an_ensemble_predicts_through_one_graph(monkeypatch):
    cfg = compose_cfg(["model.text.epochs=1", "model.text.ensemble=3"]).model.text
    x, y = data()
    keras.utils.set_random_seed(0)
    model = build_model("text", cfg, 4)
    model.fit((x, y))
    members = [m for m in model.network.layers if isinstance(m, keras.Model)]
    assert len(members) == 3
    traced = count_calls(monkeypatch, keras.Model, "predict_step")
    first = model.predict_log_proba(x[:7])
    model.predict_log_proba(x[:19])  # another batch shape
    # one trace per distinct batch shape (Keras then generalises), not one per member and shape
    assert len(traced) <= 2 and len({id(m) for m in traced}) == 1
    tokens = model.transform(x[:7])
    mean = np.mean([np.asarray(m.predict(tokens, verbose=0), dtype=np.float64) for m in members], axis=0)
    np.testing.assert_allclose(np.exp(first), mean, rtol=1e-5, atol=1e-7)
