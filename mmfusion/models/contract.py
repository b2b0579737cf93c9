"""The contract every model keeps, whatever it is built on (Keras networks, scikit-learn, the joint
network): what train, fuse, predict and resume call on it. `build_model` returns one (a BaseModel for a
modality); a new model is one
class that keeps this contract plus one YAML file (docs/extending.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Model(Protocol):
    """A trained (or trainable) model of one modality, or of several for the joint network."""

    modality: str  # "text", "series" (the modality of its inputs) or "joint"
    checkpoint_dir: Path | None  # set by the runner before fit: epoch checkpoints, resumed from there

    def __init__(self, cfg, num_classes: int, strategy=None) -> None: ...

    def fit(self, train: tuple, val: tuple | None = None, callbacks=()) -> dict[str, list[float]]:
        """Train on (x, y) (val: early stopping); returns the per-epoch history (empty for non-neural)."""
        ...

    def predict_proba(self, x) -> np.ndarray:
        """(n, num_classes) class probabilities, rows summing to 1."""
        ...

    def save(self, directory: Path) -> None:
        """Write the model into a run's models/ folder, without pickles."""
        ...

    def load(self, directory: Path) -> Model:
        """Read back what save wrote; the loaded model predicts exactly as the saved one."""
        ...


@runtime_checkable
class BaseModel(Model, Protocol):
    """A model of one modality (model.text.*, model.series.*): its log-probabilities feed the fusion rules
    and the run's predictions.npz, so it gives them exactly."""

    def predict_log_proba(self, x) -> np.ndarray:
        """The class probabilities as natural logs, exact (no log of rounded probabilities)."""
        ...
