"""Conflict-of-interest and assignment rules: which judge may see and score which entry.

Written once and used by every judging page, the entry and attachment pages, and the offline
sheets, so no URL can forget a check.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Agency, Assignment, AssignmentStatus, Entry, Stage, Tie, User


def tied_agency_ids(judge_id: int) -> set[int]:
    """Agencies the judge may not judge: those with an active tie, and every agency below one of
    them in the supervision hierarchy (a tie to a ministry covers its subordinate agencies)."""
    direct = set(db.session.scalars(
        select(Tie.agency_id).where(Tie.judge_id == judge_id, Tie.retracted_at.is_(None))
    ))
    if not direct:
        return set()
    children: dict[int, list[int]] = {}
    for agency_id, supervisor_id in db.session.execute(select(Agency.id, Agency.supervisor_id)):
        if supervisor_id is not None:
            children.setdefault(supervisor_id, []).append(agency_id)
    tied, frontier = set(direct), list(direct)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in tied:
                tied.add(child)
                frontier.append(child)
    return tied


def blocking_ties(judge_id: int, agency: Agency) -> list[Tie]:
    """The judge's active ties that forbid this agency: to it, or to an authority above it."""
    chain = [agency.id] + [a.id for a in agency.ancestors()]
    return list(db.session.scalars(
        select(Tie).where(Tie.judge_id == judge_id, Tie.agency_id.in_(chain), Tie.retracted_at.is_(None))
        .order_by(Tie.id)
    ))


def is_conflicted(judge_id: int, agency_id: int) -> bool:
    return agency_id in tied_agency_ids(judge_id)


def confirmed_assignment(judge_id: int, entry_id: int, stage_id: int | None = None) -> Assignment | None:
    """The judge's assignment to the entry (in the stage, if given) that they confirmed tie-free."""
    query = select(Assignment).where(
        Assignment.judge_id == judge_id, Assignment.entry_id == entry_id,
        Assignment.status == AssignmentStatus.CONFIRMED,
    )
    if stage_id is not None:
        query = query.where(Assignment.stage_id == stage_id)
    return db.session.scalars(query.order_by(Assignment.id.desc())).first()


def judge_may_view(user: User, entry: Entry, stage_id: int | None = None) -> bool:
    """A judge sees an entry only through a confirmed assignment, and never an agency they are tied to."""
    if not user.is_judge:
        return False
    if confirmed_assignment(user.id, entry.id, stage_id) is None:
        return False
    return not is_conflicted(user.id, entry.agency_id)


def judges_blind(user: User, entry: Entry) -> bool:
    """Whether the judge reviews this entry in a blind stage (any of their confirmed assignments to
    it): then nothing they are shown may name the agency, file names included."""
    if not user.is_judge:
        return False
    return db.session.scalar(
        select(Assignment.id).join(Stage, Stage.id == Assignment.stage_id).where(
            Assignment.judge_id == user.id, Assignment.entry_id == entry.id,
            Assignment.status == AssignmentStatus.CONFIRMED, Stage.blind.is_(True),
        ).limit(1)
    ) is not None
