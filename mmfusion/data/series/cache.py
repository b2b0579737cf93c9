"""The on-disk cache shared by the series sources: atomic writes, checksummed arrays, source stamps.

An entry is `<key>.npy` (allow_pickle=False) plus `<key>.json` (the parameters that made it, a sha256
of the array, and any small extras); both are written atomically (temporary file, then rename), the
array first, so a reader never sees a half-written entry. A corrupt or mismatching entry is logged
and rebuilt. Keys hash every parameter that changes the data; for files read from disk that includes
each file's resolved path, size and modification time (`stamp`), so an edited file is read again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from mmfusion.data.dataset import SeriesData

log = logging.getLogger(__name__)

FORMAT = 1


def atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stamp(path: Path) -> dict:
    """What identifies a source file's content cheaply: resolved path, size, modification time."""
    st = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def key_of(params: dict) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:24]


def sha256(x: np.ndarray) -> str:
    """Checksum of the array's bytes, read in slices (a memmap is not pulled into memory at once)."""
    h = hashlib.sha256()
    flat = x.reshape(len(x), -1) if x.ndim > 1 else x.reshape(-1, 1)
    step = max(1, (64 << 20) // max(flat[:1].nbytes, 1))
    for s in range(0, len(flat), step):
        h.update(np.ascontiguousarray(flat[s : s + step]).tobytes())
    return h.hexdigest()


def store_array(cache: Path, key: str, params: dict, x: np.ndarray, extra: dict | None = None) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    atomic_write(cache / f"{key}.npy", lambda fh: np.save(fh, x, allow_pickle=False))
    meta = {
        "format": FORMAT,
        **params,
        "sha256": sha256(x),
        "shape": list(x.shape),
        "dtype": str(x.dtype),
        "extra": extra or {},
    }
    atomic_write(cache / f"{key}.json", lambda fh: fh.write(json.dumps(meta, indent=1).encode()))


def load_array(cache: Path, key: str, mmap: bool = True) -> tuple[np.ndarray, dict] | None:
    """(array, extra) of a valid entry (memory-mapped read-only by default), else None (corrupt: logged)."""
    meta_path, npy_path = cache / f"{key}.json", cache / f"{key}.npy"
    if not meta_path.exists() or not npy_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        x = np.load(npy_path, mmap_mode="r" if mmap else None, allow_pickle=False)
        if list(x.shape) != meta["shape"] or str(x.dtype) != meta["dtype"]:
            raise ValueError(f"array {x.dtype} {x.shape} is not the recorded {meta['dtype']} {meta['shape']}")
        if sha256(x) != meta["sha256"]:
            raise ValueError("checksum mismatch")
        return x, meta.get("extra", {})
    except Exception as exc:  # noqa: BLE001 - any unreadable entry is rebuilt
        log.warning("cache entry %s is corrupt (%s); rebuilding it", npy_path, exc)
        return None


def store_series(cache: Path, key: str, params: dict, data: SeriesData) -> None:
    extra = {
        "y": np.asarray(data.y).tolist(),
        "run_ids": np.asarray(data.run_ids).astype(str).tolist(),
        "variables": list(data.variables),
        "info": data.info,
        "split": None if data.split is None else np.asarray(data.split).astype(str).tolist(),
    }
    store_array(cache, key, params, np.ascontiguousarray(data.x, dtype=np.float32), extra)


def load_series(cache: Path, key: str) -> SeriesData | None:
    got = load_array(cache, key)
    if got is None:
        return None
    x, e = got
    return SeriesData(
        x=x,
        y=np.asarray(e["y"], dtype=np.int64),
        run_ids=np.asarray(e["run_ids"]),
        variables=list(e["variables"]),
        split=None if e["split"] is None else np.asarray(e["split"]),
        info=dict(e["info"]),
    )
