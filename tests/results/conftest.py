"""Fixtures of the results tests (rankings, freeze, charts, exports).

``scored_stage``: the demo edition's first stage fully scored, deterministically — 6 entries in
整體廉能作為類 and 3 in 創新廉能措施類, 5 judges (the demo's 3 and two more), every sheet
submitted, trimmed mean at total level (one highest and one lowest judge dropped), two-stage
rounding. Judges differ in leniency and marks carry a fixed pattern of noise; one favour is
planted: the fifth judge gives entry ``favoured_entry_id`` 10 points more than usual on every
criterion. The trimmed mean drops that judge on that entry, the plain mean does not: under
"mean" the favoured entry overtakes the one ranked above it and takes its 特優 (a what-if
shows it). The diagnostics flag that judge–entry pair and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import select

# Entries per category (agency code, title, quality), best first.
ENTRIES = {
    0: [("DEMO-A0120", "澎湖監獄廉政透明計畫", 91), ("DEMO-B0100", "臺北市政府廉能治理", 88),
        ("DEMO-C2000", "金門縣政府陽光政府", 86.5), ("DEMO-C3000", "連江縣政府廉能島嶼", 83),
        ("DEMO-C4000", "臺東縣政府透明治理", 80.5), ("DEMO-C6010", "信義鄉公所廉政在地化", 76)],
    1: [("DEMO-C4010", "綠島鄉公所採購公開", 89), ("DEMO-C5010", "琉球鄉公所資訊揭露", 84),
        ("DEMO-C1000", "澎湖縣政府 <創新> & 透明", 79)],
}
EXTRA_JUDGES = [("judge4@award.example", "張評審委員"), ("judge5@award.example", "李評審委員")]
JUDGE_EMAILS = ["judge1@award.example", "judge2@award.example", "judge3@award.example",
                *(email for email, _name in EXTRA_JUDGES)]
LENIENCY = [0, -2, 1.5, 3, -1]  # points, by judge
NOISE = [0, 1, -1, 0.5, -0.5, 1.5, -1.5, 0.5, -1, 1, 0, -0.5, 2, -2, 0.5]
FAVOUR = (0, 2, 4, 10)  # category index, entry index, judge index, extra points


def planned_mark(category: int, entry: int, judge: int, criterion: int) -> Decimal:
    """The fixture's mark: quality + leniency + fixed noise (+ the planted favour), on a 0.5 grid."""
    value = (ENTRIES[category][entry][2] + LENIENCY[judge]
             + NOISE[(entry + judge * 3 + criterion * 2 + category) % len(NOISE)])
    if (category, entry, judge) == FAVOUR[:3]:
        value += FAVOUR[3]
    return Decimal(str(min(100, max(0, round(value * 2) / 2))))


@dataclass
class ScoredStage:
    stage_id: int
    edition_id: int
    category_ids: list[int]
    entry_ids: dict[int, list[int]]  # category id → entry ids, in ENTRIES order (best quality first)
    judge_ids: list[int]  # in JUDGE_EMAILS order
    favouring_judge_id: int
    favoured_entry_id: int
    organizer_id: int
    marks: int = 0
    sheets: list[int] = field(default_factory=list)

    def stage(self):
        from award.extensions import db
        from award.models import Stage

        return db.session.get(Stage, self.stage_id)

    def user(self, email: str):
        from award.extensions import db
        from award.models import User

        return db.session.scalar(select(User).where(User.email == email))


def build_scored_stage() -> ScoredStage:
    """Build the scored stage on the loaded demo (inside an app context)."""
    from award.auth.operations import create_user
    from award.extensions import db
    from award.models import (Agency, Aggregation, Assignment, AssignmentStatus, Edition, Entry, EntryStatus, Mark,
                              Role, ScoreSheet, Screening, SheetStatus, StageEntry, User, utcnow)

    edition = db.session.scalar(select(Edition).where(Edition.number == 3))
    for email, name in EXTRA_JUDGES:
        create_user(email, name, Role.JUDGE, "Results-judge-2026")
    judges = [db.session.scalar(select(User).where(User.email == email)) for email in JUDGE_EMAILS]
    organizer = db.session.scalar(select(User).where(User.email == "organizer@award.example"))
    stage = edition.stages[0]
    now = utcnow()
    stage.aggregation, stage.trim, stage.trim_level = Aggregation.TRIMMED, 1, "total"
    stage.round_each_stage, stage.decimals = True, 2
    stage.opens_at, stage.closes_at, stage.judges_per_entry = now - timedelta(days=1), now + timedelta(days=14), 5
    edition.submission_deadline = now - timedelta(days=2)
    world = ScoredStage(stage_id=stage.id, edition_id=edition.id, category_ids=[c.id for c in edition.categories],
                        entry_ids={}, judge_ids=[j.id for j in judges], favouring_judge_id=judges[FAVOUR[2]].id,
                        favoured_entry_id=0, organizer_id=organizer.id)
    for c_index, category in enumerate(edition.categories):
        world.entry_ids[category.id] = []
        for e_index, (code, title, _quality) in enumerate(ENTRIES[c_index]):
            agency = db.session.scalar(select(Agency).where(Agency.code == code))
            entry = Entry(category=category, agency=agency, title=title, status=EntryStatus.SUBMITTED,
                          screening=Screening.ELIGIBLE, submitted_at=now - timedelta(days=3))
            db.session.add(entry)
            db.session.flush()
            world.entry_ids[category.id].append(entry.id)
            if (c_index, e_index) == FAVOUR[:2]:
                world.favoured_entry_id = entry.id
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id, basis="eligible"))
            for j_index, judge in enumerate(judges):
                db.session.add(Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=judge.id,
                                          status=AssignmentStatus.CONFIRMED, confirmed_at=now))
                sheet = ScoreSheet(entry_id=entry.id, judge_id=judge.id, stage_id=stage.id,
                                   status=SheetStatus.SUBMITTED, submitted_at=now)
                sheet.marks = [Mark(criterion_id=criterion.id, score=planned_mark(c_index, e_index, j_index, k))
                               for k, criterion in enumerate(category.criteria)]
                world.marks += len(sheet.marks)
                db.session.add(sheet)
                db.session.flush()
                world.sheets.append(sheet.id)
    db.session.commit()
    return world


@pytest.fixture
def app(app):
    """The root app with the results blueprint registered (until create_app does it)."""
    from award.results import views

    if views.bp.name not in app.blueprints:
        app.register_blueprint(views.bp)
    return app


@pytest.fixture
def scored_stage(app, demo) -> ScoredStage:
    with app.app_context():
        return build_scored_stage()


class FreshGlobalsClient(FlaskClient):
    """A test browser usable while a test holds an app context: each request starts with a fresh
    ``g`` (where Flask-Login keeps the user), as it would in a server."""

    def open(self, *args, **kwargs):
        context = _cv_app.get(None)
        if context is not None:
            context.g = context.app.app_ctx_globals_class()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    """The test browser (also the one ``login`` logs in): its requests do not share ``g`` with a
    test's app context."""
    app.test_client_class = FreshGlobalsClient
    return app.test_client()
