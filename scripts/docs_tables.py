"""Write the docs' result tables from the committed result files, and check that the pages still match them.

A page marks a generated table with two comments; everything between them belongs to this script:

    <!-- table: cv_paper/table4 -->

    | models | sequence model | ... |

    <!-- /table -->

Each table name below (TABLES) reads its figures from the files of the folders it cites under
outputs/results/ (the report.md tables and sentences `mmfusion report` wrote, joint_summary.md) and the
paper's own figures from scripts/paper_results.yaml, never from the page. Cells are copied as the
report wrote them; only labels, links, column choice and emphasis are the page's.

    python scripts/docs_tables.py            # rewrite every marked table in README.md and docs/*.md
    python scripts/docs_tables.py --check    # exit 1 when a marked table differs from what the results give

tests/project/test_docs_numbers.py runs the check, and also ties the numbers written in prose next to a link to a
result folder to that folder's files (see `prose_numbers`).
"""

from __future__ import annotations

import argparse
import bisect
import difflib
import fnmatch
import functools
import json
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "outputs" / "results"
PAPER = Path(__file__).resolve().parent / "paper_results.yaml"
MARKER = re.compile(r"^<!-- table: ([\w/.\-]+) -->\n(.*?)^<!-- /table -->", re.S | re.M)
FENCE = re.compile(r"^```.*?^```[^\n]*$", re.S | re.M)


def _unfenced(pattern: re.Pattern, repl, text: str) -> str:
    """pattern.sub outside fenced code blocks (a page may show a marker as an example)."""
    out, last = [], 0
    for fence in FENCE.finditer(text):
        out += [pattern.sub(repl, text[last : fence.start()]), fence.group(0)]
        last = fence.end()
    return "".join([*out, pattern.sub(repl, text[last:])])


HEADING = re.compile(r"^#+ (.*)$")
GAIN = re.compile(
    r"Fused minus (\w+) \(the best single model\): ([+\-]\d+\.\d+) points, 95% interval "
    r"\[([+\-]\d+\.\d+), ([+\-]\d+\.\d+)\]: (resolved|not resolved) \([^)]*\)\. McNemar p per repeat: ([^\n]*?)\.?$",
    re.M,
)
CLASSES = ["electronic_failure", "leak", "mechanical_failure", "software_failure"]


def pages() -> list[Path]:
    """The pages that may hold generated tables: README.md and docs/*.md (the generated reference aside)."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


# ---------------------------------------------------------------------------------------------- reading results


@dataclass
class Table:
    """A Markdown table of a result file: its header, its rows (cells as written) and the heading above it."""

    section: str
    header: list[str]
    rows: list[list[str]]

    def row(self, label: str) -> dict[str, str]:
        for cells in self.rows:
            if cells[0] == label:
                return dict(zip(self.header, cells, strict=False))
        raise KeyError(f"no row {label!r} in the table {self.header[0]!r} under {self.section!r}")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_tables(text: str) -> list[Table]:
    """Every Markdown table of a file, with the nearest heading above it."""
    tables, section, lines = [], "", text.splitlines()
    i = 0
    while i < len(lines):
        if m := HEADING.match(lines[i]):
            section = m.group(1)
        if lines[i].startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s\-|:]+\|$", lines[i + 1]):
            header, rows, i = _cells(lines[i]), [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            tables.append(Table(section, header, rows))
            continue
        i += 1
    return tables


@dataclass
class Report:
    """One result file (a folder's report.md by default), read once."""

    folder: str
    name: str = "report.md"

    @functools.cached_property
    def text(self) -> str:
        path = RESULTS / self.folder / self.name
        if not path.is_file():
            raise FileNotFoundError(f"outputs/results/{self.folder}/{self.name} is not a committed file")
        return path.read_text(encoding="utf-8")

    @functools.cached_property
    def tables(self) -> list[Table]:
        return parse_tables(self.text)

    def table(self, first_header: str, section: str | None = None) -> Table:
        """The table whose first header cell starts with first_header, under a heading containing section."""
        for t in self.tables:
            if t.header[0].startswith(first_header) and (section is None or section in t.section):
                return t
        raise KeyError(f"outputs/results/{self.folder}/{self.name}: no table {first_header!r} under {section!r}")

    def section_text(self, section: str) -> str:
        """The text from the heading that contains section to the next heading of the same or a higher level."""
        lines = self.text.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("#") and section in line:
                level = len(line) - len(line.lstrip("#"))
                end = next(
                    (
                        j
                        for j in range(i + 1, len(lines))
                        if lines[j].startswith("#") and len(lines[j]) - len(lines[j].lstrip("#")) <= level
                    ),
                    len(lines),
                )
                return "\n".join(lines[i:end])
        raise KeyError(f"outputs/results/{self.folder}/{self.name}: no heading with {section!r}")

    def gain(self, section: str) -> dict[str, str]:
        """The 'Fused minus <best> ...' sentence of a pooled cross-validation group."""
        m = GAIN.search(self.section_text(section))
        if m is None:
            raise KeyError(f"outputs/results/{self.folder}/{self.name}: no 'Fused minus' sentence under {section!r}")
        best, diff, lo, hi, verdict, p = m.groups()
        return {"best": best, "diff": diff, "lo": lo, "hi": hi, "verdict": verdict, "mcnemar": p}


@functools.cache
def report(folder: str, name: str = "report.md") -> Report:
    return Report(folder, name)


@functools.cache
def paper() -> dict:
    return yaml.safe_load(PAPER.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------- rendering


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(re.sub(r"\|  (?=\|)", "| ", line) for line in lines) + "\n"


def bold(cell: str) -> str:
    return f"**{cell}**" if cell else cell


@dataclass
class Page:
    """Where a table is written: links to result folders are relative to the page."""

    path: str  # relative to the repository root

    def link(self, folder: str, file: str = "") -> str:
        target = posixpath.join("outputs/results", folder, file)
        return posixpath.relpath(target, posixpath.dirname(self.path) or ".") + ("" if file else "/")

    def cite(self, folder: str, file: str = "") -> str:
        return f"[`{folder}{'/' + file if file else ''}`]({self.link(folder, file)})"


def _gain_cell(g: dict[str, str]) -> str:
    return f"{g['diff']} [{g['lo']}, {g['hi']}] vs {g['best']}: {g['verdict']}"


def _pooled(folder: str, group: str = "all runs") -> tuple[dict[str, str], dict[str, str] | None]:
    """A pooled cross-validation group's Table IV accuracy row and its gain sentence (None: one model)."""
    r = report(folder)
    acc = r.table("Table IV (pooled)", f"Group `{group}`").row("accuracy %")
    try:
        gain = r.gain(f"Group `{group}`")
    except KeyError:
        gain = None
    return acc, gain


def _paper_accuracy() -> list[str]:
    p = paper()["table4_accuracy_percent"]
    return [f"{p[m]:.2f}" for m in ("series", "text", "fused")]


def _paper_auc() -> list[str]:
    p = paper()["table3_auc"]
    series = f"lowest of the three, down to {p['series']['lowest']:.4f} (type {p['series']['type']})"
    return [series, f"> {p['text']['above']} for every type", f"> {p['fused']['above']} for every type"]


# ------------------------------------------------------------------------------------------------- the tables


def cv_paper_table4(page: Page) -> str:
    """README and results.md: Table IV cross-validated (pooled accuracy) beside the paper."""
    header = [
        "models",
        "sequence model",
        "text model",
        "fused (the paper's rule)",
        "fused minus best single [95% CI]",
        "report",
    ]
    rows = [["paper", *_paper_accuracy(), "", ""]]
    runs = [
        (
            "`experiment=paper`: the paper's LSTMs, text with the searched recipe (5 networks); "
            "selection repeat (seeds 0-1: the recipe was judged on seed 0's folds)",
            "cv_paper_lstm",
            set(),
        ),
        (
            "`experiment=paper`, a fresh repeat: new folds (seed 10) used for no choice",
            "cv_paper_fresh",
            {"text"},
        ),
        ("the paper's text training (`model/text=lstm`), text alone", "cv_paper_text", set()),
        ("Conv1D series + the paper's text training", "cv_paper_conv1d", set()),
        ("peers: Conv1D + TF-IDF/logistic regression", "cv_paper_peers", set()),
    ]
    for label, folder, emphasis in runs:
        acc, gain = _pooled(folder)
        cells = [bold(acc.get(m, "")) if m in emphasis else acc.get(m, "") for m in ("series", "text", "fused")]
        rows.append([label, *cells, _gain_cell(gain) if gain else "", page.cite(folder)])
    return markdown(header, rows)


def cv_paper_table3(page: Page) -> str:
    """README and results.md: Table III cross-validated (pooled per-class AUC of experiment=paper's fresh repeat)
    beside the paper."""
    t = report("cv_paper_fresh").table("Table III (pooled AUC)", "Group `all runs`")
    return markdown(["type", "sequence model", "text model", "fused"], _auc_rows(t))


def _auc_rows(t) -> list[list[str]]:
    """Table III's rows: each class's AUC of the series, text and fused models, then the paper's."""
    rows = []
    for i, cls in enumerate(CLASSES, 1):
        row = t.row(cls)
        rows.append([f"{i} {cls.replace('_', ' ')}", row["series"], row["text"], row["fused"]])
    return rows + [["paper", *_paper_auc()]]


def _single_split_accuracy(folder: str) -> list[str]:
    row = report(folder).table("accuracy %", "Accuracy on the test split").row("all runs")
    return [row["series"], row["text"], row["fused"]]


def single_split_table4(page: Page) -> str:
    """results.md: Table IV with the paper's protocol (resample, then split), single split, mean ± std over seeds:
    the only measurement of that protocol (made by older code, not re-reportable)."""
    folder = "paper_real_paper_protocol"
    rows = [["paper", *_paper_accuracy(), ""]]
    rows.append(
        ["mmfusion, the paper's protocol (resample, then split)", *_single_split_accuracy(folder), page.cite(folder)]
    )
    return markdown(["", "sequence model", "text model", "proposed (fused)", "report"], rows)


WINDOWS = [(10, "0.5"), (20, "1"), (40, "2"), (100, "5")]  # dataset.series.window.length -> hours (20 samples/h)


def _group(folder: str, group: str, model: str) -> str:
    """A cross-validation sweep's pooled accuracy [95% CI] for one group (a row of its first table)."""
    return report(folder).table("accuracy %", "Accuracy on the test split").row(group)[model]


def _seed_mean(folder: str, model: str, seed: int) -> str:
    """One repeat's accuracy over its folds: the per-fold table's figures weighted by their test pairs."""
    rows = [r for r in report(folder).table("per fold", "Per fold").rows if r[0].startswith(f"seed {seed}, fold ")]
    header = report(folder).table("per fold", "Per fold").header
    n = [int(r[header.index("n")]) for r in rows]
    acc = [float(r[header.index(model)]) for r in rows]
    return f"{sum(a * k for a, k in zip(acc, n, strict=True)) / sum(n):.2f}"


def cv_recipes(page: Page) -> str:
    """hparams-search.md: the paper's training against the searched recipes, one network and K networks."""
    header = [
        "model",
        "the paper's training",
        "searched recipe, one network",
        "searched recipe, mean of K seeded networks",
        "reports",
    ]
    early_text = ("cv_recipes_early_text", "cv_recipes_early_text_searched", "cv_recipes_early_text_searched_e5")
    series = "cv_recipes_early_series_searched"
    paper_text = "cv_recipes_paper_text"
    no, yes = "training.unique_units=False", "training.unique_units=True"
    rows = [
        [
            "text LSTM, early experiment (805 pairs, 463 texts)",
            *(_group(f, no, "text") for f in early_text[:2]),
            bold(_group(early_text[2], no, "text")) + " (K = 5)",
            ", ".join(page.cite(f) for f in early_text),
        ],
        [
            "text LSTM, paper experiment (2,000 pairs, 463 texts; 30 epochs, no validation split)",
            f"{_seed_mean('cv_paper_text', 'text', 0)} (seed 0's folds; seeds 0-1 pooled "
            f"{_group('cv_paper_text', 'all runs', 'text')})",
            _group(paper_text, "model.text.ensemble=1", "text"),
            _group(paper_text, "model.text.ensemble=3", "text") + " (K = 3)",
            ", ".join(page.cite(f) for f in ("cv_paper_text", paper_text)),
        ],
        [
            "series LSTM, early experiment, first 2 h (805 pairs, 400 runs)",
            _group("cv_recipes_early_series", "all runs", "series"),
            _group(series, "model.series.ensemble=1", "series"),
            bold(_group(series, "model.series.ensemble=3", "series")) + " (K = 3)",
            ", ".join(page.cite(f) for f in ("cv_recipes_early_series", series)),
        ],
        [
            "text LSTM trained on unique texts (`training.unique_units=true`), early",
            *(_group(f, yes, "text") for f in early_text[:2]),
            _group(early_text[2], yes, "text") + " (K = 5)",
            ", ".join(page.cite(f) for f in early_text),
        ],
    ]
    return markdown(header, rows)


def _jobs(folder: str, override: str) -> list[Path]:
    """The job folders of a sweep whose recorded overrides include `override`."""
    return sorted(
        job.parents[1]
        for job in (RESULTS / folder).glob("*/.hydra/overrides.yaml")
        if override in (yaml.safe_load(job.read_text(encoding="utf-8")) or [])
    )


def _final_training(folder: str, override: str, model: str) -> str:
    """Mean over the jobs of the last epoch's training accuracy and loss (history/<model>.csv)."""
    last = []
    for job in _jobs(folder, override):
        lines = (job / "history" / f"{model}.csv").read_text(encoding="utf-8").splitlines()
        head, final = lines[0].split(","), lines[-1].split(",")
        last.append((float(final[head.index("accuracy")]), float(final[head.index("loss")])))
    if not last:
        raise KeyError(f"outputs/results/{folder}: no job with {override}")
    acc, loss = (sum(x) / len(last) for x in zip(*last, strict=True))
    return f"{acc:.2f} / {loss:.2f}"


def fig5_learning_rates(page: Page) -> str:
    """results.md: Fig. 5's learning rates, single split, the paper's training, with the paper's reading of Fig. 5."""
    header = [
        "learning rate",
        "text model: test accuracy",
        "text: final training accuracy / loss (mean of the seeds' last epoch)",
        "series model: test accuracy (seed 0)",
    ]
    text = report("paper_lr_text").table("accuracy %", "Accuracy on the test split")
    series = report("paper_lr_series").table("accuracy %", "Accuracy on the test split")
    fig5 = paper()["fig5_text_training"]
    rows, reading = [], []
    for lr, shown in [("0.001", "1e-3"), ("1e-05", "1e-5")]:
        t = text.row(f"model.text.lr={lr}")
        rows.append(
            [
                shown,
                f"{t['text']} ({t['seeds']} seeds)",
                _final_training("paper_lr_text", f"model.text.lr={lr}", "text"),
                series.row(f"model.series.lr={lr}")["series"],
            ]
        )
        reading.append(f"{shown}: {fig5[lr]['accuracy']} / {fig5[lr]['loss']}")
    rows.append(["paper (Fig. 5, text)", "", "; ".join(reading), ""])
    rows.append(["reports", page.cite("paper_lr_text"), "", page.cite("paper_lr_series")])
    return markdown(header, rows)


def _joint_rows(folder: str) -> list[dict[str, str]]:
    """The first table of a pooled joint_summary.md (scripts/reproduce/joint_summary.py): one row per group."""
    t = report(folder, "joint_summary.md").tables[0]
    return [dict(zip(t.header, cells, strict=True)) for cells in t.rows]


def _joint_cells(row: dict[str, str], rule: str) -> list[str]:
    """series, text, run's rule (its name, the same for every row, is in the header), best rule, joint,
    joint minus best rule, McNemar: the summary's cells, the p value as written without its "p = "."""
    own = row["run's rule"]
    if not own.startswith(f"`{rule}` "):
        raise ValueError(f"the run's rule is {own!r}, not {rule!r}")
    mcnemar_key = next(k for k in row if k.startswith(("McNemar", "joint vs best rule")))
    return [
        row["series"],
        row["text"],
        own.removeprefix(f"`{rule}` "),
        row["best rule"],
        row["joint"],
        row.get("joint − best rule", ""),  # pooled summaries only
        row[mcnemar_key].replace("(p = ", "("),
    ]


def _joint_windows(folder: str, series: str, text: str, rule_header: str) -> str:
    header = ["hours since onset", series, text, rule_header, "best rule", "joint network", "joint minus best rule"]
    header.append("McNemar (p)")
    rows = []
    for row in _joint_rows(folder):
        hours = row["hours since onset"].removesuffix(" h")
        rows.append([hours, *_joint_cells(row, "accuracy")])
    return markdown(header, rows)


def joint_cv_paper(page: Page) -> str:
    """joint-network.md: the joint network on the paper experiment, 3-fold cross-validation."""
    header = [
        "",
        "series LSTM",
        "text LSTM (`lstm_tuned`)",
        "run's rule (`accuracy`, training-accuracy weights: `weights_from: train` in each job's `metrics.json`)",
        "best rule (picked on test)",
        "joint network",
        "joint minus best rule",
        "McNemar (p)",
    ]
    (row,) = _joint_rows("cv_paper_joint")
    return markdown(header, [["accuracy %", *_joint_cells(row, "accuracy")]])


def fusion_rules(page: Page) -> str:
    """fusion.md: every rule of `fuse fusion=all` on paper_real_val (tables/comparison.md of its fuse directory)."""
    (fuse,) = sorted((RESULTS / "paper_real_val" / "fuse").glob("all-*"))
    name = f"fuse/{fuse.name}/tables/comparison.md"
    t = report("paper_real_val", name).tables[0]
    labels = {
        "series": "series LSTM",
        "text": "text LSTM",
        "accuracy": "`accuracy` (training accuracy, the paper)",
    }
    rows = []
    for cells in t.rows:
        r = dict(zip(t.header, cells, strict=True))
        p = r["mcnemar_p"]
        rows.append(
            [
                labels.get(r["model"], f"`{r['model']}`"),
                f"{r['accuracy']} [{r['accuracy_lo']}, {r['accuracy_hi']}]",
                f"{r['macro_auc']} [{r['macro_auc_lo']}, {r['macro_auc_hi']}]",
                r["nll"],
                "< 0.0001" if p and float(p) < 0.0001 else p,
            ]
        )
    rows.append(["report", page.cite("paper_real_val", name), "", "", ""])
    return markdown(["model / rule", "accuracy", "macro AUC", "NLL", "McNemar p vs series"], rows)


def benchmark(page: Page) -> str:
    """performance.md: the stage timings of outputs/results/benchmark.md, as written."""
    t = report("", "benchmark.md").tables[0]
    return markdown(t.header, t.rows)


def full_fold_benchmark(page: Page) -> str:
    """performance-ensembles.md: whole folds timed ABCCBA in one invocation (benchmark_ensembles_full_fold.md)."""
    t = report("", "benchmark_ensembles_full_fold.md").tables[0]
    keep = [0, 1, 2, 3, 6, 7]  # measured, arm, wall, CPU, speed-up, peak RSS (no per-epoch columns for a fold)
    return markdown([t.header[i] for i in keep], [[r[i] for i in keep] for r in t.rows])


def ensembles_alone(page: Page) -> str:
    """performance-ensembles.md: each ensemble's `fit` alone, ABCCBA (benchmark_ensembles_early_alone.md)."""
    t = report("", "benchmark_ensembles_early_alone.md").tables[0]
    return markdown(t.header[:8], [r[:8] for r in t.rows])  # without the test accuracy column


SCALING = "scaling.md"  # outputs/results/scaling/: every size in one invocation of benchmark.py --scaling


def scaling(page: Page) -> str:
    """performance.md: peak memory and s/epoch against sample count, every size from one invocation
    (outputs/results/scaling/scaling.md, cited once under the table)."""
    header = [
        "samples",
        "unique float32 series",
        "target peak RSS (2 x + 2 GiB)",
        "mmfusion peak RSS",
        "mmfusion s/epoch",
        "NumPy-input peak RSS",
        "NumPy-input s/epoch",
        "ratio",
        "CPU s/epoch ratio",
    ]
    same = header[1:7]
    rows = []
    table = report("scaling", SCALING).tables[0]
    largest = table.rows[-1][0]
    for samples in [row[0] for row in table.rows]:
        r = table.row(samples)
        ratio = r["s/epoch ratio (target <= 1.05)"]
        cells = [r[c] for c in same]
        if samples == largest:
            cells[2] = bold(cells[2])  # the largest size, under its target
        cpu = r.get("CPU s/epoch, mmfusion / NumPy input", "")
        cpu = "" if cpu == "n/a" else cpu
        rows.append([samples, *cells, "" if ratio == "n/a" else ratio, cpu])
    return markdown(header, rows)


def _joint_split_rows(folder: str) -> list[list[str]]:
    """Rows of a per-seed joint_summary.md (single splits): series, text, run's rule, best rule, joint,
    McNemar; one seed: no "± 0.00"."""
    rows = []
    for row in _joint_rows(folder):
        cells = _joint_cells(row, "accuracy")
        if row["seeds"] == "1":
            cells = [c.replace(" ± 0.00", "") for c in cells]
        rows.append([row[next(iter(row))].removesuffix(" h"), *cells[:5], cells[6]])
    return rows


SPLIT_HEADER = ["series LSTM", "text LSTM", "run's rule (`accuracy`)", "best rule", "joint network"]


def joint_interaction(page: Page) -> str:
    """joint-network.md: the records whose class is an interaction of the modalities (joint_interaction)."""
    rows = [["accuracy %", *r[1:]] for r in _joint_split_rows("joint_interaction")]
    return markdown(["", *SPLIT_HEADER, "joint vs best rule (p)"], rows)


def joint_split_missing(page: Page) -> str:
    """joint-network.md: missing modalities on the interaction data (joint_interaction), the run's rule against
    the joint network ("rule (= best)" when the best rule scores the same as the run's on every row)."""
    kinds = [
        ("none", "text", "0%"),
        ("text, 50% of them", "text", "50%"),
        ("text, all", "text", "100%"),
        ("series, 50%", "series", "50%"),
        ("series, all", "series", "100%"),
        ("either, all (each keeps one at random)", "either", "100%"),
    ]
    t = report("joint_interaction", "joint_summary.md").table("test samples", "")
    found = [t.row(f"all runs, {drop} missing in {rate}") for _, drop, rate in kinds]
    same = all(r["run's rule"] == r["best rule"] for r in found)
    title = "interaction: rule (= best) / joint" if same else "interaction: rule / best / joint"
    rows = []
    for (label, *_), r in zip(kinds, found, strict=True):
        cells = [r["run's rule"], r["joint"]] if same else [r["run's rule"], r["best rule"], r["joint"]]
        rows.append([label, " / ".join(cells)])
    return markdown(["test samples missing", title], rows)


def _verdict(cell: str, target: float) -> str:
    """Whether a pooled figure "x [lo, hi]" meets a target: wholly, by the point estimate only, or not."""
    x, (lo, _) = _point(cell), _interval(cell)
    if lo >= target:
        return "**met**"
    if x >= target:
        return f"**met** by the point estimate; the interval reaches down to {lo:.1f}"
    return "**not met**"


def _wall_time(folder: str) -> str:
    """GNU time's elapsed wall-clock time in a folder's time.txt, as "M min S s"."""
    text = (RESULTS / folder / "time.txt").read_text(encoding="utf-8")
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
    hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), round(float(m.group(3)))
    return f"{hours * 60 + minutes} min {seconds} s"


def search_targets(page: Page) -> str:
    """hparams-search.md: the tuning work's targets under pooled cross-validation, each verdict computed."""
    early_text = _group("cv_recipes_early_text_searched_e5", "training.unique_units=False", "text")
    paper_text = _group("cv_paper_lstm", "all runs", "text")
    one_early = _group("cv_recipes_early_text_searched", "training.unique_units=False", "text").split(" ")[0]
    one_paper = _group("cv_recipes_paper_text", "model.text.ensemble=1", "text").split(" ")[0]
    one_series = _group("cv_recipes_early_series_searched", "model.series.ensemble=1", "series").split(" ")[0]
    three_series = _group("cv_recipes_early_series_searched", "model.series.ensemble=3", "series")
    acc = {hours: _pooled("cv_early_lstm", f"dataset.series.window.length={n}")[0] for n, hours in WINDOWS}
    best_2h = next(r["best rule"] for r in _joint_rows("cv_early_lstm") if r["hours since onset"] == "2 h")
    rule, value = best_2h.split(" ")[:2]
    elapsed = _wall_time("early_search30_text")
    minutes = int(elapsed.split(" ")[0]) + int(elapsed.split(" ")[2]) / 60
    rows = [
        [
            "text LSTM >= 92%",
            f"{early_text} early (`lstm_tuned`, 5 networks; {page.cite('cv_recipes_early_text_searched_e5')}); "
            f"{paper_text} paper experiment (2 repeats; {page.cite('cv_paper_lstm')})",
            f"early: {_verdict(early_text, 92)}; paper: {_verdict(paper_text, 92)} (one network: {one_early} early, "
            f"{page.cite('cv_recipes_early_text_searched')}; {one_paper} paper, {page.cite('cv_recipes_paper_text')})",
        ],
        [
            "series LSTM, first 2 h, >= 88%",
            f"{acc['2']['series']} (`lstm_tuned`, 3 networks, `experiment=early`; {page.cite('cv_early_lstm')}); "
            f"{three_series} (the same recipe, 3 networks, seed 0's folds, in a sweep of the series alone, "
            f"`modalities=[series]`; {page.cite('cv_recipes_early_series_searched')})",
            f"experiment=early: {_verdict(acc['2']['series'], 88)}; series alone: {_verdict(three_series, 88)} "
            f"(one network: {one_series}, {page.cite('cv_recipes_early_series_searched')})",
        ],
        [
            "fused LSTMs >= 97% at 2 h",
            f"{acc['2']['fused']} ({page.cite('cv_early_lstm')}; best rule of `fuse fusion=all`, picked on the test "
            f"folds: {rule} {value}, {page.cite('cv_early_lstm', 'joint_summary.md')})",
            _verdict(acc["2"]["fused"], 97),
        ],
        [
            "fused LSTMs >= 94% at 1 h",
            f"{acc['1']['fused']} ({page.cite('cv_early_lstm')})",
            _verdict(acc["1"]["fused"], 94),
        ],
        [
            "30-trial search <= 45 min",
            f"{elapsed} (text, idle machine; `scripts/reproduce/benchmark_search.sh`; {page.cite('early_search30_text', 'time.txt')})",
            "**met**" if minutes <= 45 else "**not met**",
        ],
    ]
    return markdown(["target", "measured", ""], rows)


# ----------------------------------------------------------------------- the fresh repeat (fold seed 10)

FRESH = "cv_early_fresh"  # experiment=early, two base models per modality, fold seed 10 (scripts/reproduce/reproduce_cv.sh early_fresh)
FRESH_BATCHED = "cv_early_fresh_batched"  # its 2 h group again with both LSTM ensembles batched (issue 23)
FRESH_GROUPED = "cv_early_fresh_grouped"  # ... with both LSTM ensembles grouped (one recurrent loop each)
FRESH_MODELS = [
    ("series", "series LSTM"),
    ("series_conv1d", "series Conv1D"),
    ("text", "text LSTM"),
    ("text_tfidf_logreg", "text TF-IDF+LR"),
]
EARLY_TARGETS = {"0.5": 95.0, "1": 98.0, "2": 99.0}  # issue 22: fused, the run's own rule, pooled CV


def _point(cell: str) -> float:
    return float(cell.split()[0])


def _interval(cell: str) -> tuple[float, float]:
    """The interval of a cell ("87.62 [83.74, 91.02]")."""
    low, high = (float(v) for v in cell.split("[", 1)[1].rstrip("]").split(","))
    return low, high


def _target_cell(fused: str, hours: str) -> str:
    if hours not in EARLY_TARGETS:
        return ""
    t, got = EARLY_TARGETS[hours], _point(fused)
    return f">= {t:g}: met" if got >= t else f">= {t:g}: missed by {t - got:.2f} points"


def _best_rule_cell(folder: str, hours: str) -> str:
    """The best `fuse fusion=all` rule at one window (the report's hours table), picked on the test data."""
    t = report(folder).table("hours since onset", "per model and rule")
    row = next(r for r in t.rows if float(r[0]) == float(hours))
    return dict(zip(t.header, row, strict=True))["best rule (picked on test)"]


def cv_early_fresh(page: Page) -> str:
    """early-diagnosis.md: the fresh repeat, each base model, the run's rule over all four, the target."""
    header = [
        "hours since onset",
        *[label for _, label in FRESH_MODELS],
        "fused (run's rule: validation-accuracy weights, 4 models)",
        "fused minus best [95% CI]",
        "target (issue 22)",
        "best rule of `fuse fusion=all` (picked on test)",
    ]
    rows = []
    for length, hours in WINDOWS:
        acc, gain = _pooled(FRESH, f"dataset.series.window.length={length}")
        rows.append(
            [
                hours,
                *[acc[m] for m, _ in FRESH_MODELS],
                bold(acc["fused"]),
                _gain_cell(gain),
                _target_cell(acc["fused"], hours),
                _best_rule_cell(FRESH, hours),
            ]
        )
    return markdown(header, rows)


def cv_early_fresh_vs_selection(page: Page) -> str:
    """early-diagnosis.md: the LSTMs of the fresh repeat beside the selection repeat (cv_early_lstm, seed 0)."""
    header = [
        "hours since onset",
        "series LSTM, selection repeat",
        "series LSTM, fresh repeat",
        "text LSTM, selection repeat",
        "text LSTM, fresh repeat",
        "fused, selection repeat (2 LSTMs)",
        "fused, fresh repeat (4 models)",
    ]
    rows = []
    for length, hours in WINDOWS:
        group = f"dataset.series.window.length={length}"
        old, _ = _pooled("cv_early_lstm", group)
        new, _ = _pooled(FRESH, group)
        rows.append([hours, old["series"], new["series"], old["text"], new["text"], old["fused"], new["fused"]])
    return markdown(header, rows)


def _overrides(job: Path) -> list[str]:
    return yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")) or []


def _stage_cpu(folder: str, stage: str) -> dict[str, float]:
    """{fold: CPU seconds} of one stage in the provenance.json of each 2 h job of a committed sweep
    (stage "fold": every stage but the data stage)."""
    out = {}
    for job in _jobs(folder, "dataset.series.window.length=40"):
        stages = json.loads((job / "provenance.json").read_text(encoding="utf-8"))["stages"]
        fold = next(o for o in _overrides(job) if o.startswith("dataset.cv.fold="))
        out[fold] = (
            sum(v["cpu_s"] for k, v in stages.items() if k != "data") if stage == "fold" else stages[stage]["cpu_s"]
        )
    return out


def fresh_batched(page: Page) -> str:
    """performance-ensembles.md: the fresh repeat's 2 h folds trained sequentially, batched, and batched with
    the series LSTMs grouped (issue 23): pooled accuracy and CPU seconds per stage, summed over the five folds."""
    arms = [(FRESH, "sequential (cv_early_fresh, 2 h)"), (FRESH_BATCHED, "batched (cv_early_fresh_batched)")]
    arms += [(FRESH_GROUPED, "grouped, text and series (cv_early_fresh_grouped)")]
    header = ["", *[label for _, label in arms], "ratio batched", "ratio grouped"]
    two_hours = "dataset.series.window.length=40"
    acc = [_pooled(FRESH, two_hours)[0], _pooled(FRESH_BATCHED)[0], _pooled(FRESH_GROUPED, two_hours)[0]]
    rows = [
        [f"pooled accuracy %, {label}", *[a[m] for a in acc], "", ""]
        for m, label in [*FRESH_MODELS, ("fused", "fused")]
    ]
    for stage, label in [
        ("model_text", "CPU s, text ensemble (5 LSTMs), 5 folds"),
        ("model_series", "CPU s, series ensemble (3 LSTMs), 5 folds"),
        ("fold", "CPU s, whole job but the data stage, 5 folds"),
    ]:
        cpu = [_stage_cpu(f, stage) for f, _ in arms]
        if any(sorted(c) != sorted(cpu[0]) for c in cpu):
            raise KeyError(f"{[f for f, _ in arms]} hold different folds: {[sorted(c) for c in cpu]}")
        sums = [sum(c.values()) for c in cpu]
        rows.append([label, *[f"{v:.1f}" for v in sums], *[f"{sums[0] / v:.2f}x" for v in sums[1:]]])
    return markdown(header, rows)


def _agreement(a: str, b: str) -> str:
    """How two pooled cells agree: each point inside the other's interval, or only overlapping intervals."""
    (la, ha), (lb, hb) = _interval(a), _interval(b)
    if la <= _point(b) <= ha and lb <= _point(a) <= hb:
        return "inside"
    return "overlap" if max(la, lb) <= min(ha, hb) else "apart"


def fresh_grouped_windows(page: Page) -> str:
    """performance-ensembles.md: the fresh repeat at every window, sequential against both LSTM ensembles
    grouped (cv_early_fresh_grouped): pooled accuracy, and whether each point lies in the other's interval."""
    models = [("series", "series LSTM x3"), ("text", "text LSTM x5"), ("fused", "fused (run's rule, 4 models)")]
    header = ["hours since onset"]
    for _, label in models:
        header += [f"{label}, sequential", f"{label}, grouped"]
    header.append("agreement (each point inside the other arm's interval?)")
    rows = []
    for length, hours in WINDOWS:
        group = f"dataset.series.window.length={length}"
        seq, grp = _pooled(FRESH, group)[0], _pooled(FRESH_GROUPED, group)[0]
        row, notes = [hours], []
        for m, _ in models:
            row += [seq[m], grp[m]]
            how = _agreement(seq[m], grp[m])
            if how != "inside":
                notes.append(f"{m}: intervals {'overlap' if how == 'overlap' else 'apart'}, a point outside")
        row.append("; ".join(notes) if notes else "yes, all three")
        rows.append(row)
    return markdown(header, rows)


FRESH_JOINT = "cv_early_fresh_joint"  # the fresh folds: joint=lstm_tuned beside TF-IDF + Conv1D and their rules


def cv_early_fresh_joint(page: Page) -> str:
    """early-diagnosis.md and joint-network.md: the joint network with a training recipe on the fresh folds,
    against the run's own rule (no test data), the best rule (picked on test) and the fresh repeat's rule."""
    header = [
        "hours since onset",
        "joint (`joint=lstm_tuned`, 3 networks)",
        "run's rule over TF-IDF + Conv1D",
        "joint − run's rule [95% CI]",
        "best rule (picked on test)",
        "joint − best rule [95% CI]",
        "fresh repeat: run's rule over 4 models (same pairs)",
    ]
    fresh = {h: _pooled(FRESH, f"dataset.series.window.length={n}")[0]["fused"] for n, h in WINDOWS}
    rows = []
    for row in _joint_rows(FRESH_JOINT):
        hours = row["hours since onset"].removesuffix(" h")
        rows.append(
            [
                hours,
                row["joint"],
                row["run's rule"],
                row["joint − run's rule"],
                row["best rule"],
                row["joint − best rule"],
                fresh[hours],
            ]
        )
    return markdown(header, rows)


TABLES = {
    "cv_paper/table4": cv_paper_table4,
    "cv_paper/table3": cv_paper_table3,
    "single_split/table4": single_split_table4,
    "cv_recipes": cv_recipes,
    "fig5/learning_rates": fig5_learning_rates,
    "search/targets": search_targets,
    "fusion/rules": fusion_rules,
    "performance/benchmark": benchmark,
    "performance/full_fold": full_fold_benchmark,
    "performance/ensembles_alone": ensembles_alone,
    "performance/scaling": scaling,
    "joint/cv_paper": joint_cv_paper,
    "joint/interaction": joint_interaction,
    "joint/split_missing": joint_split_missing,
    "cv_early/fresh": cv_early_fresh,
    "cv_early/fresh_vs_selection": cv_early_fresh_vs_selection,
    "performance/fresh_batched": fresh_batched,
    "performance/fresh_grouped_windows": fresh_grouped_windows,
    "cv_early/fresh_joint": cv_early_fresh_joint,
}


# ------------------------------------------------------------------------------------------- numbers in prose

CITE = re.compile(r"outputs/results/([\w*{},.\-]+)")
DECIMAL = re.compile(r"(?<![\w.])[+\-]?\d+\.\d+(?![\w.]|\.\d)")
NUM = r"[+\-]?\d+\.\d+"
GROUP = re.compile(rf"(?<![\w.])(?P<x>{NUM})(?: \[(?P<lo>{NUM}), (?P<hi>{NUM})\]| ± (?P<std>{NUM}))")
FILE_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+\-]?\d+)?")
TEXT_FILES = {".md", ".csv", ".json", ".txt"}


def cited_folders(text: str) -> set[str]:
    """Result folders a piece of text names (outputs/results/<name>, a pattern such as early_tune_* expanded)."""
    names = sorted(p.name for p in RESULTS.iterdir() if p.name != "INDEX.md")
    found = set()
    for raw in CITE.findall(text):
        first = raw.split("/")[0].rstrip(".,")
        alternatives, patterns = [first], []
        while alternatives:  # early_search_{text,series}_{defaults,best}: every combination
            pattern = alternatives.pop()
            if m := re.search(r"\{([^}]*)\}", pattern):
                alternatives += [pattern[: m.start()] + alt + pattern[m.end() :] for alt in m.group(1).split(",")]
            else:
                patterns.append(pattern)
        for pattern in patterns:
            found.update(n for n in names if fnmatch.fnmatch(n, pattern))
    return found


@functools.cache
def folder_numbers(folder: str) -> tuple[list[float], list[tuple[float, float]]]:
    """Every number in a result folder's text files (reports, summaries, metrics.json, tables), sorted, and
    every two numbers that follow each other in a file (an interval's ends, a mean and its std), sorted.

    A fraction also counts as a percentage. Training histories (history/*.csv: a number per epoch) are
    left out: they would tie almost anything.
    """
    values, pairs = set(), set()
    root = RESULTS / folder
    for path in root.rglob("*") if root.is_dir() else [root]:
        if path.suffix not in TEXT_FILES or not path.is_file() or "history" in path.parts:
            continue
        tokens = [float(t) for t in FILE_NUMBER.findall(path.read_text(encoding="utf-8", errors="replace"))]
        for v in tokens:
            values.update((v, v * 100) if abs(v) <= 1 else (v,))
        for u, v in zip(tokens, tokens[1:], strict=False):
            pairs.add((u, v))
            if abs(u) <= 1 and abs(v) <= 1:
                pairs.add((u * 100, v * 100))
    return sorted(values), sorted(pairs)


def _window(number: str) -> list[tuple[float, float]]:
    """The values that round to the number as written; an unsigned number may stand for either sign."""
    x = float(number)
    half = 0.5 * 10 ** -len(number.split(".")[1]) + 1e-9
    signs = [x] if number[0] in "+-" or x == 0 else [x, -x]
    return [(v - half, v + half) for v in signs]


def tied(number: str, folders: set[str], follower: str | None = None) -> bool:
    """Whether a file of the folders holds the number as written (rounded to its decimals); with follower,
    whether the two numbers follow each other in a file (both ends of an interval, a mean and its std)."""
    for folder in folders:
        values, pairs = folder_numbers(folder)
        for lo, hi in _window(number):
            if follower is None:
                i = bisect.bisect_left(values, lo)
                if i < len(values) and values[i] <= hi:
                    return True
                continue
            windows = _window(follower)
            i = bisect.bisect_left(pairs, (lo, -float("inf")))
            while i < len(pairs) and pairs[i][0] <= hi:
                if any(a <= pairs[i][1] <= b for a, b in windows):
                    return True
                i += 1
    return False


def _blocks(text: str) -> list[tuple[int, str]]:
    """A page's paragraphs, list items and table rows with their first line number; code and generated tables out."""
    text = _unfenced(MARKER, lambda m: "\n" * m.group(0).count("\n"), text)
    blocks, current, start, fenced = [], [], 0, False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            line = ""
        if fenced:
            line = ""
        new_item = line.startswith(("|", "- ", "* ")) or re.match(r"^\d+\. ", line)
        if not line.strip() or new_item or (current and current[-1].startswith("|")):
            if current:
                blocks.append((start, "\n".join(current)))
            current, start = [], n
        if line.strip():
            if not current:
                start = n
            current.append(line)
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def prose_numbers(path: Path, text: str | None = None) -> list[tuple[int, str, str, bool]]:
    """(line, number, folders, tied) for every decimal number in a paragraph citing a result folder.

    A paragraph is a run of lines, a list item or a table row (a row also counts for the folders the
    paragraph just above its table cites); a number in it ties when a file of a folder it cites holds the
    number as written (rounded to its decimals; a fraction may be written as a
    percentage). An interval "x [lo, hi]" or "x ± s" ties only as a whole: x anywhere, and lo, hi (x, s)
    next to each other in one file. Inline code and link targets are not prose: `model.text.lr=1e-5` or a file name are skipped.
    """
    out, intro, previous = [], set(), ""
    for line, block in _blocks(path.read_text(encoding="utf-8") if text is None else text):
        is_row = block.startswith("|")
        if is_row and not previous.startswith("|"):
            intro = cited_folders(previous)  # a table's rows also count for the paragraph that introduces it
        previous = block
        block_folders = cited_folders(block) | (intro if is_row else set())
        if not block_folders:
            continue
        prose = re.sub(r"\]\([^)]*\)", "]", re.sub(r"`[^`]*`", "", block))
        names = ",".join(sorted(block_folders))
        for m in GROUP.finditer(prose):  # "x [lo, hi]" and "x ± s" tie as a whole: the interval's ends together
            x, lo, hi, std = m.group("x", "lo", "hi", "std")
            ok = tied(x, block_folders) and tied(lo, block_folders, hi) if lo else tied(x, block_folders, std)
            out += [(line, n, names, ok) for n in (x, lo, hi, std) if n]
        for number in DECIMAL.findall(GROUP.sub(" ", prose)):
            out.append((line, number, names, tied(number, block_folders)))
    return out


def strength() -> tuple[int, int]:
    """How often a wrong number would still pass: each tied number in prose, moved by 1 and 3 in its last
    digit (both ways, one at a time), and the page checked again. Returns (still tied, tried)."""
    still = tried = 0
    for path in pages():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        for line, number, _, ok in prose_numbers(path, text):
            if not ok:
                continue
            decimals = len(number.split(".")[1])
            head, tail = "".join(lines[: line - 1]), "".join(lines[line - 1 :])
            at = tail.find(number)
            for step in (1, -1, 3, -3):
                moved = f"{float(number) + step * 10**-decimals:.{decimals}f}"
                moved = "+" + moved if number.startswith("+") and not moved.startswith("-") else moved
                edited = head + tail[:at] + moved + tail[at + len(number) :]
                tried += 1
                still += any(ok for n, m, _, ok in prose_numbers(path, edited) if (n, m) == (line, moved))
    return still, tried


# -------------------------------------------------------------------------------------------- writing, checking


def render_page(path: Path, text: str) -> str:
    """The page with every marked table regenerated; an unknown table name is an error."""
    page = Page(path.relative_to(ROOT).as_posix())

    def fill(m: re.Match) -> str:
        name = m.group(1)
        if name not in TABLES:
            raise KeyError(f"{page.path}: unknown generated table {name!r} (known: {', '.join(TABLES)})")
        return f"<!-- table: {name} -->\n\n{TABLES[name](page)}\n<!-- /table -->"

    return _unfenced(MARKER, fill, text)


def marked(text: str) -> list[str]:
    names: list[str] = []
    _unfenced(MARKER, lambda m: names.append(m.group(1)) or m.group(0), text)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a page's tables differ from the results")
    parser.add_argument("--prose", action="store_true", help="list the numbers in prose that no cited result holds")
    parser.add_argument("--strength", action="store_true", help="how often a number moved in its last digit still ties")
    args = parser.parse_args(argv)
    if args.strength:
        still, tried = strength()
        print(f"{still} of {tried} numbers moved by 1 or 3 in their last digit still tie ({100 * still / tried:.0f}%)")
        return 0
    if args.prose:
        total = untied = 0
        for path in pages():
            for line, number, folders, ok in prose_numbers(path):
                total += 1
                if not ok:
                    untied += 1
                    print(f"{path.relative_to(ROOT).as_posix()}:{line}: {number} not in {folders}")
        print(f"{total - untied} of {total} numbers in prose citing a result folder tie to its files; {untied} do not")
        return 0
    stale = 0
    for path in pages():
        text = path.read_text(encoding="utf-8")
        new = render_page(path, text)
        if new == text:
            continue
        rel = path.relative_to(ROOT).as_posix()
        if args.check:
            stale += 1
            diff = difflib.unified_diff(
                text.splitlines(), new.splitlines(), rel, rel + " (from the results)", lineterm=""
            )
            print("\n".join(diff))
        else:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote the tables of {rel}")
    if stale:
        print(f"{stale} page(s) differ from the results: run python scripts/docs_tables.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
