"""Setting up an edition (屆次): the edition itself, its categories and their criteria, its
stages and award tiers, and its status.

Every function checks everything first and raises ``EditionError`` before touching the database,
then writes, records the audit event and commits: a refusal leaves the database as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import scoring_adapter
from ..audit import record
from ..audit.checkpoints import checkpoint_at
from ..extensions import db
from ..i18n import TAIPEI
from ..labels import EDITION_STATUS
from ..models import (Aggregation, AwardTier, Category, Criterion, Edition, EditionStatus, Entry, EntryStatus, Mark,
                      ScoreSheet, Stage, utcnow)
from ..models.editions import TIE_BREAK_STEPS, TOO_FEW_POLICIES
from ..results.operations import is_frozen, is_frozen_locked

MAX_CRITERIA = 30
MAX_JUDGES = 50
MAX_SECTION_CHARS = 100_000
DEFAULT_SECTION_CHARS = 3000
TRIM_LEVELS = ("total", "criterion")
MAX_TIE_BREAK_CRITERIA = 10
AWARD_TEXT_LIMIT = 500
_PLACES = 4  # scores and weights are Numeric(9, 4)
_LARGEST = Decimal("99999.9999")

# Which status may follow which. The checks of each move are in ``transition_problems``.
TRANSITIONS: dict[EditionStatus, tuple[EditionStatus, ...]] = {
    EditionStatus.DRAFT: (EditionStatus.OPEN,),
    EditionStatus.OPEN: (EditionStatus.DRAFT, EditionStatus.JUDGING),
    EditionStatus.JUDGING: (EditionStatus.OPEN, EditionStatus.CLOSED),
    EditionStatus.CLOSED: (EditionStatus.JUDGING,),
}


class EditionError(Exception):
    """A refusal to show the organiser, already in their language.

    ``messages`` concern the whole form; ``fields`` maps a form field's name (for criteria rows
    ``criteria-<row>-<field>``, as WTForms names them) to the problems with that field.
    """

    def __init__(self, messages: str | list[str] | None = None, fields: dict[str, list[str]] | None = None):
        self.messages = [messages] if isinstance(messages, str) else list(messages or [])
        self.fields = fields or {}
        self.message = " ".join(self.messages + [m for ms in self.fields.values() for m in ms])
        super().__init__(self.message)


class _Problems:
    """Collects every problem of a submission, so the organiser sees them all at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.fields: dict[str, list[str]] = {}

    def add(self, message: str, field_name: str | None = None) -> None:
        if field_name is None:
            self.messages.append(message)
        else:
            self.fields.setdefault(field_name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.messages or self.fields)

    def raise_any(self) -> None:
        if self:
            raise EditionError(self.messages, self.fields)


@contextmanager
def _saving() -> Iterator[None]:
    """Commit the block's writes; a clash with a concurrent change saves nothing and says so."""
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EditionError(_("Nothing was saved: someone else changed the same records at the same time. "
                             "Please reload the page and try again.")) from None


# --- numbers and times --------------------------------------------------------------------------

def plain(value: Decimal | None) -> str:
    """A Decimal without trailing zeros or exponent: 20.0000 → "20", 0.5000 → "0.5"."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _decimal_problem(value: Decimal | None, *, required: bool = True) -> str | None:
    if value is None:
        return _("Enter a number.") if required else None
    if not value.is_finite():
        return _("Enter a number.")
    if value.normalize().as_tuple().exponent < -_PLACES:
        return _("Use at most %(n)d decimal places.", n=_PLACES)
    if abs(value) > _LARGEST:
        return _("This number is too large.")
    return None


def to_utc(value: datetime | None) -> datetime | None:
    """Aware UTC for storage. A naive value (from the CLI) is read as Taipei time, like the forms."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=TAIPEI)
    return value.astimezone(timezone.utc).replace(second=0, microsecond=0)


def status_label(status: EditionStatus) -> str:
    return str(EDITION_STATUS[status])


# --- queries shared by the views ----------------------------------------------------------------

def all_editions() -> list[Edition]:
    return list(db.session.scalars(select(Edition).order_by(Edition.number.desc())))


def entry_counts(edition: Edition) -> dict[int, int]:
    """Entries per category id of the edition (categories without entries are absent)."""
    rows = db.session.execute(
        select(Entry.category_id, func.count(Entry.id)).join(Category, Category.id == Entry.category_id)
        .where(Category.edition_id == edition.id).group_by(Entry.category_id)
    )
    return {category_id: count for category_id, count in rows}


def _has_entries(edition: Edition) -> bool:
    return bool(entry_counts(edition))


def _has_scores(edition: Edition) -> bool:
    return db.session.scalar(
        select(Mark.id).join(Criterion, Criterion.id == Mark.criterion_id)
        .join(Category, Category.id == Criterion.category_id)
        .where(Category.edition_id == edition.id, Mark.score.is_not(None)).limit(1)
    ) is not None


@dataclass(frozen=True)
class CriterionLock:
    scored: bool  # a judge has given a score: weight, range and step are fixed
    marked: bool  # a judge's sheet refers to it at all: it cannot be removed


def own_criteria(category: Category, stage: Stage | None = None) -> list[Criterion]:
    """The criteria the editor edits: the category's own, or (with ``stage``) the ones that stage
    defined for the category itself — empty when the stage judges on the category's."""
    return list(category.criteria) if stage is None else scoring_adapter.stage_own_criteria(category, stage)


def stage_criteria_by_category(edition: Edition) -> dict[tuple[int, int], list[Criterion]]:
    """(stage id, category id) → that stage's own criteria for the category, for the edition's page."""
    found: dict[tuple[int, int], list[Criterion]] = {}
    for criterion in db.session.scalars(
            select(Criterion).join(Stage, Stage.id == Criterion.stage_id)
            .where(Stage.edition_id == edition.id).order_by(Criterion.position, Criterion.id)):
        found.setdefault((criterion.stage_id, criterion.category_id), []).append(criterion)
    return found


def stage_scoring_started(category: Category, stage: Stage) -> bool:
    """Whether a judge has saved a mark in ``stage`` on an entry of ``category``."""
    return db.session.scalar(
        select(Mark.id).join(ScoreSheet, ScoreSheet.id == Mark.sheet_id).join(Entry, Entry.id == ScoreSheet.entry_id)
        .where(ScoreSheet.stage_id == stage.id, Entry.category_id == category.id).limit(1)
    ) is not None


def criterion_locks(category: Category, stage: Stage | None = None) -> dict[int, CriterionLock]:
    """Locks of the category's criteria (or the stage's own for it) that judges have started on
    (others are absent)."""
    ids = [c.id for c in own_criteria(category, stage) if c.id is not None]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Mark.criterion_id, func.count(Mark.score)).where(Mark.criterion_id.in_(ids))
        .group_by(Mark.criterion_id)
    )
    return {criterion_id: CriterionLock(scored=scored > 0, marked=True) for criterion_id, scored in rows}


# --- audit views --------------------------------------------------------------------------------

def edition_view(edition: Edition) -> dict[str, Any]:
    return {"number": edition.number, "year": edition.year, "name": edition.name, "status": edition.status,
            "submission_opens_at": edition.submission_opens_at, "submission_deadline": edition.submission_deadline}


def category_view(category: Category) -> dict[str, Any]:
    return {"edition_id": category.edition_id, "name": category.name, "description": category.description,
            "position": category.position, "total_points": plain(category.total_points)}


def criterion_view(criterion: Criterion) -> dict[str, Any]:
    return {"id": criterion.id, "name": criterion.name, "description": criterion.description,
            "position": criterion.position, "weight": plain(criterion.weight), "min_score": plain(criterion.min_score),
            "max_score": plain(criterion.max_score), "step": plain(criterion.step),
            "section_char_limit": criterion.section_char_limit}


def criteria_view(category: Category) -> list[dict[str, Any]]:
    return [criterion_view(c) for c in sorted(category.criteria, key=lambda c: c.position)]


def stage_view(stage: Stage) -> dict[str, Any]:
    return {"edition_id": stage.edition_id, "name": stage.name, "position": stage.position,
            "opens_at": stage.opens_at, "closes_at": stage.closes_at, "judges_per_entry": stage.judges_per_entry,
            "aggregation": stage.aggregation, "trim": stage.trim, "trim_level": stage.trim_level,
            "round_each_stage": stage.round_each_stage, "decimals": stage.decimals, "blind": stage.blind,
            "tie_break": stage.tie_break, "tie_break_criteria": stage.tie_break_criteria,
            "too_few_judges": stage.too_few_judges}


def tier_view(tier: AwardTier) -> dict[str, Any]:
    return {"edition_id": tier.edition_id, "name": tier.name, "position": tier.position,
            "min_total": plain(tier.min_total) or None, "quota": tier.quota, "award_text": tier.award_text}


# --- editions -----------------------------------------------------------------------------------

@dataclass
class EditionData:
    number: int
    year: int
    name: str
    submission_opens_at: datetime | None = None
    submission_deadline: datetime | None = None


def _check_edition(data: EditionData, edition: Edition | None) -> None:
    problems = _Problems()
    clash = db.session.scalar(select(Edition.id).where(Edition.number == data.number))
    if clash is not None and (edition is None or clash != edition.id):
        problems.add(_("Edition %(number)d already exists.", number=data.number), "number")
    if not data.name.strip():
        problems.add(_("Give the edition a name."), "name")
    opens, deadline = to_utc(data.submission_opens_at), to_utc(data.submission_deadline)
    if opens and deadline and deadline <= opens:
        problems.add(_("The deadline must be later than the opening of submissions."), "submission_deadline")
    if deadline is None and edition is not None and edition.status is not EditionStatus.DRAFT:
        problems.add(_("An edition that is past preparation needs a submission deadline."), "submission_deadline")
    problems.raise_any()


def _apply_edition(edition: Edition, data: EditionData) -> None:
    edition.number, edition.year, edition.name = data.number, data.year, data.name.strip()
    edition.submission_opens_at = to_utc(data.submission_opens_at)
    edition.submission_deadline = to_utc(data.submission_deadline)


def create_edition(data: EditionData) -> Edition:
    _check_edition(data, None)
    edition = Edition(status=EditionStatus.DRAFT)
    _apply_edition(edition, data)
    with _saving():
        db.session.add(edition)
        record("edition_created", edition, after=edition_view(edition))
    return edition


def update_edition(edition: Edition, data: EditionData) -> None:
    _check_edition(data, edition)
    before = edition_view(edition)
    _apply_edition(edition, data)
    with _saving():
        record("edition_updated", edition, before=before, after=edition_view(edition))


def opening_problems(edition: Edition) -> list[str]:
    """Why the edition cannot be opened for entries yet (empty when it can)."""
    problems = []
    if not edition.categories:
        problems.append(_("Add at least one category."))
    for category in edition.categories:
        if not category.criteria:
            problems.append(_("Category %(name)s has no criteria.", name=category.name))
        elif category.weight_sum != category.total_points:
            problems.append(_("The weights of category %(name)s add up to %(sum)s, not %(total)s.",
                              name=category.name, sum=plain(category.weight_sum), total=plain(category.total_points)))
    if edition.submission_deadline is None:
        problems.append(_("Set the submission deadline."))
    elif edition.submission_deadline <= utcnow():
        problems.append(_("The submission deadline has already passed."))
    return problems


def transition_problems(edition: Edition, target: EditionStatus) -> list[str]:
    """Why the edition cannot move to ``target`` now (empty when it can)."""
    if target not in TRANSITIONS[edition.status]:
        return [_("An edition cannot go from “%(current)s” to “%(target)s”.",
                  current=status_label(edition.status), target=status_label(target))]
    if target is EditionStatus.OPEN:
        problems = opening_problems(edition)
        if edition.status is EditionStatus.JUDGING and _has_scores(edition):
            problems.append(_("Judges have already given scores, so entries cannot be reopened."))
        return problems
    if target is EditionStatus.DRAFT and _has_entries(edition):
        return [_("Agencies have already entered, so the edition cannot go back to preparation.")]
    if target is EditionStatus.JUDGING and not edition.stages:
        return [_("Add at least one stage before judging starts.")]
    return []


def transition_consequences(edition: Edition, target: EditionStatus) -> tuple[list[str], list[str]]:
    """What moving to ``target`` does, and warnings about doing it now, for the confirmation page."""
    effects: list[str] = []
    warnings: list[str] = []
    now = utcnow()
    if target is EditionStatus.OPEN:
        effects.append(_("Agencies can start, save and submit entries until the submission deadline."))
    elif target is EditionStatus.DRAFT:
        effects.append(_("Agencies can no longer enter; the edition can be set up again."))
    elif target is EditionStatus.JUDGING and edition.status is EditionStatus.OPEN:
        effects.append(_("Submissions close for every agency: no entry can be submitted, withdrawn or changed any "
                         "more, even by an agency with an extension."))
        deadline = edition.submission_deadline
        if deadline is not None and to_utc(deadline) > now:
            warnings.append(_("The submission deadline, %(deadline)s (Taipei time), has not passed yet.",
                              deadline=to_utc(deadline).astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")))
        drafts = db.session.scalar(select(func.count(Entry.id)).join(Category, Category.id == Entry.category_id)
                                   .where(Category.edition_id == edition.id,
                                          Entry.status != EntryStatus.SUBMITTED))
        if drafts:
            warnings.append(_("%(n)d entries have not been submitted: they will not be judged.", n=drafts))
    elif target is EditionStatus.JUDGING:
        effects.append(_("Judging reopens: judges can score again in the stages that are open."))
    elif target is EditionStatus.CLOSED:
        effects.append(_("Judging ends: no score can be saved any more. The results stay as they are."))
    return effects, warnings


def change_status(edition: Edition, target: EditionStatus) -> None:
    problems = transition_problems(edition, target)
    if problems:
        raise EditionError(problems)
    before = {"status": edition.status}
    edition.status = target
    with _saving():
        record("edition_status_changed", edition, before=before, after={"status": target})
        if target in (EditionStatus.JUDGING, EditionStatus.CLOSED):
            checkpoint_at(f"edition {edition.number} status: {target.value}")


# --- categories ---------------------------------------------------------------------------------

@dataclass
class CategoryData:
    name: str
    description: str = ""


def _check_category(edition: Edition, data: CategoryData, category: Category | None) -> None:
    problems = _Problems()
    if not data.name.strip():
        problems.add(_("Give the category a name."), "name")
    clash = db.session.scalar(select(Category.id).where(Category.edition_id == edition.id,
                                                        Category.name == data.name.strip()))
    if clash is not None and (category is None or clash != category.id):
        problems.add(_("This edition already has a category called %(name)s.", name=data.name.strip()), "name")
    problems.raise_any()


def create_category(edition: Edition, data: CategoryData) -> Category:
    _check_category(edition, data, None)
    position = max((c.position for c in edition.categories), default=-1) + 1
    category = Category(edition=edition, name=data.name.strip(), description=data.description, position=position)
    with _saving():
        db.session.add(category)
        record("category_created", category, after=category_view(category))
    return category


def update_category(category: Category, data: CategoryData) -> None:
    _check_category(category.edition, data, category)
    before = category_view(category)
    category.name, category.description = data.name.strip(), data.description
    with _saving():
        record("category_updated", category, before=before, after=category_view(category))


def category_delete_problem(category: Category) -> str | None:
    count = entry_counts(category.edition).get(category.id, 0)
    if count:
        return _("Category %(name)s cannot be deleted: agencies have made %(n)d entries in it.",
                 name=category.name, n=count)
    return None


def delete_category(category: Category) -> None:
    problem = category_delete_problem(category)
    if problem:
        raise EditionError(problem)
    stage_criteria = list(db.session.scalars(select(Criterion).where(Criterion.category_id == category.id,
                                                                      Criterion.stage_id.is_not(None))))
    before = {**category_view(category), "criteria": criteria_view(category)}
    if stage_criteria:
        before["stage_criteria"] = [{**criterion_view(c), "stage_id": c.stage_id} for c in stage_criteria]
    with _saving():
        record("category_deleted", category, before=before)
        for criterion in stage_criteria:
            db.session.delete(criterion)
        db.session.delete(category)


# --- criteria -----------------------------------------------------------------------------------

@dataclass
class CriterionRow:
    """One row of the criteria editor; ``id`` is None for a new criterion."""

    id: int | None
    name: str = ""
    description: str = ""
    weight: Decimal | None = None
    min_score: Decimal | None = None
    max_score: Decimal | None = None
    step: Decimal | None = None
    section_char_limit: int | None = None
    remove: bool = False

    @property
    def blank(self) -> bool:
        """A spare row the organiser did not fill in (its range and step come pre-filled)."""
        return self.id is None and not self.name and not self.description and self.weight is None


@dataclass
class _Plan:
    keep: list[tuple[int, CriterionRow]] = field(default_factory=list)  # (row index, row), in order
    remove: list[Criterion] = field(default_factory=list)
    untouched: list[Criterion] = field(default_factory=list)  # existing, not in the form (added meanwhile)


def _row_key(index: int, name: str) -> str:
    return f"criteria-{index}-{name}"


def _check_row(index: int, row: CriterionRow, current: Criterion | None, lock: CriterionLock | None,
               problems: _Problems) -> None:
    key = lambda name: _row_key(index, name)  # noqa: E731
    if not row.name:
        problems.add(_("Give the criterion a name."), key("name"))
    for name in ("weight", "min_score", "max_score", "step"):
        if problem := _decimal_problem(getattr(row, name)):
            problems.add(problem, key(name))
    if row.section_char_limit is None or not 1 <= row.section_char_limit <= MAX_SECTION_CHARS:
        problems.add(_("Enter a whole number from 1 to %(max)d.", max=MAX_SECTION_CHARS), key("section_char_limit"))
    if key("weight") not in problems.fields and row.weight <= 0:
        problems.add(_("The weight must be more than 0."), key("weight"))
    if key("min_score") not in problems.fields and row.min_score < 0:
        problems.add(_("The lowest score cannot be negative."), key("min_score"))
    low_high_ok = key("min_score") not in problems.fields and key("max_score") not in problems.fields
    if low_high_ok and row.max_score <= row.min_score:
        problems.add(_("The highest score must be more than the lowest score."), key("max_score"))
    if key("step") not in problems.fields:
        if row.step <= 0:
            problems.add(_("The step must be more than 0."), key("step"))
        elif low_high_ok and row.max_score > row.min_score and (row.max_score - row.min_score) % row.step != 0:
            problems.add(_("The range from %(low)s to %(high)s is not a whole number of steps of %(step)s.",
                           low=plain(row.min_score), high=plain(row.max_score), step=plain(row.step)), key("step"))
    if current is not None and lock is not None and lock.scored:
        for name in ("weight", "min_score", "max_score", "step"):
            new = getattr(row, name)
            if key(name) not in problems.fields and new != getattr(current, name):
                problems.add(_("Judges have already scored this criterion, so this value cannot change."), key(name))


def _plan_criteria(category: Category, rows: list[CriterionRow], stage: Stage | None = None) -> _Plan:
    """Check the whole submission; return what to write, or raise with every problem found.

    With ``stage``, the rows are the stage's own criteria for the category: the same checks, and
    an empty set (every row removed) means the stage judges on the category's criteria again."""
    current = own_criteria(category, stage)
    existing = {c.id: c for c in current}
    locks = criterion_locks(category, stage)
    problems, plan, seen = _Problems(), _Plan(), set()
    for index, row in enumerate(rows):
        if row.blank:
            continue
        if row.id is not None and (row.id not in existing or row.id in seen):
            problems.add(_("This row does not belong to this category. Please reload the page."), _row_key(index, "name"))
            continue
        if row.id is not None:
            seen.add(row.id)
        if row.remove:
            lock = locks.get(row.id) if row.id is not None else None
            if lock is not None:
                problems.add(_("Judges have already marked this criterion, so it cannot be removed."),
                             _row_key(index, "remove"))
            elif row.id is not None:
                plan.remove.append(existing[row.id])
            continue
        _check_row(index, row, existing.get(row.id), locks.get(row.id), problems)
        plan.keep.append((index, row))
    plan.untouched = [c for c in current if c.id not in seen]
    _check_names(plan, problems)
    if len(plan.keep) + len(plan.untouched) > MAX_CRITERIA:
        problems.add(_("A category can have at most %(n)d criteria.", n=MAX_CRITERIA))
    reverting = stage is not None and not plan.keep and not plan.untouched
    if stage is not None and not current and plan.keep and stage_scoring_started(category, stage):
        problems.add(_("Judges have already started scoring %(category)s in %(stage)s on the category's criteria, "
                       "so this stage can no longer have criteria of its own.", category=category.name,
                       stage=stage.name))
    if not reverting and not any(name.endswith("-weight") for name in problems.fields):
        total = sum((row.weight for _i, row in plan.keep), Decimal(0)) + sum((c.weight for c in plan.untouched),
                                                                             Decimal(0))
        if total != category.total_points:
            problems.add(_("The weights add up to %(sum)s; they must add up to exactly %(total)s.",
                           sum=plain(total), total=plain(category.total_points)))
    problems.raise_any()
    return plan


def _check_names(plan: _Plan, problems: _Problems) -> None:
    taken = {c.name for c in plan.untouched}
    for index, row in plan.keep:
        if row.name and row.name in taken:
            problems.add(_("Another criterion of this category is already called %(name)s.", name=row.name),
                         _row_key(index, "name"))
        taken.add(row.name)


def save_criteria(category: Category, rows: list[CriterionRow], stage: Stage | None = None) -> None:
    """Replace the category's criteria (with ``stage``: the stage's own criteria for the category)
    with the submitted rows, all or nothing."""
    if stage is not None:
        for row in rows:  # a stage's criteria have no section in the entry form; keep the column valid
            if row.section_char_limit is None:
                row.section_char_limit = DEFAULT_SECTION_CHARS
    plan = _plan_criteria(category, rows, stage)
    current = own_criteria(category, stage)
    before = [criterion_view(c) for c in current]
    existing = {c.id: c for c in current}
    with _saving():
        # Deletes, then renames through temporary names, then the rest: so that swapping two names,
        # or reusing a removed criterion's name, never trips the unique constraint midway.
        for criterion in plan.remove:
            if stage is None:
                category.criteria.remove(criterion)
            else:
                stage.criteria.remove(criterion)
        db.session.flush()
        for _index, row in plan.keep:
            if row.id is not None and existing[row.id].name != row.name:
                existing[row.id].name = f"\u2063{row.id}"
        db.session.flush()
        for position, (_index, row) in enumerate(plan.keep):
            criterion = existing.get(row.id) if row.id is not None else None
            if criterion is None:
                criterion = Criterion()
                if stage is None:
                    category.criteria.append(criterion)
                else:
                    criterion.category_id = category.id
                    stage.criteria.append(criterion)
            _apply_row(criterion, row, position)
        for offset, criterion in enumerate(plan.untouched):
            criterion.position = len(plan.keep) + offset
        if stage is None:
            record("criteria_saved", category, before=before, after=criteria_view(category))
        else:
            db.session.flush()
            record("stage_criteria_saved", stage, before={"category_id": category.id, "criteria": before},
                   after={"category_id": category.id, "category": category.name,
                          "criteria": [criterion_view(c) for c in own_criteria(category, stage)]})


def _apply_row(criterion: Criterion, row: CriterionRow, position: int) -> None:
    criterion.name, criterion.description, criterion.position = row.name, row.description, position
    criterion.weight, criterion.min_score, criterion.max_score = row.weight, row.min_score, row.max_score
    criterion.step, criterion.section_char_limit = row.step, row.section_char_limit


# --- stages -------------------------------------------------------------------------------------

@dataclass
class StageData:
    name: str
    opens_at: datetime | None
    closes_at: datetime | None
    judges_per_entry: int = 5
    aggregation: Aggregation = Aggregation.TRIMMED
    trim: int = 1
    trim_level: str = "total"
    round_each_stage: bool = True
    decimals: int = 2
    blind: bool = False
    tie_break: str = ""  # steps from TIE_BREAK_STEPS, comma-separated; "" = none
    tie_break_criteria: list[str] = field(default_factory=list)  # criterion names, for the "criteria" step
    too_few_judges: str = "error"


def _check_results_settings(edition: Edition, data: StageData, stage: Stage | None, problems: _Problems) -> None:
    """The tie-break and the too-few-judges policy: known steps, and criteria that every category of
    the edition is judged on in this stage (a criterion tie-break compares the same criterion)."""
    steps = [s.strip() for s in (data.tie_break or "").split(",") if s.strip()]
    if any(s not in TIE_BREAK_STEPS for s in steps) or len(set(steps)) != len(steps):
        problems.add(_("Choose one of the options."), "tie_break")
    names = [n.strip() for n in data.tie_break_criteria if n.strip()]
    if "criteria" in steps and not names:
        problems.add(_("Name the criteria that break a tie, one per line."), "tie_break_criteria")
    elif names and "criteria" not in steps:
        problems.add(_("Criteria are named only for a tie-break that compares criteria; choose one or clear "
                       "this list."), "tie_break_criteria")
    elif len(set(names)) != len(names):
        problems.add(_("Name each criterion once."), "tie_break_criteria")
    elif len(names) > MAX_TIE_BREAK_CRITERIA:
        problems.add(_("Name at most %(max)d criteria.", max=MAX_TIE_BREAK_CRITERIA), "tie_break_criteria")
    elif names:
        for category in edition.categories:
            known = {c.name for c in (scoring_adapter.criteria_for(category, stage) if stage is not None
                                      else category.criteria)}
            for name in names:
                if name not in known:
                    problems.add(_("%(category)s has no criterion called %(name)s in this stage.",
                                   category=category.name, name=name), "tie_break_criteria")
    if data.too_few_judges not in TOO_FEW_POLICIES:
        problems.add(_("Choose one of the options."), "too_few_judges")


# What a stage's results are computed with: fixed while they are frozen, so the official snapshot and
# what the settings say never part ways (name, dates and blind judging do not change a result).
RESULT_SETTINGS = ("aggregation", "trim", "trim_level", "round_each_stage", "decimals", "tie_break",
                   "tie_break_criteria", "too_few_judges")


def _results_settings(stage: Stage) -> dict[str, Any]:
    view = stage_view(stage)
    return {name: view[name] for name in RESULT_SETTINGS}


def _check_frozen_settings(stage: Stage, data: StageData, problems: _Problems) -> None:
    proposed = Stage()
    _apply_stage(proposed, data)
    before, after = _results_settings(stage), _results_settings(proposed)
    changed = [name for name in RESULT_SETTINGS if before[name] != after[name]]
    if changed and is_frozen_locked(stage, exclusive=True):  # update_stage then writes this row
        for name in changed:
            problems.add(_("The results of this stage are frozen: unfreeze them, with a reason, before changing "
                           "how they are computed."), name)


def _check_stage(edition: Edition, data: StageData, stage: Stage | None) -> None:
    problems = _Problems()
    if stage is not None:
        _check_frozen_settings(stage, data, problems)
    name = data.name.strip()
    if not name:
        problems.add(_("Give the stage a name."), "name")
    elif any(s.name == name and s is not stage for s in edition.stages):
        problems.add(_("This edition already has a stage called %(name)s.", name=name), "name")
    if data.opens_at is None:
        problems.add(_("Enter when the stage opens."), "opens_at")
    if data.closes_at is None:
        problems.add(_("Enter when the stage closes."), "closes_at")
    elif data.opens_at is not None and to_utc(data.closes_at) <= to_utc(data.opens_at):
        problems.add(_("The stage must close after it opens."), "closes_at")
    if not 1 <= data.judges_per_entry <= MAX_JUDGES:
        problems.add(_("Enter a whole number from 1 to %(max)d.", max=MAX_JUDGES), "judges_per_entry")
    if data.trim < 0:
        problems.add(_("The number trimmed cannot be negative."), "trim")
    elif 2 * data.trim >= data.judges_per_entry:
        problems.add(_("Trimming %(trim)d at each end of %(judges)d judges' scores would leave none: "
                       "twice the number trimmed must be less than the judges per entry.",
                       trim=data.trim, judges=data.judges_per_entry), "trim")
    if data.trim_level not in TRIM_LEVELS:
        problems.add(_("Choose one of the options."), "trim_level")
    if not 0 <= data.decimals <= 4:
        problems.add(_("Enter a whole number from 0 to 4."), "decimals")
    _check_results_settings(edition, data, stage, problems)
    problems.raise_any()


def _apply_stage(stage: Stage, data: StageData) -> None:
    stage.name, stage.opens_at, stage.closes_at = data.name.strip(), to_utc(data.opens_at), to_utc(data.closes_at)
    stage.judges_per_entry, stage.aggregation, stage.trim = data.judges_per_entry, data.aggregation, data.trim
    stage.trim_level, stage.round_each_stage = data.trim_level, data.round_each_stage
    stage.decimals, stage.blind = data.decimals, data.blind
    stage.tie_break = ",".join(s.strip() for s in (data.tie_break or "").split(",") if s.strip())
    stage.tie_break_criteria = "\n".join(n.strip() for n in data.tie_break_criteria if n.strip())
    stage.too_few_judges = data.too_few_judges


def create_stage(edition: Edition, data: StageData) -> Stage:
    _check_stage(edition, data, None)
    stage = Stage(edition_id=edition.id, position=len(edition.stages))
    _apply_stage(stage, data)
    with _saving():
        edition.stages.append(stage)
        record("stage_created", stage, after=stage_view(stage))
    return stage


def update_stage(stage: Stage, data: StageData) -> None:
    _check_stage(stage.edition, data, stage)
    before = stage_view(stage)
    _apply_stage(stage, data)
    with _saving():
        record("stage_updated", stage, before=before, after=stage_view(stage))


def _moved(items: list, item: Any, offset: int) -> list | None:
    """The list with ``item`` moved by ``offset`` places, or None if it cannot move that way."""
    index = items.index(item)
    target = index + offset
    if not 0 <= target < len(items):
        return None
    reordered = list(items)
    reordered.insert(target, reordered.pop(index))
    return reordered


def _renumber(items: list, kind: str) -> None:
    """Give ``items`` positions 0, 1, 2 … in list order, recording each that moved."""
    for position, item in enumerate(items):
        if item.position != position:
            before = item.position
            item.position = position
            record(f"{kind}_moved", item, before={"position": before}, after={"position": position})


def move_stage(stage: Stage, offset: int) -> None:
    stages = sorted(stage.edition.stages, key=lambda s: (s.position, s.id))
    reordered = _moved(stages, stage, offset)
    if reordered is None:
        raise EditionError(_("This stage cannot move further."))
    with _saving():
        _renumber(reordered, "stage")


def stage_delete_problem(stage: Stage) -> str | None:
    sheets = db.session.scalar(select(func.count(ScoreSheet.id)).where(ScoreSheet.stage_id == stage.id))
    if sheets:
        return _("Stage %(name)s cannot be deleted: judges have %(n)d score sheets in it.", name=stage.name, n=sheets)
    return None


def delete_stage(stage: Stage) -> None:
    problem = stage_delete_problem(stage)
    if problem:
        raise EditionError(problem)
    edition = stage.edition
    remaining = [s for s in sorted(edition.stages, key=lambda s: (s.position, s.id)) if s is not stage]
    with _saving():
        record("stage_deleted", stage, before=stage_view(stage))
        edition.stages.remove(stage)
        _renumber(remaining, "stage")


# --- award tiers --------------------------------------------------------------------------------

@dataclass
class TierData:
    name: str
    min_total: Decimal | None = None
    quota: int | None = None
    award_text: str = ""  # the certificate text; {agency}, {head}, … are filled in (AWARD_TEXT_FIELDS)


# The fields a certificate text may use (award.results.workbook_text.AWARD_TEXT_FIELDS).
AWARD_TEXT_FIELDS = ("agency", "head", "category", "tier", "title", "edition", "rank")
_FIELD = re.compile(r"\{([^{}]*)\}")


def clean_award_text(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def _order_problem(tiers: list[tuple[str, Decimal | None]]) -> str | None:
    """Tiers best first as (name, min_total): a lower tier's threshold may not exceed a higher one's."""
    lowest: tuple[str, Decimal] | None = None  # the lowest threshold among the tiers above
    for name, threshold in tiers:
        if threshold is None:
            continue
        if lowest is not None and threshold > lowest[1]:
            return _("Tier %(lower)s (minimum %(low)s) is below tier %(higher)s (minimum %(high)s) but asks for more. "
                     "A lower tier's minimum total cannot exceed a higher tier's.",
                     lower=name, low=plain(threshold), higher=lowest[0], high=plain(lowest[1]))
        if lowest is None or threshold < lowest[1]:
            lowest = (name, threshold)
    return None


def tiers_frozen_problem(edition: Edition, *, lock: bool = False) -> str | None:
    """Why the tiers cannot change now: a stage of the edition has frozen results. ``lock`` (for the
    change itself) holds each stage's lock until the commit; without, for a confirmation page."""
    names = [stage.name for stage in edition.stages if (is_frozen_locked(stage) if lock else is_frozen(stage))]
    if not names:
        return None
    return _("The results of %(stages)s are frozen and give these tiers: unfreeze them, with a reason, before "
             "changing the tiers. A tier's certificate text can still be changed.", stages="、".join(names))


def _ensure_tiers_unfrozen(edition: Edition) -> None:
    if problem := tiers_frozen_problem(edition, lock=True):
        raise EditionError(problem)


def _check_tier(edition: Edition, data: TierData, tier: AwardTier | None) -> None:
    problems = _Problems()
    changes_results = tier is None or (data.name.strip(), data.min_total, data.quota) != (
        tier.name, tier.min_total, tier.quota)
    if changes_results and (problem := tiers_frozen_problem(edition, lock=True)):
        problems.add(problem)
    name = data.name.strip()
    if not name:
        problems.add(_("Give the tier a name."), "name")
    elif any(t.name == name and t is not tier for t in edition.tiers):
        problems.add(_("This edition already has a tier called %(name)s.", name=name), "name")
    if data.min_total is None and data.quota is None:
        problems.add(_("Give a minimum total, a quota, or both."))
    if data.min_total is not None:
        if problem := _decimal_problem(data.min_total):
            problems.add(problem, "min_total")
        elif not 0 <= data.min_total <= 100:
            problems.add(_("The minimum total must be from 0 to 100."), "min_total")
    if data.quota is not None and data.quota < 1:
        problems.add(_("The quota must be at least 1."), "quota")
    text = clean_award_text(data.award_text)
    if len(text) > AWARD_TEXT_LIMIT:
        problems.add(_("Please keep the text to %(limit)d characters (it has %(count)d).",
                       limit=AWARD_TEXT_LIMIT, count=len(text)), "award_text")
    unknown = sorted({m for m in _FIELD.findall(text) if m not in AWARD_TEXT_FIELDS})
    if unknown:
        problems.add(_("Unknown fields: %(fields)s. The text may use %(known)s.",
                       fields=", ".join("{%s}" % m for m in unknown),
                       known=", ".join("{%s}" % f for f in AWARD_TEXT_FIELDS)), "award_text")
    if "min_total" not in problems.fields:
        ordered = sorted(edition.tiers, key=lambda t: (t.position, t.id))
        proposed = [(name, data.min_total) if t is tier else (t.name, t.min_total) for t in ordered]
        if tier is None:
            proposed.append((name, data.min_total))
        if problem := _order_problem(proposed):
            problems.add(problem, "min_total")
    problems.raise_any()


def create_tier(edition: Edition, data: TierData) -> AwardTier:
    _check_tier(edition, data, None)
    tier = AwardTier(edition_id=edition.id, name=data.name.strip(), min_total=data.min_total, quota=data.quota,
                     award_text=clean_award_text(data.award_text), position=len(edition.tiers))
    with _saving():
        edition.tiers.append(tier)
        record("tier_created", tier, after=tier_view(tier))
    return tier


def update_tier(tier: AwardTier, data: TierData) -> None:
    _check_tier(tier.edition, data, tier)
    before = tier_view(tier)
    tier.name, tier.min_total, tier.quota = data.name.strip(), data.min_total, data.quota
    tier.award_text = clean_award_text(data.award_text)
    with _saving():
        record("tier_updated", tier, before=before, after=tier_view(tier))


def move_tier(tier: AwardTier, offset: int) -> None:
    _ensure_tiers_unfrozen(tier.edition)
    tiers = sorted(tier.edition.tiers, key=lambda t: (t.position, t.id))
    reordered = _moved(tiers, tier, offset)
    if reordered is None:
        raise EditionError(_("This tier cannot move further."))
    if problem := _order_problem([(t.name, t.min_total) for t in reordered]):
        raise EditionError(problem)
    with _saving():
        _renumber(reordered, "tier")


def delete_tier(tier: AwardTier) -> None:
    edition = tier.edition
    _ensure_tiers_unfrozen(edition)
    remaining = [t for t in sorted(edition.tiers, key=lambda t: (t.position, t.id)) if t is not tier]
    with _saving():
        record("tier_deleted", tier, before=tier_view(tier))
        edition.tiers.remove(tier)
        _renumber(remaining, "tier")
