"""scripts/reproduce/early_errors.py on a fake cross-validated sweep (tests/hours_runs.py): the fused model's pooled
confusion counts and the texts every text model misreads, recomputed here from the jobs' arrays."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np

from mmfusion.rundir.records import read_predictions
from tests.hours_runs import WINDOWS, cv_sweep

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("early_errors", ROOT / "scripts" / "reproduce" / "early_errors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counts_match_the_jobs_arrays(tmp_path):
    cv_sweep(tmp_path / "sweep", seeds=(0,), folds=2)
    out = tmp_path / "errors.md"
    assert _script().main([str(tmp_path / "sweep"), "--out", str(out)]) == 0
    text = out.read_text()
    for length, hours in WINDOWS.items():
        jobs = [
            j
            for j in (tmp_path / "sweep").iterdir()
            if f"window.length={length}" in (j / ".hydra/overrides.yaml").read_text()
        ]
        preds = [read_predictions(j) for j in jobs]
        y = np.concatenate([p.y("test") for p in preds])
        right = sum(int((p.proba("test", "fused").argmax(1) == p.y("test")).sum()) for p in preds)
        misread = set()
        for p in preds:
            ok = p.present("test", "text")
            both = (p.proba("test", "text").argmax(1) != p.y("test")) & (
                p.proba("test", "text_tfidf_logreg").argmax(1) != p.y("test")
            )
            misread |= set(p.units("test", "text")[ok & both].tolist())
        part = text.split(f"## {hours:g} h after the onset")[1].split("\n## ")[0]
        assert f"{right} of {len(y)} right" in part
        assert re.search(rf"misreads: {len(misread)}, in ", part)
        rows = [line for line in part.splitlines() if line.startswith("| ") and "(t" in line]
        assert len(rows) == len(misread)


def test_a_folder_without_windows_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    try:
        _script().main([str(tmp_path / "empty")])
    except SystemExit as e:
        assert "no finished job" in str(e.code)
    else:
        raise AssertionError("an empty folder was accepted")
