"""ORM rows → the pure ``scoring`` package's dataclasses, and its results back.

Shared by judging (a judge's live total, the stage ranking before advancing entries) and results
(rankings, freeze, exports), so the conversion is written once. Keys are the rows' ids as strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
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


def tie_break_names(stage: Stage) -> list[str]:
    """The criteria the stage's tie-break names, in order (one name per line of tie_break_criteria)."""
    return [line.strip() for line in (stage.tie_break_criteria or "").splitlines() if line.strip()]


def tie_break_steps(stage: Stage) -> list[str]:
    """The stage's tie-break in the engine's spelling, criteria by NAME: ``["criterion:服務", "median"]``
    ("criteria" expands to one step per named criterion). Empty: equal totals share the rank."""
    steps: list[str] = []
    for kind in (k.strip() for k in (stage.tie_break or "").split(",")):
        if kind == "criteria":
            steps += [f"criterion:{name}" for name in tie_break_names(stage)]
        elif kind:
            steps.append(kind)
    return steps


def for_category(config: scoring.AggregationConfig, criteria: Iterable[Criterion]) -> scoring.AggregationConfig:
    """``config`` with its criterion tie-breaks turned from criterion names into the keys (ids) of
    the category's criteria. A name the category lacks stays as it is: the engine then refuses to
    rank the category with a message naming it."""
    if not any(t.kind == "criterion" for t in config.tie_break):
        return config
    keys = {c.name: str(c.id) for c in criteria}
    steps = tuple(scoring.TieBreak.criterion(keys.get(t.key, t.key)) if t.kind == "criterion" else t
                  for t in config.tie_break)
    return replace(config, tie_break=steps)


def stage_config(stage: Stage, category: Category | None = None) -> scoring.AggregationConfig:
    """THE aggregation configuration of ``stage``: method, trim, rounding, decimals, tie-break and the
    too-few-judges policy. With ``category``, ready for the engine (criterion tie-breaks by the
    category's criterion keys); without, the stage-level description (criterion tie-breaks by name),
    as a results payload records it."""
    config = scoring.AggregationConfig(
        method=stage.aggregation.value, trim=stage.trim, trim_level=stage.trim_level,
        round_each_stage=stage.round_each_stage, decimals=stage.decimals,
        tie_break=tuple(tie_break_steps(stage)), too_few_judges=stage.too_few_judges or "error",
    )
    return config if category is None else for_category(config, criteria_for(category, stage))


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
    criteria = criteria_for(category, stage)
    return scoring.rank_category(
        to_criteria(criteria), stage_marks(stage, category),
        for_category(config or stage_config(stage), criteria), tiers=to_tiers(stage.edition),
    )
