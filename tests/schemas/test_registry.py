"""The one registry (mmfusion.schemas.registry): every option of every kind has its YAML and builds; an
unknown name is one line listing the choices; a new fusion rule is one class with its schema plus one
YAML (tests/toy_rule.py, tests/toy_conf/), nothing else, as docs/extending.md shows."""

from __future__ import annotations

import importlib
import re
import sys

import numpy as np
import pytest
from helpers import ROOT, SHRINK_SYNTHETIC, compose_cfg
from omegaconf import OmegaConf

from mmfusion import fusion
from mmfusion.config import compose_config
from mmfusion.data import DATASETS, build_dataset, paper_dataset
from mmfusion.errors import ConfigError, DataError
from mmfusion.models import build_model
from mmfusion.schemas import GROUPS, registry

KINDS = ["dataset", "dataset/series", "dataset/text", "fusion", "model/text", "model/series", "joint"]
TOY_CONF = ROOT / "tests" / "toy_conf"
TOY_SEARCHPATH = f"hydra.searchpath=[file://{TOY_CONF}]"
Q = 3


def node_of(cfg, kind: str):
    node = cfg
    for part in kind.split("/"):
        node = node[part]
    return node


def option_cfg(kind: str, name: str, extra=()):
    """The composed node of `kind=name` (its YAML over its schema), as a run would get it."""
    first = ["dataset=factory"] if kind.startswith("dataset/") else []
    return node_of(compose_cfg([*first, f"{kind}={name}", *extra], shrink=False), kind)


def yaml_option(kind: str, stem: str) -> tuple[str, str | None]:
    """(the option conf/<kind>/<stem>.yaml sets, the schema its defaults list names); a preset such as
    lstm_tuned.yaml names its base option first and sets no name of its own."""
    node = OmegaConf.load(ROOT / "conf" / kind / f"{stem}.yaml")
    first = str(node.defaults[0])
    if not first.startswith("/schema/"):
        return yaml_option(kind, first)[0], None
    return node[registry.SELECTOR.get(kind, "name")], first


def test_the_registry_knows_exactly_the_groups_and_options_of_conf():
    """Each registered option has its YAML, naming its registered schema, and each YAML a registered
    option (composing them all: tests/schemas/test_config.py)."""
    assert registry.kinds() == [k for k in GROUPS if k != "tracking"] and sorted(KINDS) == sorted(registry.kinds())
    for kind in KINDS:
        named = {p.stem: yaml_option(kind, p.stem) for p in sorted((ROOT / "conf" / kind).glob("*.yaml"))}
        assert {name for name, _ in named.values()} == set(registry.names(kind)), kind
        for stem, (name, schema) in named.items():
            assert schema is None or (stem == name and schema == f"/schema/{kind}/{name}@_here_"), (kind, stem)
    assert OmegaConf.get_type(option_cfg("fusion", "stacking")) is registry.schema("fusion", "stacking")


def test_the_fusion_rules_keep_their_order():
    """Tables list the rules in registration order (the golden check's `fuse fusion=all` tables)."""
    order = ["equal", "accuracy", "per_class", "product", "stacking", "ensemble_selection"]
    assert registry.names("fusion") == order and list(fusion.FUSIONS) == order
    assert list(DATASETS) == ["synthetic", "factory", "custom"] and "factory" in DATASETS


@pytest.mark.parametrize("kind", ["model/text", "model/series", "joint"])
def test_every_model_builds(kind):
    modality = kind.removeprefix("model/")
    for name in registry.names(kind):
        if name == "none":  # joint=none: typed, builds nothing
            with pytest.raises(ValueError, match="joint=none builds nothing"):  # a Python-API guard
                registry.lookup(kind, name)
            continue
        cfg = option_cfg(kind, name)
        cls = registry.lookup(kind, name)
        if name == "minirocket" and importlib.util.find_spec("aeon") is None:
            with pytest.raises(ConfigError, match=r"pip install mmfusion\[minirocket\]"):  # built without aeon
                build_model(modality, cfg, Q)
            continue
        model = build_model(modality, cfg, Q)
        assert type(model) is cls and model.cfg is cfg and model.num_classes == Q, name


def probs_of(seed: int, n: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.dirichlet(np.ones(Q), size=n) for _ in range(2)]


def test_every_fusion_rule_builds_fits_and_fuses():
    y = {"val": np.arange(12) % Q, "test": np.arange(12) % Q}
    probs = {"val": dict(zip(["series", "text"], probs_of(0))), "test": dict(zip(["series", "text"], probs_of(1)))}
    present = {s: {m: np.ones(12, bool) for m in ("series", "text")} for s in probs}
    for name in registry.names("fusion"):
        cfg = option_cfg("fusion", name)
        rule = fusion.get_rule(cfg)
        assert type(rule) is registry.lookup("fusion", name) and type(rule).schema() is registry.schema("fusion", name)
        params, fused = fusion.fuse_splits(cfg, probs, y, present, [0.9, 0.6], ["series", "text"])
        np.testing.assert_allclose(fused["test"].sum(axis=1), 1.0, err_msg=name)


def test_every_dataset_and_source_builds(tmp_path):
    ds = build_dataset(compose_cfg([]).dataset)  # dataset=synthetic, shrunk
    assert ds.sizes()["train"] > 0 and ds.modalities == ["text", "series"]
    text_only = ["dataset=factory", "dataset/text=generate", "dataset.samples_per_class=10", "modalities=[text]"]
    cfg = compose_cfg(text_only)
    assert build_dataset(cfg.dataset, cfg.modalities).info["text_source"] == "generate"
    custom = [f"dataset.records={tmp_path / 'absent.csv'}", f"dataset.series_path={tmp_path / 'absent.npz'}"]
    with pytest.raises((ConfigError, DataError), match="absent.csv"):  # custom.build reads the records first
        build_dataset(compose_cfg(["dataset=custom", "dataset.classes=[a,b]", *custom]).dataset)

    classes = ["electronic_failure", "leak", "mechanical_failure", "software_failure"]
    csv = tmp_path / "texts.csv"
    labels = ["Electronic Failure", "Leak", "Mechanical Failure", "Software Failure"]  # csv.yaml's label_map
    csv.write_text("Description,Category\n" + "".join(f"report {i} of {c},{c}\n" for c in labels for i in range(3)))
    for name, extra in (("generate", []), ("factory_reports", []), ("csv", [f"dataset.text.path={csv}"])):
        texts = paper_dataset.load_texts(option_cfg("dataset/text", name, extra), classes, 3, 0)
        assert set(texts.y.tolist()) == {0, 1, 2, 3}, name


@pytest.mark.e2e  # simulates four short TEP runs (seconds)
def test_every_series_source_builds(tmp_path):
    fast = ["horizon_h=2.0", "onset_h=0.5", "workers=1", "runs_per_class=1", f"cache_dir={tmp_path}"]
    series = paper_dataset.load_series(option_cfg("dataset/series", "simulate", [f"dataset.series.{o}" for o in fast]))
    assert series.x.shape[:2] == (4, 40) and sorted(series.y.tolist()) == [0, 1, 2, 3]
    for name in ("rieth", "braatz"):  # file sources: their from_config runs up to the path it needs
        with pytest.raises(ValueError, match=f"dataset/series={name} needs dataset.series.path="):
            paper_dataset.load_series(option_cfg("dataset/series", name, ["dataset.series.path=''"]))


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_name_is_one_line_listing_the_choices(kind):
    key = f"{kind.replace('/', '.')}.{registry.SELECTOR.get(kind, 'name')}"
    with pytest.raises(ValueError) as err:  # Python API: a config's unknown names stop at composition
        registry.build(kind, OmegaConf.create({registry.SELECTOR.get(kind, "name"): "nope"}))
    assert str(err.value) == f"{key}='nope' is not known; choose one of {sorted(registry.names(kind))}"


def test_the_callers_name_the_key_they_read():
    with pytest.raises(ValueError, match=r"^model\.text\.name='nope' is not known; choose one of \['bilstm', 'lstm'"):
        build_model("text", OmegaConf.create({"name": "nope"}), Q)
    with pytest.raises(ValueError, match=r"^dataset\.name='nope' is not known; choose one of \['custom', 'factory'"):
        build_dataset(OmegaConf.create({"name": "nope"}))
    with pytest.raises(ValueError, match=r"^fusion\.name='median' is not known; choose one of \['accuracy'"):
        fusion.get_rule(OmegaConf.create({"name": "median"}))


TOYS = {  # module in tests/ -> (kind, name) its decorator registers; its YAML: tests/toy_conf/<kind>/<name>.yaml
    "toy_rule": ("fusion", "power_mean"),
    "toy_model": ("model/series", "mlp"),
    "toy_source": ("dataset/text", "templated"),
}


def add_toy(module: str):
    """Import tests/<module>.py (its decorator registers the option) and check that no file of the
    package or of conf/ names it: the class (or function), its schema and the YAML are all there is."""
    kind, name = TOYS[module]
    assert name not in registry.names(kind) and (TOY_CONF / kind / f"{name}.yaml").is_file()
    for tree, pattern in ((ROOT / "mmfusion", "*.py"), (ROOT / "conf", "*.yaml")):
        assert not [p for p in tree.rglob(pattern) if re.search(rf"\b{name}\b", p.read_text(encoding="utf-8"))]
    sys.modules.pop(module, None)
    return importlib.import_module(module)


def forget_toy(module: str) -> None:
    registry.unregister(*TOYS[module])
    sys.modules.pop(module, None)


@pytest.fixture
def power_mean():
    """The toy rule, forgotten afterwards so that no other test sees a seventh rule."""
    yield add_toy("toy_rule")
    forget_toy("toy_rule")


def test_a_new_fusion_rule_is_one_class_and_one_yaml(power_mean):
    assert "power_mean" in fusion.FUSIONS and fusion.FUSIONS["power_mean"] is power_mean.PowerMean

    cfg = compose_config([TOY_SEARCHPATH, "fusion=power_mean"])  # composed and checked as any run's config
    assert OmegaConf.get_type(cfg.fusion) is power_mean.PowerMeanSchema and cfg.fusion.power == 2.0
    with pytest.raises(ConfigError, match=r"^fusion\.power=-1: expected a number > 0$"):
        compose_config([TOY_SEARCHPATH, "fusion=power_mean", "fusion.power=-1"])
    assert not fusion.needs_val(cfg.fusion) and fusion.get_rule(cfg.fusion).cfg.power == 2.0

    val, test = probs_of(0), probs_of(1)
    rule = fusion.fit_rule(cfg.fusion, val, np.arange(12) % Q, [0.9, 0.6])
    assert rule.params == {"power": 2.0}
    fused = rule.proba(test)
    np.testing.assert_array_equal(fusion.get_rule(cfg.fusion, rule.params).proba(test), fused)  # from metrics.json
    expected = np.sqrt((test[0] ** 2 + test[1] ** 2) / 2)
    np.testing.assert_allclose(fused, expected / expected.sum(axis=1, keepdims=True))

    # power=1 is the paper's equal weights, through the same path train, fuse and predict share
    one = compose_config([TOY_SEARCHPATH, "fusion=power_mean", "fusion.power=1"]).fusion
    equal = compose_config(["fusion=equal"]).fusion
    probs = {"val": {"s": val[0], "t": val[1]}, "test": {"s": test[0], "t": test[1]}}
    y = {"val": np.arange(12) % Q, "test": np.arange(12) % Q}
    present = {
        "val": {"s": np.ones(12, bool), "t": np.ones(12, bool)},
        "test": {"s": np.ones(12, bool), "t": ~np.eye(12, dtype=bool)[0]},
    }
    _, ours = fusion.fuse_splits(one, probs, y, present, [0.9, 0.6], ["s", "t"])
    _, theirs = fusion.fuse_splits(equal, probs, y, present, [0.9, 0.6], ["s", "t"])
    np.testing.assert_allclose(ours["test"], theirs["test"])  # sample 0 lacks its text: the series alone


def test_a_new_model_is_one_class_and_one_yaml(tmp_path):
    """model/series=mlp trains, fuses, saves and reloads in a real run (tiny synthetic data)."""
    from mmfusion.commands.train import train
    from mmfusion.models import load_model

    toy = add_toy("toy_model")
    try:
        overrides = [TOY_SEARCHPATH, "model/series=mlp", "model.series.epochs=2", "model.series.dense_units=[8]"]
        cfg = compose_cfg([*SHRINK_SYNTHETIC, "model/text=tfidf_logreg", *overrides], shrink=False)
        result = train(cfg, tmp_path)
        assert set(result["accuracy"]) == {"series", "text", "fused"}
        model = load_model("series", cfg.model.series, 4, tmp_path / "models")
        assert type(model) is toy.SeriesMLP and model.network.name == "series_mlp"
        assert (tmp_path / "COMPLETE").is_file()
    finally:
        forget_toy("toy_model")


def test_a_new_text_source_is_one_function_and_one_yaml():
    toy = add_toy("toy_source")
    try:
        cfg = compose_cfg([TOY_SEARCHPATH, "dataset=factory", "dataset/text=templated", "dataset.samples_per_class=10"])
        assert OmegaConf.get_type(cfg.dataset.text) is toy.TemplatedSchema
        ds = build_dataset(cfg.dataset, ["text"])  # text only: no series simulated
        assert ds.info["text_source"] == "templated" and ds.modalities == ["text"]
        train = ds.splits["train"]
        assert all(ds.classes[y].replace("_", " ") in text for text, y in zip(train.x["text"], train.y))
    finally:
        forget_toy("toy_source")


def test_the_toys_are_forgotten_after_their_tests():
    for module, (kind, name) in TOYS.items():
        assert name not in registry.names(kind) and module not in sys.modules


def test_a_name_taken_by_another_schema_is_refused(power_mean):
    with pytest.raises(ValueError, match="fusion=power_mean is registered already"):
        registry.register("fusion", "power_mean", power_mean.PowerMean)(type("OtherSchema", (), {}))


def test_docs_show_the_toys_as_they_are():
    """docs/extending.md shows the classes, schemas and YAML files that the tests above run."""
    page = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    for module, (kind, name) in TOYS.items():
        code = (ROOT / "tests" / f"{module}.py").read_text(encoding="utf-8")
        assert code[code.index('"""', 3) + 3 :].strip() in page, module  # all but the module's docstring
        assert (TOY_CONF / kind / f"{name}.yaml").read_text(encoding="utf-8").strip() in page, name
