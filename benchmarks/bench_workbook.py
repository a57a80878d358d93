"""Speed and memory of the results workbook (prints figures; not a timed test).

    python benchmarks/bench_workbook.py [--entries 1000 --judges 20 --criteria 8] [--method trimmed]
                                        [--trim-level total] [--runs 3] [--out FILE.xlsx]

Synthesises a results payload with the scoring engine (no database): ``entries`` entries in one
category (plus a small second one), every judge marking every entry on every criterion, marks on
a 0.5 grid out of 100, trimmed mean at total level with two-stage rounding (the formulas' heaviest
case: a weight formula per judge's sheet), and times ``build_workbook``. Target: 1,000 entries ×
20 judges × 8 criteria (160,000 marks) in under 15 s with peak memory under 500 MB.

Reported: wall and CPU time of each run, file size, the peak of Python allocations during the
build (tracemalloc, in a separate run since tracing slows it down) and the process's peak resident
memory (``ru_maxrss``, which includes the payload and the interpreter).

``synthetic_payload`` is also what tests/results/test_workbook*.py build their engine-made payloads
with.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import scoring  # noqa: E402

COUNTIES = ("臺北市", "新北市", "桃園市", "臺中市", "臺南市", "高雄市", "基隆市", "新竹市", "嘉義市", "新竹縣",
            "苗栗縣", "彰化縣", "南投縣", "雲林縣", "嘉義縣", "屏東縣", "宜蘭縣", "花蓮縣", "臺東縣", "澎湖縣",
            "金門縣", "連江縣")
GEOGRAPHY = {"澎湖縣": "outlying_island", "金門縣": "outlying_island", "連江縣": "outlying_island",
             "臺東縣": "remote", "花蓮縣": "remote"}
WEIGHTS = (15, 15, 10, 10, 15, 10, 15, 10, 20, 5, 25, 25)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def synthetic_category(category_id: int, name: str, n_entries: int, n_judges: int, n_criteria: int,
                       config: scoring.AggregationConfig, tiers: tuple[scoring.Tier, ...], *, seed: int = 1,
                       entry_base: int = 1, judge_base: int = 1, criterion_base: int = 1, max_score: int = 100,
                       step: str = "0.5", weights: tuple[int, ...] | None = None, missing: float = 0.0,
                       titles: dict[int, str] | None = None, agencies: dict[int, dict[str, Any]] | None = None,
                       judges_per_entry: int | None = None) -> dict[str, Any]:
    """One category of a payload, ranked by the scoring engine: entry quality + judge leniency + noise,
    on a ``step`` grid out of ``max_score``. ``missing`` leaves that share of marks out;
    ``judges_per_entry`` gives each entry a rotating subset of the judges (an incomplete design)."""
    rng = np.random.default_rng(seed)
    if weights is None:  # varied weights adding up to 100
        weights = [WEIGHTS[i % len(WEIGHTS)] for i in range(n_criteria)]
        weights[-1] = 100 - sum(weights[:-1]) if sum(weights[:-1]) < 100 else weights[-1]
    weights = tuple(weights)[:n_criteria]
    criteria = [scoring.Criterion(key=str(criterion_base + c), weight=Decimal(weights[c]),
                                  max_score=Decimal(max_score), step=Decimal(step), label=f"面向{c + 1}")
                for c in range(n_criteria)]
    step_value = float(step)
    quality = rng.uniform(0.55, 0.95, n_entries) * max_score
    leniency = rng.normal(0, 0.03 * max_score, n_judges)
    marks = []
    for e in range(n_entries):
        panel = range(n_judges) if judges_per_entry is None else [
            (e + k) % n_judges for k in range(judges_per_entry)]
        for position, j in enumerate(panel):
            for c in range(n_criteria):
                if missing and position > 0 and rng.random() < missing:  # the first judge marks everything
                    continue
                value = quality[e] + leniency[j] + rng.normal(0, 0.05 * max_score)
                value = min(max_score, max(0.0, round(value / step_value) * step_value))
                marks.append(scoring.Mark(entry=str(entry_base + e), judge=str(judge_base + j),
                                          criterion=str(criterion_base + c), score=Decimal(str(value))))
    category = {"id": category_id, "name": name,
                "criteria": [{"id": int(c.key), "name": c.label, "weight": str(c.weight), "min_score": "0",
                              "max_score": str(c.max_score), "step": str(c.step)} for c in criteria],
                "entries": [], "unranked": [], "error": None,
                "marks": [{"entry": int(m.entry), "judge": int(m.judge), "criterion": int(m.criterion),
                           "score": _s(m.score)} for m in marks]}
    try:
        result = scoring.rank_category(criteria, marks, config, tiers=tiers)
    except scoring.ScoringError as exc:
        category["error"] = exc.message
        return category
    for r in result.entries:
        e = int(r.entry)
        county = COUNTIES[e % len(COUNTIES)]
        agency = (agencies or {}).get(e) or {
            "id": e, "code": f"A{e:05d}", "name": f"{county}第{e}機關", "county": county,
            "geography": GEOGRAPHY.get(county, "main_island"), "head_name": f"首長{e}"}
        category["entries"].append({
            "id": e, "title": (titles or {}).get(e, f"廉能透明計畫第{e}號"), "rank": r.rank, "total": _s(r.total),
            "tier": r.tier, "n_judges": r.n_judges, "spread": _s(r.spread),
            "judge_totals": {j: _s(t) for j, t in sorted(r.judge_totals.items())},
            "panel_marks": {c: _s(v) for c, v in sorted(r.panel_marks.items())},
            "trimmed": sorted([list(pair) for pair in r.trimmed]),
            "agency": agency})
    return category


def synthetic_payload(entries: int = 1000, judges: int = 20, criteria: int = 8,
                      config: scoring.AggregationConfig | None = None, *, seed: int = 1,
                      second_category: bool = True, **kwargs: Any) -> dict[str, Any]:
    """A results payload (the shape of ``award.results.payload``) made by the scoring engine."""
    config = config or scoring.AggregationConfig(method="trimmed", trim=1, trim_level="total",
                                                 round_each_stage=True, decimals=2)
    tiers = (scoring.Tier("特優", min_total=Decimal(85), quota=max(1, entries // 50)),
             scoring.Tier("優選", min_total=Decimal(80)))
    categories = [synthetic_category(1, "整體廉能作為類", entries, judges, criteria, config, tiers, seed=seed,
                                     **kwargs)]
    if second_category:
        categories.append(synthetic_category(2, "創新廉能措施類", max(3, entries // 20), judges, criteria, config,
                                             tiers, seed=seed + 1, entry_base=100_000, criterion_base=1000,
                                             **kwargs))
    return {
        "format": 1,
        "edition": {"id": 1, "number": 3, "name": "第3屆透明晶質獎", "year": 2026},
        "stage": {"id": 1, "name": "書面審查", "position": 0, "blind": False},
        "config": config.to_dict(),
        "tiers": [{"name": t.name, "min_total": _s(t.min_total), "quota": t.quota} for t in tiers],
        "judges": [{"id": 1 + j, "name": f"評審委員{j + 1:02d}"} for j in range(judges)],
        "categories": categories,
    }


def workbook_input(payload: dict[str, Any]):
    from award.results.workbook import ChainCheck, WorkbookInput

    return WorkbookInput(payload=payload, exported_at=datetime.now(timezone.utc), snapshot_hash="0" * 64,
                         frozen_at=datetime.now(timezone.utc), exported_by="benchmark",
                         audit_counts={"sheet_submitted": 20000, "results_frozen": 1},
                         chain=ChainCheck(True, 20001, "20001 events, chain intact"), county_order=COUNTIES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--judges", type=int, default=20)
    parser.add_argument("--criteria", type=int, default=8)
    parser.add_argument("--method", default="trimmed")
    parser.add_argument("--trim-level", default="total")
    parser.add_argument("--final-only", action="store_true", help="round only the final total")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--diagnostics", action="store_true",
                        help="also compute the diagnostics (bootstrap 500) and put them in the workbook")
    parser.add_argument("--out", type=Path, help="write the last workbook here")
    args = parser.parse_args()

    from award.results.workbook import build_workbook

    config = scoring.AggregationConfig(method=args.method, trim=1, trim_level=args.trim_level,
                                       round_each_stage=not args.final_only, decimals=2)
    started = time.perf_counter()
    payload = synthetic_payload(args.entries, args.judges, args.criteria, config)
    marks = sum(len(c["marks"]) for c in payload["categories"])
    second = len(payload["categories"][1]["entries"]) if len(payload["categories"]) > 1 else 0
    print(f"payload: {args.entries} + {second} entries x {args.judges} judges x {args.criteria} criteria = "
          f"{marks:,} marks, method {args.method}/{args.trim_level}, made in {time.perf_counter() - started:.1f} s")
    data = workbook_input(payload)
    if args.diagnostics:
        from award.results.export_ops import diagnostics_for

        started = time.perf_counter()
        data.diagnostics = diagnostics_for(payload)
        print(f"diagnostics (bootstrap 500): {time.perf_counter() - started:.1f} s")

    results = []
    for run in range(args.runs):
        wall, cpu = time.perf_counter(), time.process_time()
        blob = build_workbook(data)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        results.append((wall, cpu))
        print(f"run {run + 1}: build_workbook {wall:.2f} s wall, {cpu:.2f} s CPU, {len(blob) / 1e6:.1f} MB")
    if args.out:
        args.out.write_bytes(blob)
        print(f"written to {args.out}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    tracemalloc.start()
    build_workbook(data)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(results)
    print(f"best: {best[0]:.2f} s wall ({best[1]:.2f} s CPU); target < 15 s: {'OK' if best[0] < 15 else 'MISSED'}")
    print(f"peak Python allocations during one build (tracemalloc): {peak / 2**20:.0f} MiB")
    print(f"peak resident memory of the process (ru_maxrss): {rss:.0f} MiB; target < 500 MB: "
          f"{'OK' if rss * 2**20 < 500e6 else 'MISSED'}")


if __name__ == "__main__":
    main()
