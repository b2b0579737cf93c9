"""Golden check for refactors: the same runs before and after a change must give the same numbers.

    python scripts/golden_check.py record  before.json   # on the code before the change
    python scripts/golden_check.py record  after.json    # on the code after it
    python scripts/golden_check.py compare before.json after.json

`record` runs, through the command line as a user would (so it does not depend on module paths):
a tiny `dataset=synthetic` run and a small `dataset=factory` run (simulated TEP series, generated
text), each followed by `mmfusion fuse <run> fusion=all` and `mmfusion report <run>`. It stores every
value of each `metrics.json`, every table file (`tables/*.csv`, `*.md`) and the fuse comparison, with
the run directory's path masked. `compare` lists every difference and exits 1 when there is one.
Runs use `deterministic=true`, so the same code gives the same numbers on the CPU.
What differs from run to run by nature is left out: provenance.json (never recorded: it is not a table)
and the `## Provenance` section of report.md (the commit and the stage timings), on both sides.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

MODELS = [
    "model.text.epochs=2",
    "model.series.epochs=2",
    "model.text.embedding_dim=8",
    "model.text.lstm_units=8",
    "model.text.dense_units=[8,8,8]",
    "model.series.lstm_units=[8,6,4]",
    "model.series.dense_units=[8,8,8]",
    "evaluation.bootstrap=200",
]
CASES = {
    "synthetic": [
        "dataset=synthetic",
        "dataset.samples_per_class=16",
        "dataset.series_length=12",
        "dataset.series_variables=4",
        "dataset.val_fraction=0.25",
        *MODELS,
    ],
    "factory": [
        "dataset=factory",
        "dataset.samples_per_class=20",
        "dataset.series.runs_per_class=5",
        "dataset.series.horizon_h=4",
        "dataset.val_fraction=0.2",
        *MODELS,
    ],
}


def _cli(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "mmfusion", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"`mmfusion {' '.join(args)}` failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def _flatten(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: obj}


def without_provenance(text: str) -> str:
    """A report.md without its `## Provenance` section (up to the next `## ` heading or the end)."""
    return re.sub(r"\n## Provenance\n.*?(?=\n## |\Z)", "", text, flags=re.S)


def _texts(root: Path, mask: str) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.suffix in (".csv", ".md") and path.is_file() and "history" not in path.parts:
            rel = str(path.relative_to(root))
            rel = re.sub(r"fuse/([a-z_]+)-[0-9_-]+", r"fuse/\1", rel)  # fuse dirs carry a time stamp
            out[rel] = path.read_text().replace(mask, "<RUN>")  # provenance: left out by compare
    return out


def record(out_file: Path) -> None:
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, overrides in CASES.items():
            run = tmp / name
            _cli("train", *overrides, f"hydra.run.dir={run}", cwd=tmp)
            _cli("fuse", str(run), "fusion=all", cwd=tmp)
            _cli("report", str(run), cwd=tmp)
            metrics = json.loads((run / "metrics.json").read_text())
            result[name] = {"metrics": _flatten(metrics), "files": _texts(run, str(run))}
            print(f"recorded {name}: {len(result[name]['metrics'])} values, {len(result[name]['files'])} files")
    out_file.write_text(json.dumps(result, indent=1, sort_keys=True))
    print(f"written {out_file}")


# provenance that depends on the machine's state, not on the code: a warm cache turns misses into hits
VOLATILE = re.compile(r"cache_hits|cache_misses|cache_dir")


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def compare(before_file: Path, after_file: Path) -> int:
    before, after = (json.loads(Path(f).read_text()) for f in (before_file, after_file))
    diffs = []
    for case in sorted(set(before) | set(after)):
        b, a = before.get(case, {}), after.get(case, {})
        for part in ("metrics", "files"):
            bp, ap = b.get(part, {}), a.get(part, {})
            for key in sorted(set(bp) | set(ap)):
                if VOLATILE.search(key):
                    continue
                if key not in bp or key not in ap:
                    diffs.append(f"{case} {part} {key}: only {'before' if key in bp else 'after'}")
                    continue
                bv, av = bp[key], ap[key]
                if part == "files" and key.endswith(".md"):  # also records made before this was left out
                    bv, av = without_provenance(bv), without_provenance(av)
                if not _same(bv, av):
                    diffs.append(f"{case} {part} {key}: {str(bv)[:80]!r} -> {str(av)[:80]!r}")
    for line in diffs:
        print(line)
    n = sum(len(before[c].get(p, {})) for c in before for p in ("metrics", "files"))
    print(f"{len(diffs)} difference(s) over {n} recorded values and files")
    return 1 if diffs else 0


def main(argv: list[str]) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if len(argv) == 2 and argv[0] == "record":
        record(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
