"""`dataset=factory` end to end on short simulated TEP runs, with generated and real text."""

import json

import numpy as np
import pytest
from helpers import SHARED_DATA, compose_cfg, run_cli

from mmfusion.commands.train import train
from mmfusion.config import compose_config
from mmfusion.data import build_dataset
from mmfusion.data.text.csv import load_text_csv
from mmfusion.data.text.factory_reports import LABEL_MAP, bundled_path
from mmfusion.errors import ConfigError

CLASSES = list(LABEL_MAP.values())

# 2 h runs, fault at 0.5 h, 3 runs per class: a few seconds of simulation
SHORT = [
    "dataset=factory",
    "dataset.samples_per_class=10",
    "dataset.series.runs_per_class=3",
    "dataset.series.horizon_h=2.0",
    "dataset.series.onset_h=0.5",
    "dataset.series.workers=1",
]
REPORTS = bundled_path()  # the package's copy of MathWorks' factoryReports.csv


@pytest.fixture
def short_factory(tmp_path):
    return SHORT + [f"dataset.series.cache_dir={tmp_path / 'cache'}"]


def test_factory_trains_on_simulated_tep_and_the_bundled_reports(short_factory, tmp_path):
    result = train(compose_cfg(short_factory), tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["dataset"]["text_source"] == "factory_reports" and metrics["dataset"]["text_reports_read"] == 480
    metrics = result["metrics"]
    assert metrics["classes"] == ["electronic_failure", "leak", "mechanical_failure", "software_failure"]
    assert metrics["sizes"] == {"train": 32, "test": 8}
    assert metrics["dataset"]["faults"] == [1, 4, 11, 7]
    assert metrics["dataset"]["series_variables"][0] == "xmeas_1" and len(metrics["dataset"]["series_variables"]) == 52
    assert metrics["dataset"]["test_texts_also_in_train"] == 0
    assert metrics["dataset"]["test_series_runs_also_in_train"] == 0
    assert (tmp_path / "run" / "COMPLETE").exists()


def test_factory_with_generated_text(short_factory):
    ds = build_dataset(compose_cfg(short_factory + ["dataset/text=generate"]).dataset)
    assert ds.info["text_source"] == "generate" and ds.info["text_reports_read"] == 40  # 10 reports x 4 classes


def test_same_seed_same_factory_data_and_cache_is_reused(short_factory):
    a = build_dataset(compose_cfg(short_factory).dataset)
    b = build_dataset(compose_cfg(short_factory).dataset)
    np.testing.assert_array_equal(a.splits["test"].x["series"], b.splits["test"].x["series"])
    assert a.splits["train"].x["series"].shape[1:] == (40, 52)
    assert b.info["series_info"]["cache_hits"] == 12 and b.info["series_info"]["cache_misses"] == 0


def test_wrong_number_of_faults_is_named(short_factory):
    """Refused by the config check, before anything is simulated (the builder no longer checks it again)."""
    with pytest.raises(ConfigError, match=r"^dataset\.series\.faults=\[1, 2\]: expected one fault number per class"):
        compose_config(short_factory + ["dataset.series.faults=[1,2]"])


def test_data_build_command_fills_the_cache(short_factory, tmp_path):
    res = run_cli("data", "build", *short_factory, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "dataset factory" in res.stdout
    assert len(list((tmp_path / "cache" / "tep").glob("*.npy"))) == 12


def test_data_build_with_a_typo_fails_clearly(tmp_path):
    res = run_cli("data", "build", "dataset=factroy", cwd=tmp_path)
    assert res.returncode != 0 and "factroy" in res.stderr and "Traceback" not in res.stderr


def test_factory_reads_the_bundled_factory_reports_by_default(short_factory, tmp_path):
    ds = build_dataset(compose_cfg(short_factory).dataset)  # no text source given: the bundled file
    assert ds.info["text_source"] == "factory_reports" and ds.info["text_reports_read"] == 480
    assert ds.info["text_info"]["file"] == "factoryReports.csv" and "MathWorks" in ds.info["text_info"]["citation"]
    texts = {t.strip() for t in ds.splits["train"].x["text"]}
    assert texts <= set(load_text_csv(REPORTS, CLASSES, LABEL_MAP).texts)


def test_factory_with_the_factory_reports_as_a_csv_path(short_factory, tmp_path):
    cfg = compose_cfg(
        short_factory + ["dataset/text=csv", f"dataset.text.path={REPORTS}", "dataset.split_before_resampling=false"]
    )
    ds = build_dataset(cfg.dataset)
    assert ds.info["text_info"]["rows_read"] == 480 and ds.info["text_reports_read"] == 480
    assert ds.class_counts()["test"] == [2, 2, 2, 2]
    json.dumps(ds.info)  # everything recorded is plain JSON


def test_window_after_onset_applies_to_the_factory_series(short_factory):
    ds = build_dataset(
        compose_cfg(short_factory + ["dataset.series.window.start=0", "dataset.series.window.length=10"]).dataset
    )
    assert ds.splits["train"].x["series"].shape[1:] == (10, 52)
    assert ds.info["series_info"]["onset_index"] == 10  # 0.5 h onset, first sample at 0.01 h, 3-min steps
    with pytest.raises(Exception, match="only 40 samples"):
        build_dataset(
            compose_cfg(short_factory + ["dataset.series.window.start=0", "dataset.series.window.length=31"]).dataset
        )


def test_jittered_window_starts_move_only_the_training_windows(short_factory):
    def build(length, jitter=0):
        window = ["dataset.series.window.start=0", f"dataset.series.window.length={length}"]
        return build_dataset(
            compose_cfg(short_factory + window + [f"dataset.series.window.jitter_start={jitter}"]).dataset
        )

    plain, wide, jittered = build(10), build(15), build(10, 5)
    assert jittered.info["series_info"]["window_jitter_start"] == 5
    assert jittered.info["series_info"]["window_length"] == 10
    assert set(jittered.splits) == set(plain.splits) == {"train", "test"}
    for name in plain.splits:
        assert list(jittered.splits[name].ids) == list(plain.splits[name].ids)  # the same pairs
    x = {d: np.asarray(ds.splits["train"].x["series"]) for d, ds in (("j", jittered), ("w", wide))}
    offsets = [
        next(o for o in range(6) if np.array_equal(x["j"][i], x["w"][i, o : o + 10])) for i in range(len(x["j"]))
    ]  # each training window is its run's 10 samples from some offset 0..5 (StopIteration if none)
    assert len(set(offsets)) > 1
    test = {d: np.asarray(ds.splits["test"].x["series"]) for d, ds in (("j", jittered), ("p", plain))}
    np.testing.assert_array_equal(test["j"], test["p"])  # test windows start at `start` exactly


RIETH = SHARED_DATA / "tep_rieth_sample"


@pytest.mark.skipif(not RIETH.exists(), reason=f"needs the shared reference data at {RIETH}")
def test_factory_with_rieth_csv_from_shared_data(tmp_path):
    cfg = compose_cfg(
        [
            "dataset=factory",
            "dataset.samples_per_class=10",
            "dataset/series=rieth",
            f"dataset.series.cache_dir={tmp_path / 'cache'}",
            f"dataset.series.path={RIETH}",
            "dataset.series.runs_per_class=1",
            "dataset.series.files={faulty: faulty_training_one_run_per_fault.csv}",
            "dataset.series.faults=[1,2,4,5]",
            "dataset.split_before_resampling=false",
            "dataset.series.window.start=0",
            "dataset.series.window.length=40",
        ]
    )
    ds = build_dataset(cfg.dataset)
    assert ds.splits["test"].x["series"].shape == (8, 40, 52)
    assert ds.info["series_info"]["onset_index"] == 20  # Rieth training runs: fault from sample 21
    # one run per fault cannot be split honestly: the error says why
    honest = compose_cfg(
        [
            "dataset=factory",
            "dataset/series=rieth",
            f"dataset.series.path={RIETH}",
            f"dataset.series.cache_dir={tmp_path / 'cache'}",
            "dataset.series.runs_per_class=1",
            "dataset.series.faults=[1,2,4,5]",
            "dataset.series.files={faulty: faulty_training_one_run_per_fault.csv}",
        ]
    )
    with pytest.raises(Exception, match="too few distinct time series runs"):
        build_dataset(honest.dataset)


def test_factory_with_braatz_files(tmp_path):
    rng = np.random.default_rng(0)
    for f in (1, 2, 4, 5):
        np.savetxt(tmp_path / f"d{f:02d}.dat", rng.normal(size=(480, 52)) + f)
        np.savetxt(tmp_path / f"d{f:02d}_te.dat", rng.normal(size=(960, 52)) + f)
    cfg = compose_cfg(
        [
            "dataset=factory",
            "dataset.samples_per_class=10",
            "dataset/series=braatz",
            f"dataset.series.path={tmp_path}",
            "dataset.series.faults=[1,2,4,5]",
            "dataset.series.braatz_window=50",
            "dataset.series.braatz_stride=100",
            f"dataset.series.cache_dir={tmp_path / 'cache'}",
        ]
    )
    ds = build_dataset(cfg.dataset)
    assert ds.splits["train"].x["series"].shape[1:] == (50, 52)
    assert ds.info["test_series_runs_also_in_train"] == 0
    test_ids = " ".join(ds.splits["test"].ids)
    assert "-test-" in test_ids and "-train-" not in test_ids  # test pairs take only dNN_te.dat windows
