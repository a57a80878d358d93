"""A populated instance for the personal data and backup tests: the demo edition, one submitted entry
with an attachment on disk, judge2's score sheet, and the edition closed (with its audit events)."""

from __future__ import annotations

import hashlib
import io
import json
from decimal import Decimal

from sqlalchemy import select

from award.audit import record
from award.demo import ACCOUNTS
from award.entries.storage import save_stream
from award.extensions import db
from award.models import (Agency, Assignment, AssignmentStatus, Attachment, Edition, EditionStatus, Entry,
                          EntryStatus, EntryVersion, Mark, ScoreSheet, SheetStatus, StageEntry, User, utcnow)

CONTACT_EMAIL = "ethics@penghu.example"
CONTACT_NAME = "林政風"
HEAD_NAME = "陳縣長"
PDF = b"%PDF-1.7\n% demo attachment\n" + bytes(range(256)) * 4


def user(who: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{who}@award.example"))


def populate(close: bool = True) -> dict:
    """Call inside an app context after the demo is loaded; returns the ids of what was made."""
    edition = db.session.scalar(select(Edition).order_by(Edition.number.desc()))
    category = edition.categories[0]
    penghu = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C1000"))
    entry = Entry(category=category, agency=penghu, title="離島廉能治理", summary="以資訊公開推動廉能。",
                  head_name=HEAD_NAME, contact_name=CONTACT_NAME, contact_title="科長",
                  contact_phone="06-9274400", contact_email=CONTACT_EMAIL, head_declaration=True,
                  status=EntryStatus.SUBMITTED, submitted_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    blob = save_stream(io.BytesIO(PDF), 10 * 1024 * 1024)
    db.session.add(Attachment(entry_id=entry.id, original_name="成果報告.pdf", kind="pdf",
                              content_type="application/pdf", size=blob.size, sha256=blob.sha256,
                              storage_key=blob.key, uploaded_by_id=user("penghu").id))
    content = json.dumps({"title": entry.title, "head": {"name": HEAD_NAME, "declaration": True},
                          "contact": {"name": CONTACT_NAME, "title": "科長", "phone": "06-9274400",
                                      "email": CONTACT_EMAIL}}, ensure_ascii=False, sort_keys=True)
    version = EntryVersion(entry_id=entry.id, number=1, receipt_no="R-TEST-0001", content=content,
                           sha256=hashlib.sha256(content.encode()).hexdigest(), submitted_at=utcnow(),
                           submitted_by_id=user("penghu").id)
    db.session.add(version)
    record("entry_submitted", entry, actor=user("penghu"), after={"receipt_no": version.receipt_no})
    stage = edition.stages[0]
    judge2 = user("judge2")
    db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id))
    assignment = Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=judge2.id,
                            status=AssignmentStatus.CONFIRMED, confirmed_at=utcnow())
    sheet = ScoreSheet(entry_id=entry.id, judge_id=judge2.id, stage_id=stage.id, comment="具體可行",
                       status=SheetStatus.SUBMITTED, submitted_at=utcnow())
    sheet.marks = [Mark(criterion_id=c.id, score=Decimal("77.5"), comment="好") for c in category.criteria]
    db.session.add_all([assignment, sheet])
    db.session.flush()
    record("sheet_submitted", sheet, actor=judge2, after={"marks": len(sheet.marks)})
    if close:
        before = {"status": edition.status}
        edition.status = EditionStatus.CLOSED
        record("edition_status_changed", edition, actor=user("organizer"), before=before,
               after={"status": EditionStatus.CLOSED})
    db.session.commit()
    return {"edition_id": edition.id, "entry_id": entry.id, "version_id": version.id, "sheet_id": sheet.id,
            "judge2_id": judge2.id, "penghu_id": user("penghu").id, "blob_key": blob.key}


def demo_password(who: str) -> str:
    return next(a[4] for a in ACCOUNTS if a[0].startswith(who + "@"))
