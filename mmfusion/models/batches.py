"""Batches streamed to Keras from data held once (in memory or memory-mapped), and chunked statistics.

`Batches` is a `keras.utils.PyDataset`: each batch gathers its rows from a `store.Rows` view (or an
array), applies the model's per-batch transform (e.g. z-scoring) and hands float32 to Keras, so no
transformed copy of the whole split exists. With a `shuffle_seed` the rows are reshuffled every
epoch from `numpy.random.default_rng([shuffle_seed, epoch])`: the same seed gives the same batches.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from mmfusion.data.store import base_and_index, chunk_rows, take


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
        rows = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        xb = take(self.x, rows)
        if self.transform is not None:
            xb = self.transform(xb)
        return (xb,) if self.y is None else (xb, self.y[rows])

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()


def chunks(x):
    """(multiplicity, rows as float64) of the unique rows behind x, chunk by chunk: each unique row is
    read once, and statistics weight it by how many samples use it."""
    base, index = base_and_index(x)
    used, counts = np.unique(index, return_counts=True)
    step = chunk_rows(base)
    for s in range(0, len(used), step):
        xb = np.asarray(base[used[s:s + step]], dtype=np.float64)
        yield counts[s:s + step].astype(np.float64), xb.reshape(len(xb), -1, xb.shape[-1])


def finite_rows(x) -> np.ndarray:
    """(n,) bool: which samples of x hold only finite values (one chunked pass over the unique rows)."""
    base, index = base_and_index(x)
    used, inverse = np.unique(index, return_inverse=True)
    ok = np.ones(len(used), dtype=bool)
    step = chunk_rows(base)
    for s in range(0, len(used), step):
        ok[s:s + step] = np.isfinite(np.asarray(base[used[s:s + step]])).all(axis=tuple(range(1, base.ndim)))
    return ok[inverse]


def column_stats(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the last axis over all samples and steps of x (n, T, F), as
    np.mean/np.std over axes (0, 1) of the materialised float64 array give them (up to rounding),
    in two chunked passes."""
    base, index = base_and_index(x)
    total = len(index) * int(np.prod(base.shape[1:-1], dtype=np.int64))
    s = np.zeros(base.shape[-1])
    for w, xb in chunks(x):
        s += np.einsum("n,ntf->f", w, xb)
    mean = s / total
    ss = np.zeros_like(mean)
    for w, xb in chunks(x):
        ss += np.einsum("n,ntf->f", w, (xb - mean) ** 2)
    return mean, np.sqrt(ss / total)
