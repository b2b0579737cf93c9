"""Unique data moved out of RAM: above `memory_budget_gb`, a dataset's unique arrays are written to
a memory-mapped `.npy` and every split's `Rows` view (mmfusion.arrays) reads from it."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from mmfusion.arrays import Rows, chunk_rows

log = logging.getLogger(__name__)


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
            out[s : s + step] = base[s : s + step]
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
    log.info(
        "unique data %.2f GiB > memory_budget_gb=%s: reading it from memory-mapped files", total / 2**30, budget_gb
    )
    mapped = {key: spill(base, directory) for key, base in bases.items()}
    for split in ds.splits.values():
        for name, x in split.x.items():
            if isinstance(x, Rows) and id(x.base) in mapped:
                split.x[name] = Rows(mapped[id(x.base)], x.index)
    return total
