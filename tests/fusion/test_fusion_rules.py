"""The validation-fitted fusion rules and temperature scaling on small hand-worked arrays."""

import json

import numpy as np
import pytest
from helpers import compose_cfg
from omegaconf import OmegaConf
from sklearn.linear_model import LogisticRegression

from mmfusion import fusion, probability
from mmfusion.errors import ConfigError
from mmfusion.evaluation import calibration
from mmfusion.fusion.rules import EnsembleSelection, PerClass, Product, Stacking

P1 = np.array([[0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
P2 = np.array([[0.2, 0.8], [0.4, 0.6], [0.9, 0.1]])


def cfg(**kw):
    return OmegaConf.create(kw)


@pytest.mark.parametrize("name", sorted(fusion.FUSIONS))
def test_every_rule_has_a_config_and_json_params(name):
    c = compose_cfg([f"fusion={name}"])
    assert c.fusion.name == name
    rule = fusion.get_rule(c.fusion)
    rng = np.random.default_rng(1)
    val = [rng.dirichlet(np.ones(3), size=30) for _ in range(2)]
    y = np.arange(30) % 3
    params = rule.fit(val, y, [0.9, 0.7])
    json.dumps(params, allow_nan=False)  # plain numbers only
    fused = rule.combine(val, params, None)
    np.testing.assert_allclose(fused.sum(axis=1), 1.0)


def test_per_class_weights_from_validation_recall():
    # modality 1 predicts [0, 1, 0, 0] (recall class 0: 2/2, class 1: 1/2); modality 2 [1, 1, 1, 0]
    # (recall class 0: 1/2, class 1: 2/2) -> w[:, 0] = [2/3, 1/3], w[:, 1] = [1/3, 2/3]
    v1 = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.8, 0.2]])
    v2 = np.array([[0.4, 0.6], [0.1, 0.9], [0.2, 0.8], [0.7, 0.3]])
    y = np.array([0, 1, 1, 0])
    params = PerClass().fit([v1, v2], y, [1, 1])
    np.testing.assert_allclose(params["weights"], [[2 / 3, 1 / 3], [1 / 3, 2 / 3]])
    fused = PerClass().combine([P1, P2], params)
    # row 0: class 0: 2/3*0.6 + 1/3*0.2 = 14/30; class 1: 1/3*0.4 + 2/3*0.8 = 20/30 -> [0.4118, 0.5882]
    np.testing.assert_allclose(fused[0], np.array([14, 20]) / 34)
    # modality 2 absent for row 0: its weights renormalise to modality 1 alone
    fused = PerClass().combine([P1, P2], params, [np.ones(3, bool), np.array([False, True, True])])
    np.testing.assert_allclose(fused[0], P1[0])


def test_product_is_log_linear_pooling():
    params = Product(cfg(weights="equal", eps=1e-6)).fit(None, None, [0.9, 0.6])
    fused = Product().combine([P1, P2], params)
    # row 0: sqrt(0.6*0.2) = 0.34641, sqrt(0.4*0.8) = 0.56569, normalised
    a, b = np.sqrt(0.12), np.sqrt(0.32)
    np.testing.assert_allclose(fused[0], [a / (a + b), b / (a + b)])
    only_first = Product().combine([P1, P2], params, [np.ones(3, bool), np.zeros(3, bool)])
    np.testing.assert_allclose(only_first, P1)  # one modality present: it alone, weight 1
    # val accuracy weights: P1 predicts [0, 1, 0] -> 3/3, P2 [1, 1, 0] -> 2/3: w = [0.6, 0.4]
    params = Product(cfg(weights="val_accuracy")).fit([P1, P2], np.array([0, 1, 0]), [1, 1])
    np.testing.assert_allclose(params["weights"], [0.6, 0.4])
    row0 = np.array([0.6**0.6 * 0.2**0.4, 0.4**0.6 * 0.8**0.4])
    np.testing.assert_allclose(Product().combine([P1, P2], params)[0], row0 / row0.sum())


def _val(q=3, n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % q
    probs = []
    for s in (2.0, 0.5):
        logits = rng.normal(size=(n, q)) + s * np.eye(q)[y]
        probs.append(np.exp(logits) / np.exp(logits).sum(1, keepdims=True))
    return probs, y


@pytest.mark.parametrize("q", [2, 3])
def test_stacking_reproduces_scikit_learn_from_plain_numbers(q):
    probs, y = _val(q)
    params = Stacking(cfg(features="proba", C=1.0)).fit(probs, y, [1, 1])
    assert [m["modalities"] for m in params["models"]] == [[0, 1], [0], [1]]
    ref = LogisticRegression(C=1.0, max_iter=2000).fit(np.hstack(probs), y)
    np.testing.assert_allclose(Stacking().combine(probs, params), ref.predict_proba(np.hstack(probs)), atol=1e-10)
    # a sample without modality 1 is fused by the model fitted on modality 0 alone
    present = [np.ones(len(y), bool), np.arange(len(y)) % 2 == 0]
    fused = Stacking().combine(probs, params, present)
    only0 = LogisticRegression(C=1.0, max_iter=2000).fit(probs[0], y).predict_proba(probs[0])
    np.testing.assert_allclose(fused[1::2], only0[1::2], atol=1e-10)


def test_ensemble_selection_greedy_with_replacement():
    a = np.array([[0.9, 0.1], [0.4, 0.6]])
    b = np.array([[0.6, 0.4], [0.1, 0.9]])
    y = np.array([0, 1])
    # round 1: A and B tie (log-loss 0.3081) -> A; round 2: A+B (0.2877) beats A+A -> B;
    # round 3: (2A+B)/3 and (A+2B)/3 tie (0.2899) -> A.  Counts [2, 1].
    params = EnsembleSelection(cfg(rounds=3)).fit([a, b], y, [1, 1])
    assert params["counts"] == [2, 1]
    np.testing.assert_allclose(params["weights"], [2 / 3, 1 / 3])
    np.testing.assert_allclose(EnsembleSelection().combine([a, b], params), 2 / 3 * a + 1 / 3 * b)
    # a never-selected modality alone: equal weights over what is present, i.e. itself
    params = {"weights": [1.0, 0.0]}
    fused = EnsembleSelection().combine([P1, P2], params, [np.array([True, False, False]), np.ones(3, bool)])
    np.testing.assert_allclose(fused, np.vstack([P1[0], P2[1:]]))


@pytest.mark.parametrize("rule", [PerClass(), Stacking(), EnsembleSelection(), Product(cfg(weights="val_accuracy"))])
def test_rules_needing_validation_name_val_fraction(rule):
    with pytest.raises(ConfigError, match="dataset.val_fraction"):
        rule.fit(None, None, [0.9, 0.8])


def test_temperature_scaling_recovers_overconfidence():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 4)) * 1.5
    true_p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(4, p=p) for p in true_p])
    overconfident = probability.apply_temperature(true_p, 1 / 3)  # = softmax(3 z)
    t = probability.fit_temperature(np.log(overconfident), y)
    assert 2.6 < t < 3.4
    fixed = probability.apply_temperature(overconfident, t)
    assert probability.nll(y, fixed) < probability.nll(y, overconfident)
    np.testing.assert_array_equal(fixed.argmax(1), overconfident.argmax(1))


def _confidently_wrong():
    """The issue's case: true class 0 for 100 rows; 90 rows of logits [8, 0, 0], 10 rows of [0, 34.5, 0]."""
    z = np.array([[8.0, 0.0, 0.0]] * 90 + [[0.0, 34.5, 0.0]] * 10)
    return z, np.zeros(100, dtype=np.int64)


def test_nll_and_temperature_in_log_space_are_not_biased_by_clipping():
    from scipy.optimize import minimize_scalar
    from sklearn.metrics import log_loss

    z, y = _confidently_wrong()
    logp = probability.log_softmax(z)
    exact = log_loss(y, np.exp(logp), labels=[0, 1, 2])  # float64 probabilities, p(true) ~ 1e-15
    assert probability.nll(y, None, logp) == pytest.approx(exact, rel=1e-9)
    assert round(probability.nll(y, None, logp), 2) == 3.45  # clipping at 1e-12 gave 2.76
    # the optimum from the logits themselves: argmin_T NLL(softmax(z / T))
    best = minimize_scalar(
        lambda t: probability.nll(y, None, probability.log_softmax(z / t)), bounds=(1, 20), method="bounded"
    ).x
    t = probability.fit_temperature(logp, y)
    assert round(t, 2) == 9.25 and t == pytest.approx(best, abs=1e-3)  # clipping gave 6.59
    # the same through calibrated fusion: temperatures fitted on validation log-probabilities
    c = cfg(name="equal", calibrate=True)
    rule = fusion.fit_rule(c, [np.exp(logp), np.exp(logp)], y, [1, 1], [logp, logp])
    assert [round(v, 2) for v in rule.params["temperatures"]] == [9.25, 9.25]
    fused_log = rule.log_proba([np.exp(logp)] * 2, None, [logp, logp])
    np.testing.assert_allclose(fused_log, probability.log_softmax(z / t), atol=1e-4)


def test_calibration_scores_by_hand():
    p = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([0, 1, 1])
    assert probability.nll(y, p) == pytest.approx(-(np.log(0.8) + np.log(0.4) + np.log(0.7)) / 3)
    assert calibration.brier(y, p) == pytest.approx((0.08 + 0.72 + 0.18) / 3)
    # bins of width 0.5: (0.5, 1] holds all three, confidence 0.7, accuracy 2/3 -> ECE 0.0333
    assert calibration.ece(y, p, bins=2) == pytest.approx(abs(0.7 - 2 / 3))


def test_calibrate_adds_temperatures_and_needs_val():
    probs, y = _val(3)
    c = cfg(name="equal", calibrate=True)
    rule = fusion.fit_rule(c, probs, y, [1, 1])
    params = rule.params
    assert len(params["temperatures"]) == 2 and params["weights"] == [0.5, 0.5]
    scaled = [probability.apply_temperature(p, t) for p, t in zip(probs, params["temperatures"])]
    np.testing.assert_allclose(rule.proba(probs), (scaled[0] + scaled[1]) / 2)
    with pytest.raises(RuntimeError, match="not fitted"):
        fusion.get_rule(c).proba(probs)
    with pytest.raises(ConfigError, match="dataset.val_fraction"):
        fusion.fit_rule(c, None, None, [1, 1])


@pytest.mark.parametrize("override", ["fusion=stacking", "fusion.weights=val_accuracy", "fusion.calibrate=true"])
def test_train_refuses_a_val_fitted_rule_without_val_before_training(tmp_path, override):
    from mmfusion.commands.train import train

    with pytest.raises(ConfigError, match="dataset.val_fraction"):
        train(compose_cfg([override]), tmp_path)
    assert not (tmp_path / "models").exists()
