"""Helpers for the entries tests: form data as a browser posts it, attachments, audit and time."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select

from award.extensions import db
from award.models import Agency, Attachment, AuditEvent, Category, Edition, Entry, User, utcnow
from demo_clients import demo_client as login_client  # noqa: F401 - re-exported for the entries tests


def edition() -> Edition:
    return db.session.scalar(select(Edition).where(Edition.number == 3))


def category(position: int = 0) -> Category:
    return edition().categories[position]


def agency(code: str) -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def user(who: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{who}@award.example"))


def start(client, position: int = 0) -> int:
    """Start an entry in the demo edition's category and return its id."""
    with client.application.app_context():
        category_id = category(position).id
    response = client.post(f"/entries/start/{category_id}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").split("/")[-2])


def entry(entry_id: int) -> Entry:
    db.session.expire_all()
    return db.session.get(Entry, entry_id)


def complete_data(entry_id: int, **overrides) -> dict:
    """Everything the form needs for a complete entry, at the entry's current draft version."""
    e = entry(entry_id)
    data = {"draft_version": str(e.draft_version), "head_name": "陳縣長", "contact_name": "林政風",
            "contact_title": "科長", "contact_phone": "06-9274400", "contact_email": "ethics@penghu.example",
            "title": "離島廉能治理", "summary": "以資訊公開與跨島協作推動廉能。", "head_declaration": "y"}
    for criterion in e.category.criteria:
        data[f"section_{criterion.id}"] = f"{criterion.name}：具體作為說明。"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def add_attachment(entry_id: int, name: str = "成果報告.pdf", content: bytes = b"%PDF-1.7 demo") -> Attachment:
    """An attachment row as the upload endpoints would leave it (they are another helper's work)."""
    attachment = Attachment(entry_id=entry_id, original_name=name, kind="pdf", content_type="application/pdf",
                            size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                            storage_key=secrets.token_hex(16))
    db.session.add(attachment)
    db.session.commit()
    return attachment


def actions(object_type: str | None = None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.seq)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    return list(db.session.scalars(query))


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def pass_deadline() -> None:
    """Move the demo edition's deadline into the past."""
    e = edition()
    e.submission_opens_at = utcnow() - timedelta(days=20)
    e.submission_deadline = utcnow() - timedelta(hours=1)
    db.session.commit()

