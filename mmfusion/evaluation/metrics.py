"""Evaluation of class probabilities against labels: accuracy, one-vs-rest ROC/AUC, confusion.

Never trains anything; scikit-learn does the metrics.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve


def roc_curves(y: np.ndarray, probs: np.ndarray, num_classes: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """One-vs-rest ROC curve (fpr, tpr) of each class present (with negatives) in y."""
    curves = {}
    for k in range(num_classes):
        pos = y == k
        if pos.any() and (~pos).any():
            fpr, tpr, _ = roc_curve(pos.astype(int), probs[:, k])
            curves[k] = (fpr, tpr)
    return curves


def evaluate(y, probs, classes: list[str]) -> dict:
    """Metrics of one model on one split. AUC of a class absent from y is None (undefined)."""
    y = np.asarray(y, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    q = len(classes)
    pred = np.argmax(probs, axis=1)
    auc = {}
    for k, name in enumerate(classes):
        pos = y == k
        auc[name] = float(roc_auc_score(pos.astype(int), probs[:, k])) if pos.any() and (~pos).any() else None
    valid = [a for a in auc.values() if a is not None]
    return {
        "n": int(len(y)),
        "accuracy": float(np.mean(pred == y)) if len(y) else None,
        "auc": auc,
        "macro_auc": float(np.mean(valid)) if valid else None,
        "confusion": confusion_matrix(y, pred, labels=list(range(q))).astype(int).tolist(),
    }
