"""Fixtures of the judging tests. Each helper owns a section; keep to your own."""

from __future__ import annotations

import pytest

# --- ties, assignment and confirmation (conflicts.py, assign_ops.py, tie_views.py, admin_views.py) ---

from flask.globals import _cv_app  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402


@pytest.fixture
def app(app):
    """The root app with the tie and assignment blueprints registered (until create_app does it)."""
    from award.judging import admin_views, tie_views

    for bp in (tie_views.bp, admin_views.bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)
    return app


class FreshGlobalsClient(FlaskClient):
    """A test browser for tests that hold an app context: Flask then reuses that context for each
    request, so ``g`` (where Flask-Login keeps the current user) would leak from one browser to the
    next. Each request here starts with a fresh ``g``, as it would in a server."""

    def open(self, *args, **kwargs):
        context = _cv_app.get(None)
        if context is not None:
            context.g = context.app.app_ctx_globals_class()
        return super().open(*args, **kwargs)


class JudgingWorld:
    """Builds entries, stages and assignments on the demo data, and logs browsers in."""

    def __init__(self, app):
        self.app = app

    # lookups
    def user(self, who: str):
        from award.extensions import db
        from award.models import User

        return db.session.scalar(select(User).where(User.email == f"{who}@award.example"))

    def agency(self, code: str):
        from award.extensions import db
        from award.models import Agency

        return db.session.scalar(select(Agency).where(Agency.code == code))

    def edition(self):
        from award.extensions import db
        from award.models import Edition

        return db.session.scalar(select(Edition).where(Edition.number == 3))

    def stage(self, position: int = 0):
        return self.edition().stages[position]

    # building
    def entry(self, code: str, category: int = 0, title: str | None = None, *, submitted: bool = True,
              eligible: bool = True, in_stage: int | None = 0):
        """An entry of the agency in the demo edition (submitted and eligible unless told), put in
        the stage at ``in_stage`` (None: in no stage)."""
        from award.extensions import db
        from award.models import Entry, EntryStatus, Screening, StageEntry

        entry = Entry(category=self.edition().categories[category], agency=self.agency(code),
                      title=title or f"{code} 廉能計畫",
                      status=EntryStatus.SUBMITTED if submitted else EntryStatus.DRAFT,
                      screening=Screening.ELIGIBLE if eligible else Screening.PENDING)
        db.session.add(entry)
        db.session.flush()
        if in_stage is not None:
            db.session.add(StageEntry(stage_id=self.stage(in_stage).id, entry_id=entry.id, basis="eligible"))
        db.session.commit()
        return entry

    def assign(self, entry, who: str, status=None, stage: int = 0):
        from award.extensions import db
        from award.models import Assignment, AssignmentStatus

        assignment = Assignment(stage_id=self.stage(stage).id, entry_id=entry.id, judge_id=self.user(who).id,
                                status=status or AssignmentStatus.ASSIGNED)
        db.session.add(assignment)
        db.session.commit()
        return assignment

    def sheet(self, entry, who: str, submitted: bool = True, stage: int = 0):
        from award.extensions import db
        from award.models import ScoreSheet, SheetStatus, utcnow

        sheet = ScoreSheet(entry_id=entry.id, judge_id=self.user(who).id, stage_id=self.stage(stage).id,
                           status=SheetStatus.SUBMITTED if submitted else SheetStatus.DRAFT,
                           submitted_at=utcnow() if submitted else None)
        db.session.add(sheet)
        db.session.commit()
        return sheet

    def tie(self, who: str, code: str, kind=None, **kwargs):
        from award.extensions import db
        from award.models import Tie, TieKind

        tie = Tie(judge_id=self.user(who).id, agency_id=self.agency(code).id, kind=kind or TieKind.ADVISORY,
                  **kwargs)
        db.session.add(tie)
        db.session.commit()
        return tie

    # reading
    def actions(self, object_type: str | None = None) -> list[str]:
        from award.extensions import db
        from award.models import AuditEvent

        query = select(AuditEvent.action).order_by(AuditEvent.seq)
        if object_type:
            query = query.where(AuditEvent.object_type == object_type)
        return list(db.session.scalars(query))

    def audit_count(self) -> int:
        from award.extensions import db
        from award.models import AuditEvent

        return db.session.scalar(select(func.count(AuditEvent.id)))

    def refresh(self, obj):
        from award.extensions import db

        db.session.expire_all()
        return db.session.get(type(obj), obj.id)

    # browsers
    def client(self, who: str | None = None):
        """A fresh browser, logged in as a demo account (anonymous with None)."""
        from award.demo import ACCOUNTS

        client = FreshGlobalsClient(self.app, self.app.response_class, use_cookies=True)
        if who is not None:
            email, password = next((a[0], a[4]) for a in ACCOUNTS if a[0].startswith(who + "@"))
            response = client.post("/login", data={"email": email, "password": password})
            assert response.status_code == 302, response.get_data(as_text=True)
        return client


@pytest.fixture
def jw(app, demo):
    """The judging world on the demo data, inside an app context."""
    with app.app_context():
        yield JudgingWorld(app)

# --- end of the ties and assignment section ---
