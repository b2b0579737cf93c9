"""Figures and report pages: PNG at 160 dpi with an SVG beside, counts and row-normalised confusion
matrices (scikit-learn's displays), sweep legends naming only what varied, integer epochs, intervals
and paper rows in the report, and the HTML from markdown-it-py. One tiny run (tiny_run.py) is shared."""

import shutil

import numpy as np
import pytest
from tiny_run import tiny_report

from mmfusion.reporting import figures
from mmfusion.reporting import sections as report_sections
from mmfusion.reporting.html import markdown_to_html, png_size


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The shared tiny run, reported (a copy; tiny_run.py)."""
    return tiny_report(tmp_path_factory)


def test_every_run_figure_is_a_160_dpi_png_with_an_svg_beside(run):
    pngs = sorted((run / "figures").glob("*.png"))
    names = {p.name for p in pngs}
    for m in ("series", "text", "fused"):
        assert {f"roc_{m}.png", f"confusion_{m}.png", f"confusion_{m}_normalized.png"} <= names
    for p in pngs:
        assert p.with_suffix(".svg").read_text().lstrip().startswith("<?xml"), p.name
    assert png_size((run / "figures" / "confusion_fused.png").read_bytes()) == (5.2 * 160, 4.6 * 160)


def test_row_normalisation_divides_each_true_class_by_its_total():
    np.testing.assert_allclose(figures.row_normalized([[3, 1], [0, 0]]), [[0.75, 0.25], [0, 0]])
    cm = np.array([[5, 2, 1], [0, 4, 4], [1, 1, 6]])
    assert np.allclose(figures.row_normalized(cm).sum(axis=1), 1)


def test_sweep_legends_name_only_what_varied():
    names, title = figures.varying_labels(["model.text.lr=0.001 seed=3 a=1", "model.text.lr=1e-05 seed=3 a=1"])
    assert title == "model.text.lr" and list(names.values()) == ["0.001", "1e-05"]
    names, title = figures.varying_labels(["a=1 b=2", "a=2 b=3", "a=2 b=2"])
    assert title is None and list(names.values()) == ["a=1 b=2", "a=2 b=3", "a=2 b=2"]
    assert figures.varying_labels(["all runs"]) == ({"all runs": "all runs"}, None)


def test_equal_sweep_lines_stay_distinguishable_and_epochs_are_integers():
    same = {"accuracy": [0.3, 0.5, 0.7], "loss": [1.0, 0.7, 0.5]}
    fig = figures.curves_figure({"lr=0.1": same, "lr=0.01": same, "lr=0.001": same}, "t")
    try:
        ax = fig.axes[0]
        styles = {(line.get_marker(), line.get_linestyle()) for line in ax.lines}
        assert len(styles) == 3  # identical data, three looks
        fig.canvas.draw()
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0.1", "0.01", "0.001"]
    finally:
        figures.plt.close(fig)


def test_paper_rows_only_beside_the_papers_dataset():
    paper = {"dataset": {"text_source": "factory_reports", "series_source": "rieth"}}
    old = {"dataset": {"text_source": "csv", "text_info": {"file": "factoryReports.csv"}, "series_source": "simulate"}}
    assert report_sections.is_paper_dataset(paper) and report_sections.is_paper_dataset(old)
    assert not report_sections.is_paper_dataset({"dataset": {"text_source": "generate", "series_source": "simulate"}})
    assert not report_sections.is_paper_dataset({"dataset": {}})


def test_single_run_report_shows_intervals_no_paper_rows_and_a_whole_html_page(run):
    text = (run / "report.md").read_text()
    assert "paper (Table" not in text  # synthetic data
    row = next(line for line in text.splitlines() if line.startswith("| all runs"))
    assert row.count("[") >= 3  # accuracy [CI] of series, text and fused
    page = (run / "report.html").read_text()
    images = text.count("![")
    assert images >= 9 and page.count("<img ") == images and "missing figure" not in page
    assert page.count('class="wide"') >= 2  # the training curves at full width
    assert "<table>" in page and "<h2>" in page and "report_figures/" not in page
    for name in ("fig7_confusion_fused_g0.png", "fig7_confusion_fused_g0_normalized.svg"):
        assert (run / "report_figures" / name).stat().st_size > 0


def test_markdown_to_html_embeds_images_and_marks_missing_ones(tmp_path):
    shutil.copy(figures.__file__, tmp_path / "not_an_image.py")
    page = markdown_to_html("# T\n\n| a | b |\n|---|---|\n| `x` | **y** |\n\n![gone](nope.png)\n", tmp_path, "t<1>")
    assert "<title>t&lt;1&gt;</title>" in page and "<td><code>x</code></td>" in page
    assert "<strong>y</strong>" in page and "[missing figure nope.png]" in page and "<img" not in page
