"""Which errors remain in a cross-validated experiment=early sweep: per window, the fused model's pooled
confusion matrix and per-class accuracy, and the report texts that every text model misreads.

    python scripts/reproduce/early_errors.py outputs/results/cv_early_fresh            # writes <folder>/errors.md

Reads only the sweep's own files (each job's predictions.npz and .hydra/overrides.yaml, as a committed
folder keeps them) and the bundled factoryReports.csv, whose rows the text units name (`row-00213`: the
213th data row). Out of fold: every pair is tested once per repeat, so the counts add up over the folds.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from mmfusion.data.text.factory_reports import bundled_path
from mmfusion.rundir.files import write_text
from mmfusion.rundir.markers import is_complete
from mmfusion.rundir.records import read_predictions

WINDOW = "dataset.series.window.length="
SAMPLES_PER_HOUR = 20  # dataset.series.sample_interval_h = 0.05 in experiment=early


def report_rows() -> dict[str, tuple[str, str]]:
    """row-<n> -> (description, category) of the bundled factoryReports.csv, numbered as its loader does."""
    with open(bundled_path(), encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = [h.lstrip("\ufeff").strip() for h in next(reader)]
        i_text, i_label = header.index("Description"), header.index("Category")
        rows, n = {}, 0
        for fields in reader:
            if not fields or fields == [""]:
                continue
            n += 1
            rows[f"row-{n:05d}"] = (fields[i_text].strip(), fields[i_label].strip())
    return rows


def windows(folder: Path) -> dict[int, list[Path]]:
    """window length -> the finished jobs of that window."""
    out = defaultdict(list)
    for over in sorted(folder.glob("*/.hydra/overrides.yaml")):
        job = over.parents[1]
        length = next((o[len(WINDOW) :] for o in yaml.safe_load(over.read_text()) or [] if o.startswith(WINDOW)), None)
        if length is not None and is_complete(job):
            out[int(length)].append(job)
    return dict(sorted(out.items()))


def section(length: int, jobs: list[Path], rows: dict) -> list[str]:
    preds = [read_predictions(j) for j in jobs]
    classes = [str(c) for c in preds[0].arrays["classes"]]
    text_models = [m for m in ("text", "text_tfidf_logreg") if preds[0].has("test", m)]
    y = np.concatenate([p.y("test") for p in preds])
    fused = np.concatenate([p.proba("test", "fused").argmax(1) for p in preds])
    q = len(classes)
    cm = np.zeros((q, q), int)
    np.add.at(cm, (y, fused), 1)
    out = [
        f"## {length / SAMPLES_PER_HOUR:g} h after the onset ({WINDOW}{length}, {len(jobs)} folds, {len(y)} test pairs)",
        "",
        f"Fused (the run's own rule) out of fold: {int((fused == y).sum())} of {len(y)} right. Rows: true class; "
        "columns: predicted.",
        "",
        "| true \\ predicted | " + " | ".join(classes) + " | accuracy % |",
        "|---|" + "---|" * (q + 1),
    ]
    for k, c in enumerate(classes):
        out.append(f"| {c} | " + " | ".join(str(v) for v in cm[k]) + f" | {100 * cm[k, k] / max(cm[k].sum(), 1):.2f} |")
    # texts every text model misreads: a text's prediction depends on the text alone, so one per (fold, text)
    wrong = defaultdict(lambda: {"pairs": 0, "fused_wrong": 0, "pred": None, "true": None})
    for p in preds:
        units = p.units("test", "text")
        present = p.present("test", text_models[0])
        yy = p.y("test")
        guesses = {m: p.proba("test", m).argmax(1) for m in text_models}
        fz = p.proba("test", "fused").argmax(1)
        for i in np.flatnonzero(present):
            if all(guesses[m][i] != yy[i] for m in text_models):
                w = wrong[str(units[i])]
                w["pairs"] += 1
                w["fused_wrong"] += int(fz[i] != yy[i])
                w["true"] = classes[yy[i]]
                w["pred"] = ", ".join(classes[guesses[m][i]] for m in text_models)
    out += [
        "",
        f"Texts that every text model ({', '.join(text_models)}) misreads: {len(wrong)}, in "
        f"{sum(w['pairs'] for w in wrong.values())} test pairs, of which the fused model still gets "
        f"{sum(w['fused_wrong'] for w in wrong.values())} wrong.",
        "",
    ]
    if wrong:
        out += [
            "| text (factoryReports row) | filed as | read as (" + ", ".join(text_models) + ") | pairs | fused wrong |"
        ]
        out += ["|---|---|---|---|---|"]
        for unit, w in sorted(wrong.items(), key=lambda kv: (-kv[1]["fused_wrong"], kv[0])):
            text = rows.get(unit, ("?", "?"))[0].replace("|", "\\|")
            out.append(f"| {text} ({unit}) | {w['true']} | {w['pred']} | {w['pairs']} | {w['fused_wrong']} |")
    return out + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a cross-validated experiment=early sweep (run or committed folder)")
    ap.add_argument("--out", type=Path, help="default: <folder>/errors.md")
    args = ap.parse_args(argv)
    groups = windows(args.folder)
    if not groups:
        sys.exit(f"{args.folder}: no finished job with a {WINDOW}... override; give a sweep over the window")
    rows = report_rows()
    lines = [
        f"# Remaining errors of `{args.folder.name}`",
        "",
        "<!-- Generated by scripts/reproduce/early_errors.py from this folder's predictions; do not edit by hand. -->",
        "",
    ]
    for length, jobs in groups.items():
        lines += section(length, jobs, rows)
    out = args.out or args.folder / "errors.md"
    write_text(out, "\n".join(lines))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
