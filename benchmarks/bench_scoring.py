"""Speed of the scoring engine (prints figures; not a timed test).

    python benchmarks/bench_scoring.py [--entries 2000 --judges 15 --criteria 8]

Cases (each in a fresh process pinned to one CPU core, BLAS limited to one thread):

1. ``python -m scoring rank`` on 2,000 entries x 15 judges x 8 criteria (240,000 marks), method
   ``trimmed`` per criterion with two-stage rounding: the whole command, start to exit
   (target < 2 s).
2. The same command with ``--method bias`` (target < 5 s).
3. ``bootstrap_ranks`` with 1,000 judge resamples on 200 entries x 9 judges x 8 criteria, with
   three tiers, trimmed per criterion and bias (target < 5 s); timed in-process around the call.

Reported: best wall time of ``--runs`` runs after a warm-up, the CPU time of that run (robust to
other load on the machine), marks per second, and peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def make_data(directory: Path, entries: int, judges: int, criteria: int, seed: int = 1) -> tuple[Path, Path]:
    """Synthetic marks in steps of 0.5 on 0-10: entry quality + judge leniency + noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    crit_path, score_path = directory / "criteria.csv", directory / "scores.csv"
    weights = [100 // criteria] * criteria
    weights[0] += 100 - sum(weights)
    with crit_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["category", "criterion", "weight", "max_score", "step"])
        for c, w in enumerate(weights):
            writer.writerow(["main", f"c{c + 1}", w, 10, "0.5"])
    quality = rng.normal(6, 1.2, size=(entries, 1, criteria))
    leniency = rng.normal(0, 0.6, size=(1, judges, 1))
    marks = np.clip(np.round((quality + leniency + rng.normal(0, 0.8, (entries, judges, criteria))) * 2) / 2, 0, 10)
    with score_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["category", "entry", "judge", "criterion", "score"])
        for e in range(entries):
            for j in range(judges):
                for c in range(criteria):
                    writer.writerow(["main", f"E{e + 1:05d}", f"J{j + 1:02d}", f"c{c + 1}", f"{marks[e, j, c]:g}"])
    return crit_path, score_path


def run_pinned(argv: list[str]) -> tuple[float, float, float, str]:
    """Run a command on CPU 0 only; return (wall s, CPU s, peak RSS MiB of that process, stdout)."""
    if shutil.which("taskset"):
        argv = ["taskset", "-c", "0", *argv]
    env = {**os.environ, **SINGLE_THREAD, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a deployed install has its .pyc files
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # wait4 gives this child's own peak RSS and CPU time
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"command failed ({process.returncode}): {' '.join(argv)}\n{err.read().decode()}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()  # KiB on Linux


def best_of(runs: int, argv: list[str]) -> tuple[float, float, float, str]:
    """Best wall time of several runs (after one warm-up): other processes on the core only add noise."""
    run_pinned(argv)
    results = [run_pinned(argv) for _ in range(runs)]
    return min(results, key=lambda r: r[0])


def bootstrap_child(entries: int, judges: int, criteria: int, resamples: int, method: str) -> None:
    """Runs inside the pinned child: time only the bootstrap call."""
    import resource

    import numpy as np

    from scoring.diagnostics import bootstrap_ranks
    from decimal import Decimal

    from scoring.model import AggregationConfig, Criterion, Tier
    from scoring.weighted import MarkTable

    rng = np.random.default_rng(2)
    marks = np.round(np.clip(rng.normal(6, 1.5, (entries, 1, criteria)) + rng.normal(0, 1, (entries, judges, criteria)),
                             0, 10) * 2).astype(np.int64) * 5  # units of 0.1, steps of 0.5
    crit = [Criterion(f"c{c}", 100 // criteria + (100 % criteria if c == 0 else 0), 10, step="0.5")
            for c in range(criteria)]
    table = MarkTable(tuple(crit), tuple(f"E{e:04d}" for e in range(entries)), tuple(f"J{j:02d}" for j in range(judges)),
                      marks, np.ones(marks.shape, dtype=bool), 1)
    config = AggregationConfig(method=method, round_each_stage=True)
    tiers = (Tier("gold", quota=3), Tier("silver", quota=10), Tier("merit", min_total=Decimal(60)))
    start, cpu = time.perf_counter(), time.process_time()
    ranks, _ = bootstrap_ranks(table, config, tiers, resamples, seed=0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert not np.isnan(ranks).any()
    print(json.dumps({"seconds": seconds, "cpu": cpu,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--judges", type=int, default=15)
    parser.add_argument("--criteria", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per case (best is shown; default 3)")
    parser.add_argument("--bootstrap-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bootstrap_child:
        *sizes, method = args.bootstrap_child
        bootstrap_child(*map(int, sizes), method)
        return
    marks = args.entries * args.judges * args.criteria
    print(f"scoring benchmark: {args.entries} entries x {args.judges} judges x {args.criteria} criteria "
          f"= {marks:,} marks; one core (taskset -c 0), single-threaded BLAS; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        crit_path, score_path = make_data(Path(tmp), args.entries, args.judges, args.criteria)
        print(f"  (generated {score_path.stat().st_size / 2 ** 20:.1f} MiB of CSV in {time.perf_counter() - started:.1f} s)")
        cases = [("rank trimmed/criterion, two-stage rounding", ["--method", "trimmed", "--round-each-stage"], 2.0),
                 ("rank bias", ["--method", "bias"], 5.0)]
        for label, extra, target in cases:
            out = Path(tmp) / "out.csv"
            wall, cpu, peak, _ = best_of(args.runs, [sys.executable, "-m", "scoring", "rank", str(score_path),
                                                     "--criteria", str(crit_path), *extra, "-o", str(out)])
            rows = sum(1 for _ in out.open()) - 1
            print(f"  {label:<48} {wall:5.2f} s wall, {cpu:5.2f} s CPU (target < {target:.0f} s)  "
                  f"{marks / wall:>9,.0f} marks/s  peak {peak:4.0f} MiB  {rows} rows out")
    for method in ("trimmed", "bias"):
        wall, cpu, peak, out = best_of(args.runs, [sys.executable, str(Path(__file__).resolve()),
                                                   "--bootstrap-child", "200", "9", "8", "1000", method])
        child = json.loads(out)
        label = f"bootstrap 1000 resamples, 200 x 9 x 8, {method}"
        print(f"  {label:<48} {child['seconds']:5.2f} s wall, {child['cpu']:5.2f} s CPU (target < 5 s)  "
              f"{1000 * 200 * 9 * 8 / child['seconds']:>9,.0f} marks/s  peak {peak:4.0f} MiB  "
              f"(whole process {wall:.2f} s)")


if __name__ == "__main__":
    main()
