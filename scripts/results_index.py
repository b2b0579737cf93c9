"""Write outputs/results/INDEX.md: every committed result with its command, commit, date and citing pages.

For each entry of outputs/results/ (folders, and the loose files beside them):
- command: read from what the run left behind, never guessed: the jobs' `.hydra/overrides.yaml` (one
  job: its overrides; several: each key's values joined as a sweep, since a sweep's `multirun.yaml` holds
  only the last call into its directory; an Optuna search: the overrides its trials share), else the
  sweep's `multirun.yaml`, else the first line `benchmark: `...`` of a benchmark table; beside it the
  directory `report.md` was made from (`mmfusion report <dir>`). Nothing found: "unknown".
- added: the first commit that added a file under it (`git log --diff-filter=A`), with its date.
- cited by: the docs pages and README.md that name it (its name, or a pattern such as
  `outputs/results/early_real_*/` or `early_search_{text,series}` that matches it).
- re-reportable: whether `mmfusion report <folder>` regenerates its report.md (a folder made by
  scripts/collect_results.py that checked so, see its collected.json), and the commit(s) of the code
  that made its runs (their provenance.json; "not recorded" for runs made before it existed).
- why it stays: for an entry that is not re-reportable, the reason it is kept, read from
  outputs/results/kept.yaml (entry -> reason; results that a newer folder supersedes are removed instead).

    python scripts/results_index.py            # rewrite outputs/results/INDEX.md
    python scripts/results_index.py --check    # exit 1 when INDEX.md misses a folder or lists a gone one,
        # or when an entry that is not re-reportable has no reason in kept.yaml (or kept.yaml names a gone one)
    python scripts/results_index.py --verify [NAME ...]  # regenerate each re-reportable folder's report
        # from a temporary copy and compare it with the committed report.md; exit 1 on a difference

tests/project/test_docs.py checks (without git) that INDEX.md lists exactly the entries of outputs/results/.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "outputs" / "results"
INDEX = RESULTS / "INDEX.md"
KEPT = RESULTS / "kept.yaml"  # entry -> why it stays although `mmfusion report` cannot regenerate it
ROW = re.compile(r"^\| \[`([^`]+)`\]")
REPORT_DIR = re.compile(r"^# mmfusion report: `([^`]+)`")
BENCHMARK = re.compile(r"^benchmark: `([^`]+)`")
COLLECTED = "collected.json"  # mmfusion.rundir.collected.COLLECTED, written by scripts/collect_results.py
PATTERN = re.compile(r"outputs/results/([\w*{},.\-]+)|`([\w{},\-]+)`")


def entries() -> list[str]:
    """Every folder and loose file of outputs/results/, INDEX.md itself excluded."""
    skip = {INDEX.name, KEPT.name}
    return sorted(p.name for p in RESULTS.iterdir() if p.name not in skip and not p.name.startswith("."))


def listed(text: str) -> list[str]:
    """The entries an INDEX.md lists (first column of its table)."""
    return [m.group(1).rstrip("/") for line in text.splitlines() if (m := ROW.match(line))]


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w.,=/:+\-\[\]@${}']*", value) else f'"{value}"'


def _sweep(job_overrides: list[list[str]]) -> str:
    """Overrides of several jobs as one sweep: each key's values in first-seen order, joined by commas."""
    values: dict[str, list[str]] = {}
    for overrides in job_overrides:
        for item in overrides:
            key, _, value = item.partition("=")
            seen = values.setdefault(key, [])
            if value not in seen:
                seen.append(value)
    return " ".join(_quote(f"{key}={','.join(vals)}") for key, vals in values.items())


def command(path: Path) -> str:
    """How an entry was made, from the files it holds (see the module docstring)."""
    parts = []
    if path.is_file():
        first = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        m = BENCHMARK.match(first[0]) if first else None
        return f"`{m.group(1)}`" if m else "unknown"
    multirun = path / "multirun.yaml"
    jobs = sorted(path.glob("*/.hydra/overrides.yaml"), key=lambda p: (len(p.parts[-3]), p.parts[-3]))
    own = path / ".hydra" / "overrides.yaml"
    if own.is_file():
        task = yaml.safe_load(own.read_text(encoding="utf-8")) or []
        parts.append("`mmfusion train " + " ".join(_quote(t) for t in task) + "`")
    elif jobs:  # every job's own overrides (multirun.yaml holds only the last call into the sweep dir)
        overrides = [yaml.safe_load(p.read_text(encoding="utf-8")) or [] for p in jobs]
        if any(o.startswith("hparams_search=") for job in overrides for o in job):
            common = [o for o in overrides[0] if all(o in job for job in overrides)]
            parts.append(
                f"`mmfusion train -m {' '.join(_quote(o) for o in common)}` (an Optuna search, {len(jobs)} trials;"
                " each trial's sampled values are in its job's `.hydra/overrides.yaml`)"
            )
        else:
            flag = "-m " if len(jobs) > 1 else ""
            parts.append(f"`mmfusion train {flag}{_sweep(overrides)}` ({len(jobs)} job(s))")
    elif multirun.is_file():
        cfg = yaml.safe_load(multirun.read_text(encoding="utf-8")) or {}
        task = ((cfg.get("hydra") or {}).get("overrides") or {}).get("task") or []
        parts.append("`mmfusion train -m " + " ".join(_quote(t) for t in task) + "`")
    report = path / "report.md"
    if report.is_file():
        first = report.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        m = REPORT_DIR.match(first[0]) if first else None
        if m:
            parts.append(f"report: `mmfusion report {m.group(1)}`")
    for table in sorted(path.glob("*.md")):
        first = table.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
        m = BENCHMARK.match(first[0]) if first else None
        if m:
            parts.append(f"`{m.group(1)}`")
    return "; ".join(parts) if parts else "unknown"


def reportable(path: Path) -> bool:
    """A folder collected for re-reporting (collected.json says its report regenerated identically)."""
    try:
        record = json.loads((path / COLLECTED).read_text(encoding="utf-8")) if path.is_dir() else None
    except (OSError, ValueError):
        return False
    return bool(isinstance(record, dict) and record.get("reportable") and (path / "report.md").is_file())


def kept_reasons() -> dict[str, str]:
    """{entry: why it stays} from outputs/results/kept.yaml ({} when there is none)."""
    if not KEPT.is_file():
        return {}
    data = yaml.safe_load(KEPT.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{KEPT.relative_to(ROOT)}: expected a mapping entry -> reason")
    return {str(k): str(v).strip() for k, v in data.items() if v is not None and str(v).strip()}


def reason_problems() -> list[str]:
    """What is wrong between kept.yaml and the entries: a not re-reportable entry without a reason, a reason
    for an entry that is gone, or a reason for a re-reportable one (it needs none)."""
    names, reasons = entries(), kept_reasons()
    problems = [
        f"{n}: not re-reportable and no reason in {KEPT.name}"
        for n in names
        if n not in reasons and not reportable(RESULTS / n)
    ]
    problems += [f"{n}: in {KEPT.name} but not under outputs/results/" for n in sorted(reasons) if n not in names]
    problems += [
        f"{n}: re-reportable, so it needs no reason in {KEPT.name}"
        for n in sorted(reasons)
        if n in names and reportable(RESULTS / n)
    ]
    return problems


def _cell(text: str) -> str:
    """Text as one markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def made_by(path: Path) -> str:
    """The commit(s) of the code behind an entry's runs, from their provenance.json (`+dirty` where the
    tracked files differed from it); "not recorded" where no run recorded one."""
    if not path.is_dir():
        return "not recorded"
    commits: dict[str, bool] = {}
    for prov in sorted([path / "provenance.json", *path.glob("*/provenance.json")]):
        try:
            record = json.loads(prov.read_text(encoding="utf-8")) if prov.is_file() else {}
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("commit"):
            key = str(record["commit"])[:10]
            commits[key] = commits.get(key, False) or bool(record.get("dirty"))
    return ", ".join(f"{c}+dirty" if d else c for c, d in sorted(commits.items())) or "not recorded"


def verify(names: list[str] | None = None) -> list[str]:
    """The re-reportable folders (all, or those named) whose regenerated report.md differs; prints each diff."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import collect_results  # a sibling script (imported here: the index itself needs no mmfusion)

    failed = []
    for name in names or entries():
        path = RESULTS / name
        if not reportable(path):
            if names:
                print(f"{name}: not re-reportable (no collected.json that says so)", file=sys.stderr)
                failed.append(name)
            continue
        diff = collect_results.difference(path)
        print(f"{name}: {'differs' if diff else 'identical'}")
        if diff:
            print(diff, file=sys.stderr)
            failed.append(name)
    return failed


def first_added() -> dict[str, tuple[str, str]]:
    """{entry: (short commit, date)} of the first commit that added a file under each entry."""
    log = subprocess.run(
        [
            "git",
            "log",
            "--reverse",
            "--diff-filter=A",
            "--name-only",
            "--format=@%h %ad",
            "--date=short",
            "--",
            "outputs/results",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    added: dict[str, tuple[str, str]] = {}
    current = ("", "")
    for line in log.splitlines():
        if line.startswith("@"):
            commit, date = line[1:].split(" ", 1)
            current = (commit, date)
        elif line.startswith("outputs/results/"):
            name = line.split("/")[2]
            added.setdefault(name, current)
    return added


def citing_pages(names: list[str]) -> dict[str, list[str]]:
    """{entry: [pages naming it]}; a name in a pattern (`*`, `{a,b}`) counts for every entry it matches."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    cited: dict[str, list[str]] = {name: [] for name in names}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        found: set[str] = set()
        for m in PATTERN.finditer(text):
            token = (m.group(1) or m.group(2)).split("/")[0]
            for pattern in _expand(token):
                found.update(fnmatch.filter(names, pattern))
        rel = page.relative_to(ROOT).as_posix()
        for name in sorted(found):
            cited[name].append(rel)
    return cited


def _expand(token: str) -> list[str]:
    """`early_search_{text,series}` -> [early_search_text, early_search_series]."""
    m = re.search(r"\{([^{}]*)\}", token)
    if not m:
        return [token]
    return [p for option in m.group(1).split(",") for p in _expand(token[: m.start()] + option + token[m.end() :])]


def render() -> str:
    names = entries()
    reasons = kept_reasons()
    added = first_added()
    cited = citing_pages(names)
    out = [
        "# Index of committed results",
        "",
        "<!-- Generated by scripts/results_index.py; do not edit by hand. -->",
        "",
        "Every folder (and loose file) under `outputs/results/`: the command that made it, read from the",
        "files it holds (the jobs' `.hydra/overrides.yaml` joined as a sweep, a sweep's `multirun.yaml`, a benchmark table's",
        "first line; `report:` the run directory its `report.md` was made from; *unknown* where none records",
        "it), the first commit that added it and that commit's date, and the pages that cite it. Commands",
        "are as recorded; the config groups they did not name took the defaults of their day, which may",
        "differ from today's (see the docs page that cites each folder). *re-reportable*: `mmfusion report",
        "<folder>` regenerates its report.md (made by scripts/collect_results.py; checked by",
        "`python scripts/results_index.py --verify`); *made by*: the commit of the code behind its runs",
        "(their provenance.json), beside the commit that added the folder; *why it stays*: for a result",
        "that is not re-reportable, the reason it is kept (from `kept.yaml`; results that a newer folder",
        "supersedes are removed instead).",
        "",
        "| result | command | added | re-reportable | made by | why it stays | cited by |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        path = RESULTS / name
        link = f"{name}/" if path.is_dir() else name
        commit, date = added.get(name, ("not committed", ""))
        when = f"{commit} ({date})" if date else commit
        pages = ", ".join(f"[{p}](../../{p})" for p in cited[name]) or "none"
        made = command(path).replace("|", "\\|")
        again = reportable(path)
        why = "" if again else _cell(reasons.get(name, "**no reason given**"))
        out.append(
            f"| [`{link}`]({link}) | {made} | {when} | {'yes' if again else 'no'} | {made_by(path)} | {why} | {pages} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when INDEX.md does not list exactly the entries")
    parser.add_argument(
        "--verify",
        nargs="*",
        metavar="NAME",
        help="regenerate the report of each re-reportable folder (or those named) from a copy; exit 1 on a difference",
    )
    args = parser.parse_args(argv)
    if args.verify is not None:
        failed = verify(args.verify)
        if failed:
            print(f"report.md not regenerated identically: {', '.join(failed)}", file=sys.stderr)
            return 1
        return 0
    if args.check:
        have = listed(INDEX.read_text(encoding="utf-8")) if INDEX.exists() else []
        if sorted(have) != entries():
            print("outputs/results/INDEX.md is out of date: run python scripts/results_index.py", file=sys.stderr)
            return 1
        problems = reason_problems()
        if problems:
            print(f"outputs/results/{KEPT.name}:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        reasons = kept_reasons()
        rows = {
            m.group(1).rstrip("/"): line
            for line in INDEX.read_text(encoding="utf-8").splitlines()
            if (m := ROW.match(line))
        }
        stale = [n for n, why in reasons.items() if f" | {_cell(why)} | " not in rows.get(n, "")]
        if stale:
            print(
                f"outputs/results/INDEX.md is out of date for {', '.join(stale)}: run python scripts/results_index.py",
                file=sys.stderr,
            )
            return 1
        return 0
    INDEX.write_text(render(), encoding="utf-8")
    print(f"wrote {INDEX.relative_to(ROOT)} ({len(entries())} entries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
