"""Evidence for the default `control_interval_h` of the tep-studio TEP simulation.

For a few IDVs (and the normal run) simulate the closed loop at a fine reference control interval
and at coarser ones with the same noise seed, and compare against the reference:

- rms: RMS over time of (x - x_ref) / sd, averaged over the variables (sd: per-variable std of the
  reference normal run; constant variables are left out); it includes the measurement noise, whose
  realisation changes with the interval; rms 1h: the same on 1-hour block means (the dynamics);
- sd ratio: median over the variables of std(x) / std(x_ref): does the interval change the variability;
- sig corr / max dsig: the fault signature = per-variable mean after onset minus that of the normal
  run at the same interval, in sd units; its correlation with the reference signature and the
  largest absolute difference from it;
- wall s: seconds per run (one process per run, `--workers` at a time).

The `seed-to-seed` rows compare two reference runs with different seeds: the natural run-to-run
variation, the floor below which an interval's error is immaterial.

    python scripts/studies/control_interval_study.py --out outputs/control_interval_study.md
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from mmfusion.data.series.simulate import _simulate_run, run_seed


def _timed(args):
    import tep_studio  # noqa: F401 - import outside the timing

    t0 = time.perf_counter()
    x, failure = _simulate_run(*args)
    return x, failure, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faults", default="0,1,2,4,5,10,11", help="IDVs, 0 = normal (always added)")
    ap.add_argument("--intervals", default="0.001,0.0025,0.005,0.01", help="coarser control intervals (h)")
    ap.add_argument("--reference", type=float, default=0.0005, help="reference control interval (h)")
    ap.add_argument("--horizon", type=float, default=25.0)
    ap.add_argument("--onset", type=float, default=1.0)
    ap.add_argument("--sample", type=float, default=0.05, help="sample interval (h)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True, help="markdown file for the tables")
    a = ap.parse_args()

    faults = sorted({0, *(int(f) for f in a.faults.split(","))})
    intervals = [a.reference] + [float(v) for v in a.intervals.split(",")]
    n = round(a.horizon / a.sample)
    other_seed = a.seed + 1

    def job(fault, ci, seed):
        return (fault, run_seed(seed, 0, 0), a.horizon, a.onset, ci, round(a.sample / ci), n)

    # every fault uses the same plant seed (that of the normal run) so the signature is not noise
    specs = [(f, ci, a.seed) for f in faults for ci in intervals] + [(f, a.reference, other_seed) for f in faults]
    with ProcessPoolExecutor(a.workers) as pool:
        out = dict(zip(specs, pool.map(_timed, [job(*s) for s in specs])))
    for s, (x, failure, _) in out.items():
        if x is None:
            raise SystemExit(f"run {s} failed: {failure}")

    ref0 = out[(0, a.reference, a.seed)][0]
    sd = ref0.std(axis=0)
    keep = sd > 1e-6 * (np.abs(ref0.mean(axis=0)) + 1)
    post = slice(int(np.ceil(a.onset / a.sample)), None)

    def sig(fault, ci, seed):
        x, x0 = out[(fault, ci, seed)][0], out[(0, ci, seed)][0]
        return ((x[post].mean(0) - x0[post].mean(0)) / np.where(keep, sd, 1))[keep]

    def compare(fault, ci, seed):
        x, xr = out[(fault, ci, seed)][0], out[(fault, a.reference, a.seed)][0]
        z = ((x - xr) / np.where(keep, sd, 1))[:, keep]
        rms = float(np.sqrt((z**2).mean(0)).mean())
        w = max(1, round(1.0 / a.sample))  # 1 h block means: the dynamics, without the sample noise
        zb = z[: len(z) // w * w].reshape(-1, w, z.shape[1]).mean(1)
        rms_1h = float(np.sqrt((zb**2).mean(0)).mean())
        ratio = float(np.median(x[:, keep].std(0) / xr[:, keep].std(0)))
        if fault == 0:
            return rms, rms_1h, ratio, float("nan"), float("nan")
        s, sr = sig(fault, ci, seed), sig(fault, a.reference, a.seed)
        return rms, rms_1h, ratio, float(np.corrcoef(s, sr)[0, 1]), float(np.abs(s - sr).max())

    rows, summary = [], {}
    for f in faults:
        for ci, seed in [(ci, a.seed) for ci in intervals[1:]] + [(a.reference, other_seed)]:
            rms, rms_1h, ratio, corr, dsig = compare(f, ci, seed)
            label = f"{ci:g}" if seed == a.seed else f"seed-to-seed ({a.reference:g})"
            wall = out[(f, ci, seed)][2]
            rows.append(
                f"| {f} | {label} | {wall:.1f} | {rms:.3f} | {rms_1h:.3f} | {ratio:.3f} | {corr:.3f} | {dsig:.3f} |"
            )
            summary.setdefault(label, []).append((wall, rms, rms_1h, ratio, corr, dsig))
    ref_wall = np.mean([out[(f, a.reference, a.seed)][2] for f in faults])
    lines = [
        f"TEP closed loop, horizon {a.horizon:g} h, onset {a.onset:g} h, samples every {a.sample:g} h, "
        f"reference control interval {a.reference:g} h (wall {ref_wall:.1f} s/run), IDVs {faults}, "
        f"{int(keep.sum())} of {len(keep)} variables non-constant. Errors in units of the normal run's sd.",
        "",
        "| control interval (h) | wall s/run | speed-up | mean rms | mean rms 1h | mean sd ratio | min sig corr | max dsig |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, vals in summary.items():
        w, r, rb, q, c, d = (np.array(v, dtype=float) for v in zip(*vals))
        speed = "" if label.startswith("seed") else f"{ref_wall / w.mean():.1f}x"
        lines.append(
            f"| {label} | {w.mean():.1f} | {speed} | {r.mean():.3f} | {rb.mean():.3f} | {q.mean():.3f} | {np.nanmin(c):.3f} | {np.nanmax(d):.3f} |"
        )
    lines += [
        "",
        "| IDV | control interval (h) | wall s | rms | rms 1h | sd ratio | sig corr | max dsig |",
        "|---|---|---|---|---|---|---|---|",
    ]
    text = "\n".join(lines + rows) + "\n"
    print(text)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)


if __name__ == "__main__":
    main()
