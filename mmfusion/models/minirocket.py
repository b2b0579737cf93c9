"""MiniRocket (aeon) features -> standardised -> multinomial logistic regression (probabilities).

An optional extra: `pip install mmfusion[minirocket]` installs aeon. Preprocessing is the shared
per-variable z-scoring (SeriesScaler) (training statistics), then aeon's MiniRocket transform fitted on the training
split (at least 9 time steps), then the features are standardised with training means and deviations.
RidgeClassifierCV, MiniRocket's usual partner, gives no probabilities; logistic regression does.

Saved without pickles: `series.json` (settings, z-scoring statistics) and `series.npz` holding
MiniRocket's fitted `parameters` (channels per combination, channel indices, dilations, features
per dilation, biases), the feature means/deviations and the logistic coef_/intercept_. `load` puts
those arrays back into a MiniRocket transformer, so it computes the very same features.
"""

from __future__ import annotations

import numpy as np

from mmfusion.errors import ConfigError, DataError
from mmfusion.models.preprocessing import SeriesScaler
from mmfusion.models.sklearn_models import LinearModality

PARAMETER_NAMES = ("n_channels_per_comb", "channel_indices", "dilations", "n_features_per_dilation", "biases")
MIN_LENGTH = 9  # MiniRocket's kernels are 9 steps long


def require_aeon():
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError as err:  # an installed package, not a config value: a saved model needs it too
        raise ConfigError(
            f"model/series=minirocket needs aeon, which is not installed ({err}); "
            "install it with `pip install mmfusion[minirocket]` (or `pip install aeon`)"
        ) from None
    return MiniRocket


class SeriesMiniRocket(LinearModality):
    modality = "series"

    def __init__(self, cfg, num_classes: int, strategy=None):
        super().__init__(cfg, num_classes)
        require_aeon()  # fail at build time, before any data is touched
        self.zscore = SeriesScaler()

    # the shape the model was trained on (predict.check_series reads these)
    @property
    def length(self) -> int:
        return self.zscore.length

    @property
    def variables(self) -> int:
        return self.zscore.variables

    def _transformer(self):
        c = self.cfg
        return require_aeon()(
            n_kernels=int(c.n_kernels),
            max_dilations_per_kernel=int(c.max_dilations_per_kernel),
            n_jobs=int(c.n_jobs),
            random_state=int(c.random_state),
        )

    def _channels_first(self, x) -> np.ndarray:
        return np.ascontiguousarray(self.zscore.transform(x).transpose(0, 2, 1))  # aeon: (n, channels, time)

    def fit_features(self, x_train) -> None:
        self.zscore.fit(x_train)
        if self.length < MIN_LENGTH:
            raise DataError(f"minirocket needs series of at least {MIN_LENGTH} time steps; these have {self.length}")
        self.rocket = self._transformer().fit(self._channels_first(x_train))
        raw = self._raw_features(x_train)
        self.mean = raw.mean(axis=0)
        std = raw.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0)  # constant features stay 0

    def _raw_features(self, x) -> np.ndarray:
        return np.asarray(self.rocket.transform(self._channels_first(x)), dtype=np.float64)

    def features(self, x) -> np.ndarray:
        return (self._raw_features(x) - self.mean) / self.std

    def feature_state(self):
        c = self.cfg
        state = {
            **self.zscore.state(),
            "n_kernels": int(c.n_kernels),
            "max_dilations_per_kernel": int(c.max_dilations_per_kernel),
        }
        arrays = {f"minirocket_{name}": np.asarray(a) for name, a in zip(PARAMETER_NAMES, self.rocket.parameters)}
        return state, {**arrays, "feature_mean": self.mean, "feature_std": self.std}

    def load_feature_state(self, state, arrays) -> None:
        self.zscore = SeriesScaler.from_state(state)
        rocket = self._transformer()
        rocket.parameters = tuple(arrays[f"minirocket_{name}"] for name in PARAMETER_NAMES)
        rocket.n_kernels_ = max(int(state["n_kernels"]), 84)
        rocket._n_jobs = max(int(self.cfg.n_jobs), 1)
        rocket.is_fitted = True  # what aeon's fit would have set; shapes are checked by zscore.transform
        self.rocket = rocket
        self.mean, self.std = arrays["feature_mean"], arrays["feature_std"]
