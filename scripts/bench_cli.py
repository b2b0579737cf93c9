"""Time the CLI's answers that must feel instant: `mmfusion --help`, `mmfusion <command> --help`, a
shell-completion TAB (the query the installed completion script sends). Each case runs N times in a
fresh subprocess (as a shell would start it); the table gives the median and the slowest wall time
and the median CPU time (user + system; on a busy machine the wall time grows, the CPU time much less).

    python scripts/bench_cli.py            # 5 runs per case
    python scripts/bench_cli.py -n 11 --limit 1.5
Exit status 1 when a median exceeds --limit seconds (default 1.5, issue 21's target).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

CASES = [  # (label, arguments, extra environment)
    ("mmfusion --help", ["--help"], {}),
    ("mmfusion train --help", ["train", "--help"], {}),
    ("mmfusion report --help", ["report", "--help"], {}),
    ("mmfusion fuse --help", ["fuse", "--help"], {}),
    ("mmfusion predict --help", ["predict", "--help"], {}),
    ("mmfusion data --help", ["data", "--help"], {}),
    ("TAB: mmfusion re<TAB>", ["-sc", "query=bash"], {"COMP_LINE": "mmfusion re", "COMP_POINT": "11"}),
    (
        "TAB: mmfusion train model/te<TAB>",
        ["-sc", "query=bash"],
        {"COMP_LINE": "mmfusion train model/te", "COMP_POINT": "23"},
    ),
    (
        "TAB: mmfusion train model.text.<TAB>",
        ["-sc", "query=bash"],
        {"COMP_LINE": "mmfusion train model.text.", "COMP_POINT": "26"},
    ),
]


def once(args: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    tic = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mmfusion", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    took = time.perf_counter() - tic
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, None):
        raise SystemExit(f"mmfusion {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return took, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=5, help="runs per case (default 5)")
    ap.add_argument("--limit", type=float, default=1.5, help="seconds a median may take (default 1.5)")
    ns = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print("| case | median wall s | max wall s | median CPU s | runs |")
    print("|---|---|---|---|---|")
    slow = []
    for label, args, env in CASES:
        runs = [once(args, env) for _ in range(ns.n)]
        times = [wall for wall, _ in runs]
        med = statistics.median(times)
        cpu = statistics.median(c for _, c in runs)
        print(f"| {label} | {med:.2f} | {max(times):.2f} | {cpu:.2f} | {ns.n} |", flush=True)
        if med > ns.limit:
            slow.append(label)
    if slow:
        print(f"over {ns.limit} s: {', '.join(slow)}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
