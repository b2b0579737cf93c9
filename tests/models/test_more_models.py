"""The models beside the paper's LSTMs: tiny fit / predict / save / load round trips, and one run."""

import sys

import numpy as np
import pytest
from helpers import SHRINK_SYNTHETIC, compose_cfg

from mmfusion.errors import ConfigError
from mmfusion.models import build_model, load_model

Q = 3
TINY = {  # small networks, two epochs; shrink=False because these configs lack the LSTM-only keys
    ("series", "gru"): ["model.series.gru_units=[6,4]", "model.series.dense_units=[6]"],
    ("series", "bilstm"): ["model.series.lstm_units=[6,4]", "model.series.dense_units=[6]"],
    ("series", "conv1d"): [
        "model.series.filters=[6,6]",
        "model.series.kernel_sizes=[5,3]",
        "model.series.dense_units=[6]",
    ],
    ("series", "minirocket"): ["model.series.n_kernels=84", "model.series.max_iter=200"],
    ("text", "bilstm"): ["model.text.embedding_dim=8", "model.text.lstm_units=6", "model.text.dense_units=[6]"],
    ("text", "tfidf_logreg"): [],
}


def tiny_data(modality: str, n: int = 24):
    rng = np.random.default_rng(0)
    y = np.arange(n) % Q
    if modality == "series":  # (n, T=12, F=4): the class shifts one variable
        x = rng.normal(size=(n, 12, 4))
        x[:, :, 0] += y[:, None]
        return x, y
    words = [["pump", "leak", "valve"], ["motor", "overheat", "fan"], ["sensor", "drift", "offset"]]
    texts = [" ".join(rng.choice(words[k], size=3)) + f" unit {i}" for i, k in enumerate(y)]
    return np.asarray(texts, dtype=object), y


def model_cfg(modality: str, name: str, extra=()):
    overrides = [f"model/{modality}={name}", f"model.{modality}.epochs=2", *TINY[(modality, name)], *extra]
    return compose_cfg(overrides, shrink=False).model[modality]


def round_trip(modality, name, tmp_path, num_classes=Q):
    cfg = model_cfg(modality, name)
    x, y = tiny_data(modality)
    model = build_model(modality, cfg, num_classes)
    history = model.fit((x, y), (x[:6], y[:6]))
    p = model.predict_proba(x)
    assert p.shape == (len(x), num_classes) and p.dtype == np.float64
    assert np.allclose(p.sum(axis=1), 1.0) and (p >= 0).all()
    model.save(tmp_path / "models")
    again = load_model(modality, cfg, num_classes, tmp_path / "models").predict_proba(x)
    return model, history, p, again


@pytest.mark.parametrize(
    "modality,name", [("series", "gru"), ("series", "bilstm"), ("series", "conv1d"), ("text", "bilstm")]
)
def test_keras_models_round_trip(modality, name, tmp_path):
    _, history, p, again = round_trip(modality, name, tmp_path)
    assert len(history["loss"]) == 2 and len(history["val_loss"]) == 2
    assert {f.name for f in (tmp_path / "models").iterdir()} == {f"{modality}.keras", f"{modality}.json"}
    np.testing.assert_allclose(again, p, rtol=1e-5, atol=1e-6)


def test_recurrent_layers_keep_the_cudnn_form():
    import keras

    from mmfusion.models.series_nets import build_series_bilstm, build_series_gru
    from mmfusion.models.text_nets import build_text_bilstm

    layers = [
        *build_series_gru((12, 4), Q).layers,
        *build_series_bilstm((12, 4), Q).layers,
        *build_text_bilstm(50, 10, Q).layers,
    ]
    recurrent = [getattr(layer, "forward_layer", layer) for layer in layers]
    recurrent = [r for r in recurrent if isinstance(r, (keras.layers.GRU, keras.layers.LSTM))]
    assert len(recurrent) == 5
    for r in recurrent:
        assert r.activation.__name__ == "tanh" and r.recurrent_activation.__name__ == "sigmoid"
        assert r.recurrent_dropout == 0 and not r.unroll


def test_tfidf_logreg_round_trip_gives_identical_probabilities(tmp_path):
    model, history, p, again = round_trip("text", "tfidf_logreg", tmp_path)
    assert history == {}
    assert {f.name for f in (tmp_path / "models").iterdir()} == {"text.json", "text.npz"}
    np.load(tmp_path / "models" / "text.npz", allow_pickle=False)  # plain arrays, no pickled objects
    np.testing.assert_array_equal(again, p)
    assert (p.argmax(axis=1) == np.arange(len(p)) % Q).mean() > 0.9  # the class words are learned
    assert {v.analyzer for v in model.vectorizers} == {"word", "char_wb"}


def test_tfidf_logreg_keeps_a_column_for_a_class_missing_from_training(tmp_path):
    _, _, p, again = round_trip("text", "tfidf_logreg", tmp_path, num_classes=Q + 1)
    assert (p[:, Q] == 0).all()
    np.testing.assert_array_equal(again, p)


@pytest.mark.slow  # numba compiles aeon's kernels on first use (~45 s; cached afterwards: ~7 s)
@pytest.mark.aeon  # `make test-aeon`: in .venv-aeon, where aeon is installed
def test_minirocket_round_trip_gives_identical_probabilities(tmp_path):
    pytest.importorskip("aeon")
    model, history, p, again = round_trip("series", "minirocket", tmp_path)
    assert history == {} and (model.length, model.variables) == (12, 4)
    assert {f.name for f in (tmp_path / "models").iterdir()} == {"series.json", "series.npz"}
    np.testing.assert_array_equal(again, p)


def test_minirocket_without_aeon_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon.transformations.collection.convolution_based", None)
    with pytest.raises(ConfigError, match=r"pip install mmfusion\[minirocket\]"):
        build_model("series", model_cfg("series", "minirocket"), Q)


def test_a_run_with_gru_series_and_tfidf_text(tmp_path):
    import pandas as pd

    from mmfusion.commands.train import train

    overrides = [
        *SHRINK_SYNTHETIC,
        "model/series=gru",
        "model/text=tfidf_logreg",
        "dataset.val_fraction=0.2",
        "model.series.epochs=2",
        *TINY[("series", "gru")],
    ]
    result = train(compose_cfg(overrides, shrink=False), tmp_path)
    assert set(result["accuracy"]) == {"series", "text", "fused"}
    for name in (
        "models/series.keras",
        "models/series.json",
        "models/text.json",
        "models/text.npz",
        "history/series.csv",
        "history/text.csv",
        "figures/training_text.png",
        "COMPLETE",
    ):
        assert (tmp_path / name).is_file(), name
    assert len(pd.read_csv(tmp_path / "history" / "series.csv")) == 2
    assert pd.read_csv(tmp_path / "history" / "text.csv").empty  # no epochs: a header-only file
