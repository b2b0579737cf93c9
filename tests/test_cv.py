"""A cross-validation sweep end to end: `train -m dataset.cv.folds=3 dataset.cv.fold=0,1,2`, then `report`."""

import json

import numpy as np
import pytest
from conftest import SHRINK, run_cli

from mmfusion import rundir


@pytest.fixture(scope="module")
def cv_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    res = run_cli(
        "train",
        "-m",
        *SHRINK,
        "evaluation.bootstrap=200",
        "dataset.cv.folds=3",
        "dataset.cv.fold=0,1,2",
        f"hydra.sweep.dir={root}",
        cwd=root,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return root


def test_the_folds_test_ids_partition_the_synthetic_samples(cv_sweep):
    preds = [rundir.load_npz(cv_sweep / str(k) / rundir.PREDICTIONS) for k in range(3)]
    test_ids = np.concatenate([p["ids_test"] for p in preds])
    expected = [f"syn-{i:05d}" for i in range(64)]  # 16 samples x 4 classes, the sample ids
    assert sorted(test_ids.tolist()) == expected
    for p in preds:  # log-probabilities beside the probabilities, for every model
        for m in ("series", "text", "fused"):
            np.testing.assert_allclose(np.exp(p[f"logproba_test_{m}"]), p[f"proba_test_{m}"], rtol=1e-9)
    metrics = json.loads((cv_sweep / "0" / rundir.METRICS).read_text())
    assert metrics["dataset"]["cv_folds"] == 3 and metrics["comparison"]["difference_ci"] is not None


def test_report_pools_the_folds_out_of_fold(cv_sweep):
    res = run_cli("report", str(cv_sweep), cwd=cv_sweep)
    assert res.returncode == 0, res.stderr[-3000:]
    text = (cv_sweep / "report.md").read_text()
    assert "3 finished job(s) in 1 group(s)" in text  # the folds form one group
    assert "3-fold cross-validation, pooled out of fold" in text and "64 unique" in text
    assert "1 x 3 folds (pooled)" in text and "seed 0, fold 2" in text and "Fused minus" in text
    assert (cv_sweep / "report_figures" / "fig7_confusion_fused_g0_pooled.png").stat().st_size > 0
    page = (cv_sweep / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3 and "<table>" in page and "report_figures/" not in page
