"""Fusion rules on small arrays whose answers were worked out by hand."""

import numpy as np
import pytest
from omegaconf import OmegaConf

from mmfusion import fusion
from mmfusion.errors import ConfigError, DataError

P1 = np.array([[0.6, 0.4], [0.2, 0.8], [0.5, 0.5]])
P2 = np.array([[0.2, 0.8], [0.4, 0.6], [0.9, 0.1]])


def test_equal_weights_average():
    params = fusion.Equal().fit(None, None, [0.9, 0.6])
    assert params["weights"] == [0.5, 0.5]
    fused = fusion.Equal().combine([P1, P2], params)
    np.testing.assert_allclose(fused, [[0.4, 0.6], [0.3, 0.7], [0.7, 0.3]])
    assert fusion.predict(fused).tolist() == [1, 1, 0]


def test_accuracy_weights_from_training_accuracy():
    rule = fusion.Accuracy(OmegaConf.create({"name": "accuracy", "weights": "train_accuracy"}))
    params = rule.fit(None, None, [0.75, 0.25])
    np.testing.assert_allclose(params["weights"], [0.75, 0.25])  # 0.75 / (0.75 + 0.25)
    fused = rule.combine([P1, P2], params)
    # row 0: 0.75*0.6 + 0.25*0.2 = 0.50 ; 0.75*0.4 + 0.25*0.8 = 0.50 (a tie up to rounding)
    np.testing.assert_allclose(fused[0], [0.5, 0.5])
    # row 1: 0.75*0.2 + 0.25*0.4 = 0.25 -> class 1 ; row 2: 0.75*0.5 + 0.25*0.9 = 0.60 -> class 0
    np.testing.assert_allclose(fused[2], [0.6, 0.4])
    assert fusion.predict(fused[1:]).tolist() == [1, 0]


def test_paper_weights_are_near_uniform_when_both_fit():
    # the paper's numbers: 0.95 / (0.95 + 0.91)
    w = fusion.accuracy_weights([0.95, 0.91])
    np.testing.assert_allclose(w, [0.95 / 1.86, 0.91 / 1.86])


def test_accuracy_weights_from_validation():
    rule = fusion.Accuracy(OmegaConf.create({"name": "accuracy", "weights": "val_accuracy"}))
    val_y = np.array([0, 1, 0])
    params = rule.fit([P1, P2], val_y, [1.0, 1.0])
    # P1 predicts [0, 1, 0] -> 3/3; P2 predicts [1, 1, 0] -> 2/3 ; weights 3/5, 2/5
    np.testing.assert_allclose(params["weights"], [0.6, 0.4])
    with pytest.raises(ConfigError, match="val_fraction"):
        rule.fit(None, None, [1.0, 1.0])


def test_ties_go_to_the_lowest_class():
    assert fusion.predict(np.array([[0.5, 0.5], [0.3, 0.3]])).tolist() == [0, 0]
    assert fusion.predict(np.array([[0.2, 0.4, 0.4]])).tolist() == [1]


def test_single_modality_is_identity():
    fused = fusion.Equal().combine([P1], {"weights": [1.0]})
    np.testing.assert_allclose(fused, P1)


def test_missing_modality_renormalises_weights():
    present = [np.array([True, False, True]), np.array([True, True, False])]
    p1 = P1.copy()
    p1[1] = np.nan  # an absent modality's probabilities never count
    fused = fusion.weighted_average([p1, P2], [0.75, 0.25], present)
    np.testing.assert_allclose(fused[0], 0.75 * P1[0] + 0.25 * P2[0])
    np.testing.assert_allclose(fused[1], P2[1])  # only modality 2 present: weight 1
    np.testing.assert_allclose(fused[2], P1[2])
    with pytest.raises(DataError, match="no modality present"):
        fusion.weighted_average([P1, P2], [0.5, 0.5], [np.zeros(3, bool), np.zeros(3, bool)])


def test_fused_rows_are_probabilities():
    rng = np.random.default_rng(0)
    probs = [rng.dirichlet(np.ones(4), size=10) for _ in range(3)]
    fused = fusion.weighted_average(probs, [0.2, 0.3, 0.5])
    np.testing.assert_allclose(fused.sum(axis=1), 1.0)


def test_unknown_rule_is_refused_by_the_python_api():
    # a config's rule names are refused by Hydra's fusion group before; `mmfusion fuse fusion=median`: test_fuse.py
    with pytest.raises(ValueError, match="not known"):
        fusion.get_rule(OmegaConf.create({"name": "median"}))
