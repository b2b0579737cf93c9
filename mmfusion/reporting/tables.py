"""Tables of one run in the paper's layouts and `mmfusion fuse fusion=all`'s comparison, as pandas frames
written to CSV and Markdown; `to_markdown`, the Markdown of every report table."""

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
    df = pd.DataFrame(
        {name: [m["auc"][c] for c in metrics["classes"]] for name, m in models.items()},
        index=metrics["classes"],
        dtype=float,
    )
    df.index.name = "class"
    return df


def ci_table(metrics: dict) -> pd.DataFrame:
    """One row per model: accuracy and macro AUC with bootstrap CIs, NLL, Brier, ECE."""
    rows = {}
    for name, m in metrics["models"].items():
        acc_ci, auc_ci = m.get("accuracy_ci") or [None, None], m.get("macro_auc_ci") or [None, None]
        rows[name] = {
            "accuracy": m["accuracy"],
            "accuracy_lo": acc_ci[0],
            "accuracy_hi": acc_ci[1],
            "macro_auc": m["macro_auc"],
            "macro_auc_lo": auc_ci[0],
            "macro_auc_hi": auc_ci[1],
            "nll": m.get("nll"),
            "brier": m.get("brier"),
            "ece": m.get("ece"),
        }
    df = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    df.index.name = "model"
    return df


def auc_ci_table(metrics: dict) -> pd.DataFrame:
    """Table III with intervals: one row per class, `<model>`, `<model>_lo`, `<model>_hi` columns."""
    cols = {}
    for name, m in metrics["models"].items():
        cis = m.get("auc_ci") or {}
        cols[name] = [m["auc"][c] for c in metrics["classes"]]
        cols[f"{name}_lo"] = [(cis.get(c) or [None, None])[0] for c in metrics["classes"]]
        cols[f"{name}_hi"] = [(cis.get(c) or [None, None])[1] for c in metrics["classes"]]
    df = pd.DataFrame(cols, index=metrics["classes"], dtype=float)
    df.index.name = "class"
    return df


def mcnemar_line(metrics: dict) -> str:
    """McNemar lines: fused vs the best single model (with the cluster-bootstrap interval of their accuracy
    difference), and the joint model's comparisons when it has any."""
    found = [metrics.get("comparison"), *((metrics.get("joint") or {}).get("comparisons") or [])]
    lines = []
    for c in found:
        if not c:
            continue
        lines.append(
            f"\nMcNemar ({c['method']}), {c['a']} vs {c['b']} on {c['n']} test samples: {c['a']} right / "
            f"{c['b']} wrong {c['a_right_b_wrong']}, the reverse {c['a_wrong_b_right']}, p = {c['p_value']:.4g}\n"
        )
        if c.get("difference_ci"):
            lo, hi = c["difference_ci"]
            lines.append(
                f"\nAccuracy {c['a']} - {c['b']}: {c['difference'] * 100:+.2f} points, 95% cluster-bootstrap "
                f"interval [{lo * 100:+.2f}, {hi * 100:+.2f}] ("
                f"{'resolved: excludes 0' if c['resolved'] else 'not resolved: includes 0'})\n"
            )
    return "".join(lines)


def comparison_table(singles: dict, per_rule: dict) -> pd.DataFrame:
    """`mmfusion fuse fusion=all`'s tables/comparison.csv: one row per single model, rule and joint model;
    accuracy and macro AUC with intervals, NLL, Brier, ECE, McNemar's p and the difference to the best."""
    rows = {}
    for label, r in [*singles.items(), *per_rule.items()]:
        acc, auc = r.get("accuracy_ci") or [None, None], r.get("macro_auc_ci") or [None, None]
        rows[label] = {
            "accuracy": r["accuracy"],
            "accuracy_lo": acc[0],
            "accuracy_hi": acc[1],
            "macro_auc": r["macro_auc"],
            "macro_auc_lo": auc[0],
            "macro_auc_hi": auc[1],
            "nll": r["nll"],
            "brier": r["brier"],
            "ece": r["ece"],
            "mcnemar_p": (r.get("mcnemar") or {}).get("p_value"),
            # fused minus the best single model, with its interval from the same bootstrap draws
            "minus_best": (r.get("mcnemar") or {}).get("difference"),
            "minus_best_lo": ((r.get("mcnemar") or {}).get("difference_ci") or [None, None])[0],
            "minus_best_hi": ((r.get("mcnemar") or {}).get("difference_ci") or [None, None])[1],
        }
    df = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    df.index.name = "model"
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
    if any("accuracy_ci" in m for m in metrics["models"].values()):
        ci, auc_ci = ci_table(metrics), auc_ci_table(metrics)
        ci.to_csv(directory / "accuracy_ci.csv")
        auc_ci.to_csv(directory / "auc_ci.csv")
        (directory / "accuracy_ci.md").write_text(to_markdown(ci) + mcnemar_line(metrics))
        (directory / "auc_ci.md").write_text(to_markdown(auc_ci))
    return acc_md
