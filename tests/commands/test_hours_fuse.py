"""`mmfusion fuse <run> models=[a,b]`: fuse only some of a run's base models (issue 22). One tiny run with
two models per modality (TF-IDF + logistic regression, a tiny Conv1D) and one trained with only
the modalities' own models, seeded the same: fusing the
first's `series` and `text` gives the second's numbers."""

import json

import numpy as np
import pytest
import yaml
from helpers import SHRINK_SYNTHETIC, compose_cfg

from mmfusion.commands.fuse import fuse_run, models_override
from mmfusion.errors import ConfigError
from mmfusion.rundir.files import METRICS, PREDICTIONS, load_npz

CONV = ["epochs=2", "filters=[4,4]", "kernel_sizes=[3,3]", "dense_units=[8]"]
COMMON = SHRINK_SYNTHETIC + [  # cheap models: TF-IDF + logistic regression, a tiny Conv1D
    "model/text=tfidf_logreg",
    "model/series=conv1d",
    *[f"model.series.{c}" for c in CONV],
    "dataset.val_fraction=0.25",
    "evaluation.bootstrap=200",
    "training.checkpoint=false",
]
EXTRA = [
    "+model/text@model.text_c1=tfidf_logreg",
    "model.text_c1.C=1.0",
    "+model/series@model.series_k5=conv1d",
    *[f"model.series_k5.{c}" for c in CONV[:2] + CONV[3:]],
    "model.series_k5.kernel_sizes=[5,3]",
]
BASE = ["series", "series_k5", "text", "text_c1"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from mmfusion.commands.train import train

    root = tmp_path_factory.mktemp("hours_fuse")
    train(compose_cfg(COMMON + EXTRA, shrink=False), root / "four")
    train(compose_cfg(COMMON, shrink=False), root / "two")
    return root / "four", root / "two"


def metrics(d):
    return json.loads((d / METRICS).read_text())


def test_fusing_two_of_four_models_gives_the_numbers_of_a_run_trained_with_those_two(runs):
    four, two = runs
    out = fuse_run(four, ["models=[text,series]"])
    assert out.parent.name == "fuse" and out.name.startswith("accuracy_only_series+text-")
    m, ref = metrics(out), metrics(two)
    assert m["modalities"] == ["series", "text"] == ref["modalities"]
    assert len(m["fusion"]["params"]["weights"]) == 2
    assert m["fusion"]["params"]["weights"] == pytest.approx(ref["fusion"]["params"]["weights"])
    for key in ("accuracy", "accuracy_ci", "macro_auc", "nll"):
        assert m["models"]["fused"][key] == pytest.approx(ref["models"]["fused"][key])
    p, q = load_npz(out / PREDICTIONS), load_npz(two / PREDICTIONS)
    np.testing.assert_allclose(p["proba_test_fused"], q["proba_test_fused"])
    assert yaml.safe_load((out / "config.yaml").read_text())["models"] == ["series", "text"]


def test_every_rule_over_a_subset_has_its_own_folder(runs):
    four, _ = runs
    out = fuse_run(four, ["fusion=all", "models=text_c1,series_k5"])
    assert out.name.startswith("all_only_series_k5+text_c1-")
    assert out not in (four / "fuse").glob("all-*")  # the report's `fuse fusion=all` of every model is not this
    m = metrics(out)
    assert list(m["models"]) == ["series_k5", "text_c1"]
    assert len(m["rules"]["accuracy"]["params"]["weights"]) == 2
    rows = [line.split("|")[1].strip() for line in (out / "tables" / "comparison.md").read_text().splitlines()[2:]]
    assert "series" not in rows and "text" not in rows and "stacking" in rows


def test_no_models_or_null_fuses_every_base_model(runs):
    four, _ = runs
    for extra in (["models=null"], ["models=[series,series_k5,text,text_c1]"]):
        out = fuse_run(four, extra + ["evaluation.bootstrap=0"])
        assert out.name.startswith("accuracy-")
        assert metrics(out)["models"]["fused"]["accuracy"] == metrics(four)["models"]["fused"]["accuracy"]


@pytest.mark.parametrize(
    "given, says",
    [
        ("models=[text,lstm]", "['lstm'] is not among them"),
        ("models=[text]", "two or more"),
        ("models=text,text", "twice"),
    ],
)
def test_a_wrong_subset_names_the_runs_base_models(runs, given, says):
    four, _ = runs
    with pytest.raises(ConfigError) as err:
        fuse_run(four, [given])
    assert says in str(err.value)
    assert f"its base models are {BASE}" in str(err.value)


def test_models_override_spellings():
    assert models_override(["models=[a, b]", "fusion=all"]) == (["a", "b"], ["fusion=all"])
    assert models_override(["models=a,b"])[0] == ["a", "b"]
    assert models_override(["models=null"])[0] is None and models_override([])[0] is None
