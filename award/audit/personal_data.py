"""Views and exports of other people's personal data are recorded (個人資料保護法施行細則 §12).

Every page that shows another person's personal data (an agency's contacts and head, the account
list, the outgoing-mail log, a stage's judge panel, a judge's withdrawal page, the register of
judges' ties) calls ``viewed``; every export that carries personal data (the results workbook's
ceremony list with the heads of agencies, a result snapshot's JSON) calls ``exported``. The events say who looked (the actor), whose or what data (``after``)
and when (``occurred_at``). Views by the same viewer of the same page within 15 minutes are recorded
once, so browsing does not flood the chain; exports are recorded every time. The privacy page's
search and export record their own events (``personal_data_searched``, which lists the records the
page shows, and ``personal_data_exported``, in award/privacy/operations.py).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent, User, utcnow
from .operations import default_actor, record

VIEWED = "personal_data.viewed"
EXPORTED = "personal_data.exported"
DEDUPLICATE_WITHIN = timedelta(minutes=15)
_KEY_LENGTH = 50  # AuditEvent.object_id


def page_key(page: str | None = None) -> str:
    """The page as the audit trail names it: the request's path and query (shortened with a hash if long)."""
    if page is None:
        page = request.full_path.rstrip("?") if has_request_context() else "cli"
    if len(page) <= _KEY_LENGTH:
        return page
    return page[:_KEY_LENGTH - 13] + "#" + hashlib.sha256(page.encode()).hexdigest()[:12]


def viewed(whose: dict[str, Any], *, page: str | None = None, viewer: User | None = None) -> AuditEvent | None:
    """Record (and commit) that the viewer saw ``whose`` data on this page, unless already recorded
    for the same viewer and page within the last 15 minutes; then return None."""
    viewer = viewer if viewer is not None else default_actor()
    key = page_key(page)
    recent = db.session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == VIEWED, AuditEvent.object_type == "page", AuditEvent.object_id == key,
            AuditEvent.actor_id == (viewer.id if viewer is not None else None),
            AuditEvent.occurred_at >= utcnow() - DEDUPLICATE_WITHIN).limit(1))
    if recent is not None:
        return None
    event = record(VIEWED, object_type="page", object_id=key, actor=viewer, after={"whose": whose})
    db.session.commit()
    return event


def exported(what: str, whose: dict[str, Any], *, actor: User | None = None, obj: Any = None) -> AuditEvent:
    """Record an export of personal data in the caller's transaction (the caller commits)."""
    return record(EXPORTED, obj, object_type=None if obj is not None else "personal_data", actor=actor,
                  after={"what": what, "whose": whose})
