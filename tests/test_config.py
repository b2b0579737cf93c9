"""Every config group composes, with its options; the defaults are the paper's networks."""

from pathlib import Path

import pytest
from conftest import ROOT, compose_cfg

CONF = ROOT / "conf"
GROUPS = {
    "dataset": "dataset",
    "model/text": "model/text",
    "model/series": "model/series",
    "fusion": "fusion",
}


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_option_of_every_group_composes(group):
    assert options(group), f"conf/{group} has no options"
    for option in options(group):
        cfg = compose_cfg([f"{group}={option}"], shrink=False)
        node = cfg
        for part in group.split("/"):
            node = node[part]
        assert node.name, f"{group}={option} has no name"


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_composes(experiment):
    cfg = compose_cfg([f"experiment={experiment}"], shrink=False)
    assert cfg.dataset.name and cfg.fusion.name


def test_defaults_are_the_papers_networks():
    cfg = compose_cfg(shrink=False)
    assert list(cfg.model.series.lstm_units) == [52, 40, 25]
    assert cfg.model.text.lstm_units == 80
    assert len(cfg.model.text.dense_units) + 1 == 4 and len(cfg.model.series.dense_units) + 1 == 4
    assert set(cfg.modalities) == {"text", "series"}
    for m in ("text", "series"):
        assert {"lr", "epochs", "batch_size"} <= set(cfg.model[m])


def test_configs_ship_inside_the_package():
    import importlib.resources

    conf = importlib.resources.files("mmfusion.conf")
    assert conf.joinpath("config.yaml").is_file()
    assert Path(str(conf.joinpath("fusion"))).is_dir()
