"""The Keras base of every time-series network: `SeriesScaler` preprocessing (per-variable z-scoring
with training statistics, saved as JSON) and the shape checks; subclasses only build the network."""

from __future__ import annotations

import keras
import numpy as np

from mmfusion.models.base import KerasModality
from mmfusion.models.preprocessing import SeriesScaler


class SeriesNetwork(KerasModality):
    modality = "series"

    # the shape the model was trained on (predict checks new series against it)
    @property
    def length(self) -> int:
        return self.scaler.length

    @property
    def variables(self) -> int:
        return self.scaler.variables

    def fit_preprocessing(self, x_train) -> None:
        self.scaler = SeriesScaler().fit(x_train)

    def check_input(self, x) -> None:
        self.scaler.check(x)

    def transform(self, x) -> np.ndarray:
        return self.scaler.transform(x)

    def build_network(self) -> keras.Model:
        raise NotImplementedError

    def preprocessing_state(self) -> dict:
        return self.scaler.state()

    def load_preprocessing_state(self, state: dict) -> None:
        self.scaler = SeriesScaler.from_state(state)
