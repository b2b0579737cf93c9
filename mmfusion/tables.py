"""Tables of one run in the paper's layouts, as pandas frames written to CSV and Markdown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def to_markdown(df: pd.DataFrame, floatfmt: str = "{:.4f}") -> str:
    """A GitHub Markdown table (no extra dependency); the index becomes the first column."""
    cols = [df.index.name or ""] + [str(c) for c in df.columns]

    def cell(v) -> str:
        if isinstance(v, float):
            return "" if v != v else floatfmt.format(v)
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in df.iterrows():
        lines.append("| " + " | ".join([str(idx)] + [cell(v) for v in row.tolist()]) + " |")
    return "\n".join(lines) + "\n"


def accuracy_table(metrics: dict) -> pd.DataFrame:
    """Table IV layout: one row, one column per model (series, text, fused)."""
    models = metrics["models"]
    df = pd.DataFrame({name: [m["accuracy"]] for name, m in models.items()}, index=["accuracy"])
    df.index.name = "metric"
    return df


def auc_table(metrics: dict) -> pd.DataFrame:
    """Table III layout: one row per class, one column per model."""
    models = metrics["models"]
    df = pd.DataFrame({name: [m["auc"][c] for c in metrics["classes"]] for name, m in models.items()},
                      index=metrics["classes"], dtype=float)
    df.index.name = "class"
    return df


def write_tables(metrics: dict, directory: Path) -> str:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    acc, auc = accuracy_table(metrics), auc_table(metrics)
    acc.to_csv(directory / "accuracy.csv")
    auc.to_csv(directory / "auc.csv")
    acc_md = to_markdown(acc)
    (directory / "accuracy.md").write_text(acc_md)
    (directory / "auc.md").write_text(to_markdown(auc))
    return acc_md
