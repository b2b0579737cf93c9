"""Fusion rules fitted on the validation split: per_class, product, stacking, ensemble_selection.

Same contract as mmfusion.fusion.base.Rule: `fit(val_probs, val_y, train_acc) -> params` (plain JSON numbers)
and `combine(probs, params, present) -> (n, q)`. Rows of NaN in val_probs mark a modality absent for
that validation sample; each rule fits on the rows it can use. Missing modalities at combine time:
- per_class: class-wise weights renormalised over the modalities present (per sample and class);
- product: the pooled log-probabilities use the present modalities only, weights renormalised;
- stacking: one logistic model per non-empty subset of modalities, each fitted on validation; a sample
  is fused by the model of exactly the subset it has (a single modality: its own calibrating model);
- ensemble_selection: the selection weights renormalised over the present modalities; when none of
  the present ones was ever selected, equal weights over them.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from mmfusion.errors import DataError
from mmfusion.fusion.base import Rule, need_val, presence, present_weights, stack, weighted_average


class PerClass(Rule):
    """w_ik = recall_ik / sum_j recall_jk (validation recall of modality i on class k);
    P(k) = sum_i w_ik p_i(k) over the present modalities (w renormalised), then rows renormalised."""

    fits_on_val = True

    def fit(self, val_probs, val_y, train_acc) -> dict:
        p, y = need_val(val_probs, val_y, "per_class")
        m, _, q = p.shape
        recall = np.zeros((m, q))
        for i in range(m):
            ok = np.isfinite(p[i]).all(axis=1)
            pred = np.argmax(np.nan_to_num(p[i]), axis=1)
            for k in range(q):
                sel = ok & (y == k)
                recall[i, k] = np.mean(pred[sel] == k) if sel.any() else 0.0
        total = recall.sum(axis=0)
        w = np.where(total > 0, recall / np.where(total > 0, total, 1), 1.0 / m)
        return {"weights": w.tolist(), "recall": recall.tolist()}

    def combine(self, probs, params, present=None) -> np.ndarray:
        p = stack(probs)
        m, n, q = p.shape
        mask = presence(present, m, n)
        if not mask.any(axis=0).all():
            raise DataError(f"{int((~mask.any(axis=0)).sum())} sample(s) have no modality present")
        w = np.asarray(params["weights"], dtype=np.float64)[:, None, :] * mask[:, :, None]  # (m, n, q)
        total = w.sum(axis=0)
        w = np.where(total > 0, w / np.where(total > 0, total, 1), mask[:, :, None] / mask.sum(axis=0)[:, None])
        fused = np.einsum("mnq,mnq->nq", w, np.where(mask[:, :, None], p, 0.0))
        return fused / fused.sum(axis=1, keepdims=True)


def _weights_by(rule_obj: Rule, p, y, train_acc, rule: str) -> np.ndarray:
    source = rule_obj.cfg.weights
    if source == "equal":
        return np.full(len(train_acc), 1.0 / len(train_acc))
    if source == "train_accuracy":
        acc = np.asarray(train_acc, dtype=np.float64)
    elif source == "val_accuracy":
        p, y = need_val(p, y, f"{rule} with fusion.weights=val_accuracy")
        acc = np.array(
            [np.mean(np.argmax(np.nan_to_num(pi[np.isfinite(pi).all(1)]), 1) == y[np.isfinite(pi).all(1)]) for pi in p]
        )
    else:
        raise ValueError(f"fusion.weights must be equal, train_accuracy or val_accuracy, got {source!r}")  # API guard
    if acc.sum() <= 0:
        raise DataError(f"fusion={rule}: every modality has accuracy 0; the weights are undefined")
    return acc / acc.sum()


class Product(Rule):
    """P(k) ∝ prod_i max(p_i(k), eps)^w_i over the present modalities (weights renormalised)."""

    @classmethod
    def fitted_on_val(cls, cfg) -> bool:
        return super().fitted_on_val(cfg) or cls.settings(cfg).weights == "val_accuracy"

    def fit(self, val_probs, val_y, train_acc) -> dict:
        w = _weights_by(self, val_probs, val_y, train_acc, "product")
        return {"weights": w.tolist(), "eps": float(self.cfg.eps)}

    def combine(self, probs, params, present=None) -> np.ndarray:
        p = stack(probs)
        m, n, _ = p.shape
        mask = presence(present, m, n)
        w = present_weights(params["weights"], mask)
        logp = np.log(np.clip(np.where(mask[:, :, None], p, 1.0), float(params["eps"]), 1.0))
        z = np.einsum("mn,mnq->nq", w, logp)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def combine_log(self, logprobs, params, present=None) -> np.ndarray:
        """The same rule from log-probabilities (its eps floor is part of the rule, not a log guard)."""
        from mmfusion.probability import log_softmax

        lp = stack(logprobs)
        m, n, _ = lp.shape
        mask = presence(present, m, n)
        w = present_weights(params["weights"], mask)
        logp = np.clip(np.where(mask[:, :, None], lp, 0.0), np.log(float(params["eps"])), 0.0)
        return log_softmax(np.einsum("mn,mnq->nq", w, logp))


def _features(p: np.ndarray, subset, kind: str) -> np.ndarray:
    x = p[list(subset)]  # (s, n, q)
    if kind == "log":
        x = np.log(np.clip(x, 1e-6, 1.0))
    return np.concatenate(list(x), axis=1)  # (n, s*q)


def softmax_linear(x: np.ndarray, coef, intercept) -> np.ndarray:
    """Multinomial logistic regression's predict_proba from its plain-number parameters."""
    z = x @ np.asarray(coef, dtype=np.float64).T + np.asarray(intercept, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Stacking(Rule):
    """P = softmax(W [p_1, ..., p_N] + b), W and b a multinomial logistic regression fitted on the
    concatenated validation probabilities (one model per subset of modalities, for missing ones)."""

    fits_on_val = True

    def fit(self, val_probs, val_y, train_acc) -> dict:
        from sklearn.linear_model import LogisticRegression

        p, y = need_val(val_probs, val_y, "stacking")
        m, _, q = p.shape
        kind, c = self.cfg.features, float(self.cfg.C)
        if kind not in ("proba", "log"):
            raise ValueError(f"fusion.features must be proba or log, got {kind!r}")  # API guard (schema: choice)
        models = []
        for size in range(m, 0, -1):
            for subset in combinations(range(m), size):
                ok = np.isfinite(p[list(subset)]).all(axis=(0, 2))
                if len(np.unique(y[ok])) < q:
                    raise DataError(
                        f"fusion=stacking: the validation samples with modalities {list(subset)} lack "
                        f"some classes; raise dataset.val_fraction"
                    )
                lr = LogisticRegression(C=c, max_iter=2000).fit(_features(p[:, ok], subset, kind), y[ok])
                coef, icpt = lr.coef_, lr.intercept_
                if q == 2:  # scikit-learn keeps one row for two classes: softmax([0, z]) = sigmoid(z)
                    coef, icpt = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, icpt[0]])
                models.append({"modalities": list(subset), "coef": coef.tolist(), "intercept": icpt.tolist()})
        return {"features": kind, "C": c, "models": models}

    def combine(self, probs, params, present=None) -> np.ndarray:
        p = stack(probs)
        m, n, q = p.shape
        mask = presence(present, m, n)
        out = np.full((n, q), np.nan)
        for model in params["models"]:
            sub = model["modalities"]
            rows = mask[sub].all(axis=0) & (mask.sum(axis=0) == len(sub))
            if rows.any():
                out[rows] = softmax_linear(
                    _features(p[:, rows], sub, params["features"]), model["coef"], model["intercept"]
                )
        if np.isnan(out).any():
            raise DataError(f"{int(np.isnan(out).any(axis=1).sum())} sample(s) have no modality present")
        return out


class EnsembleSelection(Rule):
    """Caruana et al. (2004): `rounds` times, add (with replacement) the modality model whose addition
    gives the lowest validation log-loss of the averaged ensemble; w_i = count_i / rounds, P = sum_i w_i p_i."""

    fits_on_val = True

    def fit(self, val_probs, val_y, train_acc) -> dict:
        p, y = need_val(val_probs, val_y, "ensemble_selection")
        ok = np.isfinite(p).all(axis=(0, 2))
        p, y = p[:, ok], y[ok]
        m = p.shape[0]
        rounds = int(self.cfg.rounds)
        if rounds < 1:
            raise ValueError(f"fusion.rounds must be a positive integer, got {rounds}")  # API guard (schema: >= 1)
        counts, total = np.zeros(m, dtype=int), np.zeros_like(p[0])
        for r in range(rounds):
            losses = [
                -np.mean(np.log(np.clip((total + p[i])[np.arange(len(y)), y] / (r + 1), 1e-15, 1))) for i in range(m)
            ]
            best = int(np.argmin(losses))  # ties: the first modality
            counts[best] += 1
            total = total + p[best]
        return {"counts": counts.tolist(), "weights": (counts / rounds).tolist(), "rounds": rounds}

    def combine(self, probs, params, present=None) -> np.ndarray:
        p = stack(probs)
        m, n, _ = p.shape
        mask = presence(present, m, n)
        w = np.asarray(params["weights"], dtype=np.float64)
        fused = np.full(p.shape[1:], np.nan)
        selected = (w[:, None] * mask).sum(axis=0) > 0
        if selected.any():
            fused[selected] = weighted_average(p[:, selected], w, mask[:, selected])
        if (~selected).any():
            fused[~selected] = weighted_average(p[:, ~selected], np.ones(m), mask[:, ~selected])
        return fused
