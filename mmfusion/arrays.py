"""Arrays held once: a split's modality is a view of rows of one unique array, not a copy.

`Rows(base, index)` stands for `base[index]` without building it: pairs and splits hold only their
int64 index, however often a run is reused. Indexing a `Rows` with rows (a slice, an index array, a
boolean mask) gives another `Rows`; an integer gives that row; a tuple or `np.asarray(rows)` builds
the array (what tests and non-streaming models such as MiniRocket use). `take(x, rows)` reads a batch
from either kind of input. `base` may be a memory-mapped `.npy` (`data.store.spill`): reads then touch
only the rows a batch needs.

Below data and models (both use it; neither imports the other).
"""

from __future__ import annotations

import numpy as np

CHUNK_BYTES = 64 * 2**20  # working memory of one chunked pass over the data (statistics, checks)


class Rows:
    """Rows `index` of `base` (an ndarray or a read-only memmap), materialised only on request."""

    def __init__(self, base: np.ndarray, index=None):
        self.base = base
        self.index = np.arange(len(base), dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
        if self.index.ndim != 1:
            raise ValueError(f"Rows index must be 1-d, got shape {self.index.shape}")

    @property
    def shape(self) -> tuple:
        return (len(self.index), *self.base.shape[1:])

    @property
    def dtype(self):
        return self.base.dtype

    @property
    def ndim(self) -> int:
        return self.base.ndim

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.base.dtype.itemsize

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.base[self.index[key]]
        if isinstance(key, tuple):
            return np.asarray(self[key[0]])[(slice(None), *key[1:])]
        return Rows(self.base, self.index[key])

    def __iter__(self):
        for i in self.index:
            yield self.base[i]

    def __array__(self, dtype=None, copy=None):
        out = gather(self.base, self.index)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"Rows({len(self.index)} of {len(self.base)} rows of {self.base.shape[1:]} {self.dtype})"


def gather(base: np.ndarray, index: np.ndarray) -> np.ndarray:
    """base[index], reading each needed row once and in file order (kind to a memmap)."""
    index = np.asarray(index, dtype=np.int64)
    if len(index) and np.all(index[1:] >= index[:-1]):
        return np.asarray(base[index])
    uniq, inverse = np.unique(index, return_inverse=True)
    return np.asarray(base[uniq])[inverse]


def take(x, rows: np.ndarray) -> np.ndarray:
    """Rows `rows` of x (a Rows view, an ndarray, or a sequence such as a list of texts)."""
    if isinstance(x, Rows):
        return gather(x.base, x.index[rows])
    if isinstance(x, np.ndarray):
        return x[rows]
    return np.asarray(x, dtype=object)[rows]


def base_and_index(x) -> tuple[np.ndarray, np.ndarray]:
    """(unique array, row index) behind x; a plain array is its own base."""
    if isinstance(x, Rows):
        return x.base, x.index
    x = np.asarray(x)
    return x, np.arange(len(x), dtype=np.int64)


def chunk_rows(x) -> int:
    """Rows per chunk of x (an array, or its shape as a tuple) so that one float64 chunk stays near CHUNK_BYTES."""
    shape = x if isinstance(x, tuple) else np.shape(x)
    per_row = int(np.prod(shape[1:], dtype=np.int64)) * 8
    return max(1, CHUNK_BYTES // max(per_row, 1))
