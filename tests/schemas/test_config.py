"""Every config group composes, with its options; the defaults are the paper's networks."""

from pathlib import Path

import pytest
from helpers import ROOT, compose_cfg

CONF = ROOT / "conf"
GROUPS = {
    "dataset": "dataset",
    "model/text": "model/text",
    "model/series": "model/series",
    "fusion": "fusion",
    "joint": "joint",
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


# --- typed schemas: every option is typed, and its YAML shows every key ---------------------------
def _yaml_keys(group: str, option: str) -> set[str]:
    from omegaconf import OmegaConf

    raw = OmegaConf.load(CONF / group / f"{option}.yaml")
    nested = {k for entry in raw.get("defaults", []) if not isinstance(entry, str) for k in entry}  # series: simulate
    # an option that extends a sibling (model/text/lstm_tuned: `- lstm`) shows the sibling's keys too
    base = {
        k
        for e in raw.get("defaults", [])
        if isinstance(e, str) and (CONF / group / f"{e}.yaml").is_file()
        for k in _yaml_keys(group, e)
    }
    return {k for k in raw if k != "defaults"} | nested | base


@pytest.mark.parametrize("group", [*GROUPS, "tracking", "dataset/series", "dataset/text"])
def test_every_option_has_a_schema_and_its_yaml_lists_every_key(group):
    import dataclasses

    from omegaconf import OmegaConf

    from mmfusion.schemas.models import TRAINING_KEYS, UntrainedSchema

    for option in options(group):
        node = compose_cfg([f"{group}={option}"], shrink=False)
        for part in group.split("/"):
            node = node[part]
        schema = OmegaConf.get_type(node)
        assert dataclasses.is_dataclass(schema), f"{group}={option} is not typed"
        yaml = _yaml_keys(group, option) | (_yaml_keys(group, "none") if group == "tracking" else set())
        if group == "dataset/series":  # the keys every source shares live in factory.yaml
            yaml |= set(OmegaConf.load(CONF / "dataset" / "factory.yaml").series)
        hidden = set(node) - yaml - (set(TRAINING_KEYS) if issubclass(schema, UntrainedSchema) else set())
        assert not hidden, f"conf/{group}/{option}.yaml does not show {hidden}"


def test_models_without_epochs_carry_no_training_keys():
    for group, option in (("model/text", "tfidf_logreg"), ("model/series", "minirocket")):
        assert not {"lr", "epochs", "batch_size"} & _yaml_keys(group, option)
        cfg = compose_cfg([f"{group}={option}"], shrink=False)
        assert all(cfg.model[group.split("/")[1]][k] is None for k in ("lr", "epochs", "batch_size"))


def test_readme_early_experiment_with_non_neural_models_composes():
    from mmfusion.config import compose_config

    cfg = compose_config(["experiment=early", "model/text=tfidf_logreg", "model/series=minirocket"])
    assert cfg.fusion.weights == "val_accuracy" and cfg.model.text.name == "tfidf_logreg"


def test_a_run_saved_with_the_old_weights_from_key_is_fused_with_the_new_one(tmp_path):
    from omegaconf import OmegaConf

    from mmfusion.commands.fuse import compose

    OmegaConf.save(
        OmegaConf.create(
            {"fusion": {"name": "accuracy", "weights_from": "val", "calibrate": False}, "evaluation": {"bootstrap": 0}}
        ),
        tmp_path / "config.yaml",
    )
    from types import SimpleNamespace

    from mmfusion.rundir.records import Metrics

    run = SimpleNamespace(dir=tmp_path, metrics=Metrics(seed=3, fusion={"name": "accuracy"}), oof=None)
    cfg = compose(run, "accuracy", [])
    assert cfg.fusion.weights == "val_accuracy" and "weights_from" not in cfg.fusion and cfg.seed == 3


def test_the_schema_knows_the_generators_report_categories():
    from mmfusion.data.text.phrases import CATEGORIES
    from mmfusion.schemas.dataset import REPORT_CATEGORIES

    assert tuple(CATEGORIES) == REPORT_CATEGORIES


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=paper", "model/text=tfidf_logreg"],
        ["experiment=paper", "model/series=conv1d", "model/text=tfidf_logreg"],
        ["experiment=early", "model/series=conv1d", "model/text=tfidf_logreg"],
        ["experiment=early", "model/series=minirocket", "model/text=tfidf_logreg"],
    ],
)
def test_experiments_compose_with_the_peer_models(overrides):
    from mmfusion.config import compose_config

    cfg = compose_config(overrides)
    assert cfg.model.text.name == overrides[-1].split("=")[1]


def test_experiments_train_the_papers_networks_with_the_searched_recipes():
    """experiment=early / paper use model/<m>=lstm_tuned (same networks, searched training, an ensemble);
    model/<m>=lstm gives the paper's own training back; the paper experiment keeps the paper's series training."""
    from mmfusion.config import compose_config

    early = compose_config(["experiment=early"])
    assert early.model.text.lr == 0.0083 and early.model.text.ensemble == 5 and early.model.text.lstm_units == 80
    assert early.model.series.ensemble == 3 and list(early.model.series.lstm_units) == [52, 40, 25]
    assert early.model.series.epochs == 60  # the experiment's own keys still apply on top
    paper = compose_config(["experiment=paper"])
    assert paper.model.text.lr == 0.0083 and paper.model.text.epochs == 30 and paper.model.series.ensemble == 1
    original = compose_config(["experiment=paper", "model/text=lstm"])
    assert original.model.text.lr == 1e-3 and original.model.text.ensemble == 1 and original.model.text.epochs == 30
