"""The config check of each data source (mmfusion/schemas/check/sources.py): what a loader would meet only
after loading or simulating is refused at composition, one line naming the key; the loaders keep a
ValueError with the same words for Python callers (tests/data/)."""

import pytest
from helpers import ROOT, run_cli

from mmfusion.config import compose_config
from mmfusion.errors import ConfigError

RIETH = ["dataset/series=rieth", f"dataset.series.path={ROOT}"]  # any existing folder
BRAATZ = ["dataset/series=braatz", f"dataset.series.path={ROOT}"]
CSV = ["dataset/text=csv", f"dataset.text.path={ROOT / 'README.md'}"]  # any existing file
CUSTOM = ["dataset=custom", "dataset.classes=[a,b]", "dataset.records=r.csv", "dataset.series_path=s.npz"]
FIVE = ["dataset.classes=[a,b,c,d,e]", "dataset.series.faults=[1,2,3,4,5]"]

BAD = [
    (
        ["dataset/series=rieth", "dataset.series.path=''"],
        "dataset/series=rieth needs dataset.series.path=<file or folder>",
    ),
    (
        ["dataset/series=rieth", f"dataset.series.path={ROOT / 'README.md'}", "dataset.series.files={faulty: f.csv}"],
        "dataset.series.files is only used when dataset.series.path is a folder; ",
    ),
    ([*RIETH, "dataset.series.files={bogus: f.csv}"], "dataset.series.files has unknown key(s) ['bogus']"),
    ([*BRAATZ, "dataset.cv.folds=3"], "dataset.cv.folds: this series source fixes its own train/test split"),
    (
        ["dataset.series.window.start=-21", "dataset.series.window.length=10"],
        "dataset.series.window.start=-21 begins 1 sample(s) before the run starts (the onset is sample index 20)",
    ),
    ([*RIETH, "dataset.series.window.start=-21"], "dataset.series.window.start=-21 begins 1 sample(s) before"),
    ([*CSV, "dataset.text.encoding=klingon"], "dataset.text.encoding=klingon: expected a known text encoding"),
    ([*CSV, "dataset.text.label_map={Leak: hydraulic}"], "dataset.text.label_map maps to ['hydraulic'], which"),
    (["dataset.classes=[a,b,c,d]"], "dataset.text.label_map maps to ['electronic_failure', 'leak', "),
    (
        ["dataset/text=factory_reports", "dataset.text.label_map={Leak: a}", "dataset.classes=[b,c,d,e]"],
        "dataset.text.label_map maps to ['a', 'electronic_failure', ",  # merged into the YAML's map
    ),
    (
        ["dataset.text.label_map=null", "dataset.classes=[a,b,c,d]"],
        "dataset.text.label_map maps to ['electronic_failure', 'leak', 'mechanical_failure', 'software_failure'], "
        "which are not among the classes ['a', 'b', 'c', 'd'] (dataset.text.label_map=null: the default map",
    ),
    (["dataset/text=generate", *FIVE], "dataset.text.categories=null: 5 classes but only 4 report categories"),
    ([*CUSTOM, "dataset.encoding=klingon"], "dataset.encoding=klingon: expected a known text encoding"),
    ([*CUSTOM, "dataset.label_map={1: z}"], "dataset.label_map maps to ['z'], which are not among the classes"),
]


@pytest.mark.parametrize("overrides, message", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_a_source_value_its_loader_cannot_use_is_refused_at_composition(overrides, message):
    with pytest.raises(ConfigError) as info:
        compose_config(overrides)
    text = str(info.value)
    assert "\n" not in text and text.startswith(message), text


GOOD = [
    [*RIETH, "dataset.series.files={faulty: f.csv, fault_free: g.csv}"],
    ["dataset.series.window.start=-20", "dataset.series.window.length=10"],
    [*RIETH, "dataset.series.window.start=-20"],
    [*BRAATZ, "dataset.series.window.start=0"],
    [*CSV, "dataset.text.encoding=cp1252", "dataset.text.label_map={Leak: leak}"],
    ["dataset/text=generate", "dataset.classes=[a,b,c]", "dataset.series.faults=[1,2,3]"],
    [*CUSTOM, "dataset.encoding=latin-1", "dataset.label_map={1: a, 2: b}"],
]


@pytest.mark.parametrize("overrides", GOOD, ids=[" ".join(o) for o in GOOD])
def test_values_the_loaders_can_use_pass(overrides):
    compose_config(overrides)


def test_the_cli_refuses_a_window_before_the_run_in_one_line_before_any_work(tmp_path):
    cache = tmp_path / "cache"
    args = ["data", "build", "dataset.series.window.start=-25", "dataset.series.window.length=10"]
    res = run_cli(*args, cwd=tmp_path, env={"MMFUSION_CACHE": str(cache)}, timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()
    assert lines == [
        "mmfusion data: error: dataset.series.window.start=-25 begins 5 sample(s) before the run starts "
        "(the onset is sample index 20); use start >= -20"
    ], res.stderr
    assert not cache.exists()
