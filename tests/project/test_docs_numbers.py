"""Every number on a docs page traces to the committed result it cites (no training, no build: seconds).

- The marked tables of README.md and docs/*.md are what scripts/docs_tables.py makes from outputs/results/
  today: a changed result file or a hand-edited cell fails here.
- The paper's own figures have one source, scripts/paper_results.yaml, which agrees with the ones
  `mmfusion report` prints.
- Numbers written in prose next to a link to a result folder (or in a sentence citing one) are found in
  that folder's files; those that are not are listed (see KNOWN_UNTIED) and a new one fails.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dt():
    spec = importlib.util.spec_from_file_location("docs_tables", ROOT / "scripts" / "docs_tables.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["docs_tables"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("docs_tables", None)


# Numbers in prose that cite a result folder but are not a value of its files, each with why it stays.
KNOWN_UNTIED: dict[tuple[str, str], str] = {
    ("docs/hparams-search.md", "1.6"): "peak RSS in GB; time.txt gives 'Maximum resident set size (kbytes): 1633872'",
    ("docs/results.md", "12.5"): "a ratio: 500 pairs per class over the 40 software-failure texts",
    ("docs/results.md", "7.4"): "a ratio: 500 pairs per class over the 68 leak texts",
    ("docs/hparams-search.md", "1.7"): "a ratio: 520 training pairs over 293-298 unique training texts",
    ("docs/hparams-search.md", "1.8"): "a ratio: 520 training pairs over 293-298 unique training texts",
}


def test_marked_tables_match_the_results(dt):
    stale = []
    for path in dt.pages():
        text = path.read_text(encoding="utf-8")
        if dt.render_page(path, text) != text:
            stale.append(path.relative_to(ROOT).as_posix())
    assert not stale, (
        f"tables differ from outputs/results/ in {stale}: run python scripts/docs_tables.py (--check shows the diff)"
    )


def test_the_main_tables_are_generated(dt):
    """README's Tables III-IV, results.md and the early-diagnosis tables are marked, so the check covers them."""
    expected = {
        "README.md": {"cv_paper/table4", "cv_paper/table3"},
        "docs/results.md": {"cv_paper/table4", "cv_paper/table3", "single_split/table4", "fig5/learning_rates"},
        "docs/early-diagnosis.md": {"cv_early/fresh", "cv_early/fresh_vs_selection", "cv_early/fresh_joint"},
        "docs/hparams-search.md": {"cv_recipes", "search/targets"},
        "docs/fusion.md": {"fusion/rules"},
        "docs/performance.md": {"performance/benchmark", "performance/scaling"},
        "docs/joint-network.md": {
            "cv_early/fresh_joint",
            "joint/cv_paper",
            "joint/interaction",
            "joint/split_missing",
        },
    }
    for page, names in expected.items():
        assert names <= set(dt.marked((ROOT / page).read_text(encoding="utf-8"))), page


def test_a_changed_cell_is_caught_and_rewritten(dt, tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = dt.MARKER.search(readme)
    number = re.search(r"\| \**(\d+\.\d+) \[", table.group(2))  # the first interval's value in the first table
    at = table.start(2) + number.start(1)
    edited = readme[:at] + ("1" if readme[at] != "1" else "2") + readme[at + 1 :]
    page = tmp_path / "README.md"
    page.write_text(edited, encoding="utf-8")
    monkeypatch.setattr(dt, "ROOT", tmp_path)
    monkeypatch.setattr(dt, "pages", lambda: [page])
    assert dt.main(["--check"]) == 1
    assert page.read_text(encoding="utf-8") == edited  # --check writes nothing
    assert dt.main([]) == 0
    assert page.read_text(encoding="utf-8") == readme
    assert dt.main(["--check"]) == 0


def test_a_marker_shown_in_code_is_left_alone(dt):
    page = "```markdown\n<!-- table: cv_paper/table4 -->\n\n| models | ... |\n\n<!-- /table -->\n```\n"
    assert dt.render_page(ROOT / "docs" / "x.md", page) == page and dt.marked(page) == []


def test_an_unknown_table_name_is_an_error(dt):
    with pytest.raises(KeyError, match="unknown generated table"):
        dt.render_page(ROOT / "README.md", "<!-- table: no/such -->\n\n| a |\n|---|\n\n<!-- /table -->\n")


SWEEP_REPORT = """# mmfusion report: `outputs/runs/x`

## Group `dataset.series.window.length=20`: 5-fold cross-validation, pooled out of fold

| Table IV (pooled) | series | text | fused |
|---|---|---|---|
| accuracy % | 65.71 [59.11, 72.82] | 94.91 [91.26, 97.71] | 97.39 [94.98, 99.09] |

Fused minus text (the best single model): +2.48 points, 95% interval [+0.28, +5.33]: resolved (excludes 0). McNemar p per repeat: 0.00018.

## Group `dataset.series.window.length=40`: 5-fold cross-validation, pooled out of fold

| Table IV (pooled) | series | text | fused |
|---|---|---|---|
| accuracy % | 90.81 [86.11, 94.50] | 94.91 [91.26, 97.71] | 98.14 [95.85, 99.50] |
"""


def test_report_tables_and_sentences_are_read_as_written(dt, tmp_path, monkeypatch):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "report.md").write_text(SWEEP_REPORT, encoding="utf-8")
    monkeypatch.setattr(dt, "RESULTS", tmp_path)
    r = dt.Report("sweep")
    acc = r.table("Table IV (pooled)", "Group `dataset.series.window.length=40`").row("accuracy %")
    assert acc["fused"] == "98.14 [95.85, 99.50]"
    gain = r.gain("Group `dataset.series.window.length=20`")
    assert (gain["best"], gain["diff"], gain["lo"], gain["hi"]) == ("text", "+2.48", "+0.28", "+5.33")
    assert (gain["verdict"], gain["mcnemar"]) == ("resolved", "0.00018")
    with pytest.raises(KeyError, match="no 'Fused minus' sentence"):
        r.gain("Group `dataset.series.window.length=40`")  # a sentence of another group is not borrowed
    with pytest.raises(KeyError, match="no row"):
        r.table("Table IV (pooled)").row("macro AUC")


def test_the_paper_figures_have_one_source(dt):
    """scripts/paper_results.yaml and the report's paper rows (mmfusion/reporting/sections.py) agree."""
    from mmfusion.reporting.sections import PAPER_ACCURACY, PAPER_AUC

    paper = dt.paper()
    assert paper["table4_accuracy_percent"] == PAPER_ACCURACY
    auc = paper["table3_auc"]
    assert (
        str(auc["series"]["lowest"]) in PAPER_AUC["series"] and f"type {auc['series']['type']}" in PAPER_AUC["series"]
    )
    assert f"> {auc['text']['above']} " in PAPER_AUC["text"] and f"> {auc['fused']['above']} " in PAPER_AUC["fused"]


def test_prose_checker_ties_rounded_values_and_flags_others(dt, tmp_path, monkeypatch):
    results = tmp_path / "results"
    (results / "fake_sweep" / "0").mkdir(parents=True)
    (results / "fake_sweep" / "report.md").write_text("| accuracy % | 94.58 [92.00, 96.77] |\n", encoding="utf-8")
    (results / "fake_sweep" / "0" / "metrics.json").write_text('{"auc": 0.98734, "ci": [0.9777, 0.9947]}')
    (results / "fake_sweep" / "0" / "history").mkdir()
    (results / "fake_sweep" / "0" / "history" / "text.csv").write_text("epoch,accuracy\n1,0.9321\n")
    monkeypatch.setattr(dt, "RESULTS", results)
    dt.folder_numbers.cache_clear()
    folder = {"fake_sweep"}
    assert dt.tied("94.58", folder) and dt.tied("94.6", folder)  # as written, and rounded
    assert dt.tied("0.9873", folder) and dt.tied("98.73", folder)  # a fraction also as a percentage
    assert not dt.tied("94.59", folder) and not dt.tied("93.21", folder)  # histories are not searched
    assert dt.tied("97.77", folder, "99.47") and not dt.tied("92.00", folder, "96.78")
    page = tmp_path / "page.md"
    page.write_text(
        "Text 94.58 and fused 93.21 ([`fake_sweep`](../outputs/results/fake_sweep/)).\n\n"
        "Not citing anything: 12.34.\n\n```\n55.55 outputs/results/fake_sweep\n```\n\n"
        "Text 94.58 [92.00, 96.77], fused 94.58 [96.77, 92.00] (outputs/results/fake_*).\n",
        encoding="utf-8",
    )
    found = [(number, ok) for _, number, _, ok in dt.prose_numbers(page)]
    assert found == [("94.58", True), ("93.21", False)] + [(n, True) for n in ("94.58", "92.00", "96.77")] + [
        (n, False) for n in ("94.58", "96.77", "92.00")
    ]
    dt.folder_numbers.cache_clear()


def test_numbers_in_prose_tie_to_the_results_they_cite(dt, capsys):
    """Reports how many numbers tie; fails on an untied one that KNOWN_UNTIED does not explain."""
    total, untied = 0, {}
    for path in dt.pages():
        rel = path.relative_to(ROOT).as_posix()
        for line, number, folders, ok in dt.prose_numbers(path):
            total += 1
            if not ok:
                untied[(rel, number)] = f"{rel}:{line}: {number} not in {folders}"
    with capsys.disabled():
        print(
            f"\ndocs numbers: {total - len(untied)} of {total} in prose citing a result folder tie to it; {len(untied)} do not"
        )
    new = [where for key, where in untied.items() if key not in KNOWN_UNTIED]
    assert not new, "numbers in prose that the results they cite do not hold:\n" + "\n".join(new)
    assert re.match(r"\d", str(total)) and total > 40  # the checker sees the pages' cited numbers at all
