"""The Dataset contract shared by every source, model and the runner.

A Dataset holds the class names and, per split (`train`, optional `val`, `test`), one array per
modality aligned sample by sample, the integer labels, sample ids, and a boolean presence mask per
modality (a missing modality is an explicit mask, never a placeholder value).

Numeric modalities (series) are `store.Rows` views: the unique runs are held once, and each split
keeps only an index into them; `np.asarray(split.x["series"])` builds the array when one is needed.
Texts stay object arrays (they share the unique strings, 8 bytes per sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    x: dict  # modality -> (n, ...) store.Rows view or array; text is a 1-d array of str
    y: np.ndarray  # (n,) int64 class indices
    ids: np.ndarray  # (n,) str sample ids
    present: dict[str, np.ndarray] = field(default_factory=dict)  # modality -> (n,) bool
    # modality -> (n,) str: the unit (unique text, unique run) behind each sample's modality; samples
    # that are their own units (synthetic, custom) use their ids. Cluster bootstraps resample these.
    units: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        self.ids = np.asarray(self.ids).astype(str)
        n = len(self.y)
        for name, arr in self.x.items():
            if len(arr) != n:
                raise ValueError(f"modality {name!r} has {len(arr)} samples, labels have {n}")
            self.present.setdefault(name, np.ones(n, dtype=bool))
            self.units[name] = np.asarray(self.units.get(name, self.ids)).astype(str)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> Split:
        return Split(
            x={k: v[idx] for k, v in self.x.items()},
            y=self.y[idx],
            ids=self.ids[idx],
            present={k: v[idx] for k, v in self.present.items()},
            units={k: v[idx] for k, v in self.units.items()},
        )


@dataclass
class Dataset:
    classes: list[str]
    splits: dict[str, Split]
    info: dict = field(default_factory=dict)  # plain numbers/strings, saved in metrics.json

    @property
    def modalities(self) -> list[str]:
        return list(self.splits["train"].x)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def sizes(self) -> dict[str, int]:
        return {name: len(split) for name, split in self.splits.items()}

    def class_counts(self) -> dict[str, list[int]]:
        q = self.num_classes
        return {name: np.bincount(split.y, minlength=q).astype(int).tolist() for name, split in self.splits.items()}


@dataclass
class SeriesData:
    """What every time-series source yields: one modality's raw arrays, before pairing/splitting."""

    x: np.ndarray  # (n, T, F) float32, variables in the order of `variables`
    y: np.ndarray  # (n,) int class indices into the dataset's classes
    run_ids: np.ndarray  # (n,) str: the run (and window) each sample comes from; unique per sample
    variables: list[str]  # F names, e.g. xmeas_1..xmeas_41, xmv_1..xmv_11
    split: np.ndarray | None = None  # (n,) "train"/"test" when the source fixes the split, else None
    info: dict = field(default_factory=dict)  # plain numbers/strings for metrics.json


@dataclass
class TextData:
    """What every text source yields: one modality's raw texts, before pairing/splitting."""

    texts: np.ndarray  # (n,) object array of str
    y: np.ndarray  # (n,) int class indices into the dataset's classes
    ids: np.ndarray  # (n,) str record ids
    info: dict = field(default_factory=dict)
