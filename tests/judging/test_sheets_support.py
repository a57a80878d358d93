"""Fixtures and helpers shared by the score sheet, discussion and stage tests (no tests here).

Import the fixtures into a test module (``from test_sheets_support import judging_app, world``).
``judging_app`` registers the judging blueprint (and the attachment download it links to) until
create_app does. ``world`` is the demo edition with three entries in the first category, all
in the first stage, each assigned to judge1..3 and confirmed, and the first stage open now.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from award.extensions import db
from award.models import (Agency, Assignment, AssignmentStatus, Attachment, AuditEvent, Edition, Entry, EntrySection,
                          ScoreSheet, Stage, StageEntry, User, utcnow)
from demo_clients import demo_client as login_client  # noqa: F401 - re-exported for the judging tests

# Titles do not name the agency (agencies are told not to, for blind stages).
ENTRIES = {
    "甲": ("DEMO-C1000", "跨島協作的廉能治理"),  # 澎湖縣政府
    "乙": ("DEMO-C2000", "採購透明化平台"),  # 金門縣政府
    "丙": ("DEMO-C3000", "離島工程稽核"),  # 連江縣政府
}
JUDGES = ("judge1", "judge2", "judge3")


@pytest.fixture
def judging_app(app):
    from award.entries.attachments import bp as attachments_bp
    from award.judging.views import bp as judging_bp

    for bp in (judging_bp, attachments_bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)
    return app


@dataclass
class World:
    stage_id: int
    next_stage_id: int
    category_id: int
    criteria: list[int]
    entries: dict[str, int] = field(default_factory=dict)
    judges: dict[str, int] = field(default_factory=dict)
    assignments: dict[tuple[str, str], int] = field(default_factory=dict)

    def assignment(self, judge: str, entry: str) -> int:
        return self.assignments[(judge, entry)]


@pytest.fixture
def world(judging_app, demo) -> World:
    with judging_app.app_context():
        edition = db.session.scalar(select(Edition))
        stage, following = edition.stages[0], edition.stages[1]
        now = utcnow()
        stage.opens_at, stage.closes_at = now - timedelta(days=1), now + timedelta(days=1)
        category = edition.categories[0]
        found = World(stage.id, following.id, category.id, [c.id for c in category.criteria])
        for name in JUDGES:
            found.judges[name] = user(name).id
        for key, (code, title) in ENTRIES.items():
            agency_ = agency(code)
            entry = Entry(category=category, agency=agency_, title=title, summary=f"{title}摘要",
                          head_name=agency_.head_name, contact_name="聯絡人王小明", contact_email="ethics@example.org")
            entry.sections = [EntrySection(criterion_id=c.id, text=f"{c.name}：{title}的作為") for c in category.criteria]
            db.session.add(entry)
            db.session.flush()
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id, basis="eligible"))
            found.entries[key] = entry.id
            for name in JUDGES:
                assignment = Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=found.judges[name],
                                        status=AssignmentStatus.CONFIRMED, confirmed_at=now)
                db.session.add(assignment)
                db.session.flush()
                found.assignments[(name, key)] = assignment.id
        db.session.commit()
    return found


def user(who: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{who}@award.example"))


def agency(code: str) -> Agency:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def stage(stage_id: int) -> Stage:
    return db.session.get(Stage, stage_id)


def sheet_of(world: World, judge: str, entry: str) -> ScoreSheet | None:
    db.session.expire_all()
    return db.session.scalar(select(ScoreSheet).where(
        ScoreSheet.judge_id == world.judges[judge], ScoreSheet.entry_id == world.entries[entry],
        ScoreSheet.stage_id == world.stage_id))


def scores_of(sheet: ScoreSheet) -> dict[int, Decimal | None]:
    return {m.criterion_id: m.score for m in sheet.marks}


def form(world: World, scores, comments=None, *, version=0, action="save", confirm=False, overall="") -> dict:
    """The score sheet form as a browser posts it; ``scores`` one value for all or a list per criterion."""
    if not isinstance(scores, (list, tuple)):
        scores = [scores] * len(world.criteria)
    comments = comments or {}
    data = {"version": str(version), "action": action, "comment": overall}
    for index, (criterion_id, score) in enumerate(zip(world.criteria, scores)):
        data[f"score-{criterion_id}"] = "" if score is None else str(score)
        data[f"comment-{criterion_id}"] = comments.get(index, "")
    if confirm:
        data["confirm_final"] = "y"
    return data


def post_sheet(client, world: World, judge: str, entry: str, scores, **kwargs):
    return client.post(f"/judging/sheets/{world.assignment(judge, entry)}", data=form(world, scores, **kwargs))


def submit_all(app, world: World, marks: dict[tuple[str, str], list]) -> None:
    """Submit sheets directly through the operation: {(judge, entry): [score per criterion]}."""
    from award.judging.sheets import save_sheet

    with app.app_context():
        for (judge, entry), scores in marks.items():
            assignment = db.session.get(Assignment, world.assignment(judge, entry))
            comments = {cid: ("極端分數之理由" if s is not None and Decimal(str(s)) in (0, 100) else "")
                        for cid, s in zip(world.criteria, scores)}
            save_sheet(user(judge), assignment, {cid: (s, comments[cid]) for cid, s in zip(world.criteria, scores)},
                       "", base_version=0, submit=True)


def actions(object_type: str | None = None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.seq)
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    return list(db.session.scalars(query))


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def last_event(action: str) -> AuditEvent:
    return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc()))


def add_pdf(entry_id: int, content: bytes = b"%PDF-1.7\n% demo\n", name: str = "成果報告.pdf",
            kind: str = "pdf") -> int:
    """Store an attachment's bytes as the upload endpoints would and add its row; its id."""
    from award.entries import storage

    blob = storage.save_stream(io.BytesIO(content), 10 * 1024 * 1024)
    attachment = Attachment(entry_id=entry_id, original_name=name, kind=kind,
                            content_type="application/pdf" if kind == "pdf" else "image/png",
                            size=blob.size, sha256=blob.sha256, storage_key=blob.key)
    db.session.add(attachment)
    db.session.commit()
    return attachment.id
