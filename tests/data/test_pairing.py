"""Pairing two single-modality pools by label: the honest and the paper's protocol."""

import numpy as np
import pytest

from mmfusion.data.dataset import SeriesData, TextData
from mmfusion.data.pairing import pair_by_label
from mmfusion.data.splits import text_key
from mmfusion.errors import DataError

CLASSES = ["a", "b", "c"]


def pools(texts_per_class=(10, 6, 4), runs_per_class=5, fixed_split=False):
    texts, ty = [], []
    for k, n in enumerate(texts_per_class):
        texts += [f"report {k} number {i}" for i in range(n)]
        ty += [k] * n
    t = TextData(
        texts=np.asarray(texts, dtype=object), y=np.asarray(ty), ids=np.asarray([f"t{i}" for i in range(len(ty))])
    )
    n = runs_per_class * len(CLASSES)
    sy = np.repeat(np.arange(len(CLASSES)), runs_per_class)
    x = np.arange(n, dtype=np.float32)[:, None, None] * np.ones((n, 4, 2), dtype=np.float32)  # x encodes the run
    split = np.tile(["train"] * (runs_per_class - 2) + ["test"] * 2, len(CLASSES)) if fixed_split else None
    s = SeriesData(x=x, y=sy, run_ids=np.asarray([f"r{i}" for i in range(n)]), variables=["u", "v"], split=split)
    return t, s


def test_honest_split_keeps_texts_and_runs_on_one_side():
    t, s = pools()
    ds = pair_by_label(
        CLASSES, t, s, samples_per_class=20, test_fraction=0.2, val_fraction=0.0, split_before_resampling=True, seed=0
    )
    assert ds.sizes() == {"train": 48, "test": 12}
    assert ds.class_counts() == {"train": [16, 16, 16], "test": [4, 4, 4]}
    tr, te = ds.splits["train"], ds.splits["test"]
    assert not set(tr.x["text"]) & set(te.x["text"])
    assert not set(tr.x["series"][:, 0, 0]) & set(te.x["series"][:, 0, 0])
    assert ds.info["test_texts_also_in_train"] == 0 and ds.info["test_series_runs_also_in_train"] == 0
    for split in (tr, te):  # every pair shares its label across modalities
        text_label = np.asarray([int(txt.split()[1]) for txt in split.x["text"]])
        run_label = s.y[split.x["series"][:, 0, 0].astype(int)]
        assert (text_label == split.y).all() and (run_label == split.y).all()


def test_papers_protocol_lets_duplicates_straddle_and_says_so():
    t, s = pools()
    ds = pair_by_label(
        CLASSES, t, s, samples_per_class=20, test_fraction=0.2, val_fraction=0.0, split_before_resampling=False, seed=0
    )
    assert ds.class_counts() == {"train": [16, 16, 16], "test": [4, 4, 4]}
    assert ds.info["test_texts_also_in_train"] > 0  # class c has 4 texts resampled to 20 pairs


def test_validation_split_and_fixed_source_split():
    t, s = pools(fixed_split=True)
    ds = pair_by_label(
        CLASSES, t, s, samples_per_class=20, test_fraction=0.2, val_fraction=0.2, split_before_resampling=True, seed=1
    )
    assert ds.sizes() == {"train": 36, "val": 12, "test": 12}
    test_runs = set(ds.splits["test"].x["series"][:, 0, 0].astype(int))
    assert all(s.split[r] == "test" for r in test_runs)  # the source's test runs stay in test


def test_deterministic_given_seed():
    t, s = pools()
    a, b = (pair_by_label(CLASSES, t, s, 20, 0.2, 0.0, True, seed=5) for _ in range(2))
    assert (a.splits["test"].ids == b.splits["test"].ids).all()


def test_too_few_distinct_texts_for_every_split_is_named():
    t, s = pools(texts_per_class=(10, 6, 1))
    with pytest.raises(DataError, match="class 'c' has too few distinct texts"):
        pair_by_label(CLASSES, t, s, 20, 0.2, 0.0, True, seed=0)


def test_a_class_without_series_is_named():
    t, s = pools()
    s.y = np.where(s.y == 2, 1, s.y)
    with pytest.raises(DataError, match="class 'c' has no time series"):
        pair_by_label(CLASSES, t, s, 20, 0.2, 0.0, True, seed=0)


# --- identical texts (and runs) filed under two labels: one unit, on one side of every split ----------


def shared_pools(shared=6, seed_texts=12, runs_per_class=8):
    """Classes a and b each have `seed_texts` own texts plus `shared` descriptions filed under both labels
    (under b in another case, spacing and punctuation); class c's runs repeat run ids of class a."""
    t, s = pools(texts_per_class=(seed_texts, seed_texts, seed_texts), runs_per_class=runs_per_class)
    dup = [f"Pump {i} leaks oil near the seal" for i in range(shared)]
    texts = np.concatenate([t.texts, dup, [f"  pump {i} LEAKS oil, near the seal!" for i in range(shared)]])
    y = np.concatenate([t.y, np.zeros(shared, int), np.ones(shared, int)])
    t = TextData(texts=texts.astype(object), y=y, ids=np.asarray([f"t{i}" for i in range(len(y))]))
    runs = s.run_ids.astype(object)
    runs[np.flatnonzero(s.y == 2)[:3]] = runs[np.flatnonzero(s.y == 0)[:3]]  # the same run under a and c
    s.run_ids = runs.astype(str)
    return t, s


def _leaks(ds) -> dict:
    """Samples of one split whose (grouped) text / run is also in another, counted from the splits."""
    key = {s: [text_key(x) for x in sp.x["text"]] for s, sp in ds.splits.items()}
    run = {s: list(sp.units["series"]) for s, sp in ds.splits.items()}
    out = {}
    for a, b in (("test", "train"), ("test", "val"), ("val", "train")):
        if a in ds.splits and b in ds.splits:
            out[f"{a}_texts_also_in_{b}"] = sum(k in set(key[b]) for k in key[a])
            out[f"{a}_series_runs_also_in_{b}"] = sum(r in set(run[b]) for r in run[a])
    return out


def test_text_key_ignores_case_spacing_and_punctuation():
    assert text_key("  Pump 3 LEAKS oil, near the seal! ") == text_key("pump 3 leaks oil near the seal")
    assert text_key("o-ring worn") == text_key("o ring worn") != text_key("oring worn")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("val_fraction", [0.0, 0.2])
def test_honest_split_keeps_a_description_filed_under_two_labels_on_one_side(seed, val_fraction):
    t, s = shared_pools()
    ds = pair_by_label(CLASSES, t, s, 30, 0.2, val_fraction, True, seed=seed)
    leaks = _leaks(ds)
    assert leaks and all(v == 0 for v in leaks.values()), leaks
    assert {k: ds.info[k] for k in leaks} == leaks  # metrics.json's counts say the same
    assert ds.info["unique_texts_train"] + ds.info["unique_texts_test"] + ds.info.get("unique_texts_val", 0) <= 42


@pytest.mark.parametrize("seed", range(3))
def test_folds_keep_a_description_filed_under_two_labels_on_one_side(seed):
    t, s = shared_pools()
    tested = []
    for fold in range(4):
        ds = pair_by_label(CLASSES, t, s, 30, 0.2, 0.2, True, seed=seed, cv=(4, fold))
        leaks = _leaks(ds)
        assert set(leaks) == {
            f"{a}_{w}_also_in_{b}"
            for a, b in (("test", "train"), ("test", "val"), ("val", "train"))
            for w in ("texts", "series_runs")
        }
        assert all(v == 0 for v in leaks.values()) and {k: ds.info[k] for k in leaks} == leaks, (fold, leaks)
        tested += sorted({text_key(x) for x in ds.splits["test"].x["text"]})
    assert len(tested) == len(set(tested)) == 42  # 36 own texts and 6 shared ones, each tested once


def test_the_old_rule_let_such_a_description_straddle_and_the_counts_show_it():
    """The counts can fail: grouping texts per label (as before) puts shared descriptions on both sides."""
    t, s = shared_pools()
    per_label = t.texts.copy()
    per_label[t.y == 1] = np.asarray([f"b: {x}" for x in per_label[t.y == 1]], dtype=object)  # b's copies differ
    leaked = 0
    for seed in range(6):
        ds = pair_by_label(CLASSES, TextData(texts=per_label, y=t.y, ids=t.ids), s, 30, 0.2, 0.0, True, seed=seed)
        strip = {sp: [text_key(x.removeprefix("b: ")) for x in ds.splits[sp].x["text"]] for sp in ds.splits}
        leaked += sum(k in set(strip["train"]) for k in strip["test"])
    assert leaked > 0
