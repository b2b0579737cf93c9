"""checksums.json: the size and SHA-256 of the files a run (or a re-fusion) wrote, recorded before the
marker; readers verify them, so a damaged or changed file is named as such."""

from __future__ import annotations

from pathlib import Path

from mmfusion.errors import FileError, RunDirError
from mmfusion.rundir.files import (
    CHECKSUMS,
    CONFIG,
    METRICS,
    PREDICTIONS,
    VERSIONS,
    checksum_entry,
    read_json,
    sha256,
    write_json,
)

RECORDED = (METRICS, PREDICTIONS, CONFIG, VERSIONS, "models")  # what a run's checksums.json covers


def record_checksums(run_dir: Path) -> None:
    """checksums.json: size and SHA-256 of the run's files (RECORDED; every file under models/)."""
    d = Path(run_dir)
    files = {}
    for name in RECORDED:
        p = d / name
        for f in sorted(p.rglob("*")) if p.is_dir() else [p]:
            if f.is_file() and not f.name.startswith("."):
                files[f.relative_to(d).as_posix()] = checksum_entry(f)
    write_json(d / CHECKSUMS, {"algorithm": "sha256", "files": files})


def _read_checksums(d: Path) -> dict | None:
    path = d / CHECKSUMS
    if not path.is_file():
        return None  # a run made before checksums were recorded: nothing to compare
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise FileError(f"{path}: not a checksum list; the run directory was changed, rerun it")
    return data["files"]


def verify(run_dir: Path, names=RECORDED) -> None:
    """Each recorded file at or under `names` is present, of its size and SHA-256; else one RunDirError
    naming the file. A run without checksums.json (made before it existed) passes."""
    d = Path(run_dir)
    files = _read_checksums(d)
    if not files:
        return
    for rel, want in files.items():
        if not any(rel == n or rel.startswith(f"{n}/") for n in names):
            continue
        path = d / rel
        if not path.is_file():
            raise RunDirError(f"{path}: missing (the run wrote it, see {CHECKSUMS}); restore it or rerun the run")
        size = path.stat().st_size
        if size != want.get("bytes"):
            raise RunDirError(
                f"{path}: damaged or changed since the run wrote it ({size} bytes, the run wrote {want.get('bytes')}); "
                f"restore it or rerun the run"
            )
        if sha256(path) != want.get("sha256"):
            raise RunDirError(
                f"{path}: damaged or changed since the run wrote it (its SHA-256 differs from {CHECKSUMS}); "
                f"restore it or rerun the run"
            )
