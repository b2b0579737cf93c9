"""A cross-validation sweep end to end: `train -m dataset.cv.folds=3 dataset.cv.fold=0,1,2`, then `report`."""

import json

import helpers
import numpy as np
import pytest
from helpers import run_cli

from mmfusion.rundir.files import METRICS, PREDICTIONS, load_npz


@pytest.fixture(scope="module")
def cv_sweep(tmp_path_factory):
    return helpers.cv_sweep(tmp_path_factory.mktemp("cv"))


def test_the_folds_test_ids_partition_the_synthetic_samples(cv_sweep):
    preds = [load_npz(cv_sweep / str(k) / PREDICTIONS) for k in range(3)]
    test_ids = np.concatenate([p["ids_test"] for p in preds])
    expected = [f"syn-{i:05d}" for i in range(64)]  # 16 samples x 4 classes, the sample ids
    assert sorted(test_ids.tolist()) == expected
    for p in preds:  # log-probabilities beside the probabilities, for every model
        for m in ("series", "text", "fused"):
            np.testing.assert_allclose(np.exp(p[f"logproba_test_{m}"]), p[f"proba_test_{m}"], rtol=1e-9)
    metrics = json.loads((cv_sweep / "0" / METRICS).read_text())
    assert metrics["dataset"]["cv_folds"] == 3 and metrics["comparison"]["difference_ci"] is not None


def test_report_pools_the_folds_out_of_fold(cv_sweep):
    res = run_cli("report", str(cv_sweep), cwd=cv_sweep)
    assert res.returncode == 0, res.stderr[-3000:]
    text = (cv_sweep / "report.md").read_text()
    assert "3 finished job(s) in 1 group(s)" in text  # the folds form one group
    assert "3-fold cross-validation, pooled out of fold" in text and "64 unique" in text
    assert "1 x 3 folds (pooled)" in text and "seed 0, fold 2" in text and "Fused minus" in text
    for name in (
        "fig7_confusion_fused_g0_pooled",
        "fig7_confusion_fused_g0_pooled_normalized",
        "fig6_roc_text_g0_pooled",
    ):
        assert (cv_sweep / "report_figures" / f"{name}.png").stat().st_size > 0
        assert (cv_sweep / "report_figures" / f"{name}.svg").stat().st_size > 0
    assert "pooled out of fold with each fold's curve" in text
    page = (cv_sweep / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3 and "<table>" in page and "report_figures/" not in page


def test_unique_units_trains_each_text_and_run_once():
    """training.unique_units=true: each modality model sees the first sample of each unit (text, run)
    where the modality is present; false keeps every present sample (the paper's training on pairs)."""
    from mmfusion.commands.train_steps import first_of_units
    from mmfusion.data import Split

    split = Split(
        x={"text": np.array(["a", "b", "a", "c", "b"], dtype=object), "series": np.zeros((5, 2, 1))},
        y=np.array([0, 1, 0, 2, 1]),
        ids=np.array([f"s{i}" for i in range(5)]),
        present={"text": np.array([True, True, True, False, True]), "series": np.ones(5, bool)},
        units={"text": np.array(["t1", "t2", "t1", "t3", "t2"]), "series": np.array(["r1", "r1", "r2", "r3", "r2"])},
    )
    assert first_of_units(split, "text", unique=False).tolist() == [0, 1, 2, 4]
    assert first_of_units(split, "text", unique=True).tolist() == [0, 1]  # t3's only sample lacks its text
    assert first_of_units(split, "series", unique=True).tolist() == [0, 2, 3]
