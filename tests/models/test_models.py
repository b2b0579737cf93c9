"""The paper's two networks as built from config, and word2vec-initialised embeddings."""

import numpy as np
import pytest
from helpers import compose_cfg

from mmfusion.models import build_model
from mmfusion.models.preprocessing import tokenize
from mmfusion.models.series_lstm import build_series_lstm
from mmfusion.models.text_lstm import build_text_lstm


def test_series_network_has_the_papers_layers():
    import keras

    model = build_series_lstm((500, 52), 4)
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.units for layer in lstms] == [52, 40, 25]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == 4 and dense[-1].units == 4 and dense[-1].activation.__name__ == "softmax"
    for layer in lstms:  # the form cuDNN accepts
        assert layer.activation.__name__ == "tanh" and layer.recurrent_dropout == 0 and not layer.unroll


def test_text_network_has_the_papers_layers():
    import keras

    model = build_text_lstm(100, 20, 4)
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.LSTM)] == [80]
    assert len([layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]) == 4


def test_tokenize_matches_text_vectorization():
    assert tokenize(["Pump-leak, at Valve 3!"]) == [["pumpleak", "at", "valve", "3"]]


@pytest.mark.parametrize("trainable", [True, False])
def test_word2vec_initialises_the_embedding_from_training_texts(trainable):
    cfg = compose_cfg(["model.text.embedding=word2vec", f"model.text.trainable_embedding={trainable}"]).model.text
    texts = np.asarray(["pump leak at valve", "valve stuck open", "software crash on reboot"] * 10, dtype=object)
    model = build_model("text", cfg, 3)
    model.fit_preprocessing(texts)
    matrix = model.embedding_matrix()
    assert matrix.shape == (len(model.vocabulary), cfg.embedding_dim)
    assert not matrix[0].any()  # padding row stays zero
    assert np.abs(matrix[model.vocabulary.index("valve")]).sum() > 0
    history = model.fit((texts, np.arange(30) % 3))
    weights = model.network.get_layer("embedding").get_weights()[0]
    assert np.allclose(weights, matrix) != trainable  # frozen vectors stay, trainable ones move
    assert len(history["loss"]) == cfg.epochs
