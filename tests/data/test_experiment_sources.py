"""Experiment presets compose with every series source: experiment/<name>.yaml holds what every source
shares, experiment/series/<name>_<source>.yaml what only that source has (applied from the
dataset/series choice by dataset/factory.yaml); composition errors are one line naming the key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli

from mmfusion.config import compose_config
from mmfusion.data import build_dataset
from mmfusion.errors import MmfusionError

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tep_rieth_sample"
FAULTY = "faulty_training_one_run_per_fault.csv"
FAULT_FREE = "fault_free_training_49runs_200samples.csv"
HERE = Path(__file__).resolve().parent  # an existing folder: the data paths are checked to exist
PATH = {"simulate": [], "rieth": [f"dataset.series.path={HERE}"], "braatz": [f"dataset.series.path={HERE}"]}
EXPECTED = {  # the keys each preset sets for each source (and the window early.yaml sets for all)
    ("early", "simulate"): {"runs_per_class": 100, "horizon_h": 6.0, "seed": 0},
    ("early", "rieth"): {"runs_per_class": 100},
    ("early", "braatz"): {"braatz_window": 40, "braatz_stride": 20},
    ("paper", "simulate"): {"runs_per_class": 250, "seed": 0},
    ("paper", "rieth"): {"runs_per_class": 250},
    ("paper", "braatz"): {"braatz_window": 100, "braatz_stride": 50},  # the source's own defaults
}


@pytest.mark.parametrize(("experiment", "source"), sorted(EXPECTED))
def test_every_preset_composes_with_every_source(experiment, source):
    cfg = compose_config([f"experiment={experiment}", f"dataset/series={source}", *PATH[source]])
    series = cfg.dataset.series
    assert series.source == source
    assert {k: series[k] for k in EXPECTED[experiment, source]} == EXPECTED[experiment, source]
    if experiment == "early":
        assert list(series.faults) == [10, 11, 12, 13] and (series.window.start, series.window.length) == (0, 40)


def test_without_an_experiment_the_sources_keep_their_defaults():
    assert compose_config([]).dataset.series.runs_per_class == 25
    assert compose_config(["dataset=synthetic"]).dataset.name == "synthetic"  # no dataset/series: nothing applied


def test_command_line_overrides_beat_the_preset():
    cfg = compose_config(
        ["experiment=early", "dataset/series=rieth", *PATH["rieth"], "dataset.series.runs_per_class=7"]
    )
    assert cfg.dataset.series.runs_per_class == 7


def test_a_preset_key_the_source_lacks_is_one_line_naming_it_and_the_file(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\ndataset:\n  series:\n    horizon_h: 3.0\n")
    overrides = ["experiment=mine", "dataset=factory", "dataset/series=rieth", *PATH["rieth"]]
    with pytest.raises(MmfusionError) as err:
        compose_config([*overrides, f"hydra.searchpath=[file://{tmp_path}]"])
    text = str(err.value)
    assert "\n" not in text and "ConfigKeyError" not in text
    assert text.startswith(
        "dataset.series.horizon_h is not a key of dataset.series (it belongs to dataset/series=simulate)"
    )
    assert text.endswith("(set by experiment/mine)")


def test_composition_errors_exit_2_with_one_line(tmp_path):
    proc = run_cli("train", "experiment=early", "dataset/series=rieth", "dataset.series.horizon_h=3", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "mmfusion train: error: dataset.series.horizon_h is not a key of dataset.series (it belongs to "
        "dataset/series=simulate); its keys are: source, faults, window, path, part, runs_per_class, first_run, "
        "length, files, cache_dir"
    ]
    with pytest.raises(MmfusionError) as err:  # a bad group option: the same one-line path, in-process
        compose_config(["experiment=early", "dataset/series=nope"])
    assert "\n" not in str(err.value) and "'dataset/series/nope'" in str(err.value)
    assert "braatz, rieth, simulate" in str(err.value)


@pytest.mark.skipif(
    not (SAMPLE / FAULTY).is_file() or not (SAMPLE / FAULT_FREE).is_file(),
    reason=f"needs the shared Rieth sample CSVs in {SAMPLE} (not part of the project)",
)
def test_early_windows_on_the_shared_rieth_sample(tmp_path):
    """experiment=early on Rieth's files: each series is the first 2 h (40 samples) after the onset
    (sample 21 of a training run), cut from the right fault's run. The sample has one run per fault, so
    the runs are shared by the splits (split_before_resampling=false)."""
    cfg = compose_config(
        [
            "experiment=early",
            "dataset/series=rieth",
            f"dataset.series.path={SAMPLE}",
            f"dataset.series.files={{faulty: {FAULTY}, fault_free: {FAULT_FREE}}}",
            "dataset.series.runs_per_class=1",
            f"dataset.series.cache_dir={tmp_path}",
            "dataset.samples_per_class=20",
            "dataset.split_before_resampling=false",
        ]
    )
    ds = build_dataset(cfg.dataset, cfg.modalities)
    train = ds.splits["train"]
    x = np.asarray(train.x["series"])
    assert x.shape[1:] == (40, 52) and ds.classes == list(cfg.dataset.classes)
    csv = pd.read_csv(SAMPLE / FAULTY)
    for k, fault in enumerate(cfg.dataset.series.faults):
        rows = csv[(csv.faultNumber == fault) & (csv.simulationRun == 1) & csv["sample"].between(21, 60)]
        want = rows.sort_values("sample").iloc[:, 3:].to_numpy(np.float32)
        got = x[np.flatnonzero(train.y == k)[0]]
        np.testing.assert_array_equal(got, want)
    assert ds.info["series_source"] == "rieth" and ds.info["faults"] == [10, 11, 12, 13]
