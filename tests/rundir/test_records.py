"""The run directory's records (mmfusion/rundir/records.py): metrics.json and predictions.npz written and read
only there, typed (Metrics, RuleComparison, Predictions, Run). No training: records are built by hand."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import ROOT

from mmfusion.errors import FileError, RunDirError
from mmfusion.rundir.files import METRICS
from mmfusion.rundir.markers import mark_complete
from mmfusion.rundir.records import (
    Metrics,
    Predictions,
    RuleComparison,
    load_run,
    prediction_arrays,
    read_metrics,
    read_predictions,
    write_metrics,
    write_predictions,
)

CLASSES = ["normal", "fault1"]
NAMES = ["series", "text"]
RUN_KEYS = [  # the order train has always written them in
    "classes",
    "modalities",
    "models",
    "train_accuracy",
    "fusion",
    "comparison",
    "sizes",
    "class_counts",
    "dataset",
    "seed",
    "joint",
]


def _metrics(**extra) -> Metrics:
    return Metrics(
        classes=CLASSES,
        modalities=NAMES,
        models={m: {"accuracy": a, "n": 4} for m, a in (("series", 0.5), ("text", 0.75), ("fused", 1.0))},
        train_accuracy={"series": 0.6, "text": 0.8},
        fusion={"name": "accuracy", "params": {"weights": [0.4, 0.6]}},
        comparison={"p_value": 0.5},
        sizes={"train": 8, "test": 4},
        class_counts={"test": {"normal": 2, "fault1": 2}},
        dataset={"name": "synthetic", "cv_fold": 1},
        seed=3,
        **extra,
    )


def _split(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        y=rng.integers(0, 2, n),
        ids=np.array([f"s{i}" for i in range(n)]),
        present={"series": np.ones(n, bool), "text": np.arange(n) % 3 != 0},
        units={"series": np.array([f"run{i // 2}" for i in range(n)])},
    )


def _probs(n: int, seed: int, present: np.ndarray) -> np.ndarray:
    p = np.random.default_rng(seed).dirichlet([1, 1], n)
    p[~present] = np.nan
    return p


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A finished run directory written through rundir: metrics, predictions (with fused and joint), marker."""
    splits = {"train": _split(8, 0), "val": _split(6, 1), "test": _split(4, 2)}
    probs = {s: {m: _probs(len(sp.y), k, sp.present[m]) for k, m in enumerate(NAMES)} for s, sp in splits.items()}
    for s, sp in splits.items():
        probs[s]["fused"] = _probs(len(sp.y), 7, np.ones(len(sp.y), bool))
        probs[s]["joint"] = _probs(len(sp.y), 8, np.ones(len(sp.y), bool))
    arrays = prediction_arrays(CLASSES, splits, NAMES, probs)
    arrays["proba_test_joint_without_text"] = probs["test"]["joint"]
    write_predictions(tmp_path, arrays)
    write_metrics(tmp_path, _metrics(joint={"name": "lstm", "comparisons": []}))
    mark_complete(tmp_path)
    return tmp_path


def test_metrics_round_trip_keeps_the_file_layout(tmp_path):
    record = _metrics()
    write_metrics(tmp_path, record)
    data = json.loads((tmp_path / METRICS).read_text())
    assert list(data) == RUN_KEYS  # objective and source_run: left out when not set
    assert data["joint"] is None and data["seed"] == 3
    assert read_metrics(tmp_path) == record

    searched = _metrics(objective={"metric": "accuracy", "direction": "maximize", "value": 0.5})
    write_metrics(tmp_path, searched)
    assert list(json.loads((tmp_path / METRICS).read_text())) == [*RUN_KEYS, "objective"]
    assert read_metrics(tmp_path).objective["value"] == 0.5

    fused = _metrics(source_run="/runs/a", extra={"later_key": [1, 2]})
    write_metrics(tmp_path, fused)
    assert list(json.loads((tmp_path / METRICS).read_text())) == [*RUN_KEYS, "source_run", "later_key"]
    assert read_metrics(tmp_path) == fused  # a key the record does not know is kept, not dropped


def test_rule_comparison_round_trip(tmp_path):
    record = RuleComparison(
        classes=CLASSES,
        modalities=NAMES,
        models={"series": {"accuracy": 0.5}},
        rules={"accuracy": {"accuracy": 0.75}},
        joint=None,
        skipped={"stacking": "needs a validation split"},
        source_run="/runs/a",
    )
    write_metrics(tmp_path, record)
    data = json.loads((tmp_path / METRICS).read_text())
    assert list(data) == ["classes", "modalities", "models", "rules", "joint", "skipped", "source_run"]
    assert read_metrics(tmp_path) == record


def test_an_old_metrics_json_without_the_newer_keys_reads(tmp_path):
    old = {k: v for k, v in _metrics().as_dict().items() if k not in ("joint", "objective")}
    (tmp_path / METRICS).write_text(json.dumps(old))
    record = read_metrics(tmp_path)
    assert isinstance(record, Metrics)
    assert record.joint is None and record.objective is None and record.source_run is None
    assert record.train_accuracy == old["train_accuracy"] and record.seed == 3

    old_all = {"classes": CLASSES, "modalities": NAMES, "models": {}, "rules": {"product": {}}, "skipped": {}}
    (tmp_path / METRICS).write_text(json.dumps(old_all))  # fusion=all before the joint model existed
    record = read_metrics(tmp_path)
    assert isinstance(record, RuleComparison) and record.joint is None and list(record.rules) == ["product"]


def test_every_committed_result_reads():
    """The runs kept in outputs/results (made by older versions, some with `joint` before `sizes`): each
    metrics.json reads, and the record gives back every key the file has, unchanged."""
    files = sorted((ROOT / "outputs" / "results").glob("**/metrics.json"))
    if not files:
        pytest.skip("no committed results in this checkout")
    for path in files:
        data = json.loads(path.read_text())
        written = read_metrics(path.parent).as_dict()
        assert {k: written[k] for k in data} == data, path


@pytest.mark.parametrize(
    "content, words",
    [
        ('{"classes": ["a", "b"], "models": {', "not valid JSON"),  # cut off
        ("[1, 2]", "not a metrics record"),
        ('{"classes": "normal", "modalities": []}', "classes is 'normal', not a list"),
        ('{"classes": [], "models": [1]}', "models is [1], not a mapping"),
    ],
)
def test_a_damaged_metrics_json_names_the_file(tmp_path, content, words):
    (tmp_path / METRICS).write_text(content)
    with pytest.raises(FileError) as err:
        read_metrics(tmp_path)
    assert str(tmp_path / METRICS) in str(err.value) and words in str(err.value)


def test_a_missing_metrics_json_names_the_file(tmp_path):
    with pytest.raises(FileError, match=str(tmp_path / METRICS)):
        read_metrics(tmp_path)


def test_load_run_reads_the_typed_run(run_dir):
    run = load_run(run_dir)
    assert run.dir == run_dir and run.names == NAMES and run.classes == CLASSES
    assert run.metrics == _metrics(joint={"name": "lstm", "comparisons": []})
    assert run.train_acc == [0.6, 0.8]
    assert set(run.y) == {"train", "val", "test"} and len(run.y["test"]) == 4
    assert run.present["test"]["text"].dtype == bool and not run.present["test"]["text"][0]
    assert np.isnan(run.probs["test"]["text"][0]).all()
    with np.errstate(divide="ignore", invalid="ignore"):  # no logproba saved: the log of the probabilities
        np.testing.assert_array_equal(run.logprobs["val"]["series"], np.log(run.probs["val"]["series"]))
    assert len(run.units) == 1 and run.units[0][0] == "run0"  # series only: the texts have no units here
    assert set(run.joint) == {"train", "val", "test"} and list(run.joint_without) == ["text"]


def test_predictions_read_through_their_record(run_dir):
    pred = read_predictions(run_dir)
    assert pred.splits == ["train", "val", "test"] and pred.has("test", "fused") and not pred.has("test", "nope")
    assert pred.present("test", "text").tolist() == [False, True, True, False]
    assert pred.ids("test").tolist() == ["s0", "s1", "s2", "s3"]
    assert pred.units("test", "text") is None and pred.units("test", "series") is not None
    # runs made before the masks and ids were saved: rows without NaN, and the positions as ids
    old = Predictions(pred.path, {k: v for k, v in pred.arrays.items() if not k.startswith(("present", "ids"))})
    assert old.present("test", "text").tolist() == [False, True, True, False]
    assert old.ids("test").tolist() == ["0", "1", "2", "3"]
    with pytest.raises(RunDirError, match="proba_test_nope"):
        pred.proba("test", "nope")


def test_load_run_refuses_a_damaged_or_foreign_run(run_dir, tmp_path):
    (run_dir / METRICS).write_text("{")  # changed after the run: its checksum says so first
    with pytest.raises(RunDirError, match="damaged or changed"):
        load_run(run_dir)

    other = tmp_path / "all"
    write_metrics(other, RuleComparison(classes=CLASSES, modalities=NAMES))
    write_predictions(other, {"y_test": np.zeros(2)})
    mark_complete(other)
    with pytest.raises(RunDirError, match="unreadable or incomplete"):
        load_run(other)  # a fuse fusion=all directory is not a run
