import numpy as np

from mmfusion.evaluation.metrics import evaluate, roc_curves

CLASSES = ["a", "b", "c"]


def test_perfect_predictions_give_accuracy_and_auc_one():
    y = np.array([0, 1, 2, 0, 1, 2])
    m = evaluate(y, np.eye(3)[y], CLASSES)
    assert m["accuracy"] == 1.0
    assert all(v == 1.0 for v in m["auc"].values())
    assert m["confusion"] == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]


def test_hand_worked_metrics():
    y = np.array([0, 0, 1, 1])
    probs = np.array([[0.9, 0.1, 0], [0.4, 0.6, 0], [0.3, 0.7, 0], [0.8, 0.2, 0]])
    m = evaluate(y, probs, CLASSES)
    assert m["accuracy"] == 0.5
    # class a scores: positives 0.9, 0.4 ; negatives 0.3, 0.8 -> pairs won 3 of 4
    assert m["auc"]["a"] == 0.75
    assert m["auc"]["c"] is None  # no sample of class c: AUC undefined, not invented
    assert m["confusion"] == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert set(roc_curves(y, probs, 3)) == {0, 1}
