"""Benchmark of the automatic assignment (award.judging.assignment): 200 entries × 30 judges,
K = 5, random ties on about 5 % of the (entry, judge) pairs; then the same with a per-judge cap.

Prints the time, the loads (min/max) and the shortfall. A script, not a test: it asserts nothing.
Run: .venv/bin/python benchmarks/bench_assignment.py [entries] [judges] [k] [tie-rate]
"""

from __future__ import annotations

import random
import sys
import time

from award.judging.assignment import EntryItem, JudgeItem, plan_assignment


def instance(n_entries: int, n_judges: int, tie_rate: float, seed: int = 2026):
    rng = random.Random(seed)
    entries = [EntryItem(id=e, category=e % 2) for e in range(1, n_entries + 1)]
    judges = [JudgeItem(id=j) for j in range(1, n_judges + 1)]
    forbidden = {(e.id, j.id) for e in entries for j in judges if rng.random() < tie_rate}
    return entries, judges, forbidden


def run(label: str, entries, judges, k: int, forbidden, spread: bool = False) -> None:
    started = time.perf_counter()
    plan = plan_assignment(entries, judges, k, forbidden=forbidden, spread=spread)
    elapsed = time.perf_counter() - started
    loads = plan.loads.values()
    bad = sum(1 for pair in plan.pairs if pair in forbidden)
    print(f"{label:<38} {elapsed * 1000:8.1f} ms   loads {min(loads)}–{max(loads)}   "
          f"pairs {len(plan.pairs)}   shortfall {len(plan.shortfalls)} entries "
          f"({sum(s.missing for s in plan.shortfalls)} places)   forbidden pairs used {bad}")


def main(argv: list[str]) -> None:
    n_entries = int(argv[1]) if len(argv) > 1 else 200
    n_judges = int(argv[2]) if len(argv) > 2 else 30
    k = int(argv[3]) if len(argv) > 3 else 5
    tie_rate = float(argv[4]) if len(argv) > 4 else 0.05
    entries, judges, forbidden = instance(n_entries, n_judges, tie_rate)
    print(f"{n_entries} entries × {n_judges} judges, K = {k}, {len(forbidden)} forbidden pairs "
          f"({tie_rate:.0%} ties); target < 2 s")
    run("no caps", entries, judges, k, forbidden)
    run("no caps, spread across categories", entries, judges, k, forbidden, spread=True)
    cap = -(-n_entries * k // n_judges)  # the least cap that can cover everything
    capped = [JudgeItem(id=j.id, cap=cap) for j in judges]
    run(f"cap {cap} per judge", entries, capped, k, forbidden)
    tight = [JudgeItem(id=j.id, cap=cap - 3) for j in judges]
    run(f"cap {cap - 3} per judge (cannot cover all)", entries, tight, k, forbidden)
    heavy = instance(n_entries, n_judges, 0.5, seed=7)
    run("50 % ties", heavy[0], heavy[1], k, heavy[2])


if __name__ == "__main__":
    main(sys.argv)
