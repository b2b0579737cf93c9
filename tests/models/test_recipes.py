"""Training recipes of the Keras networks (models/recipes.py, models/augment.py): the defaults train
exactly as before, each key changes what it says, and ensembles save and reload exactly."""

import keras
import numpy as np
import pytest
from helpers import compose_cfg

from mmfusion.config import validate
from mmfusion.errors import ConfigError
from mmfusion.models import build_model, recipes
from mmfusion.models.augment import RandomTimeShift, TokenDropout
from mmfusion.models.series_lstm import build_series_lstm


def series_data(n=24, length=10, variables=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, length, variables)) + y[:, None, None]
    return x, y


def text_data():
    texts = ["pump leak at valve", "valve stuck open now", "software crash on reboot", "pump leak near valve seal"]
    return np.asarray(texts * 6, dtype=object), np.arange(24) % 4


def test_defaults_train_exactly_like_the_plain_keras_recipe():
    """The paper's training (Adam at lr, sparse cross-entropy, no callbacks, the streamed batches of
    models/batches.py) gives the same numbers."""
    cfg = compose_cfg().model.series
    x, y = series_data()
    keras.utils.set_random_seed(3)
    model = build_model("series", cfg, 3)
    model.fit((x, y))
    ours = model.predict_proba(x)

    keras.utils.set_random_seed(3)
    plain = build_model("series", cfg, 3)
    plain.fit_preprocessing(x)
    batches = plain.batches(x, y, shuffle_seed=int(np.random.randint(2**31 - 1)))
    net = build_series_lstm((x.shape[1], x.shape[2]), 3, cfg.lstm_units, cfg.dense_units, cfg.dropout)
    net.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(cfg.lr)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    net.fit(batches, epochs=int(cfg.epochs), shuffle=False, verbose=0)
    plain.network = net
    np.testing.assert_array_equal(ours, plain.predict_proba(x))


def test_optimizer_loss_and_weights_follow_the_keys():
    cfg = compose_cfg(
        [
            "model.series.weight_decay=0.01",
            "model.series.clipnorm=1.0",
            "model.series.lr_schedule=cosine",
            "model.series.label_smoothing=0.1",
            "model.series.class_weight=balanced",
        ]
    ).model.series
    opt = recipes.make_optimizer(cfg, steps_per_epoch=5)
    assert isinstance(opt, keras.optimizers.AdamW) and opt.clipnorm == 1.0 and opt.weight_decay == 0.01
    assert isinstance(opt._learning_rate, keras.optimizers.schedules.CosineDecay)
    assert opt._learning_rate.decay_steps == 5 * cfg.epochs
    assert recipes.make_loss(cfg).get_config()["label_smoothing"] == 0.1
    np.testing.assert_array_equal(recipes.targets(cfg, [2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    # 6 samples: counts 3, 2, 1, none of class 3 -> 6 / (3 classes * count); an absent class weighs 1
    assert recipes.class_weights(cfg, [0, 0, 0, 1, 1, 2], 4) == {0: 6 / 9, 1: 1.0, 2: 2.0, 3: 1.0}
    default = compose_cfg().model.series
    assert type(recipes.make_optimizer(default)) is keras.optimizers.Adam
    assert recipes.make_loss(default) == "sparse_categorical_crossentropy"
    assert recipes.class_weights(default, [0, 1], 2) is None


def test_time_shift_moves_series_in_training_only():
    x = np.arange(2 * 6, dtype="float32").reshape(2, 6, 1)
    layer = RandomTimeShift(2, seed=1)
    np.testing.assert_array_equal(layer(x, training=False), x)
    shifted = np.asarray(layer(x, training=True))
    for row, out in zip(x[:, :, 0], shifted[:, :, 0]):
        # a shift by s: values of the same series, in order, the edge value repeated
        assert set(out) <= set(row) and np.all(np.diff(out) >= 0)
        s = int(np.sum(out == row[0]) - 1) or -int(np.sum(out == row[-1]) - 1)
        assert abs(s) <= 2


def test_token_dropout_uses_unk_and_never_touches_padding():
    tokens = np.array([[5, 6, 7, 8, 0, 0]] * 200, dtype="int32")
    out = np.asarray(TokenDropout(0.5, seed=1)(tokens, training=True))
    assert (out[:, 4:] == 0).all()  # padding stays, so the mask stays right-padded (cuDNN)
    changed = out[:, :4] != tokens[:, :4]
    assert (out[:, :4][changed] == 1).all() and 0.4 < changed.mean() < 0.6
    np.testing.assert_array_equal(TokenDropout(0.5)(tokens, training=False), tokens)


@pytest.mark.parametrize(
    "modality, keys",
    [
        (
            "series",
            [
                "ensemble=2",
                "jitter=0.1",
                "time_shift=2",
                "lr_schedule=reduce_on_plateau",
                "label_smoothing=0.1",
                "class_weight=balanced",
                "clipnorm=1.0",
                "weight_decay=0.001",
                "early_stopping_patience=1",
            ],
        ),
        (
            "text",
            ["ensemble=2", "token_dropout=0.2", "embedding=fasttext", "lr_schedule=cosine", "label_smoothing=0.1"],
        ),
    ],
)
def test_every_recipe_trains_and_an_ensemble_reloads_exactly(tmp_path, modality, keys):
    cfg = compose_cfg([f"model.{modality}.{k}" for k in keys]).model[modality]
    x, y = series_data() if modality == "series" else text_data()
    q = int(y.max()) + 1
    model = build_model(modality, cfg, q)
    history = model.fit((x[:18], y[:18]), (x[18:], y[18:]))
    assert "loss" in history and "val_loss" in history and history["accuracy"]
    probs = model.predict_proba(x)
    assert probs.shape == (len(x), q) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    members = [layer for layer in model.network.layers if isinstance(layer, keras.Model)]
    assert len(members) == 2  # the average of two independently seeded networks
    lstms = [layer for layer in model.network._flatten_layers() if isinstance(layer, keras.layers.LSTM)]
    assert lstms and all(  # recipes leave the LSTMs in the form cuDNN accepts
        layer.activation.__name__ == "tanh" and layer.recurrent_dropout == 0 and not layer.unroll for layer in lstms
    )
    w0, w1 = (m.trainable_weights[0].numpy() for m in members)
    assert w0.shape == w1.shape and not np.allclose(w0, w1)
    xt = model.transform(x)
    mean = np.mean([np.asarray(m.predict(xt, verbose=0), dtype=np.float64) for m in members], axis=0)
    np.testing.assert_allclose(probs, mean, rtol=1e-5, atol=1e-7)
    model.save(tmp_path)
    again = build_model(modality, cfg, q).load(tmp_path)
    np.testing.assert_array_equal(again.predict_proba(x), probs)


def test_fasttext_vectors_fill_the_embedding():
    cfg = compose_cfg(["model.text.embedding=fasttext"]).model.text
    texts, _ = text_data()
    model = build_model("text", cfg, 4)
    model.fit_preprocessing(texts)
    matrix = model.embedding_matrix()
    assert not matrix[0].any() and not matrix[1].any()  # padding and [UNK]
    assert np.abs(matrix[model.vocabulary.index("valve")]).sum() > 0


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.series.lr_schedule=step", "model.series.lr_schedule"),
        ("model.text.label_smoothing=1.5", "model.text.label_smoothing"),
        ("model.series.ensemble=0", "model.series.ensemble"),
        ("model.text.embedding=glove", "model.text.embedding"),
        ("model.series.clipnorm=-1", "model.series.clipnorm"),
    ],
)
def test_out_of_range_recipe_values_are_refused_by_key(override, key):
    with pytest.raises(ConfigError, match=key):
        validate(compose_cfg([override]))


def test_fit_members_seeds_each_member_and_gives_it_its_own_checkpoints(tmp_path):
    """recipes.fit_members, the member loop of the modality and joint networks: member k is trained right
    after its reseeding, in <checkpoints>/member<k> when K > 1; member 0 alone or the average is returned,
    with member 0's history. Works for one input and for several named ones (the joint network)."""
    calls = []

    def fit_one(k, checkpoints, names=("x",)):
        calls.append((k, checkpoints, keras.random.uniform((1,)).numpy()[0]))
        inputs = [keras.Input((2,), name=n) for n in names]
        x = inputs[0] if len(inputs) == 1 else keras.layers.Concatenate()(inputs)
        out = keras.layers.Dense(3, activation="softmax", name="probabilities")(x)
        return keras.Model(inputs[0] if len(inputs) == 1 else {n: i for n, i in zip(names, inputs)}, out), {"k": [k]}

    cfg = compose_cfg(["model.series.ensemble=3", "model.series.ensemble_seed=7"]).model.series
    keras.utils.set_random_seed(0)
    network, history = recipes.fit_members(cfg, tmp_path, fit_one)
    assert [(k, d) for k, d, _ in calls] == [(k, tmp_path / f"member{k}") for k in range(3)]
    assert history == {"k": [0]}
    assert len([layer for layer in network.layers if isinstance(layer, keras.Model)]) == 3
    keras.utils.set_random_seed(1)  # member 0 keeps the run's seeding; members 1, 2 are reseeded from (7, k)
    recipes.fit_members(cfg, None, fit_one)
    assert calls[3][1] is None and calls[3][2] != calls[0][2]
    assert [c[2] for c in calls[4:]] == [c[2] for c in calls[1:3]]
    x = {"a": np.ones((2, 2)), "b": np.zeros((2, 2))}
    joint, _ = recipes.fit_members(cfg, None, lambda k, d: fit_one(k, d, names=("a", "b")))
    members = [layer for layer in joint.layers if isinstance(layer, keras.Model)]
    mean = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(joint.predict(x, verbose=0), mean, rtol=1e-6)
    single = compose_cfg([]).model.series  # ensemble=1: member 0 itself, the run's checkpoint directory
    alone, _ = recipes.fit_members(single, tmp_path, fit_one)
    assert calls[-1][1] == tmp_path and not any(isinstance(layer, keras.Model) for layer in alone.layers)
