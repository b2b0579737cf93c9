"""Batches streamed to Keras from data held once (in memory or memory-mapped).

`Batches` is a `keras.utils.PyDataset`: each batch gathers its rows from a `store.Rows` view (or an
array), applies the model's per-batch transform (e.g. z-scoring) and hands float32 to Keras, so no
transformed copy of the whole split exists. With a `shuffle_seed` the rows are reshuffled every
epoch from `numpy.random.default_rng([shuffle_seed, epoch])`: the same seed gives the same batches.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from mmfusion.arrays import take


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size: int, transform=None, shuffle_seed: int | None = None):
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y = x, None if y is None else np.asarray(y)
        self.n, self.batch_size = len(x), int(batch_size)
        self.transform, self.shuffle_seed, self.epoch = transform, shuffle_seed, 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if self.shuffle_seed is None:
            return np.arange(self.n)
        return np.random.default_rng([int(self.shuffle_seed), self.epoch]).permutation(self.n)

    @property
    def num_batches(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __len__(self) -> int:
        return self.num_batches

    def __getitem__(self, i: int):
        rows = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        xb = take(self.x, rows)
        if self.transform is not None:
            xb = self.transform(xb)
        return (xb,) if self.y is None else (xb, self.y[rows])

    def start_at(self, epoch: int) -> None:
        """Continue from `epoch` (a resumed training): the orders of epochs 0..epoch-1 are skipped."""
        self.epoch = int(epoch)
        self.order = self._order()

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()
