"""Missing-modality robustness: fuse the test split again after hiding modalities from a share of it.

For each `drop` kind and `rate`, round(rate * n) test samples (taken in one seeded random order per
kind, so a lower rate's samples are a subset of a higher rate's; only samples that have every
modality are eligible) lose: `text` their text, `series` their series, `either` all modalities but one
chosen at random per sample (so at rate 1 every sample keeps exactly one). Every rule fuses what is
left with the parameters it fitted on the intact validation split; the score is the fused accuracy.
With the joint network (joint=lstm), its own accuracy under the same masks is one more line, `joint`.
The table is written and drawn by mmfusion/reporting/robustness.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmfusion import fusion
from mmfusion.basemodels import by_modality
from mmfusion.errors import ConfigError


def drop_modalities(present: dict, names: list[str], drop: str, rate: float, seed: int) -> dict:
    """New presence masks after dropping `drop` (a modality name or `either`) from `rate` of the samples;
    `names` are base models (mmfusion/basemodels.py): a dropped modality takes all of its models."""
    groups = by_modality(names)
    modalities = list(groups)
    if drop != "either" and drop not in modalities:  # the run's own modalities: known once the run is loaded
        raise ConfigError(f"robustness.drop lists {drop!r}; choose among {modalities + ['either']}")
    if not 0.0 <= float(rate) <= 1.0:
        raise ValueError(f"robustness.rates must lie in [0, 1], got {rate}")  # API guard (the schema's range)
    n = len(present[names[0]])
    kind = modalities.index(drop) if drop in modalities else len(modalities)
    rng = np.random.default_rng([int(seed), 99, kind])
    order = rng.permutation(n)
    keep_one = rng.integers(0, len(modalities), size=n)  # `either`: the modality each sample keeps
    full = np.all([present[m] for m in names], axis=0)
    chosen = order[full[order]][: int(round(float(rate) * n))]
    out = {m: present[m].copy() for m in names}
    for i, mod in enumerate(modalities):
        hit = chosen if drop == mod else chosen[keep_one[chosen] != i] if drop == "either" else chosen[:0]
        for m in groups[mod]:
            out[m][hit] = False
    return out


def joint_under(joint: dict, present: dict, masks: dict) -> np.ndarray:
    """The joint model's test probabilities under new presence masks: a sample that lost its text takes
    the row predicted with the text hidden, one that lost its series the row without the series."""
    p = joint["full"].copy()
    for m in ("text", "series"):
        lost = present[m] & ~masks[m]
        p[lost] = joint[m][lost]
    return p


def robustness_table(
    rules: dict, probs: dict, y, present: dict, names: list[str], drops, rates, seed: int, joint: dict | None = None
) -> pd.DataFrame:
    """rules: {label: (fusion cfg, params)}; probs/present: the test split per modality; joint (optional):
    the jointly trained model's test probabilities {"full", "text": without text, "series": without series},
    drawn as one more line `joint`."""
    y = np.asarray(y)
    fitted = {label: fusion.get_rule(cfg, params) for label, (cfg, params) in rules.items()}  # built once
    rows = []
    for drop in drops:
        for rate in rates:
            masks = drop_modalities(present, names, str(drop), float(rate), seed)
            missing = int(np.sum(~np.all([masks[m] for m in names], axis=0)))
            for label, rule in fitted.items():
                fused = rule.proba([probs[m] for m in names], [masks[m] for m in names])
                rows.append(
                    {
                        "rule": label,
                        "drop": str(drop),
                        "rate": float(rate),
                        "n_missing": missing,
                        "accuracy": float(np.mean(fused.argmax(axis=1) == y)),
                    }
                )
            if joint is not None:
                p = joint_under(joint, present, masks)
                rows.append(
                    {
                        "rule": "joint",
                        "drop": str(drop),
                        "rate": float(rate),
                        "n_missing": missing,
                        "accuracy": float(np.mean(p.argmax(axis=1) == y)),
                    }
                )
    return pd.DataFrame(rows)
