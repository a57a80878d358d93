"""Who may see and change an entry, and until when. Shared by the entry form, the attachment
endpoints (multipart and tus) and the organiser's pages, so the rules are written once."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..judging.rules import judge_may_view
from ..models import DeadlineExtension, Edition, EditionStatus, Entry, EntryStatus, User, utcnow


class EntryError(Exception):
    """A refusal to show the user, already in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def deadline_for(edition: Edition, agency_id: int) -> datetime | None:
    """The agency's submission deadline: the edition's, or a later one an organiser granted."""
    extended = db.session.scalar(
        select(func.max(DeadlineExtension.until)).where(
            DeadlineExtension.edition_id == edition.id, DeadlineExtension.agency_id == agency_id
        )
    )
    if edition.submission_deadline is None:
        return extended
    return max(edition.submission_deadline, extended) if extended else edition.submission_deadline


def submissions_open(edition: Edition, agency_id: int, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if edition.status is not EditionStatus.OPEN:
        return False
    if edition.submission_opens_at and now < edition.submission_opens_at:
        return False
    deadline = deadline_for(edition, agency_id)
    return deadline is None or now <= deadline


def ensure_open(edition: Edition, agency_id: int) -> None:
    if not submissions_open(edition, agency_id):
        raise EntryError(_("Entries for this edition cannot be changed now: it is not open, or the deadline "
                           "has passed. If a typhoon or a cut link kept you from submitting, ask the organiser "
                           "for an extension."))


def ensure_editable(entry: Entry) -> None:
    """An entry's content may change only as a draft (or withdrawn/returned) before the deadline."""
    ensure_open(entry.category.edition, entry.agency_id)
    if entry.status is EntryStatus.SUBMITTED:
        raise EntryError(_("This entry has been submitted. Withdraw it first to make changes."))


def can_view_entry(user: User, entry: Entry) -> bool:
    """Organisers see every entry; an agency contact sees its own agency's; a judge only an entry
    assigned to them and confirmed free of ties (see ``award.judging.rules``)."""
    if not user.is_authenticated:
        return False
    if user.is_organizer:
        return True
    if user.is_agency:
        return user.agency_id == entry.agency_id
    return judge_may_view(user, entry)

