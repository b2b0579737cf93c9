"""Texts on both sides of the honest split and of the folds, on the bundled factoryReports: before and
after identical texts were grouped whatever their label (issue 20).

    python scripts/studies/split_leaks.py                 # a Markdown table on stdout (seed 0)
    python scripts/studies/split_leaks.py --seeds 0 1 2
    python scripts/studies/split_leaks.py --check-old a4809ed --check-series   # the two checks below

Each count is a number of pairs (samples) of one split whose text is also the text of a pair in another
split, texts compared after lower-casing and dropping punctuation and extra spaces (splits.text_key):
the keys test_texts_also_in_train, test_texts_also_in_val and val_texts_also_in_train of metrics.json.

- after: the current code (`pairing.pair_by_label`, as `mmfusion train` runs it), with its own counts
  from the dataset's info checked against the ones counted here;
- before: the rule of the code before the change, re-created here by patching the current code back:
  texts grouped by their stripped text within each label, so a description filed under two labels was
  two units, placed independently (the folds shared only the test fold of such a text, not its
  validation side); beside it, what metrics.json's test_texts_also_in_train said then (it compared
  stripped texts, so a copy in other case or punctuation went uncounted).

Only split membership is computed, without simulating a plant run: pairing uses the time series only
through their run ids and labels, so the series are stand-ins with the ids the simulation gives
(`idv<fault>-run<r>`, runs_per_class per class).

Checks: `--check-old COMMIT` builds every case (seeds 0 and 1) with the pairing and splitting code of
COMMIT (a commit before the change, read with `git show`) and stops unless its splits are the patched
rule's, sample for sample; `--check-series` simulates a small pool (6 runs per class, 2 h) and stops
unless the stand-ins give the same splits as the simulated runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import types
from contextlib import ExitStack
from unittest import mock

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mmfusion.config import compose_config  # noqa: E402
from mmfusion.data import pairing, splits  # noqa: E402
from mmfusion.data.dataset import SeriesData  # noqa: E402
from mmfusion.data.pairing import cv_settings, pair_by_label  # noqa: E402
from mmfusion.data.paper_dataset import load_texts  # noqa: E402
from mmfusion.data.splits import text_key  # noqa: E402

CASES = [  # (label, overrides); "folds" cases are run for every fold
    ("dataset=factory (default)", ["dataset=factory"]),
    ("experiment=early", ["experiment=early"]),
    ("experiment=early, 5 folds", ["experiment=early", "dataset.cv.folds=5"]),
    ("experiment=paper", ["experiment=paper"]),
    ("experiment=paper, 5 folds", ["experiment=paper", "dataset.cv.folds=5"]),
]
PAIRS = (("test", "train"), ("test", "val"), ("val", "train"))


def stand_in_series(cfg) -> SeriesData:
    """The simulated pool's run ids and labels (simulate.py's naming), without simulating the runs."""
    faults, n = list(cfg.series.faults), int(cfg.series.runs_per_class)
    y = np.repeat(np.arange(len(faults)), n)
    ids = np.asarray([f"idv{f:02d}-run{r:03d}" for f in faults for r in range(n)])
    return SeriesData(x=np.zeros((len(y), 1, 1), np.float32), y=y, run_ids=ids, variables=["v"])


def old_rule() -> ExitStack:
    """Patch pair_by_label back to the rule before the change: stripped text, units per label."""
    stack = ExitStack()
    stack.enter_context(mock.patch.object(pairing, "text_key", lambda t: str(t).strip()))
    stack.enter_context(mock.patch.object(pairing, "_split_units", lambda *a: splits._split_units(*a[:6])))
    stack.enter_context(mock.patch.object(pairing, "_fold_units", lambda *a: splits._fold_units(*a[:7])))
    return stack


def counts(ds) -> dict:
    """Pairs of split a whose grouped text (or run) is also in split b, counted from the splits."""
    text = {s: [text_key(x) for x in sp.x["text"]] for s, sp in ds.splits.items()}
    runs = {s: list(sp.units["series"]) for s, sp in ds.splits.items()}
    out = {}
    for a, b in PAIRS:
        if a in ds.splits and b in ds.splits:
            out[f"{a}_texts_also_in_{b}"] = sum(t in set(text[b]) for t in text[a])
            out[f"{a}_series_runs_also_in_{b}"] = sum(r in set(runs[b]) for r in runs[a])
    return out


def build(cfg, series, fold: int | None):
    d = cfg.dataset
    classes = list(d.classes)
    texts = load_texts(d.text, classes, int(d.samples_per_class), int(d.seed))
    cv = cv_settings(d) if fold is None else (int(d.cv.folds), fold)
    return pair_by_label(
        classes,
        texts,
        series,
        int(d.samples_per_class),
        float(d.test_fraction),
        float(d.val_fraction),
        bool(d.split_before_resampling),
        int(d.seed),
        cv,
    )


def _fold_range(cfg):
    folds = int(cfg.dataset.cv.folds or 0)
    return range(folds) if folds else [None]


def check_old(commit: str) -> None:
    """The patched rule against the pairing and splitting code of `commit`: the same splits."""

    def source(name: str) -> str:
        path = f"mmfusion/data/{name}.py"
        return subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True, check=True).stdout

    old_splits = types.ModuleType("old_splits")
    exec(compile(source("splits"), "old splits.py", "exec"), old_splits.__dict__)
    current = sys.modules["mmfusion.data.splits"]
    sys.modules["mmfusion.data.splits"] = old_splits  # the old pairing.py imports the old splits.py
    try:
        old_pairing = types.ModuleType("old_pairing")
        exec(compile(source("pairing"), "old pairing.py", "exec"), old_pairing.__dict__)
    finally:
        sys.modules["mmfusion.data.splits"] = current
    n = 0
    for label, overrides in CASES:
        for seed in (0, 1):
            cfg = compose_config([*overrides, f"seed={seed}"])
            series = stand_in_series(cfg.dataset)
            for fold in _fold_range(cfg):
                with old_rule():
                    patched = build(cfg, series, fold)
                with mock.patch(f"{__name__}.pair_by_label", old_pairing.pair_by_label):
                    old = build(cfg, series, fold)
                for s in old.splits:
                    if not (old.splits[s].ids == patched.splits[s].ids).all():
                        sys.exit(f"{label} seed {seed} fold {fold}: the {s} split differs from {commit}'s code")
                n += 1
    print(f"check: the patched rule gives {commit}'s splits on {n} datasets, sample for sample")


def check_series() -> None:
    """Stand-in series against a small simulated pool: the same splits (single split and a fold)."""
    import tempfile

    from mmfusion.data import build_dataset

    with tempfile.TemporaryDirectory() as cache:
        small = [
            "dataset=factory",
            "dataset.samples_per_class=40",
            "dataset.series.runs_per_class=6",
            "dataset.series.horizon_h=2.0",
            "dataset.series.onset_h=0.5",
            f"dataset.series.cache_dir={cache}",
            "dataset.val_fraction=0.1",
        ]
        n = 0
        for extra in ([], ["dataset.cv.folds=3", "dataset.cv.fold=1"]):
            cfg = compose_config(small + extra)
            real, stand_in = build_dataset(cfg.dataset), build(cfg, stand_in_series(cfg.dataset), None)
            for s in real.splits:
                if not (real.splits[s].ids == stand_in.splits[s].ids).all():
                    sys.exit(f"stand-in series: the {s} split differs from the simulated pool's ({extra})")
                n += 1
    print(f"check: stand-in series give the simulated pool's splits ({n} splits)")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--check-old", metavar="COMMIT", help="check the re-created rule against COMMIT's code")
    ap.add_argument("--check-series", action="store_true", help="check the stand-ins against a simulated pool")
    args = ap.parse_args(argv)
    if args.check_old or args.check_series:
        if args.check_old:
            check_old(args.check_old)
        if args.check_series:
            check_series()
        return 0
    seeds = args.seeds
    cols = [f"{a}_texts_also_in_{b}" for a, b in PAIRS]
    head = ["case", "seed", "fold", "test pairs", "before, as metrics.json said: test in train"]
    head += [f"before: {a} in {b}" for a, b in PAIRS]
    head += [f"after: {a} in {b}" for a, b in PAIRS]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    worst_runs = 0
    for label, overrides in CASES:
        for seed in seeds:
            cfg = compose_config([*overrides, f"seed={seed}"])
            series = stand_in_series(cfg.dataset)
            for fold in _fold_range(cfg):
                with old_rule():
                    old = build(cfg, series, fold)
                before, said = counts(old), old.info["test_texts_also_in_train"]  # stripped texts compared
                ds = build(cfg, series, fold)
                after = counts(ds)
                recorded = {k: ds.info.get(k) for k in after}
                if recorded != after:  # metrics.json's counts must say what the splits hold
                    sys.exit(f"{label} seed {seed} fold {fold}: dataset info {recorded} != counted {after}")
                worst_runs = max([worst_runs] + [v for k, v in {**before, **after}.items() if "runs" in k])
                row = [label, str(seed), "-" if fold is None else str(fold), str(len(ds.splits["test"].y)), str(said)]
                row += [str(before[c]) if c in before else "-" for c in cols]
                row += [str(after[c]) if c in after else "-" for c in cols]
                print("| " + " | ".join(row) + " |")
    print(f"\nSeries runs on two sides, in every case above, before and after: at most {worst_runs}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
