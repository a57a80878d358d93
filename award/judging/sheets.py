"""Score sheets (評分表): a judge saves marks as a draft, submits them, and an organiser may reopen them.

``save_sheet`` is the one way marks are written: the web score sheet and the offline (Excel) sheets
both call it, so the checks are written once. Every operation checks everything first and raises
``SheetError`` before touching the database; then it writes, records the audit event with the
values before and after, and commits. A refusal leaves the database exactly as it was.

Concurrency: a sheet carries a ``version``. A save names the version it was based on (0 for a
sheet that does not exist yet); the write is a guarded UPDATE on that version, so of two saves
based on the same version exactly one wins and the other is refused with the marks now saved
(``SheetConflict``) — nothing is overwritten without the judge having seen it.

Everything that must hold for *any* write to a sheet — a judge's save or submit, an organiser's
reopen — is checked in ``_ensure_writable``; a future rule (a frozen stage) goes there, once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

import scoring

from ..results.operations import ResultsError, ensure_not_frozen
from .. import scoring_adapter
from ..audit import record
from ..extensions import db
from ..i18n import local_time
from ..models import (Assignment, AssignmentStatus, Criterion, Entry, Mark, ScoreSheet, SheetStatus, Stage, User,
                      utcnow)
from .rules import confirmed_assignment, is_conflicted

COMMENT_LIMIT = 2000  # characters of a comment on one criterion
OVERALL_LIMIT = 5000  # characters of the overall comment
REASON_LIMIT = 2000  # characters of an organiser's reason to reopen
MAX_PLACES = 4  # marks are stored as Numeric(9, 4)
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")

# Field names shared by the form, the errors and the templates.
OVERALL_FIELD = "comment"


def score_field(criterion_id: int) -> str:
    return f"score-{criterion_id}"


def comment_field(criterion_id: int) -> str:
    return f"comment-{criterion_id}"


# --- errors --------------------------------------------------------------------------------------

class SheetError(Exception):
    """A refusal to show the judge or organiser, already in their language.

    ``fields`` maps a field name (``score-<criterion id>``, ``comment-<criterion id>``,
    ``comment``) to its problems; ``message`` sums the refusal up.
    """

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


@dataclass(frozen=True)
class SavedSheet:
    """A sheet as it is stored now: shown beside the judge's own input after a conflict."""

    version: int
    status: SheetStatus
    marks: dict[int, tuple[Decimal | None, str]]  # criterion id → (score, comment)
    comment: str
    total: Decimal
    updated_at: datetime | None


class SheetConflict(SheetError):
    """The sheet was saved elsewhere (another tab or device) after the judge's copy was loaded."""

    def __init__(self, current: SavedSheet):
        super().__init__(_("This score sheet was saved elsewhere (another tab or device) after you opened it. "
                           "Nothing was overwritten. Your marks are in the form; the marks now saved are shown "
                           "beside them. Choose what to keep, then save again."))
        self.current = current


# --- reading -------------------------------------------------------------------------------------

def plain(value: Decimal | None) -> str:
    """A Decimal as people write it: 85.5000 → "85.5", 90.0000 → "90"; None → ""."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def sheet_for(judge_id: int, entry_id: int, stage_id: int) -> ScoreSheet | None:
    return db.session.scalar(select(ScoreSheet).where(
        ScoreSheet.judge_id == judge_id, ScoreSheet.entry_id == entry_id, ScoreSheet.stage_id == stage_id))


def criteria_of(entry: Entry, stage: Stage) -> list[Criterion]:
    return scoring_adapter.criteria_for(entry.category, stage)


def marks_of(sheet: ScoreSheet | None) -> dict[int, tuple[Decimal | None, str]]:
    if sheet is None:
        return {}
    return {m.criterion_id: (m.score, m.comment) for m in sheet.marks}


def sheet_total(criteria: list[Criterion], sheet: ScoreSheet | None) -> Decimal:
    """The sheet's weighted total by the scoring engine (unmarked criteria count for nothing)."""
    scores = {cid: score for cid, (score, _comment) in marks_of(sheet).items() if cid in {c.id for c in criteria}}
    return scoring_adapter.live_total(criteria, scores)


def saved_state(sheet: ScoreSheet | None, criteria: list[Criterion]) -> SavedSheet:
    if sheet is None:
        return SavedSheet(0, SheetStatus.DRAFT, {}, "", sheet_total(criteria, None), None)
    return SavedSheet(sheet.version, sheet.status, marks_of(sheet), sheet.comment, sheet_total(criteria, sheet),
                      sheet.updated_at)


def is_extreme(criterion: Criterion, score: Decimal | None) -> bool:
    return score is not None and (score == criterion.min_score or score == criterion.max_score)


def extremes_without_comment(criteria: list[Criterion], marks: Mapping[int, tuple[Decimal | None, str]]
                             ) -> list[Criterion]:
    """Criteria marked at the lowest or highest score with no comment saying why."""
    return [c for c in criteria if c.id in marks and is_extreme(c, marks[c.id][0]) and not marks[c.id][1].strip()]


# --- parsing -------------------------------------------------------------------------------------

def parse_score(value: Any) -> Decimal | None:
    """A mark as typed (or read from a spreadsheet cell) → Decimal; blank → None.

    Full-width digits and points (８５．５) are read as 85.5; spaces are ignored. Anything that is
    not a plain decimal number (``abc``, ``NaN``, ``1e2``, ``∞``) raises ``ValueError``.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = repr(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    if text == "":
        return None
    if not _NUMBER.match(text):
        raise ValueError("not a number")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError("not a number") from None


def _places(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)


def _mark_problem(criterion: Criterion, raw: Any) -> tuple[Decimal | None, str | None]:
    """(the mark, None) if ``raw`` is a valid mark on ``criterion``; else (None, the problem)."""
    try:
        value = parse_score(raw)
    except ValueError:
        return None, _("Enter a number, such as %(example)s.", example=plain(criterion.max_score))
    if value is None:
        return None, None
    if _places(value) > MAX_PLACES:
        return None, _("Use at most %(n)d decimal places.", n=MAX_PLACES)
    engine_criterion = scoring_adapter.to_criteria([criterion])[0]
    try:
        return scoring.validate_mark(engine_criterion, value), None
    except scoring.InvalidMark:
        pass
    if value < criterion.min_score or value > criterion.max_score:
        return None, _("Enter a mark from %(low)s to %(high)s.", low=plain(criterion.min_score),
                       high=plain(criterion.max_score))
    below = criterion.min_score + ((value - criterion.min_score) // criterion.step) * criterion.step
    above = min(below + criterion.step, criterion.max_score)
    return None, _("Marks go in steps of %(step)s: for example %(below)s or %(above)s.", step=plain(criterion.step),
                   below=plain(below), above=plain(above))


# --- checks --------------------------------------------------------------------------------------

def window_problem(stage: Stage, now: datetime | None = None) -> str | None:
    """Why the stage's scoring window is not open now, or None. A missing bound is no limit."""
    now = now or utcnow()
    if stage.opens_at is not None and now < stage.opens_at:
        return _("Scoring for %(stage)s opens at %(time)s (Taipei time).", stage=stage.name,
                 time=local_time(stage.opens_at))
    if stage.closes_at is not None and now > stage.closes_at:
        return _("Scoring for %(stage)s closed at %(time)s (Taipei time). Ask the organiser if you need more time.",
                 stage=stage.name, time=local_time(stage.closes_at))
    return None


def sheet_window_problem(stage: Stage, sheet: ScoreSheet | None, now: datetime | None = None) -> str | None:
    """``window_problem`` for one sheet: a sheet the organiser reopened (a recorded decision, with
    its reason) may still be changed after the window closed, though not before it opens."""
    now = now or utcnow()
    reopened = sheet is not None and sheet.status is SheetStatus.DRAFT and bool(sheet.reopened_reason)
    if reopened and stage.closes_at is not None and now > stage.closes_at:
        return None
    return window_problem(stage, now)


def ensure_may_score(judge: User, assignment: Assignment) -> None:
    """The judge's own assignment, confirmed tie-free, with no tie declared since."""
    current = confirmed_assignment(judge.id, assignment.entry_id, assignment.stage_id)
    if (not judge.is_judge or assignment.judge_id != judge.id or current is None or current.id != assignment.id
            or is_conflicted(judge.id, assignment.entry.agency_id)):
        raise SheetError(_("You may not score this entry."))


def _ensure_writable(stage: Stage, sheet: ScoreSheet | None) -> None:
    """What must hold for every write to a sheet of ``stage`` (save, submit, reopen), by anyone.

    The one place for rules that close a sheet to everybody: a stage whose results are frozen
    (成績凍結), and an excluded sheet.
    """
    try:
        ensure_not_frozen(stage)  # holds a shared row lock on the stage, so a freeze cannot slip in between
    except ResultsError as refusal:
        raise SheetError(str(refusal)) from None
    if sheet is not None and sheet.excluded:
        raise SheetError(_("This score sheet has been excluded from the results by the organiser and can no "
                           "longer be changed."))


def _ensure_unlocked(stage: Stage, sheet: ScoreSheet | None) -> None:
    _ensure_writable(stage, sheet)
    if sheet is not None and sheet.status is SheetStatus.SUBMITTED:
        raise SheetError(_("This score sheet has been submitted and is locked. Only the organiser can reopen it."))


def _ensure_open_for_judge(stage: Stage, sheet: ScoreSheet | None, now: datetime | None) -> None:
    _ensure_unlocked(stage, sheet)
    problem = sheet_window_problem(stage, sheet, now)
    if problem:
        raise SheetError(problem)


@dataclass
class _Checked:
    marks: dict[int, tuple[Decimal | None, str]] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)

    def refuse(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)


def _check_marks(criteria: list[Criterion], marks: Mapping[int, tuple[Any, str | None]],
                 saved: dict[int, tuple[Decimal | None, str]], overall: str, submit: bool) -> _Checked:
    """Every mark and comment checked; ``marks`` absent criteria keep their saved values."""
    by_id = {c.id: c for c in criteria}
    checked = _Checked()
    unknown = [cid for cid in marks if cid not in by_id]
    if unknown:
        raise SheetError(_("The sheet names a criterion that is not one of this category's: %(ids)s.",
                           ids=", ".join(str(cid) for cid in unknown)))
    for criterion in criteria:
        if criterion.id not in marks:
            checked.marks[criterion.id] = saved.get(criterion.id, (None, ""))
            continue
        raw, comment = marks[criterion.id]
        comment = _clean_text(comment)
        value, problem = _mark_problem(criterion, raw)
        if problem:
            checked.refuse(score_field(criterion.id), problem)
        if len(comment) > COMMENT_LIMIT:
            checked.refuse(comment_field(criterion.id), _("Please keep the comment to %(limit)d characters "
                                                          "(it has %(count)d).", limit=COMMENT_LIMIT,
                                                          count=len(comment)))
        checked.marks[criterion.id] = (value, comment)
    if len(overall) > OVERALL_LIMIT:
        checked.refuse(OVERALL_FIELD, _("Please keep the comment to %(limit)d characters (it has %(count)d).",
                                        limit=OVERALL_LIMIT, count=len(overall)))
    if submit:
        _check_complete(criteria, checked)
    return checked


def _check_complete(criteria: list[Criterion], checked: _Checked) -> None:
    for criterion in criteria:
        name = score_field(criterion.id)
        if name in checked.fields:
            continue
        score, comment = checked.marks[criterion.id]
        if score is None:
            checked.refuse(name, _("Give a mark on every criterion before you submit."))
        elif is_extreme(criterion, score) and not comment:
            checked.refuse(comment_field(criterion.id), _(
                "A mark of %(score)s is the lowest or highest possible: please say why in a comment.",
                score=plain(score)))


def _clean_text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


# --- audit values ---------------------------------------------------------------------------------

def _audit_state(criteria: list[Criterion], marks: Mapping[int, tuple[Decimal | None, str]], comment: str,
                 status: SheetStatus, version: int) -> dict[str, Any]:
    """Marks and comments by criterion name (as the organiser reads them), and the engine's total."""
    scores = {c.id: marks.get(c.id, (None, ""))[0] for c in criteria}
    return {
        "status": status.value,
        "version": version,
        "marks": {c.name: (plain(scores[c.id]) or None) for c in criteria},
        "comments": {c.name: marks.get(c.id, (None, ""))[1] for c in criteria if marks.get(c.id, (None, ""))[1]},
        "comment": comment,
        "total": plain(scoring_adapter.live_total(criteria, scores)) or "0",
    }


# --- operations -----------------------------------------------------------------------------------

def save_sheet(judge: User, assignment: Assignment, marks: Mapping[int, tuple[Any, str | None]],
               overall_comment: str | None, base_version: int | None, submit: bool = False,
               now: datetime | None = None, commit: bool = True) -> ScoreSheet:
    """Save a judge's marks on the entry of ``assignment`` in its stage, as a draft or submitted.

    ``marks`` maps a criterion id to ``(score, comment)``; a score may be a Decimal, an int, a
    float or text as typed ("85", "85.5", "８５"), blank/None for "not marked yet". Criteria not in
    ``marks`` keep the marks already saved. ``base_version`` is the sheet's version the input was
    based on: 0 (or None) when the judge had no sheet yet.

    Checks, all before anything is written: the judge's own confirmed, tie-free assignment; the
    stage's window (``opens_at ≤ now ≤ closes_at``); the sheet neither submitted (locked) nor
    excluded; the version; every mark by ``scoring.validate_mark`` (range and step); comment lengths.
    With ``submit``, every criterion must be marked and a mark at the lowest or highest score of its
    range needs a comment (a draft may lack it; see ``extremes_without_comment``).

    Returns the sheet (unchanged, nothing recorded, when a draft save changes nothing). Raises
    ``SheetError`` (with ``fields``) or ``SheetConflict`` (with the marks now saved); the database
    is then unchanged. Audit: ``sheet_saved`` or ``sheet_submitted`` with before and after.

    ``commit=False`` leaves the commit to the caller, so several sheets can be saved all or nothing
    (the offline workbook import); the caller must roll back on any ``SheetError``, and a
    ``SheetConflict`` found by the guarded write has already rolled the session back.
    """
    ensure_may_score(judge, assignment)
    stage, entry = assignment.stage, assignment.entry
    sheet = sheet_for(judge.id, entry.id, stage.id)
    criteria = criteria_of(entry, stage)
    _ensure_open_for_judge(stage, sheet, now)
    current_version = sheet.version if sheet is not None else 0
    if (base_version or 0) != current_version:
        raise SheetConflict(saved_state(sheet, criteria))
    saved = marks_of(sheet)
    overall = _clean_text(overall_comment)
    checked = _check_marks(criteria, marks, saved, overall, submit)
    if checked.fields:
        message = (_("Nothing was submitted. Please correct the marked fields; your marks are still here.") if submit
                   else _("Nothing was saved. Please correct the marked fields; your marks are still here."))
        raise SheetError(message, checked.fields)

    old_comment = sheet.comment if sheet is not None else ""
    unchanged = sheet is not None and checked.marks == {c.id: saved.get(c.id, (None, "")) for c in criteria} \
        and overall == old_comment
    if unchanged and not submit:
        return sheet
    before = _audit_state(criteria, saved, old_comment, sheet.status, current_version) if sheet else None
    sheet = _claim(judge, entry, stage, sheet, base_version or 0, criteria)
    _write(sheet, checked.marks, overall, submit)
    after = _audit_state(criteria, checked.marks, overall, sheet.status, sheet.version)
    record("sheet_submitted" if submit else "sheet_saved", sheet, before=before,
           after={**after, "entry_id": entry.id, "stage_id": stage.id}, actor=judge)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return sheet


def _claim(judge: User, entry: Entry, stage: Stage, sheet: ScoreSheet | None, base_version: int,
           criteria: list[Criterion]) -> ScoreSheet:
    """Take the next version of the sheet, or create it at version 1; refuse if another save won.

    The guarded UPDATE (and the unique constraint for a new sheet) makes this hold between
    concurrent requests on PostgreSQL and SQLite alike."""
    if sheet is None:
        sheet = ScoreSheet(entry_id=entry.id, judge_id=judge.id, stage_id=stage.id, version=1)
        db.session.add(sheet)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise SheetConflict(saved_state(sheet_for(judge.id, entry.id, stage.id), criteria)) from None
        return sheet
    result = db.session.execute(
        update(ScoreSheet).where(ScoreSheet.id == sheet.id, ScoreSheet.version == base_version,
                                 ScoreSheet.status == SheetStatus.DRAFT, ScoreSheet.excluded.is_(False))
        .values(version=ScoreSheet.version + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(sheet)
        _ensure_unlocked(stage, sheet)  # submitted, reopened or excluded meanwhile: say so
        raise SheetConflict(saved_state(sheet, criteria))
    db.session.expire(sheet, ["version"])
    sheet.version  # noqa: B018  (load the new number now, before the ORM writes the rest)
    return sheet


def _write(sheet: ScoreSheet, marks: dict[int, tuple[Decimal | None, str]], overall: str, submit: bool) -> None:
    rows = {m.criterion_id: m for m in sheet.marks}
    for criterion_id, (score, comment) in marks.items():
        row = rows.get(criterion_id)
        if row is None:
            sheet.marks.append(Mark(criterion_id=criterion_id, score=score, comment=comment))
        else:
            row.score, row.comment = score, comment
    sheet.comment = overall
    sheet.updated_at = utcnow()
    if submit:
        sheet.status = SheetStatus.SUBMITTED
        sheet.submitted_at = sheet.updated_at


def reopen_sheet(organizer: User, sheet: ScoreSheet, reason: str | None) -> ScoreSheet:
    """Reopen a submitted sheet so its judge can change it; the reason is shown to the judge.

    Raises ``SheetError`` (not an organiser, no reason, not submitted, excluded); nothing is then
    written. Audit: ``sheet_reopened`` with the status, version and reason before and after."""
    if not organizer.is_organizer:
        raise SheetError(_("Only an organiser can reopen a score sheet."))
    reason = _clean_text(reason)
    if not reason:
        raise SheetError(_("Please give the reason for reopening; the judge will see it."), {"reason": [
            _("Please give the reason for reopening; the judge will see it.")]})
    if len(reason) > REASON_LIMIT:
        message = _("Please keep the reason to %(limit)d characters (it has %(count)d).", limit=REASON_LIMIT,
                    count=len(reason))
        raise SheetError(message, {"reason": [message]})
    _ensure_writable(sheet.stage, sheet)
    if sheet.status is not SheetStatus.SUBMITTED:
        raise SheetError(_("This score sheet is not submitted, so there is nothing to reopen."))
    before = {"status": sheet.status.value, "version": sheet.version, "submitted_at": sheet.submitted_at,
              "reopened_reason": sheet.reopened_reason}
    result = db.session.execute(
        update(ScoreSheet).where(ScoreSheet.id == sheet.id, ScoreSheet.version == sheet.version,
                                 ScoreSheet.status == SheetStatus.SUBMITTED)
        .values(version=ScoreSheet.version + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise SheetError(_("This score sheet changed a moment ago. Please reload the page and try again."))
    db.session.expire(sheet, ["version"])
    sheet.status, sheet.reopened_reason, sheet.submitted_at = SheetStatus.DRAFT, reason, None
    sheet.updated_at = utcnow()
    record("sheet_reopened", sheet, actor=organizer, before=before, after={
        "status": SheetStatus.DRAFT.value, "version": sheet.version, "reopened_reason": reason,
        "entry_id": sheet.entry_id, "judge_id": sheet.judge_id, "stage_id": sheet.stage_id})
    db.session.commit()
    return sheet


# --- a judge's dashboard -------------------------------------------------------------------------

PENDING, NOT_STARTED, DRAFT, REOPENED, SUBMITTED, EXCLUDED = (
    "pending", "not_started", "draft", "reopened", "submitted", "excluded")


@dataclass
class DashboardRow:
    assignment: Assignment
    sheet: ScoreSheet | None
    state: str  # PENDING (tie check not confirmed), NOT_STARTED, DRAFT, REOPENED, SUBMITTED, EXCLUDED
    total: Decimal | None

    @property
    def entry(self) -> Entry:
        return self.assignment.entry


@dataclass
class StageGroup:
    stage: Stage
    rows: list[DashboardRow] = field(default_factory=list)

    def count(self, *states: str) -> int:
        return sum(1 for row in self.rows if row.state in states)

    @property
    def window_problem(self) -> str | None:
        return window_problem(self.stage)


def _state(assignment: Assignment, sheet: ScoreSheet | None) -> str:
    if assignment.status is not AssignmentStatus.CONFIRMED:
        return PENDING
    if sheet is None:
        return NOT_STARTED
    if sheet.excluded:
        return EXCLUDED
    if sheet.status is SheetStatus.SUBMITTED:
        return SUBMITTED
    return REOPENED if sheet.reopened_reason else DRAFT


def judge_dashboard(judge: User) -> list[StageGroup]:
    """The judge's assignments per stage with their sheets, progress and totals.

    Which assignments are listed, and in what order, is ``assign_ops.judge_dashboard_rows``'s
    decision (open assignments only; never an entry of an agency the judge is tied to); this adds
    the sheets. Nothing of a pending entry is shown until the judge confirms there is no tie."""
    from .assign_ops import judge_dashboard_rows

    listed = judge_dashboard_rows(judge)
    ids = [row.assignment_id for group in listed for row in group.rows]
    assignments = {a.id: a for a in db.session.scalars(select(Assignment).where(Assignment.id.in_(ids)))}
    sheets = {(s.entry_id, s.stage_id): s for s in db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.judge_id == judge.id))}
    groups = []
    for listed_group in listed:
        group = StageGroup(db.session.get(Stage, listed_group.stage_id))
        for listed_row in listed_group.rows:
            assignment = assignments[listed_row.assignment_id]
            sheet = sheets.get((assignment.entry_id, assignment.stage_id))
            state = _state(assignment, sheet)
            if state == PENDING:
                group.rows.append(DashboardRow(assignment, None, state, None))
                continue
            total = sheet_total(criteria_of(assignment.entry, group.stage), sheet) if sheet is not None else None
            group.rows.append(DashboardRow(assignment, sheet, state, total))
        groups.append(group)
    return groups
