"""The documentation stays tied to the code and the committed results (no git, no build: seconds).

- docs/reference/config.md is what scripts/gen_config_reference.py makes from the schemas today;
- outputs/results/INDEX.md lists exactly the folders and files under outputs/results/;
- every relative link in README.md points at a file that exists (docs pages, results, licence).
`make docs` (part of `make test`) builds the site with `mkdocs build --strict`, which checks the pages' links.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_config_reference_is_up_to_date():
    gen = _script("gen_config_reference")
    committed = (ROOT / "docs" / "reference" / "config.md").read_text(encoding="utf-8")
    assert committed == gen.render(), "docs/reference/config.md is stale: run python scripts/gen_config_reference.py"


def test_config_reference_lists_every_schema_key():
    """A key added to a schema shows up in the reference (here: every key of the text LSTM and of simulate)."""
    gen = _script("gen_config_reference")
    from mmfusion.schemas import GROUPS

    text = gen.render()
    for key, *_ in gen.fields_of(GROUPS["model/text"]["lstm"]):
        assert f"`model.text.{key}`" in text
    for key, *_ in gen.fields_of(GROUPS["dataset/series"]["simulate"]):
        assert f"`dataset.series.{key}`" in text


def test_results_index_lists_every_folder():
    idx = _script("results_index")
    index = (ROOT / "outputs" / "results" / "INDEX.md").read_text(encoding="utf-8")
    assert sorted(idx.listed(index)) == idx.entries(), "outputs/results/INDEX.md is stale: run scripts/results_index.py"


def test_every_kept_result_says_why(tmp_path, monkeypatch):
    """Each result that is not re-reportable has a reason in kept.yaml; one without, or a reason for a gone
    folder, is a problem that --check reports."""
    idx = _script("results_index")
    assert idx.reason_problems() == []
    results = tmp_path / "results"
    (results / "old").mkdir(parents=True)
    (results / "older").mkdir()
    (results / "kept.yaml").write_text('old: "the only record of X"\ngone: "was here"\n', encoding="utf-8")
    monkeypatch.setattr(idx, "RESULTS", results)
    monkeypatch.setattr(idx, "KEPT", results / "kept.yaml")
    assert idx.entries() == ["old", "older"]
    assert idx.reason_problems() == [
        "older: not re-reportable and no reason in kept.yaml",
        "gone: in kept.yaml but not under outputs/results/",
    ]


def test_results_index_reads_commands_from_the_folders(tmp_path, monkeypatch):
    """Jobs' overrides become one sweep; a folder with nothing recorded says unknown."""
    idx = _script("results_index")
    sweep = tmp_path / "sweep"
    for job, (fold, seed) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        (sweep / str(job) / ".hydra").mkdir(parents=True)
        (sweep / str(job) / ".hydra" / "overrides.yaml").write_text(
            f"- experiment=paper\n- dataset.cv.fold={fold}\n- seed={seed}\n", encoding="utf-8"
        )
    (sweep / "report.md").write_text("# mmfusion report: `outputs/runs/sweep`\n", encoding="utf-8")
    made = idx.command(sweep)
    assert made.startswith("`mmfusion train -m experiment=paper dataset.cv.fold=0,1 seed=0,1` (4 job(s))")
    assert made.endswith("report: `mmfusion report outputs/runs/sweep`")
    (tmp_path / "bare").mkdir()
    assert idx.command(tmp_path / "bare") == "unknown"


@pytest.mark.parametrize("page", ["README.md"])
def test_readme_links_resolve(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link.split("#")[0] for link in links if not re.match(r"[a-z]+:", link) and not link.startswith("#")]
    assert any(link.startswith("docs/") for link in local), "the README links to no docs page"
    missing = [link for link in local if link and not (ROOT / link).exists()]
    assert not missing, f"links in {page} to files that do not exist: {missing}"
