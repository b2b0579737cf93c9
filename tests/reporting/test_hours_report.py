"""`mmfusion report` over a window-length sweep: accuracy against hours since onset for every base model,
the run's rule, each `fuse fusion=all` rule (best one picked on test) and the joint network (issue 22).
The sweeps are fake run directories written with rundir's writers (tests/hours_runs.py)."""

import numpy as np
import pandas as pd
import pytest
from hours_runs import BASE, WINDOWS, cv_sweep, split_sweep

from mmfusion.commands.report import _evaluation, load_jobs, report
from mmfusion.evaluation import pooled
from mmfusion.fusion import FUSIONS
from mmfusion.reporting import figures_hours, pooled_section
from mmfusion.reporting import hours as report_hours

LINES = BASE + ["fused"] + [f"rule {r}" for r in FUSIONS] + ["joint"]


def _acc(y, p, present) -> float:
    return float(np.mean(p[present].argmax(1) == y[present]))


@pytest.fixture(scope="module")
def cv(tmp_path_factory):
    root = tmp_path_factory.mktemp("hours_cv") / "sweep"
    arrays = cv_sweep(root)
    groups, _ = load_jobs(root)
    return root, arrays, groups, report_hours.hours_table(groups, lambda jobs: _evaluation(jobs[0]))


def test_a_row_per_line_at_each_hours_value_with_the_pooled_accuracy(cv):
    root, arrays, groups, df = cv
    assert sorted(df["hours since onset"].unique()) == sorted(WINDOWS.values())
    for hours in WINDOWS.values():
        part = df[df["hours since onset"] == hours].set_index("line")
        assert list(part.index) == LINES  # base models, the run's rule, every rule, the joint network
        assert set(part["repeats"]) == {2} and set(part["folds"]) == {2}
        for line in LINES:
            per_seed = []
            for seed in (0, 1):  # pooled out of fold: the folds of a seed concatenated, then the mean over seeds
                folds = arrays[(hours, seed)]
                y = np.concatenate([f["y"] for f in folds])
                p = np.concatenate([f["lines"][line][0] for f in folds])
                keep = np.concatenate([f["lines"][line][1] for f in folds])
                per_seed.append(_acc(y, p, keep))
            assert part.loc[line, "accuracy"] == pytest.approx(np.mean(per_seed))
            assert part.loc[line, "ci_lo"] <= part.loc[line, "accuracy"] <= part.loc[line, "ci_hi"]
        assert set(part["kind"]) == set(report_hours.KINDS)


def test_base_model_intervals_are_those_of_the_pooled_table_iv(cv):
    root, arrays, groups, df = cv
    for label, jobs in groups.items():
        pool = pooled.pool(jobs, 1000, 0.95, 0)  # what report's pooled Table IV shows
        hours = report_hours.hours_of(jobs[0]["metrics"])
        part = df[df["hours since onset"] == hours].set_index("line")
        for m in BASE + ["fused", "joint"]:
            assert part.loc[m, "accuracy"] == pytest.approx(pool["models"][m]["accuracy"])
            assert [part.loc[m, "ci_lo"], part.loc[m, "ci_hi"]] == pytest.approx(pool["models"][m]["accuracy_ci"])


def test_the_best_rule_is_marked_and_labelled_picked_on_test(cv):
    root, arrays, groups, df = cv
    for hours, part in df.groupby("hours since onset"):
        rules = part[part["kind"] == "fuse fusion=all rule"]
        assert set(rules[rules["best_rule"]]["line"]) == set(
            rules[rules["accuracy"] == rules["accuracy"].max()]["line"]
        )
        assert not part[part["kind"] != "fuse fusion=all rule"]["best_rule"].any()
    shown = report_hours.wide(df)
    assert "best rule (picked on test)" in shown.columns
    assert list(shown.index) == ["0.5", "1"]


def test_report_writes_the_figure_and_the_table(cv, monkeypatch):
    monkeypatch.setattr(pooled_section, "pooled_section", lambda *a, **k: [])  # its ROC / confusion figures: slow
    root, arrays, groups, df = cv
    text = report(root).read_text()
    assert "## Accuracy against hours since onset, per model and rule" in text
    assert "best rule (picked on test)" in text
    for ext in ("png", "svg"):
        assert (root / "report_figures" / f"accuracy_vs_hours.{ext}").stat().st_size > 0
    csv = pd.read_csv(root / "report_tables" / "accuracy_vs_hours.csv")
    assert len(csv) == len(LINES) * len(WINDOWS)
    assert "best_rule_picked_on_test" in csv.columns
    assert csv["accuracy"].to_numpy() == pytest.approx(df["accuracy"].to_numpy())
    md = (root / "report_tables" / "accuracy_vs_hours.md").read_text()
    assert "picked on test" in md and "rule stacking" in md and "text_tfidf_logreg" in md


def test_single_split_runs_and_runs_not_refused(tmp_path):
    """One seed per window, no fuse/all: base models, fused and joint with each run's own interval."""
    arrays = split_sweep(tmp_path / "sweep", refused=False)
    groups, _ = load_jobs(tmp_path / "sweep")
    df = report_hours.hours_table(groups, lambda jobs: _evaluation(jobs[0]))
    for hours, part in df.groupby("hours since onset"):
        part = part.set_index("line")
        assert list(part.index) == BASE + ["fused", "joint"]
        job = arrays[hours][0]
        for line in part.index:
            assert part.loc[line, "accuracy"] == pytest.approx(_acc(job["y"], *job["lines"][line]))
    assert not df["best_rule"].any()
    fig = figures_hours.accuracy_vs_hours_figure(df)
    assert len(fig.axes) == 1  # no rules: one panel


def test_no_section_without_a_window_sweep(tmp_path):
    split_sweep(tmp_path / "sweep", refused=False)
    groups, _ = load_jobs(tmp_path / "sweep")
    one = {k: v for k, v in list(groups.items())[:1]}
    assert report_hours.hours_table(one, lambda jobs: _evaluation(jobs[0])) is None


def test_several_seeds_of_a_single_split_and_a_window_not_all_refused(tmp_path):
    """Rules only where every job of the window was re-fused; several seeds: mean ± std over them."""
    import shutil

    arrays = split_sweep(tmp_path / "sweep", seeds=(0, 1))
    groups, _ = load_jobs(tmp_path / "sweep")
    first = next(j for j in groups[next(iter(groups))] if j["metrics"]["seed"] == 1)
    shutil.rmtree(first["dir"] / "fuse")  # the 0.5 h window: seed 1 not re-fused
    df = report_hours.hours_table(groups, lambda jobs: _evaluation(jobs[0]))
    early, late = (df[df["hours since onset"] == h].set_index("line") for h in (0.5, 1.0))
    assert list(early.index) == BASE + ["fused", "joint"]
    assert list(late.index) == LINES and late["best_rule"].sum() >= 1
    for line in LINES:
        acc = [_acc(job["y"], *job["lines"][line]) for job in arrays[1.0]]
        assert late.loc[line, "accuracy"] == pytest.approx(np.mean(acc))
        assert late.loc[line, "ci_hi"] - late.loc[line, "accuracy"] == pytest.approx(np.std(acc, ddof=1))
    assert set(df["interval"]) == {"± std over seeds"}
    assert "±" in report_hours.wide(df).loc["1", "text"]
