"""Arrays held once: a split's modality is a view of rows of one unique array, not a copy.

`Rows(base, index)` stands for `base[index]` without building it: pairs and splits hold only their
int64 index, however often a run is reused. Indexing a `Rows` with rows (a slice, an index array, a
boolean mask) gives another `Rows`; an integer gives that row; a tuple or `np.asarray(rows)` builds
the array (what tests and non-streaming models such as MiniRocket use). `take(x, rows)` reads a batch
from either kind of input. `base` may be a memory-mapped `.npy` (`spill`): reads then touch only the
rows a batch needs.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

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


def nbytes(x) -> int:
    """Bytes of the unique data behind x (what is held once)."""
    base = x.base if isinstance(x, Rows) else np.asarray(x)
    return int(base.nbytes)


def spill(base: np.ndarray, directory: Path) -> np.ndarray:
    """Write base to an .npy in directory and return it memory-mapped read-only; the file is unlinked
    at once (the mapping keeps it alive until the process ends), so nothing is left behind."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="spill-", suffix=".npy")
    os.close(fd)
    try:
        out = np.lib.format.open_memmap(name, mode="w+", dtype=base.dtype, shape=base.shape)
        step = chunk_rows(base)
        for s in range(0, len(base), step):
            out[s:s + step] = base[s:s + step]
        out.flush()
        del out
        mapped = np.load(name, mmap_mode="r", allow_pickle=False)
    finally:
        Path(name).unlink(missing_ok=True)
    log.info("%.2f GiB of %s data moved to a memory-mapped file in %s", base.nbytes / 2**30, base.shape, directory)
    return mapped


def spill_dataset(ds, budget_gb, directory: Path) -> int:
    """Move the unique numeric arrays of ds to memory-mapped files when together they exceed
    `budget_gb` GiB (None: never). Every split's Rows then reads from the file. Returns bytes moved."""
    if budget_gb is None:
        return 0
    bases = {}
    for split in ds.splits.values():
        for x in split.x.values():
            if isinstance(x, Rows) and not isinstance(x.base, np.memmap):
                bases[id(x.base)] = x.base
    total = sum(b.nbytes for b in bases.values())
    if total <= float(budget_gb) * 2**30:
        return 0
    log.info("unique data %.2f GiB > memory_budget_gb=%s: reading it from memory-mapped files", total / 2**30, budget_gb)
    mapped = {key: spill(base, directory) for key, base in bases.items()}
    for split in ds.splits.values():
        for name, x in split.x.items():
            if isinstance(x, Rows) and id(x.base) in mapped:
                split.x[name] = Rows(mapped[id(x.base)], x.index)
    return total
