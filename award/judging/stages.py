"""Stages (評選階段): the panel's discussion view and advancing entries to the next stage.

The discussion (評審會議) shows the panel each other's marks, their spread and the scoring engine's
diagnostics; nobody but the organiser sees any of it before the organiser opens it. Advancing
entries records, on each new ``StageEntry`` and in the audit trail, how the decision was made.
"""

from __future__ import annotations

import statistics
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import scoring

from .. import scoring_adapter
from ..audit import record
from ..audit.checkpoints import checkpoint_at
from ..extensions import db
from ..models import (Assignment, AssignmentStatus, Category, Criterion, Entry, ScoreSheet, SheetStatus, Stage,
                      StageEntry, User, utcnow)
from .rules import tied_agency_ids
from .sheets import plain

BOOTSTRAP = 1000  # judge resamples behind the rank intervals (docs/scoring.md)
METHODS = ("top_n", "threshold", "manual")


class StageError(Exception):
    """A refusal to show the organiser, already in their language; ``fields`` by form field."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


# --- the stage's sequence and progress ----------------------------------------------------------

def next_stage(stage: Stage) -> Stage | None:
    """The stage after ``stage`` in its edition (by position, then id)."""
    later = [s for s in stage.edition.stages if (s.position, s.id) > (stage.position, stage.id)]
    return min(later, key=lambda s: (s.position, s.id), default=None)


def unsubmitted_count(stage: Stage) -> int:
    """Confirmed assignments of the stage whose sheet is not yet submitted (excluded sheets are settled)."""
    assignments = db.session.execute(
        select(Assignment.entry_id, Assignment.judge_id)
        .where(Assignment.stage_id == stage.id, Assignment.status == AssignmentStatus.CONFIRMED)
    ).all()
    settled = set(db.session.execute(
        select(ScoreSheet.entry_id, ScoreSheet.judge_id).where(
            ScoreSheet.stage_id == stage.id,
            (ScoreSheet.status == SheetStatus.SUBMITTED) | ScoreSheet.excluded.is_(True))
    ).all())
    return sum(1 for pair in assignments if tuple(pair) not in settled)


def entries_in(stage: Stage) -> set[int]:
    return set(db.session.scalars(select(StageEntry.entry_id).where(StageEntry.stage_id == stage.id)))


# --- discussion -----------------------------------------------------------------------------------

def set_discussion(organizer: User, stage: Stage, is_open: bool) -> bool:
    """Open or close the stage's discussion view. Returns False when it already was so."""
    if not organizer.is_organizer:
        raise StageError(_("Only an organiser can open or close the discussion."))
    if stage.discussion_open == is_open:
        return False
    before = {"discussion_open": stage.discussion_open}
    stage.discussion_open = is_open
    record("discussion_opened" if is_open else "discussion_closed", stage, actor=organizer, before=before,
           after={"discussion_open": is_open, "stage": stage.name})
    db.session.commit()
    return True


def discussion_entry_ids(viewer: User, stage: Stage) -> set[int] | None:
    """The entries whose panel marks ``viewer`` may see: every entry for an organiser (None); for a
    judge, only while the discussion is open, the entries of their confirmed assignments in the
    stage, never an agency they are tied to."""
    if viewer.is_organizer:
        return None
    if not viewer.is_judge or not stage.discussion_open:
        return set()
    rows = db.session.execute(
        select(Entry.id, Entry.agency_id).join(Assignment, Assignment.entry_id == Entry.id)
        .where(Assignment.stage_id == stage.id, Assignment.judge_id == viewer.id,
               Assignment.status == AssignmentStatus.CONFIRMED)
    ).all()
    tied = tied_agency_ids(viewer.id)
    return {entry_id for entry_id, agency_id in rows if agency_id not in tied}


def judge_has_confirmed(viewer: User, stage: Stage) -> bool:
    return bool(db.session.scalar(select(func.count(Assignment.id)).where(
        Assignment.stage_id == stage.id, Assignment.judge_id == viewer.id,
        Assignment.status == AssignmentStatus.CONFIRMED)))


@dataclass
class Spread:
    """One criterion's marks on one entry, by judge label."""

    criterion: Criterion
    marks: list[tuple[str, Decimal]]

    @property
    def values(self) -> list[Decimal]:
        return [score for _label, score in self.marks]

    @property
    def low(self) -> Decimal | None:
        return min(self.values, default=None)

    @property
    def high(self) -> Decimal | None:
        return max(self.values, default=None)

    @property
    def mean(self) -> float | None:
        return float(statistics.fmean(self.values)) if self.values else None

    @property
    def sd(self) -> float | None:
        """Sample standard deviation (n − 1); None with fewer than two marks."""
        return statistics.stdev(float(v) for v in self.values) if len(self.values) >= 2 else None


@dataclass
class EntryPanel:
    entry: Entry
    spreads: list[Spread]
    totals: list[tuple[str, Decimal]]  # each judge's weighted total


@dataclass
class Flag:
    judge: str
    entry: Entry
    direction: str
    deviation: float
    z: float


@dataclass
class Change:
    judge: str
    entry: Entry
    rank_before: int | None
    rank_after: int | None
    tier_before: str | None
    tier_after: str | None


@dataclass
class CategoryPanel:
    category: Category
    criteria: list[Criterion]
    entries: list[EntryPanel] = field(default_factory=list)
    diagnostics: scoring.Diagnostics | None = None
    problem: str | None = None
    flags: list[Flag] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def judge_labels(stage: Stage, viewer: User) -> dict[str, str]:
    """Judge id (as the engine keys it) → how the viewer sees them: names for an organiser,
    委員A, 委員B … (stable within the stage, by account id) for the panel."""
    judges = db.session.execute(
        select(User.id, User.name).join(ScoreSheet, ScoreSheet.judge_id == User.id)
        .where(ScoreSheet.stage_id == stage.id).distinct().order_by(User.id)
    ).all()
    if viewer.is_organizer:
        return {str(judge_id): name for judge_id, name in judges}
    labels = {}
    for index, (judge_id, _name) in enumerate(judges):
        letter = _letters(index)
        labels[str(judge_id)] = (_("Judge %(letter)s (you)", letter=letter) if judge_id == viewer.id
                                 else _("Judge %(letter)s", letter=letter))
    return labels


def _letters(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def discussion(stage: Stage, viewer: User, bootstrap: int = 0) -> list[CategoryPanel]:
    """Per category, the panel's submitted marks on the entries ``viewer`` may see, and the
    engine's diagnostics (flags and leave-one-judge-out changes only on those entries; rank
    intervals are on the advancement page, so no bootstrap here unless asked)."""
    visible = discussion_entry_ids(viewer, stage)
    labels = judge_labels(stage, viewer)
    panels = []
    for category in stage.edition.categories:
        panel = _category_panel(stage, category, visible, labels, bootstrap)
        if panel.entries or (visible is None and panel.problem):
            panels.append(panel)
    return panels


def _category_panel(stage: Stage, category: Category, visible: set[int] | None, labels: dict[str, str],
                    bootstrap: int) -> CategoryPanel:
    criteria = scoring_adapter.criteria_for(category, stage)
    panel = CategoryPanel(category, criteria)
    marks = scoring_adapter.stage_marks(stage, category)
    entry_ids = sorted({int(m.entry) for m in marks if visible is None or int(m.entry) in visible})
    entries = {e.id: e for e in db.session.scalars(select(Entry).where(Entry.id.in_(entry_ids)))}
    for entry_id in entry_ids:
        panel.entries.append(_entry_panel(entries[entry_id], criteria, marks, labels))
    if not marks or not panel.entries:
        return panel
    try:
        panel.diagnostics = scoring.diagnose(
            scoring_adapter.to_criteria(criteria), marks, scoring_adapter.stage_config(stage, category),
            tiers=scoring_adapter.to_tiers(stage.edition), bootstrap=bootstrap)
    except scoring.ScoringError as error:
        panel.problem = error.message
        return panel
    _flags_and_changes(panel, entries, labels)
    return panel


def _entry_panel(entry: Entry, criteria: list[Criterion], marks: list[scoring.Mark],
                 labels: dict[str, str]) -> EntryPanel:
    mine = [m for m in marks if m.entry == str(entry.id) and m.score is not None]
    spreads = [Spread(c, [(labels.get(m.judge, m.judge), m.score) for m in mine if m.criterion == str(c.id)])
               for c in criteria]
    engine_criteria = scoring_adapter.to_criteria(criteria)
    totals = []
    for judge in sorted({m.judge for m in mine}, key=int):
        scores = {m.criterion: m.score for m in mine if m.judge == judge}
        totals.append((labels.get(judge, judge), scoring.weighted_total(engine_criteria, scores)))
    return EntryPanel(entry, spreads, totals)


def _flags_and_changes(panel: CategoryPanel, entries: dict[int, Entry], labels: dict[str, str]) -> None:
    diagnostics = panel.diagnostics
    for flag in diagnostics.favouritism:
        entry = entries.get(int(flag.entry))
        if entry is not None:
            panel.flags.append(Flag(labels.get(flag.judge, flag.judge), entry, flag.direction, flag.deviation, flag.z))
    for influence in diagnostics.influence:
        for change in influence.changes:
            entry = entries.get(int(change.entry))
            if entry is not None:
                panel.changes.append(Change(labels.get(influence.judge, influence.judge), entry, change.rank_before,
                                            change.rank_after, change.tier_before, change.tier_after))


# --- the ranking before advancing ----------------------------------------------------------------

@dataclass
class RankRow:
    entry: Entry
    result: scoring.EntryResult | None
    confidence: scoring.RankConfidence | None
    advanced: bool  # already in the next stage


@dataclass
class CategoryRanking:
    category: Category
    rows: list[RankRow] = field(default_factory=list)
    problem: str | None = None
    confidence_problem: str | None = None
    level: float = 0.95
    top_k: int = 3


def ranking(stage: Stage, bootstrap: int | None = BOOTSTRAP) -> list[CategoryRanking]:
    """Per category: the stage's ranking under its method, each entry's bootstrap rank interval
    (``bootstrap=None`` skips the diagnostics), and the stage's entries nobody has scored yet
    (unranked, at the end)."""
    following = next_stage(stage)
    already = entries_in(following) if following else set()
    in_stage = entries_in(stage)
    return [_category_ranking(stage, category, in_stage, already, bootstrap) for category in stage.edition.categories]


def _category_ranking(stage: Stage, category: Category, in_stage: set[int], already: set[int],
                      bootstrap: int | None) -> CategoryRanking:
    found = CategoryRanking(category)
    result = None
    try:
        result = scoring_adapter.rank(stage, category)
    except scoring.ScoringError as error:
        found.problem = error.message
    confidence: dict[str, scoring.RankConfidence] = {}
    if result is not None and result.entries and bootstrap is not None:
        try:
            diagnostics = scoring.diagnose(
                scoring_adapter.to_criteria(scoring_adapter.criteria_for(category, stage)),
                scoring_adapter.stage_marks(stage, category), scoring_adapter.stage_config(stage, category),
                tiers=scoring_adapter.to_tiers(stage.edition), bootstrap=bootstrap)
            confidence = {c.entry: c for c in diagnostics.rank_confidence}
            found.level, found.top_k = diagnostics.level, diagnostics.top_k
        except scoring.ScoringError as error:
            found.confidence_problem = error.message
    ranked = {int(r.entry): r for r in result.entries} if result is not None else {}
    ids = set(ranked) | {e for e in in_stage}
    entries = {e.id: e for e in db.session.scalars(
        select(Entry).where(Entry.id.in_(ids), Entry.category_id == category.id))}
    for entry_id, entry_result in ranked.items():
        if entry_id in entries:
            found.rows.append(RankRow(entries[entry_id], entry_result, confidence.get(str(entry_id)),
                                      entry_id in already))
    for entry_id in sorted(set(entries) - set(ranked)):
        found.rows.append(RankRow(entries[entry_id], None, None, entry_id in already))
    return found


# --- advancing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdvanceRequest:
    method: str  # "top_n" | "threshold" | "manual"
    top_n: int | None = None
    threshold: Decimal | None = None
    entry_ids: frozenset[int] = frozenset()
    force: bool = False  # advance although some sheets are not submitted


@dataclass
class Advanced:
    to_stage: Stage
    entries: list[tuple[Entry, str]]  # (entry, basis)
    skipped: list[Entry]  # already in the next stage


def _check_request(req: AdvanceRequest) -> None:
    fields: dict[str, list[str]] = {}
    if req.method not in METHODS:
        fields["method"] = [_("Choose how to select the entries.")]
    elif req.method == "top_n" and (req.top_n is None or req.top_n < 1):
        fields["top_n"] = [_("Enter how many entries per category advance (1 or more).")]
    elif req.method == "threshold" and (req.threshold is None or not req.threshold.is_finite()):
        fields["threshold"] = [_("Enter the lowest total that advances.")]
    elif req.method == "manual" and not req.entry_ids:
        fields["entries"] = [_("Tick the entries that advance.")]
    if fields:
        raise StageError(_("Nothing was decided. Please correct the marked fields."), fields)


def _selected(req: AdvanceRequest, rankings: list[CategoryRanking]) -> list[tuple[CategoryRanking, RankRow]]:
    chosen = []
    for ranking_ in rankings:
        if req.method != "manual" and ranking_.problem:
            raise StageError(_("The ranking of %(category)s cannot be computed: %(problem)s",
                               category=ranking_.category.name, problem=ranking_.problem))
        for row in ranking_.rows:
            if req.method == "manual":
                keep = row.entry.id in req.entry_ids
            elif row.result is None:
                keep = False
            elif req.method == "top_n":
                keep = row.result.rank <= req.top_n
            else:
                keep = row.result.total >= req.threshold
            if keep:
                chosen.append((ranking_, row))
    return chosen


def _basis(req: AdvanceRequest, stage: Stage, ranking_: CategoryRanking, row: RankRow, unsubmitted: int) -> str:
    method = {"top_n": f"top {req.top_n} per category", "manual": "chosen by hand",
              "threshold": f"total at least {plain(req.threshold)}"}[req.method]
    ranked = [r for r in ranking_.rows if r.result is not None]
    if row.result is not None:
        place = f"rank {row.result.rank} of {len(ranked)}, total {row.result.total}"
    else:
        place = "not ranked (no submitted sheets)"
    text = (f"{method} of {ranking_.category.name} in {stage.name}, aggregation {stage.aggregation.value}"
            f" (trim {stage.trim}, {stage.trim_level}): {place}")
    if req.force and unsubmitted:
        text += f"; advanced with {unsubmitted} score sheet(s) of the stage not submitted"
    return text


def advance_entries(organizer: User, stage: Stage, req: AdvanceRequest) -> Advanced:
    """Put the chosen entries of ``stage`` into the next stage, each with the basis of the decision.

    Refuses (``StageError``, nothing written) when the caller is not an organiser, there is no next
    stage, the request is incomplete, some sheets of the stage are not submitted (unless
    ``req.force``), the ranking cannot be computed (top-N and threshold), or nothing new would
    advance. Audit: ``entries_advanced`` with the method, its parameter, the aggregation, and each
    entry's rank, total and basis.
    """
    if not organizer.is_organizer:
        raise StageError(_("Only an organiser can advance entries."))
    following = next_stage(stage)
    if following is None:
        raise StageError(_("%(stage)s is the last stage of the edition: there is no stage to advance entries to.",
                           stage=stage.name))
    _check_request(req)
    unsubmitted = unsubmitted_count(stage)
    if unsubmitted and not req.force:
        raise StageError(_("%(count)d score sheet(s) of this stage are not submitted yet. Wait for them, or tick "
                           "“advance anyway” (this is recorded with the decision).", count=unsubmitted),
                         {"force": [_("Tick to advance although sheets are missing.")]})
    rankings = ranking(stage, bootstrap=None)  # the decision rests on ranks and totals only
    in_stage = {row.entry.id for r in rankings for row in r.rows}
    if req.method == "manual" and not req.entry_ids <= in_stage:
        raise StageError(_("Some of the ticked entries are not in this stage."))
    chosen = _selected(req, rankings)
    new = [(r, row) for r, row in chosen if not row.advanced]
    if not new:
        raise StageError(_("No entry meets the choice, or every chosen entry is already in %(stage)s.",
                           stage=following.name))
    return _write_advance(organizer, stage, following, req, new, [row.entry for _r, row in chosen if row.advanced],
                          unsubmitted)


def _write_advance(organizer: User, stage: Stage, following: Stage, req: AdvanceRequest,
                   new: list[tuple[CategoryRanking, RankRow]], skipped: list[Entry], unsubmitted: int) -> Advanced:
    now = utcnow()
    done = []
    for ranking_, row in new:
        basis = _basis(req, stage, ranking_, row, unsubmitted)
        db.session.add(StageEntry(stage_id=following.id, entry_id=row.entry.id, basis=basis,
                                  decided_by_id=organizer.id, decided_at=now))
        done.append((ranking_, row, basis))
    after: dict[str, Any] = {
        "from_stage": {"id": stage.id, "name": stage.name}, "to_stage": {"id": following.id, "name": following.name},
        "method": req.method, "top_n": req.top_n if req.method == "top_n" else None,
        "threshold": plain(req.threshold) if req.method == "threshold" else None,
        "aggregation": stage.aggregation.value, "trim": stage.trim, "trim_level": stage.trim_level,
        "forced": bool(req.force and unsubmitted), "unsubmitted_sheets": unsubmitted,
        "entries": [{"entry_id": row.entry.id, "category": r.category.name,
                     "rank": row.result.rank if row.result else None,
                     "total": str(row.result.total) if row.result else None, "basis": basis}
                    for r, row, basis in done],
        "already_in_next_stage": [e.id for e in skipped],
    }
    try:
        record("entries_advanced", following, actor=organizer, after=after)
        checkpoint_at(f"stage advanced: {stage.name} -> {following.name}", organizer)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise StageError(_("Nothing was decided: someone else advanced entries at the same time. Please reload the "
                           "page and try again.")) from None
    return Advanced(following, [(row.entry, basis) for _r, row, basis in done], skipped)
