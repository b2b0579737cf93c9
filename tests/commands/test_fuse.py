"""`fuse`: re-fusing a finished run from its files alone (no retraining, no Keras)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli
from tiny_run import tiny_val_run

from mmfusion.commands.fuse import fuse_run
from mmfusion.errors import ConfigError, RunDirError
from mmfusion.fusion import FUSIONS
from mmfusion.fusion.robustness import drop_modalities
from mmfusion.rundir.files import load_npz, write_npz


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_val_run(tmp_path_factory)


def metrics(d):
    return json.loads((d / "metrics.json").read_text())


def test_fusing_with_the_runs_own_rule_reproduces_its_metrics(run):
    before = {p: p.read_bytes() for p in run.iterdir() if p.is_file()}
    out = fuse_run(run, [])
    assert out.parent == run / "fuse" and out.name.startswith("accuracy-")
    a, b = metrics(run), metrics(out)
    assert b["models"] == a["models"] and b["fusion"] == a["fusion"] and b["comparison"] == a["comparison"]
    for name in ("tables/accuracy.csv", "tables/auc.csv", "tables/accuracy_ci.csv", "tables/auc_ci.md"):
        assert (out / name).read_text() == (run / name).read_text(), name
    for name in ("figures/roc_fused.png", "figures/reliability.png", "predictions.npz", "COMPLETE"):
        assert (out / name).is_file()
    assert {p: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # the run is untouched
    assert fuse_run(run, []) != out  # a second call never overwrites the first


def test_run_metrics_carry_cis_calibration_and_mcnemar(run):
    m = metrics(run)
    for name in ("series", "text", "fused"):
        r = m["models"][name]
        assert r["accuracy_ci"][0] <= r["accuracy"] <= r["accuracy_ci"][1]
        assert set(r["auc_ci"]) == set(m["classes"]) and r["nll"] > 0 and 0 <= r["ece"] <= 1
    assert m["comparison"]["a"] == "fused" and 0 <= m["comparison"]["p_value"] <= 1
    assert "McNemar" in (run / "tables/accuracy_ci.md").read_text()
    assert (run / "config.yaml").is_file() and (run / "figures/reliability.png").is_file()


def test_another_rule_with_calibration(run):
    out = fuse_run(run, ["fusion=stacking", "fusion.calibrate=true"])
    m = metrics(out)
    assert m["fusion"]["name"] == "stacking" and len(m["fusion"]["params"]["temperatures"]) == 2
    assert "calibrated" in m["models"]["text"] and "calibrated" not in m["models"]["fused"]
    pred = load_npz(out / "predictions.npz")
    assert m["models"]["fused"]["accuracy"] == pytest.approx(
        np.mean(pred["proba_test_fused"].argmax(1) == pred["y_test"])
    )


def test_all_rules_with_robustness(run):
    out = fuse_run(run, ["fusion=all", "robustness.enabled=true", "evaluation.bootstrap=200"])
    table = pd.read_csv(out / "tables/comparison.csv", index_col=0)
    assert list(table.index) == ["series", "text", *FUSIONS]
    assert {"accuracy_lo", "macro_auc_hi", "nll", "mcnemar_p", "minus_best_lo", "minus_best_hi"} <= set(table.columns)
    for rule in FUSIONS:  # fused minus the best single model, inside its own interval
        assert table.loc[rule, "minus_best_lo"] <= table.loc[rule, "minus_best"] <= table.loc[rule, "minus_best_hi"]
    rob = pd.read_csv(out / "tables/robustness.csv")
    assert len(rob) == len(FUSIONS) * 3 * 4 and (out / "figures/robustness.png").is_file()
    # at a missing rate of 0 every rule scores its own fused accuracy
    at0 = rob[rob.rate == 0].groupby("rule").accuracy.first()
    for rule in FUSIONS:
        assert at0[rule] == pytest.approx(table.loc[rule, "accuracy"])
    assert (out / "COMPLETE").is_file()


def test_dropping_modalities():
    present = {"series": np.ones(8, bool), "text": np.ones(8, bool)}
    names = ["series", "text"]
    half = drop_modalities(present, names, "text", 0.5, seed=0)
    assert (~half["text"]).sum() == 4 and half["series"].all()
    full = drop_modalities(present, names, "text", 1.0, seed=0)
    assert not full["text"].any() and (full["text"] <= half["text"]).all()  # nested as the rate grows
    either = drop_modalities(present, names, "either", 1.0, seed=0)
    assert (either["series"].astype(int) + either["text"]).tolist() == [1] * 8  # exactly one each
    with pytest.raises(ConfigError, match="robustness.drop"):
        drop_modalities(present, names, "audio", 0.5, seed=0)


@pytest.mark.parametrize("joint", [False, True])
def test_robustness_figure_names_what_its_lines_measure(joint):
    from mmfusion.reporting.robustness import robustness_figure

    rules = ["accuracy", "product"] + (["joint"] if joint else [])
    table = pd.DataFrame(
        [
            {"rule": r, "drop": d, "rate": rate, "accuracy": 0.5 + 0.1 * i - 0.2 * rate}
            for d in ("text", "series", "either")
            for rate in (0.0, 0.5, 1.0)
            for i, r in enumerate(rules)
        ]
    )
    fig = robustness_figure(table)
    axes = fig.axes
    assert axes[0].get_ylabel() == "test accuracy"  # not "fused": the joint line is no fusion rule
    assert [ax.get_title() for ax in axes] == ["text missing", "series missing", "all modalities but one missing"]
    legend = axes[-1].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["accuracy", "product"] + (["joint network"] if joint else [])
    title = fig._suptitle.get_text()
    assert ("joint network" in title) == joint and "rules" in title
    assert legend.get_title().get_text() == ("" if joint else "fusion rule")


def test_bad_inputs(run, tmp_path):
    with pytest.raises(RunDirError, match="no such run directory"):
        fuse_run(tmp_path / "nope", [])
    with pytest.raises(ConfigError, match="not known"):
        fuse_run(run, ["fusion=median"])
    broken = tmp_path / "broken"
    shutil.copytree(run, broken, ignore=shutil.ignore_patterns("fuse", "models"))
    (broken / "predictions.npz").unlink()
    with pytest.raises(RunDirError, match="predictions.npz"):
        fuse_run(broken, [])
    # a run without a validation split: the rules fitted on it say which key to set
    noval = tmp_path / "noval"
    shutil.copytree(run, noval, ignore=shutil.ignore_patterns("fuse", "models"))
    arrays = {k: v for k, v in load_npz(run / "predictions.npz").items() if "_val" not in k}
    write_npz(noval / "predictions.npz", arrays)
    with pytest.raises(ConfigError, match="dataset.val_fraction"):
        fuse_run(noval, ["fusion=per_class"])
    out = fuse_run(noval, ["fusion=all"])  # `all` skips them and says why
    assert "skipped stacking" in (out / "tables/comparison.md").read_text()


def test_cli_fuse_and_its_errors(run, tmp_path):
    res = run_cli("fuse", str(run), "fusion=product", "fusion.weights=val_accuracy", cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "fuse directory:" in res.stdout and "| fused |" in res.stdout
    out = res.stdout.strip().splitlines()[-1].split(": ", 1)[1]
    params = metrics(Path(out))["fusion"]["params"]
    assert sum(params["weights"]) == pytest.approx(1) and (Path(out) / "COMPLETE").is_file()
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run, unfinished, ignore=shutil.ignore_patterns("fuse", "models", "COMPLETE"))
    res = run_cli("fuse", str(unfinished), cwd=tmp_path, timeout=300)
    assert res.returncode != 0 and "never finished" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("fuse", str(run), "fusion=nosuch", cwd=tmp_path, timeout=300)
    assert res.returncode != 0 and "not known" in res.stderr and "Traceback" not in res.stderr


def test_fuse_needs_no_keras(run, tmp_path):
    code = f"import sys; from mmfusion.commands.fuse import fuse_run; fuse_run({str(run)!r}, []); print('keras' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "False", res.stderr[-2000:]
