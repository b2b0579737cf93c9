"""Only what the chosen modalities need is built: a text-only run simulates and loads no series
(counted through the loaders, not timed), and a series-only run reads no text."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import compose_cfg

from mmfusion.data import build_dataset, paper_dataset
from mmfusion.data.series import simulate as simulate_module


@pytest.fixture
def calls(monkeypatch):
    """Counts every call of the series loader and of the TEP simulator (which would take minutes)."""
    counted = {"load_series": 0, "simulate": 0, "load_texts": 0}
    real_load_series, real_load_texts = paper_dataset.load_series, paper_dataset.load_texts

    def load_series(*args, **kwargs):
        counted["load_series"] += 1
        return real_load_series(*args, **kwargs)

    def load_texts(*args, **kwargs):
        counted["load_texts"] += 1
        return real_load_texts(*args, **kwargs)

    def simulate(*args, **kwargs):
        counted["simulate"] += 1
        raise AssertionError("a text-only run must not simulate TEP runs")

    monkeypatch.setattr(paper_dataset, "load_series", load_series)
    monkeypatch.setattr(paper_dataset, "load_texts", load_texts)
    monkeypatch.setattr(simulate_module, "simulate", simulate)
    return counted


def test_paper_experiment_text_only_builds_no_series(calls):
    cfg = compose_cfg(["dataset=factory", "experiment=paper", "modalities=[text]"])
    ds = build_dataset(cfg.dataset, cfg.modalities)
    assert calls == {"load_series": 0, "simulate": 0, "load_texts": 1}
    assert ds.modalities == ["text"] and ds.sizes() == {"train": 1600, "test": 400}
    assert "series_source" not in ds.info and ds.info["text_source"] == "factory_reports"
    assert all(set(split.units) == {"text"} for split in ds.splits.values())
    assert np.bincount(ds.splits["test"].y).tolist() == [100, 100, 100, 100]


def test_without_modalities_both_are_built(calls, monkeypatch):
    """The old call (no modalities) still builds both: the simulator is asked for the series."""
    cfg = compose_cfg(["dataset=factory", "experiment=paper"])
    with pytest.raises(AssertionError, match="must not simulate"):
        build_dataset(cfg.dataset)
    assert calls["simulate"] == 1


def test_series_only_reads_no_text(calls, tmp_path):
    from mmfusion.data.dataset import SeriesData

    def fake_series(cfg, progress=True):  # stands in for a source: 6 runs per class
        y = np.repeat(np.arange(4), 6)
        x = np.random.default_rng(0).normal(size=(len(y), 10, 3)).astype(np.float32)
        return SeriesData(x=x, y=y, run_ids=np.asarray([f"run{i}" for i in range(len(y))]), variables=["a", "b", "c"])

    real_paper_load_series = paper_dataset.load_series
    try:
        paper_dataset.load_series = fake_series
        cfg = compose_cfg(["dataset=factory", "dataset.samples_per_class=20", "modalities=[series]"])
        ds = build_dataset(cfg.dataset, cfg.modalities)
    finally:
        paper_dataset.load_series = real_paper_load_series
    assert calls["load_texts"] == 0 and ds.modalities == ["series"]
    assert ds.info["unique_series_runs_test"] > 0 and "text_source" not in ds.info
    assert ds.splits["train"].ids[0].split(":")[1].startswith("run")


def test_text_only_train_run_end_to_end(calls, tmp_path):
    """`mmfusion train experiment=paper modalities=[text]` (sklearn text model, fewer pairs): trains,
    evaluates and writes its run directory without any series."""
    from mmfusion.commands.train import train

    overrides = ["experiment=paper", "modalities=[text]", "model/text=tfidf_logreg", "dataset.samples_per_class=20"]
    cfg = compose_cfg(overrides, shrink=False)
    result = train(cfg, tmp_path / "run")
    assert calls["simulate"] == 0 and calls["load_series"] == 0
    assert list(result["accuracy"]) == ["text"] and (tmp_path / "run" / "COMPLETE").is_file()
