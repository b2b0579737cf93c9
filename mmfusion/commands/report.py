"""`mmfusion report <run-or-multirun-dir>`: the paper's tables and figures from finished runs.

A hyper-parameter search (`hparams_search=...`) is reported by commands/search.py instead: trials,
their validation objective and the best parameters.

Reads only run directories. Jobs are grouped by the overrides that differ between them (seed and
cross-validation fold excluded); each group's metrics are averaged over its seeds (mean +/- std).
A cross-validation group (`dataset.cv.folds=K`) pools its out-of-fold predictions instead
(pooled.py): Tables IV and III with cluster-bootstrap intervals, Fig. 7 over every unit, a per-fold
table, the number of unique texts and runs covered; repeats (seeds) are averaged. Jobs that failed
or never finished are listed, never averaged. Beside report.md, a self-contained report.html.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mmfusion import rundir
from mmfusion.commands import search
from mmfusion.errors import RunDirError
from mmfusion.evaluation import figures, pooled
from mmfusion.evaluation.html import markdown_to_html
from mmfusion.evaluation.metrics import roc_curves
from mmfusion.evaluation.tables import to_markdown
from mmfusion.runtime import interrupt

PAPER_ACCURACY = {"series": 95.00, "text": 91.00, "fused": 97.50}  # Table IV, percent
PAPER_AUC = {"series": "lowest; 0.9339 for type 3", "text": "> 0.99 for every type", "fused": "> 0.998 for every type"}
IGNORED = ("seed=", "hydra.", "dataset.seed=", "resume=", "dataset.cv.fold=")


log = logging.getLogger(__name__)


def find_jobs(root: Path) -> list[Path]:
    if (root / rundir.MARKER).exists() or (root / ".hydra").is_dir() or (root / rundir.METRICS).exists():
        return [root]
    jobs = sorted(
        (p for p in root.iterdir() if p.is_dir() and ((p / ".hydra").is_dir() or (p / rundir.METRICS).exists())),
        key=lambda p: (len(p.name), p.name),
    )
    if not jobs:
        raise RunDirError(f"{root}: neither a run directory nor a multirun directory (no job subdirectories found)")
    return jobs


def overrides(job: Path) -> list[str]:
    f = job / ".hydra" / "overrides.yaml"
    return [o for o in (yaml.safe_load(f.read_text()) or []) if not o.startswith(IGNORED)] if f.exists() else []


def load_jobs(root: Path):
    done, failed = [], []
    for job in find_jobs(root):
        if rundir.is_complete(job) and (job / rundir.METRICS).exists():
            done.append(
                {"dir": job, "overrides": overrides(job), "metrics": json.loads((job / rundir.METRICS).read_text())}
            )
        else:
            failed.append(job)
    if not done:
        raise RunDirError(f"{root}: no finished run (no {rundir.MARKER} marker in {[str(f) for f in failed]})")
    varying = sorted({o for j in done for o in j["overrides"]} - set.intersection(*(set(j["overrides"]) for j in done)))
    groups: dict[str, list] = {}
    for j in done:
        label = " ".join(o for o in j["overrides"] if o in varying) or "all runs"
        groups.setdefault(label, []).append(j)
    for members in groups.values():
        members.sort(key=lambda j: j["metrics"]["seed"])
    return groups, failed


def _pm(values, scale=1.0, digits=2) -> str:
    v = np.asarray([x for x in values if x is not None], dtype=float) * scale
    if not len(v):
        return "n/a"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f}" if len(v) > 1 else f"{v[0]:.{digits}f}"


def _ci(value, ci, scale=100.0, digits=2) -> str:
    if value is None:
        return "n/a"
    text = f"{value * scale:.{digits}f}"
    return text + (f" [{ci[0] * scale:.{digits}f}, {ci[1] * scale:.{digits}f}]" if ci else "")


def is_cv(jobs) -> bool:
    return "cv_folds" in (jobs[0]["metrics"].get("dataset") or {})


def accuracy_table(groups, pools: dict | None = None) -> pd.DataFrame:
    rows = {}
    for label, jobs in groups.items():
        models = list(jobs[0]["metrics"]["models"])
        pool = (pools or {}).get(label)
        if pool and "models" in pool:  # cross-validation: pooled out-of-fold accuracy [95% interval]
            row = {m: _ci(pool["models"][m]["accuracy"], pool["models"][m].get("accuracy_ci")) for m in models}
            row["seeds"] = f"{pool['repeats']} x {pool['folds']} folds (pooled)"
        else:
            row = {m: _pm([j["metrics"]["models"][m]["accuracy"] for j in jobs], 100) for m in models}
            row["seeds"] = str(len(jobs))
        rows[label] = row
    rows["paper (Table IV)"] = {m: f"{v:.2f}" for m, v in PAPER_ACCURACY.items()} | {"seeds": ""}
    df = pd.DataFrame(rows).T.fillna("")
    first = [c for c in ("series", "text", "fused") if c in df.columns]
    df = df[first + [c for c in df.columns if c not in first and c != "seeds"] + ["seeds"]]
    df.index.name = "accuracy % (mean ± std over seeds; CV: pooled [95% CI])"
    return df


def auc_table(jobs) -> pd.DataFrame:
    classes, models = jobs[0]["metrics"]["classes"], list(jobs[0]["metrics"]["models"])
    df = pd.DataFrame(
        {m: [_pm([j["metrics"]["models"][m]["auc"][c] for j in jobs], 1, 4) for c in classes] for m in models},
        index=classes,
    )
    df.loc["paper (Table III)"] = [PAPER_AUC.get(m, "") for m in models]
    df.index.name = "class"
    return df


def training_figures(groups, out: Path) -> list[str]:
    """Fig. 5: training accuracy and loss per epoch, one line per group (e.g. learning rate), per modality."""
    names = []
    modalities = sorted({m for jobs in groups.values() for m in jobs[0]["metrics"]["modalities"]})
    for m in modalities:
        curves = {}
        for label, jobs in groups.items():
            hists = [
                pd.read_csv(j["dir"] / "history" / f"{m}.csv")
                for j in jobs
                if (j["dir"] / "history" / f"{m}.csv").exists()
            ]
            hists = [h for h in hists if len(h) and {"accuracy", "loss"} <= set(h.columns)]  # non-neural: no epochs
            if hists:
                n = min(len(h) for h in hists)
                curves[label] = {k: np.mean([h[k].to_numpy()[:n] for h in hists], axis=0) for k in ("accuracy", "loss")}
        if curves:
            name = f"fig5_training_{m}.png"
            figures.plot_curves(curves, f"Training of the {m} model (mean over seeds)", out / name)
            names.append(name)
    return names


def model_figures(label: str, jobs, out: Path, slug: str) -> list[str]:
    """Fig. 6 (ROC, first seed) and Fig. 7 (confusion matrices pooled over seeds) of every model."""
    first = jobs[0]
    pred = rundir.load_npz(first["dir"] / rundir.PREDICTIONS)
    classes = first["metrics"]["classes"]
    names = []
    for m in first["metrics"]["models"]:
        y, p = pred["y_test"], pred[f"proba_test_{m}"]
        keep = ~np.isnan(p).any(axis=1)
        curves = roc_curves(y[keep], p[keep], len(classes))
        figures.plot_roc(
            curves,
            first["metrics"]["models"][m]["auc"],
            classes,
            f"ROC, {m} (seed {first['metrics']['seed']})",
            out / f"fig6_roc_{m}_{slug}.png",
        )
        cm = np.sum([j["metrics"]["models"][m]["confusion"] for j in jobs], axis=0)
        figures.plot_confusion(
            cm, classes, f"Confusion, {m} ({len(jobs)} seeds pooled)", out / f"fig7_confusion_{m}_{slug}.png"
        )
        names += [f"fig6_roc_{m}_{slug}.png", f"fig7_confusion_{m}_{slug}.png"]
    return names


def rule_accuracies(job: Path) -> dict[str, float]:
    """Test accuracy of every fusion rule from the newest finished `mmfusion fuse <job> fusion=all`."""
    done = sorted(d for d in (job / "fuse").glob("all-*") if rundir.is_complete(d)) if (job / "fuse").is_dir() else []
    if not done:
        return {}
    rules = json.loads((done[-1] / rundir.METRICS).read_text()).get("rules", {})
    return {f"fused ({r})": v["accuracy"] for r, v in rules.items()}


def time_table(groups, pools: dict | None = None) -> pd.DataFrame | None:
    """Accuracy against hours since the fault onset (end of the series window), mean and std over seeds
    (cross-validation groups: over repeats of the pooled out-of-fold accuracy)."""
    rows = []
    for label, jobs in groups.items():
        pool = (pools or {}).get(label)
        for j in jobs:
            info = j["metrics"].get("dataset", {}).get("series_info", {})
            if "window_length" not in info:
                return None
            hours = (info["window_start"] + info["window_length"]) * float(info.get("sample_interval_h", 0.05))
            if pool and "models" in pool:
                for i in range(pool["repeats"]):
                    rows.append(
                        {
                            "hours since onset": round(hours, 3),
                            **{m: r["accuracy_per_repeat"][i] for m, r in pool["models"].items()},
                        }
                    )
                break
            acc = {m: r["accuracy"] for m, r in j["metrics"]["models"].items()}
            rows.append({"hours since onset": round(hours, 3), **acc, **rule_accuracies(j["dir"])})
    df = pd.DataFrame(rows)
    if df["hours since onset"].nunique() < 2:
        return None
    return df.groupby("hours since onset").agg(["mean", "std", "count"])


def time_section(table: pd.DataFrame, fig_dir: Path) -> list[str]:
    models = list(dict.fromkeys(c[0] for c in table.columns))
    figures.plot_accuracy_vs_time(table, models, fig_dir / "accuracy_vs_time.png")
    shown = pd.DataFrame(
        {
            m: [
                _pm([mu], 100) + (f" ± {sd * 100:.2f}" if sd == sd else "")
                for mu, sd in zip(table[(m, "mean")], table[(m, "std")])
            ]
            for m in models
        },
        index=table.index,
    )
    shown["seeds"] = table[(models[0], "count")].astype(int).astype(str).tolist()
    return [
        "## Accuracy against hours since the fault onset",
        "",
        "Test accuracy in % (mean ± std over seeds); the series sees only the window up to that time, "
        "the text is the same at every time.",
        "",
        to_markdown(shown),
        "![accuracy_vs_time.png](report_figures/accuracy_vs_time.png)",
        "",
    ]


def pooled_section(label: str, pool: dict, fig_dir: Path, slug: str, classes: list[str]) -> list[str]:
    """Cross-validation: pooled Tables IV and III with intervals, Fig. 7 over every unit, folds."""
    if "models" not in pool:
        return [f"## Group `{label}`: cross-validation not pooled", "", f"{pool['error']}.", ""]
    models = list(pool["models"])
    covered = ", ".join(
        f"{n} unique {'texts' if k == 'text' else 'series runs' if k == 'series' else 'samples'}"
        for k, n in pool["units_covered"].items()
    )
    lines = [
        f"## Group `{label}`: {pool['folds']}-fold cross-validation, pooled out of fold",
        "",
        f"Repeats (seeds): {', '.join(map(str, pool['seeds']))}; about {pool['pairs_per_repeat']} test pairs per "
        f"repeat, covering {covered} (each tested exactly once per repeat)."
        + (f" Seeds with unfinished folds, left out: {pool['incomplete_seeds']}." if pool["incomplete_seeds"] else ""),
        "",
        "Intervals: 95% cluster bootstrap over the units (texts, runs), the same draws for every model "
        "and repeat; figures are means over repeats.",
        "",
    ]
    acc = pd.DataFrame(
        {
            m: [_ci(r["accuracy"], r.get("accuracy_ci")), _ci(r["macro_auc"], r.get("macro_auc_ci"), 1, 4)]
            for m, r in pool["models"].items()
        },
        index=["accuracy %", "macro AUC"],
    )
    acc.index.name = "Table IV (pooled)"
    lines += [to_markdown(acc)]
    c = pool.get("comparison")
    if c:
        line = f"Fused minus {c['b']} (the best single model): {c['difference'] * 100:+.2f} points"
        if c.get("difference_ci"):
            lo, hi = c["difference_ci"]
            line += f", 95% interval [{lo * 100:+.2f}, {hi * 100:+.2f}]: " + (
                "resolved (excludes 0)." if c["resolved"] else "not resolved (includes 0)."
            )
        if c.get("mcnemar_p_per_repeat"):
            line += " McNemar p per repeat: " + ", ".join(f"{p:.3g}" for p in c["mcnemar_p_per_repeat"]) + "."
        lines += [line, ""]
    auc = pd.DataFrame(
        {
            m: [_ci(r["auc"][k], (r.get("auc_ci") or {}).get(k), 1, 4) for k in classes]
            for m, r in pool["models"].items()
        },
        index=classes,
    )
    auc.index.name = "Table III (pooled AUC)"
    lines += [to_markdown(auc)]
    names = []
    for m in models:
        name = f"fig7_confusion_{m}_{slug}_pooled.png"
        figures.plot_confusion(
            pool["models"][m]["confusion"],
            classes,
            f"Confusion, {m} (out of fold, {pool['repeats']} repeat(s) summed)",
            fig_dir / name,
        )
        names.append(name)
    lines += ["### Confusion matrices over every unit (Fig. 7, out of fold)", ""]
    lines += [f"![{n}](report_figures/{n})" for n in names] + [""]
    folds = pd.DataFrame(pool["per_fold"]).set_index(["seed", "fold"])
    shown = folds.copy()
    for m in models:
        shown[m] = [f"{v * 100:.2f}" for v in folds[m]]
    shown.index = [f"seed {a}, fold {b}" for a, b in folds.index]
    shown.index.name = "per fold (accuracy %)"
    lines += ["### Per fold", "", to_markdown(shown)]
    return lines


def report(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise RunDirError(f"{root}: no such directory; give a run or multirun directory made by `mmfusion train`")
    if search.is_search(root):  # hparams_search=...: trials and best parameters, judged on validation data
        out = root / "report.md"
        out.write_text("\n".join([f"# mmfusion report: `{root}`", "", *search.section(root, find_jobs(root))]))
        log.info("search report written to %s", out)
        return out
    groups, failed = load_jobs(root)
    log.info(
        "%s: %d finished job(s) in %d group(s), %d not finished",
        root,
        sum(map(len, groups.values())),
        len(groups),
        len(failed),
    )
    fig_dir = root / "report_figures"
    fig_dir.mkdir(exist_ok=True)
    lines = [
        f"# mmfusion report: `{root}`",
        "",
        f"{sum(map(len, groups.values()))} finished job(s) in {len(groups)} group(s).",
    ]
    if failed:
        lines += [
            "",
            "**Not finished (failed or interrupted), not averaged:** " + ", ".join(f"`{f.name}`" for f in failed),
        ]
    pools = {}
    for label, jobs in groups.items():
        if is_cv(jobs):
            ev = _evaluation(jobs[0])
            pools[label] = pooled.pool(jobs, ev.get("bootstrap", 1000), ev.get("ci_level", 0.95), 0)
    lines += ["", "## Accuracy on the test split (Table IV layout)", "", to_markdown(accuracy_table(groups, pools))]
    figures = training_figures(groups, fig_dir)
    timing = time_table(groups, pools)
    if timing is not None:
        lines += time_section(timing, fig_dir)
    for i, (label, jobs) in enumerate(groups.items()):
        if label in pools:
            lines += pooled_section(label, pools[label], fig_dir, f"g{i}", jobs[0]["metrics"]["classes"])
            continue
        seeds = ", ".join(str(j["metrics"]["seed"]) for j in jobs)
        lines += [
            f"## Group `{label}`",
            "",
            f"Seeds: {seeds}.",
            "",
            "### One-vs-rest AUC (Table III layout, mean ± std)",
            "",
            to_markdown(auc_table(jobs)),
        ]
        names = model_figures(label, jobs, fig_dir, f"g{i}")
        lines += ["### ROC curves (Fig. 6, first seed) and confusion matrices (Fig. 7, pooled over seeds)", ""]
        lines += [f"![{n}](report_figures/{n})" for n in names] + [""]
    if figures:
        lines += ["## Training curves (Fig. 5)", ""] + [f"![{n}](report_figures/{n})" for n in figures] + [""]
    out, tmp = root / "report.md", root / "report.md.tmp"
    tmp.write_text("\n".join(lines))
    tmp.replace(out)  # whole or absent, also when interrupted
    page, tmp = root / "report.html", root / "report.html.tmp"
    tmp.write_text(markdown_to_html("\n".join(lines), root, f"mmfusion report: {root.name}"))
    tmp.replace(page)
    log.info("report written to %s and %s (figures in %s)", out, page.name, fig_dir)
    return out


def _evaluation(job: dict) -> dict:
    """The job's evaluation settings (bootstrap resamples, CI level) from its saved config."""
    path = job["dir"] / "config.yaml"
    cfg = yaml.safe_load(path.read_text()) if path.is_file() else {}
    return (cfg or {}).get("evaluation") or {}


def main(args: list[str]) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="mmfusion report", description=__doc__.split("\n\n")[0])
    ap.add_argument("directory", help="a run directory or a multirun (sweep) directory of finished runs")
    ns = ap.parse_args(args)
    with interrupt.stage("writing the report", kept=f"nothing new in {ns.directory}", hint="rerun the same command"):
        out = report(ns.directory)
    print(f"report: {out}")
