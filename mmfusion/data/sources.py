"""What the data sources of dataset=factory share (each source's `from_config` is registered with its
schema in mmfusion/schemas/dataset.py): where their caches live and the file a file-based source reads."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root(configured) -> Path:
    """dataset.series.cache_dir, else $MMFUSION_CACHE, else ~/.cache/mmfusion."""
    if configured:
        return Path(str(configured)).expanduser()
    return Path(os.environ.get("MMFUSION_CACHE") or Path.home() / ".cache" / "mmfusion")


def need_path(cfg, modality: str) -> str:
    """`dataset.<modality>.path`, which a file-based source (rieth, braatz, csv) cannot do without (the
    config check refuses it first: mmfusion/schemas/check/sources.py; the ValueError is for Python callers)."""
    if not cfg.get("path"):
        raise ValueError(f"dataset/{modality}={cfg.source} needs dataset.{modality}.path=<file or folder>")
    return str(cfg.path)
