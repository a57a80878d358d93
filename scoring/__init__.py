"""Scoring engine of the Transparency Crystal Award (透明晶質獎): judges' marks in, defensible
rankings and diagnostics out. Pure Python + numpy/scipy; no web framework. See docs/scoring.md.

Public API::

    Criterion(key, weight, max_score, min_score=Decimal(0), step=None, label="")
    Mark(entry, judge, criterion, score)                  # score: Decimal | None (None = not marked)
    AggregationConfig(method="mean", trim=1, trim_level="criterion", round_each_stage=False,
                      decimals=2, tie_break=(), too_few_judges="error")
    TieBreak.criterion(key) | TieBreak.median() | TieBreak.spread() | TieBreak.parse("criterion:c3")
    Tier(name, min_total=None, quota=None)                # tiers listed best first

    rank_category(criteria, marks, config=None, tiers=()) -> CategoryResult
    diagnose(criteria, marks, config=None, tiers=(), top_k=3, bootstrap=1000, seed=0, level=0.95,
             favour_threshold=3.5, favour_sd_floor=None) -> Diagnostics     # .to_dict() is JSON-ready
    weighted_total(criteria, scores_by_criterion, *, decimals=2, validate=True) -> Decimal
    validate_mark(criterion, score) -> Decimal | None     # raises InvalidMark
    validate_criteria(criteria, total=None) -> tuple[Criterion, ...]      # raises InvalidCriteria

    ScoringError > InvalidCriteria, InvalidConfig, InvalidMark, IncompleteSheet, TooFewJudges,
                   DisconnectedDesign (each with a human ``message``)

Results: ``CategoryResult.entries`` are :class:`EntryResult` (entry, total, rank, tier,
judge_totals, panel_marks, contributions, trimmed, spread, median_total, exact_total, n_judges,
incomplete, fallback), best first.
"""

from .diagnostics import (Agreement, Diagnostics, FavouritismFlag, Influence, JudgeStats, RankChange,
                          RankConfidence, diagnose, icc2, kendall_w, krippendorff_alpha)
from .engine import rank_category
from .model import (AggregationConfig, CategoryResult, Criterion, DisconnectedDesign, EntryResult,
                    IncompleteSheet, InvalidConfig, InvalidCriteria, InvalidMark, Mark, Method, ScoringError,
                    TieBreak, Tier, TooFewJudges, TooFewPolicy, TrimLevel)
from .rounding import round_half_up
from .weighted import validate_criteria, validate_mark, weighted_total

__all__ = [
    "AggregationConfig", "Agreement", "CategoryResult", "Criterion", "Diagnostics", "DisconnectedDesign",
    "EntryResult", "FavouritismFlag", "IncompleteSheet", "Influence", "InvalidConfig", "InvalidCriteria",
    "InvalidMark", "JudgeStats", "Mark", "Method", "RankChange", "RankConfidence", "ScoringError", "TieBreak",
    "Tier", "TooFewJudges", "TooFewPolicy", "TrimLevel", "diagnose", "icc2", "kendall_w", "krippendorff_alpha",
    "rank_category", "round_half_up", "validate_criteria", "validate_mark", "weighted_total",
]
