"""The rules between the `dataset` keys: data paths that exist, splits that hold every class, folds, and
the factory dataset's faults, simulation steps, windows and lengths."""

from __future__ import annotations

import math
from pathlib import Path

from mmfusion.errors import ConfigError
from mmfusion.schemas.check.messages import fail, show
from mmfusion.schemas.dataset import MAX_FAULT

RIETH_SAMPLES = {"training": 500, "testing": 960}  # samples per run of each part of the Rieth release


def _split_sizes(d) -> None:
    """Stratified splits (scikit-learn) need at least one sample per class on every side."""
    q, n = len(d.classes), len(d.classes) * d.samples_per_class
    n_test = math.ceil(d.test_fraction * n)
    sides = [n_test, n - n_test]
    if d.val_fraction > 0:
        n_val = math.ceil(d.val_fraction / (1 - d.test_fraction) * (n - n_test))
        sides = [n_test, n_val, n - n_test - n_val]
    if min(sides) < q:
        fail(
            "dataset.samples_per_class",
            d.samples_per_class,
            f"enough samples for one of each of the {q} classes in every split (test_fraction="
            f"{show(d.test_fraction)}, val_fraction={show(d.val_fraction)}; {n} samples give {sides})",
        )


def _exists(key: str, value, folder_ok: bool) -> None:
    """A data path of dataset=factory: it must exist before minutes of loading or simulating begin."""
    path = Path(str(value)).expanduser()
    if not (path.is_file() or (folder_ok and path.is_dir())):
        what = "file or folder" if folder_ok else "file"
        state = "is a folder" if path.is_dir() else "does not exist"
        raise ConfigError(f"{key}={show(value)}: {path.absolute()} {state}; expected an existing {what}")


def check_dataset(d) -> None:
    """Paths, fractions and folds of any dataset, then the factory dataset's own rules."""
    for part, folder_ok in (("series", True), ("text", False)):
        if d.get("name") == "factory" and "path" in d[part]:
            _exists(f"dataset.{part}.path", d[part].path, folder_ok)
    test, val = d.get("test_fraction"), d.get("val_fraction")
    if test is not None and val is not None and test + val >= 1:
        fail(
            "dataset.val_fraction",
            val,
            f"dataset.test_fraction + dataset.val_fraction < 1 (test_fraction={show(test)})",
        )
    cv = d.get("cv")
    if cv is not None and cv.folds and not cv.fold < cv.folds:
        fail("dataset.cv.fold", cv.fold, f"an integer in 0..{cv.folds - 1} for dataset.cv.folds={cv.folds}")
    if d.get("name") == "synthetic":
        _split_sizes(d)
    if d.get("name") == "factory":
        _factory(d, cv)


def _factory(d, cv) -> None:
    """dataset=factory: folds of unique units, one fault per class, and the series sources' own ranges."""
    if cv is not None and cv.folds and not d.split_before_resampling:  # data/pairing.py makes the folds
        raise ConfigError(
            "dataset.cv.folds needs dataset.split_before_resampling=true: folds are made of "
            "unique texts and runs, which the paper's protocol resamples before splitting"
        )
    n, s, t = len(d.classes), d.series, d.text
    if len(s.faults) != n:
        fail("dataset.series.faults", s.faults, f"one fault number per class ({n} classes: {show(d.classes)})")
    top = MAX_FAULT.get(s.source)
    if top is not None and max(s.faults) > top:
        fail("dataset.series.faults", s.faults, f"fault numbers in 0..{top} for dataset/series={s.source}")
    if s.source == "simulate" and not s.onset_h < s.horizon_h:
        fail("dataset.series.onset_h", s.onset_h, f"a number below dataset.series.horizon_h={show(s.horizon_h)}")
    if s.source == "simulate":
        for a, b in (("sample_interval_h", "control_interval_h"), ("horizon_h", "sample_interval_h")):
            steps = round(s[a] / s[b])
            if steps < 1 or abs(steps * s[b] - s[a]) > 1e-9 * max(s[a], 1.0):
                fail(f"dataset.series.{a}", s[a], f"a whole multiple of dataset.series.{b}={show(s[b])}")
    w = s.get("window")
    if w is not None and w.get("jitter_start") and w.get("length") is None:
        fail(
            "dataset.series.window.jitter_start",
            w.jitter_start,
            "0 while dataset.series.window.length is null (jittered windows need a fixed length)",
        )
    if s.source == "rieth" and s.length is not None and s.length > RIETH_SAMPLES[s.part]:
        fail("dataset.series.length", s.length, f"null or 1..{RIETH_SAMPLES[s.part]} for dataset.series.part={s.part}")
    if t.source == "generate" and t.categories is not None and len(t.categories) != n:
        fail("dataset.text.categories", t.categories, f"null or one report category per class ({n} classes)")
