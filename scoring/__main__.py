"""Command line: ``python -m scoring rank|diagnose SCORES.csv --criteria CRITERIA.csv [...]``.

Exit status 0 on success, 2 on bad input or arguments (message on standard error, never a
traceback, and ``-o`` never leaves a partial file). The contract is documented in docs/scoring.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Sequence

from .csvio import atomic_write, ranking_csv, read_criteria, read_scores, read_tiers
from .model import AggregationConfig, InvalidConfig, Method, ScoringError, TieBreak, TooFewPolicy, TrimLevel

EXIT_OK, EXIT_INPUT = 0, 2


def _decimal_or_none(text: str) -> Decimal | None:
    if text.lower() in ("none", "any", "off"):
        return None
    try:
        return Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring", description="Rank entries from judges' marks and diagnose the judging.",
        epilog="Example: python -m scoring rank scores.csv --criteria criteria.csv --method trimmed "
               "--round-each-stage -o ranking.csv. Exit status 0 on success, 2 on bad input (the message names "
               "file, line and column). Full contract: docs/scoring.md.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in (("rank", "print the ranking as CSV"), ("diagnose", "print agreement, judge, influence, "
                                                                   "favouritism and rank-confidence diagnostics")):
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.add_argument("scores", metavar="SCORES.csv", help="category,entry,judge,criterion,score (one mark a row)")
        sub.add_argument("--criteria", required=True, metavar="CRITERIA.csv",
                         help="category,criterion,weight,max_score[,min_score,step,label]")
        sub.add_argument("--method", choices=[m.value for m in Method], default="mean")
        sub.add_argument("--trim", type=int, default=1, metavar="N", help="marks dropped at each end (default 1)")
        sub.add_argument("--trim-level", choices=[t.value for t in TrimLevel], default="criterion")
        sub.add_argument("--round-each-stage", action="store_true",
                         help="round panel marks, then weighted contributions, then sum (sports rule)")
        sub.add_argument("--decimals", type=int, default=2, help="displayed decimals (default 2)")
        sub.add_argument("--tie-break", action="append", default=[], metavar="RULE",
                         help="criterion:KEY, median or spread; repeat for a sequence")
        sub.add_argument("--too-few-judges", choices=[p.value for p in TooFewPolicy], default="error")
        sub.add_argument("--tiers", metavar="TIERS.csv", help="category,tier[,min_total][,quota], best first")
        sub.add_argument("--weight-total", type=_decimal_or_none, default=Decimal(100), metavar="POINTS",
                         help="each category's weights must add up to this (default 100; 'any' to skip)")
        sub.add_argument("-o", "--output", metavar="OUT", help="write here instead of standard output")
        if name == "diagnose":
            sub.add_argument("--top-k", type=int, default=3, help="places watched by the influence check")
            sub.add_argument("--bootstrap", type=int, default=1000, help="judge resamples (0 to skip)")
            sub.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
            sub.add_argument("--level", type=float, default=0.95, help="rank interval level (default 0.95)")
            sub.add_argument("--favour-threshold", type=float, default=3.5, help="|z| that raises a flag")
            sub.add_argument("--json", action="store_true", help="JSON instead of the text report")
    return parser


def _config(args: argparse.Namespace) -> AggregationConfig:
    return AggregationConfig(method=args.method, trim=args.trim, trim_level=args.trim_level,
                             round_each_stage=args.round_each_stage, decimals=args.decimals,
                             tie_break=tuple(TieBreak.parse(t) for t in args.tie_break),
                             too_few_judges=args.too_few_judges)


def _load(args: argparse.Namespace):
    config = _config(args)
    criteria = read_criteria(args.criteria, args.weight_total)
    tables = read_scores(args.scores, criteria)
    tiers = read_tiers(args.tiers, list(criteria)) if args.tiers else {}
    return config, criteria, tables, tiers


def _per_category(args, tables, action):
    results = {}
    for category, table in tables.items():
        try:
            results[category] = action(category, table)
        except ScoringError as exc:
            if isinstance(exc, InvalidConfig):
                raise
            raise ScoringError(f"{args.scores}, category {category!r}: {exc.message}") from None
    return results


def cmd_rank(args: argparse.Namespace) -> str:
    from .engine import rank_table

    config, _, tables, tiers = _load(args)
    return ranking_csv(_per_category(args, tables, lambda cat, t: rank_table(t, config, tiers.get(cat, ()))))


def cmd_diagnose(args: argparse.Namespace) -> str:
    from .diagnostics import diagnose_table, format_text

    config, _, tables, tiers = _load(args)
    if not 0 < args.level < 1:
        raise InvalidConfig(f"--level must be between 0 and 1, got {args.level}")
    if args.bootstrap < 0 or args.top_k < 1:
        raise InvalidConfig("--bootstrap must be >= 0 and --top-k >= 1")
    found = _per_category(args, tables, lambda cat, t: diagnose_table(
        t, config, tiers.get(cat, ()), top_k=args.top_k, bootstrap=args.bootstrap, seed=args.seed,
        level=args.level, favour_threshold=args.favour_threshold))
    if args.json:
        return json.dumps({cat: d.to_dict() for cat, d in found.items()}, ensure_ascii=False, indent=2) + "\n"
    return "\n".join(format_text(d, f"category {cat}") for cat, d in found.items())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        text = cmd_rank(args) if args.command == "rank" else cmd_diagnose(args)
        if args.output:
            atomic_write(args.output, text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    except ScoringError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        where = exc.filename or "output"
        print(f"error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
