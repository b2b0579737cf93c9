"""Bootstrap CIs and McNemar's test on hand-made predictions."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mmfusion.evaluation import stats

CLASSES = ["a", "b", "c"]


def test_rank_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(5, 40))
    s = np.round(rng.random((5, 40)), 1)  # many ties
    got = stats.auc_rows(y == 1, s)
    np.testing.assert_allclose(got, [roc_auc_score(yi, si) for yi, si in zip(y, s)])
    assert np.isnan(stats.auc_rows(np.zeros((1, 4), bool), s[:1, :4]))[0]


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    y = np.arange(90) % 3
    p = rng.dirichlet(np.ones(3), size=90) + 0.8 * np.eye(3)[y]
    p /= p.sum(1, keepdims=True)
    a = stats.bootstrap(y, p, CLASSES, resamples=500, seed=4)
    assert a == stats.bootstrap(y, p, CLASSES, resamples=500, seed=4)
    acc = np.mean(p.argmax(1) == y)
    lo, hi = a["accuracy_ci"]
    assert lo <= acc <= hi and hi - lo < 0.3
    assert set(a["auc_ci"]) == set(CLASSES) and a["macro_auc_ci"][0] <= a["macro_auc_ci"][1] <= 1


def test_perfect_classifier_has_a_degenerate_interval():
    y = np.array([0, 1, 2] * 5)
    res = stats.bootstrap(y, np.eye(3)[y], CLASSES, resamples=200)
    assert res["accuracy_ci"] == [1.0, 1.0] and res["macro_auc_ci"] == [1.0, 1.0]
    assert stats.bootstrap(y, np.eye(3)[y], CLASSES, resamples=0)["accuracy_ci"] is None


def test_mcnemar_exact_by_hand():
    y = np.zeros(10, int)
    a = np.zeros(10, int)
    b = np.array([1] * 5 + [0] * 5)  # A right / B wrong on 5 samples, never the reverse
    res = stats.mcnemar(y, a, b)
    assert (res["a_right_b_wrong"], res["a_wrong_b_right"]) == (5, 0)
    assert res["p_value"] == pytest.approx(2 * 0.5**5)
    assert stats.mcnemar(y, a, a)["p_value"] == 1.0


def test_fused_is_compared_with_the_best_single_modality():
    y = np.array([0, 1, 0, 1])
    probs = {"series": np.eye(2)[[0, 1, 1, 1]], "text": np.eye(2)[[1, 1, 1, 1]], "fused": np.eye(2)[y]}
    present = {m: np.ones(4, bool) for m in probs}
    res = stats.fused_vs_best(y, probs, present, ["series", "text", "fused"])
    assert res["b"] == "series" and res["a_right_b_wrong"] == 1 and res["n"] == 4


def test_weighted_auc_matches_scikit_learn_with_sample_weights():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=60)
    s = np.round(rng.random(60), 1)  # ties
    w = rng.integers(0, 4, size=(3, 60)).astype(float)
    got = stats.weighted_auc(y == 1, s, w)
    np.testing.assert_allclose(got, [roc_auc_score(y, s, sample_weight=wi) for wi in w])


def test_cluster_bootstrap_resamples_units_not_pairs():
    # 400 pairs drawn from only 10 texts x 10 runs: the pairs are not 400 independent samples
    rng = np.random.default_rng(5)
    text, run = rng.integers(0, 10, 400), rng.integers(0, 10, 400)
    y = np.arange(400) % 3
    text_ok = rng.random(10) < 0.8  # whether the model reads each text right: shared by all its pairs
    p = np.eye(3)[np.where(text_ok[text], y, (y + 1) % 3)]
    pairs = stats.bootstrap(y, p, CLASSES, 500, seed=0)["accuracy_ci"]
    w = stats.cluster_weights([text.astype(str), run.astype(str)], 500, 0)
    clusters = stats.bootstrap(y, p, CLASSES, 500, seed=0, weights=w)["accuracy_ci"]
    assert clusters[1] - clusters[0] > 2.5 * (pairs[1] - pairs[0])
    # one clustering given twice counts once: the ordinary bootstrap of those units
    ids = np.arange(400).astype(str)
    w1 = stats.cluster_weights([ids, ids], 200, 1)
    assert w1.sum(axis=1).tolist() == [400.0] * 200


def test_paired_difference_ci_from_the_same_draws():
    y = np.zeros(200, int)
    a = np.zeros(200, int)
    b = np.where(np.arange(200) < 40, 1, 0)  # B wrong on 40 samples where A is right
    w = stats.cluster_weights([np.arange(200).astype(str)], 400, 0)
    res = stats.paired_difference(y, a, b, w)
    assert res["difference"] == pytest.approx(0.2) and res["resolved"]
    assert res["difference_ci"][0] > 0.1 and res["difference_ci"][1] < 0.3
    assert not stats.paired_difference(y, a, a, w)["resolved"]


def test_stratified_cluster_draws_keep_each_class_units():
    y = np.repeat([0, 1, 2], [30, 60, 12])
    units = np.array([f"u{i // 3}" for i in range(102)])  # 3 pairs per unit, units never span classes
    w = stats.cluster_weights([units], 300, 2, strata=y)
    for k, n_pairs in zip(range(3), (30, 60, 12)):
        np.testing.assert_array_equal(w[:, y == k].sum(axis=1), n_pairs)  # draws keep the class's weight
    assert (w[:, y == 2] == 0).any()  # ... while its units are resampled
