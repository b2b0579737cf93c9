"""The run directory's files: their names, the one atomic writer, the JSON / .npz / config readers (one
`FileError` naming the file when a read or write fails), and checksums.json kept current when a file is
rewritten (`checksums` records and verifies it)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from mmfusion.errors import FileError, reading, writing

MARKER = "COMPLETE"
METRICS = "metrics.json"
PREDICTIONS = "predictions.npz"
VERSIONS = "versions.json"
CHECKSUMS = "checksums.json"  # {"files": {relative path: {"bytes": n, "sha256": hex}}}, written before the marker
CONFIG = "config.yaml"  # the resolved config (also without Hydra); Hydra's copy is .hydra/config.yaml
SPLITS = ("train", "val", "test")


def write_atomic(path: Path, write, suffix: str = "") -> None:
    """`write(tmp)` writes the content to a temporary name in the same folder, then it is renamed over
    `path`: the file is whole or as it was before. Any OSError (no space, read-only) is one FileError
    naming `path`; the temporary file is removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        with writing(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _update_checksum(path)


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


def write_json(path: Path, obj) -> None:
    """Write to a temporary name, then rename: a file is either whole or absent."""
    write_text(path, json.dumps(obj, indent=2, allow_nan=False))


def write_npz(path: Path, arrays: dict) -> None:
    write_atomic(path, lambda tmp: np.savez_compressed(tmp, **arrays), suffix=".npz")


def read_json(path: Path, what: str = "a JSON file"):
    """A JSON file, or one FileError naming it (missing, unreadable, cut off)."""
    path = Path(path)
    with reading(path):
        return json.loads(path.read_text(encoding="utf-8"))


def load_npz(path: Path) -> dict:
    path = Path(path)
    if path.is_file() and not _is_zip(path):  # np.load would call it "pickled data" (allow_pickle=False)
        raise FileError(f"{path}: not an .npz file (it does not start like a zip archive); give the .npz file")
    with reading(path, "not a readable .npz file"):
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}


def _is_zip(path: Path) -> bool:
    with reading(path):
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")  # an archive, or an empty one


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with reading(path):
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def checksum_entry(path: Path) -> dict:
    return {"bytes": path.stat().st_size, "sha256": sha256(path)}


def _update_checksum(path: Path) -> None:
    """A file rewritten through this module in a directory with checksums keeps its entry current."""
    path = Path(path)
    if path.name in (CHECKSUMS, MARKER):
        return
    for d in (path.parent, path.parent.parent):
        manifest = d / CHECKSUMS
        if manifest.is_file():
            rel = path.relative_to(d).as_posix()
            data = read_json(manifest)
            if rel in data.get("files", {}):
                data["files"][rel] = checksum_entry(path)
                write_json(manifest, data)
            return


def write_config(run_dir: Path, cfg) -> None:
    write_text(Path(run_dir) / CONFIG, OmegaConf.to_yaml(cfg, resolve=True))


def read_config(run_dir: Path):
    """The run's resolved config (config.yaml, else Hydra's .hydra/config.yaml), or None. Plain YAML only
    (OmegaConf's safe loader: a `!!python/...` tag is refused); anything but a mapping is a FileError."""
    for path in (Path(run_dir) / CONFIG, Path(run_dir) / ".hydra" / "config.yaml"):
        if path.is_file():
            with reading(path):
                cfg = OmegaConf.load(path)
            if not isinstance(cfg, DictConfig):
                raise FileError(
                    f"{path}: not a config (a YAML mapping of keys); the run directory was changed, rerun it"
                )
            return cfg
    return None
