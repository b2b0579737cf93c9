"""mmfusion/reporting/joint_summary.py (run as scripts/reproduce/joint_summary.py) on a tiny cross-validation sweep
trained with joint=lstm and re-fused with `fuse fusion=all robustness.enabled=true`: the pooled numbers
against a direct computation."""

import shutil
import subprocess
import sys
from pathlib import Path

import helpers
import numpy as np
import pandas as pd
import pytest
from helpers import SHRINK_JOINT

from mmfusion.evaluation.stats import mcnemar
from mmfusion.fusion import FUSIONS
from mmfusion.reporting import joint_summary
from mmfusion.rundir.files import METRICS, PREDICTIONS, load_npz

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reproduce" / "joint_summary.py"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    from mmfusion.commands.fuse import fuse_run

    root = helpers.cv_sweep(tmp_path_factory.mktemp("jsum"), *SHRINK_JOINT)
    fused = [fuse_run(root / str(k), ["fusion=all", "robustness.enabled=true"]) for k in range(3)]
    return root, fused


def summary(*args, cwd):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True)


def test_pooled_summary_matches_a_direct_computation_over_the_folds(sweep, tmp_path):
    root, fused = sweep
    res = summary(root, tmp_path / "out", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    preds = [load_npz(f / PREDICTIONS) for f in fused]
    y = np.concatenate([p["y_test"] for p in preds])
    assert len(y) == 64  # every synthetic sample tested once over the 3 folds

    def acc(key):
        return float(np.mean(np.concatenate([p[key].argmax(1) for p in preds]) == y))

    nums = pd.read_csv(tmp_path / "out" / "joint_accuracy.csv").set_index("model")
    for m in ("series", "text", "joint", *FUSIONS):
        assert nums.loc[m, "accuracy"] == pytest.approx(acc(f"proba_test_{m}")), m
        assert nums.loc[m, "accuracy_lo"] <= nums.loc[m, "accuracy"] <= nums.loc[m, "accuracy_hi"], m
        assert nums.loc[m, "n"] == 64
    # the joint network straight from the training runs, not from the fuse copies
    joint = [load_npz(root / str(k) / PREDICTIONS) for k in range(3)]
    assert nums.loc["joint", "accuracy"] == pytest.approx(
        np.mean(np.concatenate([(p["proba_test_joint"].argmax(1) == p["y_test"]) for p in joint]))
    )
    best = max(FUSIONS, key=lambda r: acc(f"proba_test_{r}"))  # ties: the first rule
    diff = nums.loc[f"joint - {best} (best rule)"]
    assert diff["accuracy"] == pytest.approx(acc("proba_test_joint") - acc(f"proba_test_{best}"))
    assert diff["accuracy_lo"] <= diff["accuracy"] <= diff["accuracy_hi"]
    proba = {k: np.concatenate([p[f"proba_test_{k}"] for p in preds]) for k in ("joint", best)}
    mc = mcnemar(y, proba["joint"].argmax(1), proba[best].argmax(1))
    text = (tmp_path / "out" / "joint_summary.md").read_text()
    assert "| 1 x 3 | 64 |" in text and f"`{best}` {100 * acc(f'proba_test_{best}'):.2f} [" in text
    assert f"{mc['a_right_b_wrong']} / {mc['a_wrong_b_right']} (p = {mc['p_value']:.3g})" in text
    # missing modalities: the folds' rows pooled by their test pairs equal the pooled pairs' accuracy
    rob = pd.read_csv(tmp_path / "out" / "joint_robustness.csv")
    no_text = rob[(rob.role == "joint") & (rob["drop"] == "text") & (rob.rate == 1.0)].accuracy.item()
    assert no_text == pytest.approx(acc("proba_test_joint_without_text"))
    full = rob[(rob.role == "best rule") & (rob["drop"] == "series") & (rob.rate == 0.0)].accuracy.item()
    assert full == pytest.approx(acc(f"proba_test_{best}"))
    assert (tmp_path / "out" / "joint_robustness_allruns.png").stat().st_size > 0


def test_two_jobs_of_one_fold_in_a_group_are_refused(sweep, tmp_path):
    root, _ = sweep
    copy = tmp_path / "sweep"
    shutil.copytree(root, copy)
    shutil.copytree(copy / "0", copy / "3")  # as if a second window length had run without --group
    with pytest.raises(SystemExit, match="both seed 0, fold 0.*--group"):
        joint_summary.main([str(copy), str(tmp_path / "out")])


def test_report_pool_compares_fused_with_a_single_modality_never_the_joint_network(sweep, tmp_path):
    import json

    from mmfusion.evaluation import pooled

    root, _ = sweep
    jobs = []
    for k in range(3):
        job = tmp_path / str(k)
        shutil.copytree(root / str(k), job)
        pred = load_npz(job / PREDICTIONS)
        pred["proba_test_joint"] = np.eye(4)[pred["y_test"]]  # a perfect joint network: the best model
        np.savez(job / PREDICTIONS, **pred)
        jobs.append({"dir": job, "metrics": json.loads((job / METRICS).read_text())})
    res = pooled.pool(jobs, 50)
    assert res["models"]["joint"]["accuracy"] == 1.0
    assert res["comparison"]["a"] == "fused" and res["comparison"]["b"] in ("series", "text")
