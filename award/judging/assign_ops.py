"""Stage membership and assignments (分派): filling the first stage, the entry × judge matrix,
manual and automatic assignment, the judge's per-entry confirmation, a judge's withdrawal, and
the rows of the judge's home page.

Every writing function checks everything first and raises ``AssignmentError`` before writing;
then it writes, records the audit events and commits. A refusal changes nothing.

A judge's withdrawal from a stage is kept in the audit trail itself (``judge_withdrawn`` /
``judge_reinstated`` on the object ``stage_panel`` "<stage id>/<judge id>"): the trail is
append-only and hash-chained, so it is a sound record until the panel has a table of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..audit import canonical_json, record
from ..extensions import db
from ..models import (Assignment, AssignmentStatus, AuditEvent, Category, Edition, Entry, EntryStatus, Role,
                      Screening, ScoreSheet, SheetStatus, Stage, StageEntry, Tie, User, utcnow)
from ..results.operations import ResultsError, ensure_not_frozen
from .assignment import EntryItem, JudgeItem, Plan, Shortfall, ShortfallReason, plan_assignment
from .conflicts import OPEN_STATUSES, REASON_MAX, tie_kind_label
from .rules import blocking_ties, is_conflicted, tied_agency_ids

Pair = tuple[int, int]  # (entry id, judge id)
PANEL_OBJECT = "stage_panel"
MAX_CAP = 1000


class AssignmentError(Exception):
    """A refusal to show the organiser or judge, already in their language."""

    def __init__(self, messages: str | list[str], fields: dict[str, list[str]] | None = None):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.fields = fields or {}
        self.message = " ".join(self.messages + [m for ms in self.fields.values() for m in ms])
        super().__init__(self.message)


@contextmanager
def _saving() -> Iterator[None]:
    """Commit the block's writes; a clash with a concurrent change (two organisers assigning the
    same pair at once) saves nothing and says so."""
    try:
        yield
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AssignmentError(_("Nothing was saved: someone else changed the same assignments at the same "
                                "time. Please reload the page and try again.")) from None


# --- reading the stage --------------------------------------------------------------------------

def is_first_stage(stage: Stage) -> bool:
    first = db.session.scalar(
        select(Stage.id).where(Stage.edition_id == stage.edition_id).order_by(Stage.position, Stage.id).limit(1)
    )
    return first == stage.id


def stage_entries(stage: Stage, category_id: int | None = None) -> list[Entry]:
    """The stage's entries, by category (in the edition's order) and then by id."""
    query = (
        select(Entry).join(StageEntry, StageEntry.entry_id == Entry.id).join(Category, Category.id == Entry.category_id)
        .where(StageEntry.stage_id == stage.id)
        .options(joinedload(Entry.agency), joinedload(Entry.category))
        .order_by(Category.position, Category.id, Entry.id)
    )
    if category_id is not None:
        query = query.where(Entry.category_id == category_id)
    return list(db.session.scalars(query).unique())


def in_stage(stage: Stage, entry_id: int) -> bool:
    return db.session.scalar(
        select(StageEntry.id).where(StageEntry.stage_id == stage.id, StageEntry.entry_id == entry_id)
    ) is not None


def withdrawn_judge_ids(stage_id: int) -> set[int]:
    """Judges withdrawn from the stage (and not reinstated since), from the audit trail."""
    prefix = f"{stage_id}/"
    events = db.session.execute(
        select(AuditEvent.action, AuditEvent.object_id)
        .where(AuditEvent.object_type == PANEL_OBJECT, AuditEvent.object_id.like(prefix + "%"))
        .order_by(AuditEvent.seq)
    )
    withdrawn: set[int] = set()
    for action, object_id in events:
        judge_id = int(object_id[len(prefix):])
        if action == "judge_withdrawn":
            withdrawn.add(judge_id)
        elif action == "judge_reinstated":
            withdrawn.discard(judge_id)
    return withdrawn


def active_judges() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == Role.JUDGE, User.active.is_(True)).order_by(User.name, User.id)
    ))


def panel_judges(stage: Stage) -> list[User]:
    """The judges who may be assigned in the stage: active, and not withdrawn from it."""
    withdrawn = withdrawn_judge_ids(stage.id)
    return [judge for judge in active_judges() if judge.id not in withdrawn]


def stage_assignments(stage: Stage) -> list[Assignment]:
    return list(db.session.scalars(
        select(Assignment).where(Assignment.stage_id == stage.id).order_by(Assignment.id)
    ))


def counted_sheet_pairs(stage: Stage) -> set[Pair]:
    """(entry, judge) of the stage's submitted, not excluded sheets: they count as coverage even
    when the judge has since withdrawn and the organiser kept the sheet."""
    rows = db.session.execute(
        select(ScoreSheet.entry_id, ScoreSheet.judge_id).where(
            ScoreSheet.stage_id == stage.id, ScoreSheet.status == SheetStatus.SUBMITTED,
            ScoreSheet.excluded.is_(False))
    )
    return {(entry_id, judge_id) for entry_id, judge_id in rows}


def open_pairs(stage: Stage) -> set[Pair]:
    rows = db.session.execute(
        select(Assignment.entry_id, Assignment.judge_id)
        .where(Assignment.stage_id == stage.id, Assignment.status.in_(OPEN_STATUSES))
    )
    return {(entry_id, judge_id) for entry_id, judge_id in rows}


def forbidden_pairs(entries: list[Entry], judge_ids: list[int]) -> set[Pair]:
    """Every (entry, judge) the tie register forbids, the agency hierarchy included."""
    forbidden: set[Pair] = set()
    for judge_id in judge_ids:
        tied = tied_agency_ids(judge_id)
        if tied:
            forbidden.update((entry.id, judge_id) for entry in entries if entry.agency_id in tied)
    return forbidden


# --- stage membership ---------------------------------------------------------------------------

def populate_first_stage(stage: Stage, organizer: User) -> int:
    """Put every submitted, eligible entry of the edition into its first stage (basis "eligible").

    Idempotent: entries already in the stage are left alone; returns how many were added.
    """
    if not is_first_stage(stage):
        raise AssignmentError(_("Only the first stage is filled from the screening; later stages hold "
                                "the entries advanced to them."))
    present = set(db.session.scalars(select(StageEntry.entry_id).where(StageEntry.stage_id == stage.id)))
    # FOR SHARE: an entry being withdrawn or returned right now is either waited for (and then no longer
    # submitted) or cannot be withdrawn until the stage holds it (entries/operations.py re-checks).
    eligible = db.session.scalars(
        select(Entry.id).join(Category, Category.id == Entry.category_id)
        .where(Category.edition_id == stage.edition_id, Entry.status == EntryStatus.SUBMITTED,
               Entry.screening == Screening.ELIGIBLE)
        .order_by(Entry.id).with_for_update(read=True, of=Entry)
    ).all()
    added = [entry_id for entry_id in eligible if entry_id not in present]
    if not added:
        return 0
    now = utcnow()
    with _saving():
        for entry_id in added:
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry_id, basis="eligible",
                                      decided_by_id=organizer.id, decided_at=now))
        record("stage_populated", stage, actor=organizer, after={"basis": "eligible", "entries": added})
    return len(added)


def awaiting_screening(stage: Stage) -> int:
    """Submitted entries of the stage's edition not screened yet: they cannot enter the first stage."""
    return db.session.scalar(
        select(func.count(Entry.id)).join(Category, Category.id == Entry.category_id)
        .where(Category.edition_id == stage.edition_id, Entry.status == EntryStatus.SUBMITTED,
               Entry.screening == Screening.PENDING))


# --- the matrix ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    judge_id: int
    assignment: Assignment | None
    tied: bool  # the tie register forbids the pair
    sheet: str | None  # "draft", "submitted", "excluded" or None

    @property
    def open(self) -> bool:
        return self.assignment is not None and self.assignment.status in OPEN_STATUSES


@dataclass(frozen=True)
class Row:
    entry: Entry
    cells: list[Cell]
    coverage: int  # judges with an open assignment or a counted sheet


@dataclass(frozen=True)
class Group:
    category: Category
    rows: list[Row]


@dataclass(frozen=True)
class Matrix:
    stage: Stage
    judges: list[User]
    groups: list[Group]
    loads: dict[int, int]  # judge id → open assignments in the stage
    withdrawn: set[int]
    k: int

    @property
    def entry_count(self) -> int:
        return sum(len(g.rows) for g in self.groups)

    @property
    def short_count(self) -> int:
        return sum(1 for g in self.groups for r in g.rows if r.coverage < self.k)


def stage_matrix(stage: Stage, category_id: int | None = None) -> Matrix:
    entries = stage_entries(stage, category_id)
    assignments = stage_assignments(stage)
    by_pair = {(a.entry_id, a.judge_id): a for a in assignments}
    withdrawn = withdrawn_judge_ids(stage.id)
    judges = _matrix_judges(assignments)
    forbidden = forbidden_pairs(entries, [j.id for j in judges])
    sheets = {(s.entry_id, s.judge_id): s for s in db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.stage_id == stage.id))}
    covering: dict[int, set[int]] = {}
    for entry_id, judge_id in open_pairs(stage) | counted_sheet_pairs(stage):
        covering.setdefault(entry_id, set()).add(judge_id)
    groups: dict[int, Group] = {}
    for entry in entries:
        cells = [Cell(judge.id, by_pair.get((entry.id, judge.id)), (entry.id, judge.id) in forbidden,
                      _sheet_state(sheets.get((entry.id, judge.id)))) for judge in judges]
        group = groups.setdefault(entry.category_id, Group(entry.category, []))
        group.rows.append(Row(entry, cells, len(covering.get(entry.id, ()))))
    loads = {judge.id: 0 for judge in judges}
    for a in assignments:
        if a.status in OPEN_STATUSES and a.judge_id in loads:
            loads[a.judge_id] += 1
    return Matrix(stage, judges, list(groups.values()), loads, withdrawn, stage.judges_per_entry)


def _matrix_judges(assignments: list[Assignment]) -> list[User]:
    """Active judges, and any other judge who has an assignment in the stage."""
    judges = {judge.id: judge for judge in active_judges()}
    others = {a.judge_id for a in assignments} - set(judges)
    if others:
        judges.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(others)))})
    return sorted(judges.values(), key=lambda u: (u.name, u.id))


def _sheet_state(sheet: ScoreSheet | None) -> str | None:
    if sheet is None:
        return None
    if sheet.excluded:
        return "excluded"
    return sheet.status.value


# --- manual assignment --------------------------------------------------------------------------

def _judge_for_stage(stage: Stage, judge: User | None) -> User:
    if judge is None or not judge.is_judge:
        raise AssignmentError(_("Choose a judge."))
    if not judge.active:
        raise AssignmentError(_("%(name)s's account is disabled.", name=judge.name))
    if judge.id in withdrawn_judge_ids(stage.id):
        raise AssignmentError(_("%(name)s has withdrawn from this stage; reinstate the judge first.", name=judge.name))
    return judge


def tie_refusal(judge: User, entry: Entry) -> str | None:
    """Why the register forbids the pair, in words; None if it does not."""
    if not is_conflicted(judge.id, entry.agency_id):
        return None
    ties = blocking_ties(judge.id, entry.agency)
    described = "; ".join(f"{tie_kind_label(t.kind)} — {t.agency.name}" for t in ties)
    return _("%(judge)s has a tie with %(agency)s or an authority above it (%(ties)s) and may not judge this entry.",
             judge=judge.name, agency=entry.agency.name, ties=described)


def assign(stage: Stage, entry: Entry | None, judge: User | None, organizer: User) -> Assignment:
    """Assign a judge to an entry of the stage by hand (audit ``assignment_added``)."""
    if entry is None or not in_stage(stage, entry.id):
        raise AssignmentError(_("This entry is not in the stage."))
    judge = _judge_for_stage(stage, judge)
    refusal = tie_refusal(judge, entry)
    if refusal:
        raise AssignmentError(refusal)
    row = db.session.scalar(select(Assignment).where(
        Assignment.stage_id == stage.id, Assignment.entry_id == entry.id, Assignment.judge_id == judge.id))
    if row is not None and row.status in OPEN_STATUSES:
        raise AssignmentError(_("%(name)s is already assigned to this entry.", name=judge.name))
    before = {"status": row.status} if row is not None else None
    with _saving():
        row = _open_assignment(stage, entry.id, judge.id, organizer, row)
        record("assignment_added", row, actor=organizer, before=before,
               after={"stage_id": stage.id, "entry_id": entry.id, "judge_id": judge.id, "status": row.status,
                      "manual": True})
    return row


def _open_assignment(stage: Stage, entry_id: int, judge_id: int, organizer: User,
                     row: Assignment | None = None) -> Assignment:
    """A new assignment, or the pair's ended one opened again (the pair is unique per stage)."""
    if row is None:
        row = Assignment(stage_id=stage.id, entry_id=entry_id, judge_id=judge_id)
        db.session.add(row)
    row.status, row.assigned_by_id = AssignmentStatus.ASSIGNED, organizer.id
    row.confirmed_at, row.ended_at, row.end_reason = None, None, ""
    return row


def _has_submitted_sheet(assignment: Assignment) -> bool:
    return db.session.scalar(select(ScoreSheet.id).where(
        ScoreSheet.stage_id == assignment.stage_id, ScoreSheet.entry_id == assignment.entry_id,
        ScoreSheet.judge_id == assignment.judge_id, ScoreSheet.status == SheetStatus.SUBMITTED)) is not None


def unassign(assignment: Assignment, organizer: User, reason: str = "") -> Assignment:
    """Remove an open assignment (status WITHDRAWN; audit ``assignment_removed``). A judge who has
    submitted a sheet for the entry is withdrawn on the withdrawal page, where the sheet is decided."""
    if assignment.status not in OPEN_STATUSES:
        raise AssignmentError(_("This assignment has already ended."))
    if _has_submitted_sheet(assignment):
        raise AssignmentError(_("%(name)s has submitted a score sheet for this entry. Use “withdraw judge” to "
                                "decide whether the sheet is kept or excluded.", name=assignment.judge.name))
    reason = (reason or "").strip()[:REASON_MAX] or _("Removed by the organiser.")
    before = {"status": assignment.status}
    assignment.status, assignment.ended_at, assignment.end_reason = AssignmentStatus.WITHDRAWN, utcnow(), reason
    record("assignment_removed", assignment, actor=organizer, before=before,
           after={"status": assignment.status, "end_reason": reason})
    db.session.commit()
    return assignment


# --- automatic assignment -----------------------------------------------------------------------

@dataclass(frozen=True)
class AutoOptions:
    cap: int | None = None  # per judge in the stage, existing assignments included
    spread: bool = False  # spread each judge's entries across the categories
    keep_existing: bool = True  # False: assignments not yet confirmed may be replaced
    judge_ids: tuple[int, ...] | None = None  # the judges taking part (None: the whole panel)


@dataclass
class AutoPreview:
    stage: Stage
    options: AutoOptions
    plan: Plan
    fingerprint: str
    added: list[Pair]  # pairs that will be assigned
    removed: list[Pair]  # unconfirmed pairs that will be withdrawn (keep_existing off)
    entries: dict[int, Entry] = field(default_factory=dict)
    judges: dict[int, User] = field(default_factory=dict)

    @property
    def missing_places(self) -> int:
        return sum(s.missing for s in self.plan.shortfalls)


def preview_automatic(stage: Stage, options: AutoOptions) -> AutoPreview:
    """The plan the automatic assignment would apply now, with a fingerprint of everything it used."""
    if options.cap is not None and not 1 <= options.cap <= MAX_CAP:
        raise AssignmentError([], {"cap": [_("Enter a whole number from 1 to %(n)d, or leave it empty.", n=MAX_CAP)]})
    panel = panel_judges(stage)
    if options.judge_ids is not None:
        unknown = set(options.judge_ids) - {j.id for j in panel}
        if unknown:
            raise AssignmentError(_("Some of the chosen judges are not on the stage's panel any more. "
                                    "Please reload the page."))
        panel = [j for j in panel if j.id in set(options.judge_ids)]
    entries = stage_entries(stage)
    if not entries:
        raise AssignmentError(_("The stage has no entries yet."))
    if not panel:
        raise AssignmentError(_("Choose at least one judge."))
    assignments = stage_assignments(stage)
    counted = counted_sheet_pairs(stage)
    if options.keep_existing:
        existing = {(a.entry_id, a.judge_id) for a in assignments if a.status in OPEN_STATUSES} | counted
    else:
        existing = {(a.entry_id, a.judge_id) for a in assignments if a.status is AssignmentStatus.CONFIRMED} | counted
    forbidden = forbidden_pairs(entries, [j.id for j in panel])
    plan = plan_assignment(
        [EntryItem(e.id, e.category_id) for e in entries],
        [JudgeItem(j.id, options.cap) for j in panel],
        stage.judges_per_entry, forbidden=forbidden, existing=existing, spread=options.spread,
        seed=stage.id,
    )
    currently_open = {(a.entry_id, a.judge_id) for a in assignments if a.status in OPEN_STATUSES}
    planned = set(plan.pairs)
    added = sorted(p for p in plan.new_pairs if p not in currently_open)
    removed = sorted(p for p in currently_open - planned if p not in existing)
    fingerprint = _fingerprint(stage, options, entries, panel, assignments, counted)
    users = {j.id: j for j in panel}
    return AutoPreview(stage, options, plan, fingerprint, added, removed, {e.id: e for e in entries}, users)


def _fingerprint(stage: Stage, options: AutoOptions, entries: list[Entry], panel: list[User],
                 assignments: list[Assignment], counted: set[Pair]) -> str:
    """Everything the plan depends on: if any of it changes between preview and apply, the
    preview is stale and is not applied."""
    judge_ids = [j.id for j in panel]
    ties = db.session.execute(
        select(Tie.id, Tie.judge_id, Tie.agency_id).where(Tie.retracted_at.is_(None)).order_by(Tie.id)
    ).all()
    content = {
        "stage": stage.id, "k": stage.judges_per_entry,
        "options": [options.cap, options.spread, options.keep_existing, judge_ids],
        "entries": [[e.id, e.category_id, e.agency_id] for e in entries],
        "assignments": [[a.id, a.entry_id, a.judge_id, a.status.value] for a in assignments],
        "sheets": sorted(counted),
        "ties": [list(t) for t in ties],
    }
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def apply_automatic(stage: Stage, options: AutoOptions, fingerprint: str, organizer: User) -> AutoPreview:
    """Apply the previewed plan in one transaction with one audit event ``assignment_automatic``.

    The plan is computed again (it is deterministic) and applied only if nothing it depends on
    changed since the preview, so the organiser gets exactly what they saw.
    """
    preview = preview_automatic(stage, options)
    if preview.fingerprint != fingerprint:
        raise AssignmentError(_("The assignments, ties or entries changed since the preview. "
                                "Nothing was applied: please look at the new preview."))
    if not preview.added and not preview.removed:
        raise AssignmentError(_("The plan changes nothing: every entry is covered as well as it can be."))
    forbidden = forbidden_pairs(list(preview.entries.values()), list(preview.judges))
    if any(pair in forbidden for pair in preview.added):  # the algorithm guarantees this; never trust, verify
        raise AssignmentError(_("The plan contains a conflicted pair; nothing was applied."))
    rows = {(a.entry_id, a.judge_id): a for a in stage_assignments(stage)}
    now = utcnow()
    with _saving():
        for entry_id, judge_id in preview.removed:
            row = rows[(entry_id, judge_id)]
            row.status, row.ended_at = AssignmentStatus.WITHDRAWN, now
            row.end_reason = _("Replaced by the automatic assignment.")
        for entry_id, judge_id in preview.added:
            _open_assignment(stage, entry_id, judge_id, organizer, rows.get((entry_id, judge_id)))
        _record_automatic(stage, preview, options, organizer)
    return preview


def _record_automatic(stage: Stage, preview: AutoPreview, options: AutoOptions, organizer: User) -> None:
    record("assignment_automatic", stage, actor=organizer, after={
        "added": len(preview.added), "removed": len(preview.removed), "kept": len(preview.plan.kept_pairs),
        "entries_short": len(preview.plan.shortfalls), "places_missing": preview.missing_places,
        "cap": options.cap, "spread": options.spread, "keep_existing": options.keep_existing,
        "judges": sorted(preview.judges), "pairs": [list(p) for p in preview.added],
        "removed_pairs": [list(p) for p in preview.removed],
    })


def shortfall_text(shortfall: Shortfall) -> str:
    if shortfall.reason is ShortfallReason.NO_JUDGES:
        return _("No judge is available.")
    if shortfall.reason is ShortfallReason.TOO_FEW_ELIGIBLE:
        return _("Only %(n)d judges without a conflict (%(k)d needed).", n=shortfall.eligible, k=shortfall.needed)
    return _("The judges without a conflict have reached their cap.")


# --- confirmation by the judge ------------------------------------------------------------------

def confirm_assignment(assignment: Assignment, judge: User) -> Assignment:
    """The judge confirms they have no tie with the entry's agency (audit ``assignment_confirmed``)."""
    if assignment.judge_id != judge.id:
        raise AssignmentError(_("This is not your assignment."))
    if assignment.status is not AssignmentStatus.ASSIGNED:
        raise AssignmentError(_("This assignment is not waiting for your confirmation."))
    if is_conflicted(judge.id, assignment.entry.agency_id):
        raise AssignmentError(_("The tie register forbids this entry for you."))
    assignment.status, assignment.confirmed_at = AssignmentStatus.CONFIRMED, utcnow()
    record("assignment_confirmed", assignment, actor=judge, before={"status": AssignmentStatus.ASSIGNED},
           after={"status": assignment.status, "confirmed_at": assignment.confirmed_at})
    db.session.commit()
    return assignment


# --- withdrawal of a judge ----------------------------------------------------------------------

@dataclass(frozen=True)
class SheetDecision:
    exclude: bool
    reason: str = ""


def open_assignments_of(stage: Stage, judge: User) -> list[Assignment]:
    return list(db.session.scalars(
        select(Assignment).where(Assignment.stage_id == stage.id, Assignment.judge_id == judge.id,
                                 Assignment.status.in_(OPEN_STATUSES)).order_by(Assignment.entry_id)
    ))


def submitted_sheets_of(stage: Stage, judge: User) -> list[ScoreSheet]:
    """The judge's submitted sheets in the stage not yet excluded: the organiser decides each."""
    return list(db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.stage_id == stage.id, ScoreSheet.judge_id == judge.id,
                                 ScoreSheet.status == SheetStatus.SUBMITTED, ScoreSheet.excluded.is_(False))
        .order_by(ScoreSheet.entry_id)
    ))


def withdraw_judge(stage: Stage, judge: User, reason: str, decisions: dict[int, SheetDecision],
                   organizer: User) -> tuple[list[Assignment], list[ScoreSheet]]:
    """Withdraw a judge from the stage: their open assignments become WITHDRAWN, and each submitted
    sheet is kept or excluded as the organiser decides (every sheet needs a decision, an exclusion
    a reason). Returns (withdrawn assignments, excluded sheets)."""
    reason = (reason or "").strip()
    sheets = submitted_sheets_of(stage, judge)
    fields: dict[str, list[str]] = {}
    if not judge.is_judge:
        raise AssignmentError(_("Only a judge can be withdrawn."))
    if judge.id in withdrawn_judge_ids(stage.id):
        raise AssignmentError(_("%(name)s has already withdrawn from this stage.", name=judge.name))
    if not reason:
        fields["reason"] = [_("Give the reason for the withdrawal.")]
    elif len(reason) > REASON_MAX:
        fields["reason"] = [_("At most %(n)d characters.", n=REASON_MAX)]
    for sheet in sheets:
        decision = decisions.get(sheet.id)
        if decision is None:
            fields[f"sheet_{sheet.id}"] = [_("Decide whether this sheet is kept or excluded.")]
        elif decision.exclude and not decision.reason.strip():
            fields[f"sheet_{sheet.id}_reason"] = [_("Give the reason for excluding this sheet.")]
        elif len(decision.reason) > REASON_MAX:
            fields[f"sheet_{sheet.id}_reason"] = [_("At most %(n)d characters.", n=REASON_MAX)]
    if fields:
        raise AssignmentError([], fields)
    if any(decisions[s.id].exclude for s in sheets):
        try:
            ensure_not_frozen(stage)  # excluding a sheet changes the marks a frozen result was made of
        except ResultsError as refusal:
            raise AssignmentError(str(refusal)) from None

    now = utcnow()
    assignments = open_assignments_of(stage, judge)
    for assignment in assignments:
        assignment.status, assignment.ended_at, assignment.end_reason = AssignmentStatus.WITHDRAWN, now, reason
    excluded = []
    for sheet in sheets:
        decision = decisions[sheet.id]
        if decision.exclude:
            sheet.excluded, sheet.excluded_reason = True, decision.reason.strip()
            excluded.append(sheet)
            record("sheet_excluded", sheet, actor=organizer, before={"excluded": False},
                   after={"excluded": True, "excluded_reason": sheet.excluded_reason, "withdrawal": True})
        else:
            record("sheet_kept", sheet, actor=organizer,
                   after={"excluded": False, "reason": decision.reason.strip(), "withdrawal": True})
    record("judge_withdrawn", object_type=PANEL_OBJECT, object_id=f"{stage.id}/{judge.id}", actor=organizer,
           after={"stage_id": stage.id, "judge_id": judge.id, "reason": reason,
                  "assignments": [a.id for a in assignments],
                  "sheets_kept": [s.id for s in sheets if s not in excluded],
                  "sheets_excluded": [s.id for s in excluded]})
    db.session.commit()
    return assignments, excluded


def reinstate_judge(stage: Stage, judge: User, organizer: User) -> None:
    """Put a withdrawn judge back on the stage's panel (their ended assignments stay ended)."""
    if judge.id not in withdrawn_judge_ids(stage.id):
        raise AssignmentError(_("%(name)s has not withdrawn from this stage.", name=judge.name))
    record("judge_reinstated", object_type=PANEL_OBJECT, object_id=f"{stage.id}/{judge.id}", actor=organizer,
           after={"stage_id": stage.id, "judge_id": judge.id})
    db.session.commit()


# --- the judge's home page ----------------------------------------------------------------------

@dataclass(frozen=True)
class DashboardRow:
    assignment_id: int
    entry_id: int
    category: str
    status: AssignmentStatus
    confirmation_pending: bool  # the judge must confirm "no tie" before seeing anything of the entry
    title: str | None  # only once confirmed: before that the judge sees nothing of the entry
    sheet_status: str | None  # "draft", "submitted", "excluded" or None


@dataclass(frozen=True)
class DashboardStage:
    stage_id: int
    stage_name: str
    edition_name: str
    opens_at: datetime | None
    closes_at: datetime | None
    blind: bool
    rows: list[DashboardRow]

    @property
    def pending(self) -> int:
        return sum(1 for r in self.rows if r.confirmation_pending)


def judge_dashboard_rows(judge: User) -> list[DashboardStage]:
    """The judge's open assignments, per stage (newest edition first, stages in order), entries by
    category and id; for the judge's home page and the score sheet pages."""
    assignments = db.session.scalars(
        select(Assignment).join(Stage, Stage.id == Assignment.stage_id).join(Edition, Edition.id == Stage.edition_id)
        .join(Entry, Entry.id == Assignment.entry_id).join(Category, Category.id == Entry.category_id)
        .where(Assignment.judge_id == judge.id, Assignment.status.in_(OPEN_STATUSES))
        .options(joinedload(Assignment.stage).joinedload(Stage.edition),
                 joinedload(Assignment.entry).joinedload(Entry.category))
        .order_by(Edition.number.desc(), Stage.position, Stage.id, Category.position, Category.id, Entry.id)
    ).all()
    tied = tied_agency_ids(judge.id)
    sheets = {(s.stage_id, s.entry_id): s for s in db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.judge_id == judge.id))}
    stages: dict[int, DashboardStage] = {}
    for a in assignments:
        if a.entry.agency_id in tied:
            continue  # never list an entry the register forbids, whatever the assignment says
        stage = a.stage
        group = stages.setdefault(stage.id, DashboardStage(
            stage.id, stage.name, stage.edition.name, stage.opens_at, stage.closes_at, stage.blind, []))
        confirmed = a.status is AssignmentStatus.CONFIRMED
        group.rows.append(DashboardRow(
            a.id, a.entry_id, a.entry.category.name, a.status, not confirmed,
            a.entry.title if confirmed else None, _sheet_state(sheets.get((stage.id, a.entry_id)))))
    return list(stages.values())
