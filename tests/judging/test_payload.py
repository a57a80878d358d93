"""The results payload: what a freeze hashes and every export is made from."""

from decimal import Decimal

from sqlalchemy import select

from award.extensions import db
from award.models import Agency, Edition, Entry, Mark, ScoreSheet, SheetStatus, StageEntry, User
from award.results.payload import build_payload, payload_hash, payload_json


def test_payload_ranks_every_category_and_hashes_stably(app, demo):
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        stage, category = edition.stages[0], edition.categories[0]
        judges = db.session.scalars(select(User).where(User.email.like("judge%")).order_by(User.id)).all()
        for code, score in (("DEMO-C1000", 88), ("DEMO-C4010", 91)):
            entry = Entry(category=category, title=f"=TITLE {code}",
                          agency=db.session.scalar(select(Agency).where(Agency.code == code)))
            db.session.add(entry)
            db.session.flush()
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id))
            for judge in judges:
                sheet = ScoreSheet(entry_id=entry.id, judge_id=judge.id, stage_id=stage.id, status=SheetStatus.SUBMITTED)
                sheet.marks = [Mark(criterion_id=c.id, score=Decimal(score)) for c in category.criteria]
                db.session.add(sheet)
        db.session.commit()
        payload = build_payload(stage)
        first = payload["categories"][0]
        assert [e["agency"]["code"] for e in first["entries"]] == ["DEMO-C4010", "DEMO-C1000"]
        assert first["entries"][0]["total"] == "91.00" and first["entries"][0]["tier"] == "特優"
        assert first["entries"][0]["agency"]["geography"] == "outlying_island"
        assert len(first["marks"]) == 2 * 3 * 5
        assert payload["categories"][1]["entries"] == [] and payload["categories"][1]["error"] is None
        assert payload_hash(payload) == payload_hash(build_payload(stage))
        assert "=TITLE" in payload_json(payload)
