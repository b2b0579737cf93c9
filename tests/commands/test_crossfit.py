"""Cross-fitted fusion (`fusion.fit_on=crossfit`, docs/fusion.md): rules fitted on out-of-fold predictions
of the training split. One tiny cross-fitted run with two models per modality is trained once for the
module (tf-idf text models, one-epoch series networks, K=2 folds); the rest calls functions directly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import SHRINK_SYNTHETIC, compose_cfg

from mmfusion import fusion
from mmfusion.commands import train_crossfit
from mmfusion.data.dataset import Split
from mmfusion.errors import ConfigError, DataError

FOLDS = 2
SERIES = ["model.series.epochs=1", "model.series.lstm_units=[4]", "model.series.dense_units=[4]"]
CONV = [
    "+model/series@model.series_conv1d=conv1d",
    "model.series_conv1d.epochs=1",
    "model.series_conv1d.filters=[4]",
    "model.series_conv1d.kernel_sizes=[3]",
    "model.series_conv1d.dense_units=[4]",
]
TEXTS = ["model/text=tfidf_logreg", "+model/text@model.text_tfidf_c1=tfidf_logreg", "model.text_tfidf_c1.C=1.0"]
CROSSFIT = ["dataset.val_fraction=0.25", "fusion=stacking", "fusion.fit_on=crossfit", f"fusion.crossfit_folds={FOLDS}"]
OVERRIDES = SHRINK_SYNTHETIC + SERIES + CONV + TEXTS + CROSSFIT + ["evaluation.bootstrap=50"]
NAMES = ["series", "series_conv1d", "text", "text_tfidf_c1"]


def cfg_of(extra=()):
    return compose_cfg(OVERRIDES + list(extra), shrink=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The cross-fitted run directory (read-only: fuse and report write into new sub-folders only)."""
    from mmfusion.commands.train import train

    out = tmp_path_factory.mktemp("crossfit") / "run"
    train(cfg_of(), out)
    return out


def _load(run):
    from mmfusion.rundir.files import read_json

    return read_json(run / "metrics.json"), dict(np.load(run / "predictions.npz", allow_pickle=False))


# --- (b) out-of-fold predictions: every training sample once, folds grouped by units ------------------


def test_the_run_records_a_crossfitted_rule_fitted_on_train_and_val(run):
    metrics, pred = _load(run)
    assert metrics["modalities"] == NAMES
    record = metrics["fusion"]["params"]["crossfit"]
    n_train, n_val = metrics["sizes"]["train"], metrics["sizes"]["val"]
    assert record["fit_on"] == "crossfit" and record["folds"] == FOLDS
    assert (record["train_samples"], record["val_samples"], record["samples"]) == (n_train, n_val, n_train + n_val)
    assert metrics["fusion"]["params"]["models"]  # the stacking models, fitted on those samples
    for m in NAMES:  # the OOF accuracy recorded is that of the saved OOF predictions
        acc = np.mean(pred[f"proba_oof_{m}"].argmax(1) == pred["y_train"])
        assert record["oof_accuracy"][m] == pytest.approx(acc)


def test_every_training_sample_is_predicted_once_by_a_model_that_did_not_see_its_unit(run):
    _, pred = _load(run)
    n = len(pred["y_train"])
    for m in NAMES:
        fold, p = pred[f"fold_oof_{m}"], pred[f"proba_oof_{m}"]
        assert fold.shape == (n,) and set(fold.tolist()) == set(range(FOLDS))  # each sample in exactly one fold
        assert p.shape == (n, len(pred["classes"])) and np.isfinite(p).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
        units = pred[f"units_train_{m.split('_')[0]}"]
        for k in range(FOLDS):
            assert not set(units[fold == k]) & set(units[fold != k])
    # the models of one modality share its folds
    np.testing.assert_array_equal(pred["fold_oof_series"], pred["fold_oof_series_conv1d"])
    # the OOF predictions are not the final models' predictions of the training split
    assert not np.allclose(pred["proba_oof_text"], pred["proba_train_text"])


def test_unit_folds_keep_every_unit_on_one_side_and_stratify_by_class():
    # 3 classes; units repeat within a class, and unit "shared" is filed under classes 0 and 1
    units = np.array(["a", "a", "b", "c", "c", "shared", "shared", "d", "e", "e", "f", "g", "h", "h"])
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
    present = np.ones(len(y), bool)
    present[-1] = False  # a sample without the modality has no fold
    split = Split(x={"text": np.array(["t"] * len(y), dtype=object)}, y=y, ids=np.arange(len(y)).astype(str))
    split.units["text"], split.present["text"] = units, present
    fold = train_crossfit.unit_folds(split, "text", 2, seed=3, classes=["x", "y", "z"])
    assert fold[-1] == -1 and (fold[:-1] >= 0).all()
    for u in set(units[present]):
        assert len(set(fold[(units == u) & present])) == 1, u
    for k in range(3):  # every fold holds out at least one unit of each class
        assert {int(f) for f in fold[(y == k) & present]} == {0, 1}
    with pytest.raises(DataError, match=r"fusion.crossfit_folds=3: class 'z' has 2 distinct texts"):
        train_crossfit.unit_folds(split, "text", 3, seed=3, classes=["x", "y", "z"])


# --- (a) the fitted params never see test data -----------------------------------------------------


@pytest.mark.e2e  # trains 2 x 2 tf-idf fold models and seeds TensorFlow: seconds
def test_poisoned_test_data_gives_the_same_oof_predictions_and_fitted_params():
    """The fold models are trained and the rule is fitted without the test split: scrambling its
    labels and inputs changes neither the OOF predictions nor any fitted parameter (tf-idf models only:
    deterministic and fast)."""
    from mmfusion.data import build_dataset

    cfg = compose_cfg(SHRINK_SYNTHETIC + TEXTS + CROSSFIT + ["modalities=[text]"], shrink=False)
    names = ["text", "text_tfidf_c1"]

    def fit(poison: bool):
        ds = build_dataset(cfg.dataset, cfg.modalities)
        for split in ds.splits.values():
            split.present["text_tfidf_c1"] = split.present["text"]
        if poison:
            test = ds.splits["test"]
            test.y = (test.y + 1) % ds.num_classes
            test.x["text"] = np.array(["zzz qqq"] * len(test.y), dtype=object)
        oof = train_crossfit.out_of_fold(cfg, ds, names)
        rng = np.random.default_rng(0)  # stand-ins for the final models' probabilities of every split
        probs, y, present = {}, {}, {}
        for s, sp in ds.splits.items():
            p = rng.dirichlet(np.ones(ds.num_classes), size=len(sp.y))
            probs[s] = {m: p for m in names}
            y[s], present[s] = sp.y, {m: sp.present["text"] for m in names}
        if poison:
            probs["test"] = {m: np.full_like(probs["test"][m], 1 / ds.num_classes) for m in names}
        params = {}
        for rule in ("stacking", "per_class", "accuracy", "ensemble_selection"):
            rc = compose_cfg([f"fusion={rule}", "fusion.fit_on=crossfit", f"fusion.crossfit_folds={FOLDS}"]).fusion
            params[rule] = fusion.fuse_splits(rc, probs, y, present, [0.5, 0.5], names, oof=oof)[0]
        return oof, params

    clean_oof, clean = fit(False)
    bad_oof, bad = fit(True)
    for m in names:
        np.testing.assert_array_equal(clean_oof["probs"][m], bad_oof["probs"][m])
    assert json.dumps(clean, sort_keys=True) == json.dumps(bad, sort_keys=True)
    n_train = len(clean_oof["fold"]["text"])
    assert clean["stacking"]["crossfit"]["train_samples"] == n_train > 0


# --- fitting on the OOF set, and what is refused ---------------------------------------------------


def _toy(with_val: bool):
    rng = np.random.default_rng(1)
    q, names = 3, ["series", "text"]
    sizes = {"train": 30, "test": 9, **({"val": 12} if with_val else {})}
    y = {s: rng.integers(0, q, n) for s, n in sizes.items()}
    probs = {s: {m: rng.dirichlet(np.ones(q), size=n) for m in names} for s, n in sizes.items()}
    present = {s: {m: np.ones(n, bool) for m in names} for s, n in sizes.items()}
    oof = {
        "folds": 3,
        "fold": {m: np.arange(30) % 3 for m in names},
        "probs": {m: rng.dirichlet(np.ones(q), size=30) for m in names},
        "logprobs": {},
    }
    return probs, y, present, names, oof


def test_a_crossfitted_rule_is_fitted_on_the_oof_rows_then_val():
    from mmfusion.fusion.rules import Stacking

    probs, y, present, names, oof = _toy(with_val=True)
    rc = compose_cfg(["fusion=stacking", "fusion.fit_on=crossfit", "fusion.crossfit_folds=3"]).fusion
    params = fusion.fuse_splits(rc, probs, y, present, [0.9, 0.1], names, oof=oof)[0]
    by_hand = Stacking(rc).fit(
        [np.concatenate([oof["probs"][m], probs["val"][m]]) for m in names],
        np.concatenate([y["train"], y["val"]]),
        None,
    )
    assert params["models"] == by_hand["models"]
    assert params["crossfit"]["samples"] == 42 and params["crossfit"]["val_samples"] == 12
    # weights=train_accuracy becomes the out-of-fold training accuracy, not the final models' one
    acc = compose_cfg(["fusion=accuracy", "fusion.fit_on=crossfit", "fusion.crossfit_folds=3"]).fusion
    got = fusion.fuse_splits(acc, probs, y, present, [0.9, 0.1], names, oof=oof)[0]
    want = [float(np.mean(oof["probs"][m].argmax(1) == y["train"])) for m in names]
    assert got["accuracies"] == want
    # equal weights fit nothing: no crossfit record
    eq = compose_cfg(["fusion=equal", "fusion.fit_on=crossfit", "fusion.crossfit_folds=3"]).fusion
    assert "crossfit" not in fusion.fuse_splits(eq, probs, y, present, [0.9, 0.1], names, oof=oof)[0]


def test_without_a_val_split_a_crossfitted_rule_needs_none():
    probs, y, present, names, oof = _toy(with_val=False)
    rc = compose_cfg(["fusion=stacking", "fusion.fit_on=crossfit", "fusion.crossfit_folds=3"]).fusion
    assert not fusion.needs_val(rc) and fusion.needs_val(compose_cfg(["fusion=stacking"]).fusion)
    params = fusion.fuse_splits(rc, probs, y, present, [0.5, 0.5], names, oof=oof)[0]
    assert params["crossfit"]["samples"] == 30 and params["crossfit"]["val_samples"] == 0


def test_crossfit_without_oof_predictions_or_with_other_folds_is_refused():
    probs, y, present, names, oof = _toy(with_val=True)
    rc = compose_cfg(["fusion=stacking", "fusion.fit_on=crossfit", "fusion.crossfit_folds=3"]).fusion
    with pytest.raises(ConfigError, match="this run has no out-of-fold predictions"):
        fusion.fuse_splits(rc, probs, y, present, [0.5, 0.5], names)
    rc5 = compose_cfg(["fusion=stacking", "fusion.fit_on=crossfit", "fusion.crossfit_folds=5"]).fusion
    with pytest.raises(ConfigError, match="come from 3 folds; set fusion.crossfit_folds=3"):
        fusion.fuse_splits(rc5, probs, y, present, [0.5, 0.5], names, oof=oof)


def test_the_config_check_refuses_more_folds_than_a_class_has_training_units():
    from mmfusion.config import validate

    cfg = compose_cfg(["fusion.fit_on=crossfit", "fusion.crossfit_folds=13"])  # 16 samples per class
    with pytest.raises(ConfigError, match=r"fusion.crossfit_folds=13: expected at most 12 with fusion.fit_on=crossfit"):
        validate(cfg)
    validate(compose_cfg(["fusion.fit_on=crossfit", "fusion.crossfit_folds=12"]))
    with pytest.raises(ConfigError, match="fusion.crossfit_folds=1: expected an integer >= 2"):
        validate(compose_cfg(["fusion.crossfit_folds=1"]))


def test_the_default_fits_on_val_exactly_as_before():
    probs, y, present, names, oof = _toy(with_val=True)
    rc = compose_cfg(["fusion=stacking"]).fusion
    assert rc.fit_on == "val"
    with_oof = fusion.fuse_splits(rc, probs, y, present, [0.5, 0.5], names, oof=oof)[0]
    assert with_oof == fusion.fuse_splits(rc, probs, y, present, [0.5, 0.5], names)[0]
    assert "crossfit" not in with_oof


# --- (c) train, fuse fusion=all and report on the cross-fitted run -----------------------------------


def test_fuse_refits_every_rule_on_the_saved_oof_predictions_and_report_works(run, tmp_path):
    import shutil

    from mmfusion.commands.fuse import fuse_run
    from mmfusion.commands.report import report
    from mmfusion.rundir.files import read_json

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    metrics, _ = _load(copy)
    own = read_json(fuse_run(copy, []) / "metrics.json")  # the run's own rule: the same params
    assert own["fusion"]["params"] == metrics["fusion"]["params"]
    assert own["models"]["fused"]["accuracy"] == metrics["models"]["fused"]["accuracy"]
    every = read_json(fuse_run(copy, ["fusion=all"]) / "metrics.json")
    assert every["skipped"] == {}
    fitted = {r for r, v in every["rules"].items() if "crossfit" in v["params"]}
    assert fitted == {
        "accuracy",
        "per_class",
        "stacking",
        "ensemble_selection",
    }  # equal, product (equal weights): nothing
    assert {every["rules"][r]["params"]["crossfit"]["folds"] for r in fitted} == {FOLDS}
    # fit on the validation split instead, from the same run
    val = read_json(fuse_run(copy, ["fusion.fit_on=val"]) / "metrics.json")
    assert "crossfit" not in val["fusion"]["params"]
    report(copy)
    assert (copy / "report.md").is_file()


def test_a_crossfitted_stacking_run_needs_no_validation_split(tmp_path):
    """Two tf-idf text models, dataset.val_fraction=0: the rule is fitted on the OOF training rows alone."""
    from mmfusion.commands.train import train

    cfg = compose_cfg(
        SHRINK_SYNTHETIC
        + TEXTS
        + CROSSFIT[1:]
        + ["modalities=[text]", "dataset.val_fraction=0", "evaluation.bootstrap=50"],
        shrink=False,
    )
    metrics = train(cfg, tmp_path / "run")["metrics"]
    record = metrics["fusion"]["params"]["crossfit"]
    assert "val" not in metrics["sizes"]
    assert record["samples"] == record["train_samples"] == metrics["sizes"]["train"] and record["val_samples"] == 0


def test_a_run_saved_before_the_keys_existed_still_resumes_with_the_defaults():
    from omegaconf import OmegaConf

    from mmfusion.commands.resume import comparable, differences

    now = compose_cfg()
    old = comparable(now)
    del old["fusion"]["fit_on"], old["fusion"]["crossfit_folds"]  # a config.yaml written before them
    assert differences(old, comparable(now)) == []
    crossfit = compose_cfg(["fusion.fit_on=crossfit"])
    assert differences(old, comparable(crossfit)) == ["fusion.fit_on: '<absent>' in the run, 'crossfit' now"]
    assert OmegaConf.select(crossfit, "fusion.crossfit_folds") == 5


def test_paired_data_keeps_identical_texts_and_each_run_in_one_fold():
    """On paired data (pairing.py), texts that differ only in case, spacing or punctuation are one unit,
    as the splits have them: the cross-fit folds never split such a group, nor a run."""
    from mmfusion.data.dataset import SeriesData, TextData
    from mmfusion.data.pairing import pair_by_label
    from mmfusion.data.splits import text_key

    rng = np.random.default_rng(0)
    words = ["valve", "pump", "sensor", "motor", "pipe", "seal"]
    texts, ty = [], []
    for k in range(2):
        for i, w in enumerate(words):
            base = f"class {k} {w} fault {i}"
            texts += [base, base.upper() + ".", "  " + base.replace(" ", "  ") + "!"]  # one unit, three spellings
            ty += [k, k, k]
    td = TextData(texts=np.array(texts, dtype=object), y=np.array(ty), ids=np.array([f"r{i}" for i in range(len(ty))]))
    sy = np.repeat([0, 1], 8)
    sd = SeriesData(
        x=rng.normal(size=(16, 5, 2)), y=sy, run_ids=np.array([f"run{i}" for i in range(16)]), variables=["a", "b"]
    )
    ds = pair_by_label(["a", "b"], td, sd, 40, 0.25, 0.0, True, seed=1)
    tr = ds.splits["train"]
    for mod, key in (("text", lambda s: text_key(s)), ("series", None)):
        fold = train_crossfit.unit_folds(tr, mod, 2, seed=5, classes=ds.classes)
        groups = np.array([key(t) for t in tr.x["text"]]) if key else tr.units["series"]
        if mod == "text":  # several spellings of one text were drawn into the training split
            assert len(set(groups)) < len(set(tr.x["text"]))
        for g in set(groups):
            assert len(set(fold[groups == g])) == 1, (mod, g)
        assert set(fold.tolist()) == {0, 1}
