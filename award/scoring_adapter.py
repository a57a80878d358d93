"""ORM rows → the pure ``scoring`` package's dataclasses, and its results back.

Shared by judging (a judge's live total, the stage ranking before advancing entries) and results
(rankings, freeze, exports), so the conversion is written once. Keys are the rows' ids as strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from sqlalchemy import select

import scoring

from .extensions import db
from .models import (AwardTier, Category, Criterion, Edition, Entry, Mark, ScoreSheet, SheetStatus, Stage,
                     StageEntry)


def stage_own_criteria(category: Category, stage: Stage) -> list[Criterion]:
    """The criteria ``stage`` defined for ``category`` itself (empty: it uses the category's)."""
    if stage.id is None or category.id is None:
        return []
    return list(db.session.scalars(
        select(Criterion).where(Criterion.category_id == category.id, Criterion.stage_id == stage.id)
        .order_by(Criterion.position, Criterion.id)
    ))


def criteria_for(category: Category, stage: Stage | None = None) -> list[Criterion]:
    """THE criteria of category C in stage S: the stage's own criteria for the category if it
    defined any (e.g. a shorter set for the site visit), else the category's. Without a stage, the
    category's. Every consumer (score sheets and their checks, live totals, offline sheets,
    rankings, freeze, exports, discussion) asks this function, never ``category.criteria``."""
    if stage is not None:
        own = stage_own_criteria(category, stage)
        if own:
            return own
    return list(category.criteria)


def to_criteria(criteria: Iterable[Criterion]) -> tuple[scoring.Criterion, ...]:
    return tuple(
        scoring.Criterion(key=str(c.id), weight=c.weight, max_score=c.max_score, min_score=c.min_score,
                          step=c.step, label=c.name)
        for c in criteria
    )


def stage_config(stage: Stage) -> scoring.AggregationConfig:
    return scoring.AggregationConfig(
        method=stage.aggregation.value, trim=stage.trim, trim_level=stage.trim_level,
        round_each_stage=stage.round_each_stage, decimals=stage.decimals,
    )


def to_tiers(edition: Edition) -> tuple[scoring.Tier, ...]:
    tiers: list[AwardTier] = sorted(edition.tiers, key=lambda t: t.position)
    return tuple(scoring.Tier(name=t.name, min_total=t.min_total, quota=t.quota) for t in tiers)


def live_total(criteria: Iterable[Criterion], scores: Mapping[int, Decimal | None], decimals: int = 2) -> Decimal:
    """A judge's weighted total on one sheet so far (unmarked criteria ignored)."""
    return scoring.weighted_total(to_criteria(criteria), {str(k): v for k, v in scores.items()}, decimals=decimals)


def stage_entries(stage: Stage, category: Category) -> list[Entry]:
    return list(db.session.scalars(
        select(Entry).join(StageEntry, StageEntry.entry_id == Entry.id)
        .where(StageEntry.stage_id == stage.id, Entry.category_id == category.id).order_by(Entry.id)
    ))


def stage_marks(stage: Stage, category: Category) -> list[scoring.Mark]:
    """Every mark of the submitted, not excluded sheets of the category's entries in the stage."""
    rows = db.session.execute(
        select(ScoreSheet.entry_id, ScoreSheet.judge_id, Mark.criterion_id, Mark.score)
        .join(Mark, Mark.sheet_id == ScoreSheet.id)
        .join(Entry, Entry.id == ScoreSheet.entry_id)
        .where(ScoreSheet.stage_id == stage.id, Entry.category_id == category.id,
               ScoreSheet.status == SheetStatus.SUBMITTED, ScoreSheet.excluded.is_(False))
        .order_by(ScoreSheet.entry_id, ScoreSheet.judge_id, Mark.criterion_id)
    )
    return [scoring.Mark(entry=str(e), judge=str(j), criterion=str(c), score=s) for e, j, c, s in rows]


def rank(stage: Stage, category: Category, config: scoring.AggregationConfig | None = None) -> scoring.CategoryResult:
    """The category's ranking in the stage under the stage's method (or ``config`` for a what-if)."""
    return scoring.rank_category(
        to_criteria(criteria_for(category, stage)), stage_marks(stage, category),
        config or stage_config(stage), tiers=to_tiers(stage.edition),
    )
