"""Copy the small, citable files of a run or multirun (reports, tables, metrics, figures) into the
repository's outputs/results/<name>/, leaving models and arrays behind.

    python scripts/collect_results.py <run-or-sweep-dir> outputs/results/<name>
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

KEEP = {".md", ".html", ".png", ".csv", ".json", ".yaml"}
SKIP_DIRS = {"models", "tensorboard", "mlruns"}


def collect(src: Path, dst: Path) -> int:
    n = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or path.suffix not in KEEP or SKIP_DIRS & set(rel.parts):
            continue
        if path.suffix == ".png" and (
            path.stat().st_size > 400_000 or ("figures" in rel.parts and "fuse" not in rel.parts)
        ):
            continue  # per-job figures stay in the run; report_figures/ and fuse/*/figures/ come along
        if rel.parts[0] == ".hydra" or (
            len(rel.parts) > 1 and rel.parts[1] == ".hydra" and path.name != "overrides.yaml"
        ):
            continue
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out)
        n += 1
    return n


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(f"copied {collect(Path(sys.argv[1]), Path(sys.argv[2]))} files into {sys.argv[2]}")
