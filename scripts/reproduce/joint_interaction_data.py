"""Really paired records whose class depends on both modalities together: where fusion inside one
network can do what no decision-level rule can (README "Fusion inside the network").

Each record has an operator's note saying a valve was opened or closed, and a 3-variable series
(30 steps) in which the flow through it rises or falls. The class is `consistent` when the note and
the flow agree and `mismatch` when they contradict each other (a wrong log entry or a stuck valve).
Note direction and flow direction are drawn independently, so either modality alone says nothing
about the class (50%), and a rule that combines the two models' class probabilities cannot do better
than them: the class is an interaction (XOR) of the two. Written for `dataset=custom`:

    python scripts/reproduce/joint_interaction_data.py <out-dir> [--n 600] [--seed 0]
    mmfusion train dataset=custom dataset.classes=[consistent,mismatch] dataset.records=<out-dir>/records.csv \
        dataset.series_path=<out-dir>/series.npz dataset.val_fraction=0.2 joint=lstm
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

OPENED = [
    "operator opened valve {v} {when}",
    "valve {v} was opened {when}",
    "{v} set to open {when}",
    "opened {v} to raise throughput {when}",
    "{v} opened by the shift crew {when}",
]
CLOSED = [
    "operator closed valve {v} {when}",
    "valve {v} was closed {when}",
    "{v} set to closed {when}",
    "closed {v} to cut throughput {when}",
    "{v} closed by the shift crew {when}",
]
WHEN = [
    "at the start of the shift",
    "after the alarm",
    "during the inspection",
    "before the sampling",
    "on request of the control room",
    "",
    "as planned",
    "while checking the pump",
]
VALVES = ["V-101", "V-12", "FV-3", "XV-7", "PV-20", "HV-5"]


def make(n: int, seed: int, length: int = 30, noise: float = 1.0, slope: float = 0.08):
    rng = np.random.default_rng(seed)
    opened = rng.integers(0, 2, n).astype(bool)  # what the note says
    rising = rng.integers(0, 2, n).astype(bool)  # what the flow does
    texts = [
        rng.choice(OPENED if o else CLOSED).format(v=rng.choice(VALVES), when=rng.choice(WHEN)).strip() for o in opened
    ]
    t = np.arange(length)
    x = rng.normal(0.0, noise, size=(n, length, 3))
    x[:, :, 0] += np.where(rising, 1.0, -1.0)[:, None] * slope * t  # flow
    x[:, :, 1] += 0.5 * x[:, :, 0]  # a pressure that follows the flow
    labels = np.where(opened == rising, "consistent", "mismatch")
    ids = np.array([f"rec{i:04d}" for i in range(n)])
    return pd.DataFrame({"id": ids, "text": texts, "label": labels}), ids, x.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ns = ap.parse_args()
    ns.out.mkdir(parents=True, exist_ok=True)
    records, ids, x = make(ns.n, ns.seed)
    records.to_csv(ns.out / "records.csv", index=False)
    np.savez(ns.out / "series.npz", ids=ids, x=x, variables=np.array(["flow", "pressure", "level"]))
    print(f"{len(records)} records ({records.label.value_counts().to_dict()}) in {ns.out}")


if __name__ == "__main__":
    main()
