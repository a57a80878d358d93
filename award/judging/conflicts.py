"""The register of ties (利益迴避): judges declare them, organisers add the ones they know of and
retract one entered in error (never delete it).

A tie takes effect at once: every open assignment of the judge to an entry of a tied agency (or an
agency it supervises) ends as CONFLICTED, and a submitted score sheet of the judge for such an entry
is excluded, because the tie makes it void. Retracting a tie does not bring anything back: the
organiser assigns again by hand if that is right.

Every function checks everything first and raises ``TieError`` before writing; then it writes,
records the audit events and commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..models import (Agency, Assignment, AssignmentStatus, Entry, Role, ScoreSheet, SheetStatus, Tie, TieKind, User,
                      utcnow)
from ..results.operations import is_frozen_locked
from .rules import blocking_ties, tied_agency_ids

OPEN_STATUSES = (AssignmentStatus.ASSIGNED, AssignmentStatus.CONFIRMED)
# Kinds whose years the judge must give: "current or former employer (with years)".
KINDS_WITH_YEARS = (TieKind.CURRENT_EMPLOYER, TieKind.FORMER_EMPLOYER)
YEARS_MAX = 50
DESCRIPTION_MAX = 2000
REASON_MAX = 2000

TIE_KIND = {
    TieKind.CURRENT_EMPLOYER: _l("Current employer"),
    TieKind.FORMER_EMPLOYER: _l("Former employer"),
    TieKind.OVERSIGHT: _l("Oversight, audit or evaluation role"),
    TieKind.FAMILY: _l("Family member works there"),
    TieKind.ADVISORY: _l("Advisory, commission or contract relationship"),
    TieKind.OTHER: _l("Other"),
}
ASSIGNMENT_STATUS = {
    AssignmentStatus.ASSIGNED: _l("Assigned, not yet confirmed"),
    AssignmentStatus.CONFIRMED: _l("Confirmed: no tie"),
    AssignmentStatus.CONFLICTED: _l("Conflicted"),
    AssignmentStatus.WITHDRAWN: _l("Withdrawn"),
}


class TieError(Exception):
    """A refusal to show the user, already in their language; ``fields`` maps form fields to problems."""

    def __init__(self, messages: str | list[str] | None = None, fields: dict[str, list[str]] | None = None):
        self.messages = [messages] if isinstance(messages, str) else list(messages or [])
        self.fields = fields or {}
        self.message = " ".join(self.messages + [m for ms in self.fields.values() for m in ms])
        super().__init__(self.message)


@dataclass(frozen=True)
class TieData:
    agency_id: int | None
    kind: TieKind | None
    years: str = ""
    description: str = ""


@dataclass(frozen=True)
class TieEffects:
    """What a new tie ended: assignments now CONFLICTED and submitted sheets now excluded; ``deferred``
    are sheets a frozen result was made of, excluded when the organiser unfreezes it."""

    tie: Tie
    ended: list[Assignment]
    excluded: list[ScoreSheet]
    deferred: list[ScoreSheet] = field(default_factory=list)


def tie_kind_label(kind: TieKind | str) -> str:
    return str(TIE_KIND.get(TieKind(kind), kind))


def assignment_status_label(status: AssignmentStatus | str) -> str:
    return str(ASSIGNMENT_STATUS.get(AssignmentStatus(status), status))


# --- reading ------------------------------------------------------------------------------------

def ties_of(judge_id: int) -> list[Tie]:
    """The judge's ties, retracted ones included (the judge sees the whole record), newest first."""
    return list(db.session.scalars(
        select(Tie).where(Tie.judge_id == judge_id).order_by(Tie.created_at.desc(), Tie.id.desc())
    ))


def all_ties(judge_id: int | None = None, include_retracted: bool = True) -> list[Tie]:
    query = select(Tie).join(User, User.id == Tie.judge_id)
    if judge_id is not None:
        query = query.where(Tie.judge_id == judge_id)
    if not include_retracted:
        query = query.where(Tie.retracted_at.is_(None))
    return list(db.session.scalars(query.order_by(User.name, User.id, Tie.created_at.desc(), Tie.id.desc())))


def judges() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.role == Role.JUDGE).order_by(User.name, User.id)
    ))


def search_agencies(query: str = "", limit: int = 200) -> list[Agency]:
    """Agencies of the register whose name, code or county contains ``query`` (all when empty)."""
    statement = select(Agency)
    query = (query or "").strip()
    if query:
        like = f"%{query}%"
        statement = statement.where(Agency.name.ilike(like) | Agency.code.ilike(like) | Agency.county.ilike(like))
    return list(db.session.scalars(statement.order_by(Agency.code).limit(limit)))


def covered_agencies(agency: Agency) -> list[Agency]:
    """The agency and every agency below it: what a tie to it forbids (shown to the judge)."""
    found, frontier, seen = [agency], [agency], {agency.id}
    while frontier:
        for child in sorted(frontier.pop().subordinates, key=lambda a: a.code):
            if child.id not in seen:
                seen.add(child.id)
                found.append(child)
                frontier.append(child)
    return found


# --- declaring, adding, retracting --------------------------------------------------------------

def _problems(data: TieData) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        fields.setdefault(name, []).append(message)

    if data.agency_id is None or db.session.get(Agency, data.agency_id) is None:
        add("agency_id", _("Choose the agency from the register."))
    if data.kind is None:
        add("kind", _("Choose the kind of tie."))
    if data.kind in KINDS_WITH_YEARS and not data.years.strip():
        add("years", _("Give the years of employment, e.g. 2015–2019 or since 2021."))
    if len(data.years) > YEARS_MAX:
        add("years", _("At most %(n)d characters.", n=YEARS_MAX))
    if data.kind is TieKind.OTHER and not data.description.strip():
        add("description", _("Describe the tie: for “other” a description is required."))
    if len(data.description) > DESCRIPTION_MAX:
        add("description", _("At most %(n)d characters.", n=DESCRIPTION_MAX))
    return fields


def _check(judge: User, data: TieData) -> None:
    if not judge.is_judge:
        raise TieError(_("Ties are recorded for judges only."))
    fields = _problems(data)
    if fields:
        raise TieError(fields=fields)
    duplicate = db.session.scalar(select(Tie.id).where(
        Tie.judge_id == judge.id, Tie.agency_id == data.agency_id, Tie.kind == data.kind, Tie.retracted_at.is_(None)
    ))
    if duplicate is not None:
        raise TieError(_("This tie is already in the register."))


def declare_tie(judge: User, data: TieData) -> TieEffects:
    """The judge declares their own tie (audit ``tie_declared``)."""
    _check(judge, data)
    return _save(judge, data, actor=judge, action="tie_declared")


def add_tie(judge: User, data: TieData, organizer: User) -> TieEffects:
    """An organiser records a tie of a judge that they know of (audit ``tie_added_by_organizer``)."""
    if not organizer.is_organizer:
        raise TieError(_("Only organisers may add a tie for a judge."))
    _check(judge, data)
    return _save(judge, data, actor=organizer, action="tie_added_by_organizer")


def _save(judge: User, data: TieData, *, actor: User, action: str) -> TieEffects:
    tie = Tie(judge_id=judge.id, agency_id=data.agency_id, kind=data.kind, years=data.years.strip(),
              description=data.description.strip(), declared_by_id=actor.id)
    db.session.add(tie)
    db.session.flush()
    record(action, tie, actor=actor, after=_tie_snapshot(tie))
    ended, excluded, deferred = _apply(tie, actor)
    db.session.commit()
    return TieEffects(tie, ended, excluded, deferred)


def _tie_snapshot(tie: Tie) -> dict:
    return {"judge_id": tie.judge_id, "agency_id": tie.agency_id, "kind": tie.kind, "years": tie.years,
            "description": tie.description, "declared_by_id": tie.declared_by_id}


def _apply(tie: Tie, actor: User) -> tuple[list[Assignment], list[ScoreSheet], list[ScoreSheet]]:
    """End the judge's open assignments to the newly forbidden agencies; exclude their submitted sheets,
    except in a stage whose results are frozen: a freeze fixes the marks its result was made of, so
    those sheets are excluded when the organiser unfreezes (``exclude_tied_sheets``)."""
    tied = sorted(tied_agency_ids(tie.judge_id))
    if not tied:
        return [], [], []
    now = utcnow()
    reason = _("Tie #%(id)d declared: %(kind)s, %(agency)s.", id=tie.id, kind=tie_kind_label(tie.kind),
               agency=tie.agency.name)
    ended = list(db.session.scalars(
        select(Assignment).join(Entry, Entry.id == Assignment.entry_id)
        .where(Assignment.judge_id == tie.judge_id, Assignment.status.in_(OPEN_STATUSES),
               Entry.agency_id.in_(tied))
        .order_by(Assignment.id)
    ))
    for assignment in ended:
        before = {"status": assignment.status}
        assignment.status, assignment.ended_at, assignment.end_reason = AssignmentStatus.CONFLICTED, now, reason
        record("assignment_conflicted", assignment, actor=actor, before=before,
               after={"status": assignment.status, "tie_id": tie.id, "end_reason": reason})
    sheets = list(db.session.scalars(
        select(ScoreSheet).join(Entry, Entry.id == ScoreSheet.entry_id)
        .where(ScoreSheet.judge_id == tie.judge_id, ScoreSheet.status == SheetStatus.SUBMITTED,
               ScoreSheet.excluded.is_(False), Entry.agency_id.in_(tied))
        .order_by(ScoreSheet.id)
    ))
    stages = {sheet.stage_id: sheet.stage for sheet in sheets}
    frozen = {stage_id for stage_id, stage in stages.items() if is_frozen_locked(stage)}
    excluded = [sheet for sheet in sheets if sheet.stage_id not in frozen]
    deferred = [sheet for sheet in sheets if sheet.stage_id in frozen]
    for sheet in excluded:
        _exclude(sheet, tie, actor)
    for sheet in deferred:
        record("sheet_exclusion_deferred", sheet, actor=actor, before={"excluded": False},
               after={"excluded": False, "tie_id": tie.id, "stage_id": sheet.stage_id})
    return ended, excluded, deferred


def _exclude(sheet: ScoreSheet, tie: Tie, actor: User) -> None:
    void = _("Excluded: the judge has a tie with this agency (tie #%(id)d), which makes the sheet void.", id=tie.id)
    sheet.excluded, sheet.excluded_reason = True, void
    record("sheet_excluded", sheet, actor=actor, before={"excluded": False},
           after={"excluded": True, "excluded_reason": void, "tie_id": tie.id})


def tied_sheets(stage_id: int) -> list[tuple[ScoreSheet, Tie]]:
    """The stage's submitted sheets still counted although their judge has a tie (not retracted) with
    the entry's agency or an authority above it: a tie declared while the stage was frozen."""
    found = []
    sheets = db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.stage_id == stage_id, ScoreSheet.status == SheetStatus.SUBMITTED,
                                 ScoreSheet.excluded.is_(False)).order_by(ScoreSheet.id))
    for sheet in sheets:
        if ties := blocking_ties(sheet.judge_id, sheet.entry.agency):
            found.append((sheet, ties[0]))
    return found


def exclude_tied_sheets(stage_id: int, actor: User) -> list[ScoreSheet]:
    """Apply the exclusions a freeze deferred (called as the stage is unfrozen, before the commit)."""
    pairs = tied_sheets(stage_id)
    for sheet, tie in pairs:
        _exclude(sheet, tie, actor)
    return [sheet for sheet, _tie in pairs]


def retract_tie(tie: Tie, reason: str, organizer: User) -> Tie:
    """Mark a tie entered in error as retracted, with the reason; the row stays in the register."""
    reason = (reason or "").strip()
    if not organizer.is_organizer:
        raise TieError(_("Only organisers may retract a tie."))
    if tie.retracted_at is not None:
        raise TieError(_("This tie has already been retracted."))
    if not reason:
        raise TieError(fields={"reason": [_("Give the reason for the retraction.")]})
    if len(reason) > REASON_MAX:
        raise TieError(fields={"reason": [_("At most %(n)d characters.", n=REASON_MAX)]})
    tie.retracted_at, tie.retraction_reason = utcnow(), reason
    record("tie_retracted", tie, actor=organizer, before={"retracted_at": None},
           after={"retracted_at": tie.retracted_at, "retraction_reason": reason})
    db.session.commit()
    return tie


def declare_tie_on_assignment(assignment: Assignment, judge: User, data: TieData) -> TieEffects:
    """At the confirmation step the judge declares a tie with the entry's agency or an authority
    above it; the tie is recorded and the assignment (with any other it covers) ends as CONFLICTED."""
    if assignment.judge_id != judge.id or assignment.status is not AssignmentStatus.ASSIGNED:
        raise TieError(_("This assignment is not waiting for your confirmation."))
    agency = assignment.entry.agency
    chain = {agency.id} | {a.id for a in agency.ancestors()}
    if data.agency_id not in chain:
        raise TieError(fields={"agency_id": [_("Choose this entry's agency or an authority above it.")]})
    return declare_tie(judge, data)
