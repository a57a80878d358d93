"""`award retention run`: closed editions past PERSONAL_DATA_RETENTION_DAYS lose their personal data;
rankings, marks, entries and the audit chain stay, and the chain still verifies."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from award.audit import verify_chain
from award.extensions import db
from award.models import AuditEvent, Edition, EditionStatus, Entry, EntryVersion, Mark, User, utcnow
from award.privacy.operations import run_retention
from privacy_helpers import CONTACT_EMAIL, HEAD_NAME, user


def _state(world) -> dict:
    db.session.expire_all()
    entry = db.session.get(Entry, world["entry_id"])
    return {"contact": (entry.contact_name, entry.contact_phone, entry.contact_email),
            "version": db.session.get(EntryVersion, world["version_id"]).content,
            "judge2": db.session.get(User, world["judge2_id"]).email,
            "penghu": db.session.get(User, world["penghu_id"]).email,
            "marks": [(m.id, m.sheet_id, m.score, m.comment) for m in db.session.scalars(select(Mark).order_by(Mark.id))],
            "events": db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))}


def test_past_retention_personal_data_go_and_the_record_stays(app, world):
    with app.app_context():
        before = _state(world)
        reports = run_retention(now=utcnow() + timedelta(days=366))
        assert reports[0].due and reports[0].entries_blanked == 1 and reports[0].versions_redacted == 1
        after = _state(world)
        assert after["contact"] == ("", "", "")
        assert CONTACT_EMAIL not in after["version"] and HEAD_NAME in after["version"]
        assert after["judge2"].endswith("@anonymised.invalid") and after["penghu"].endswith("@anonymised.invalid")
        assert user("organizer") is not None  # staff accounts are not the run's business
        assert user("judge1") is not None  # not on this edition's panel
        assert after["marks"] == before["marks"]
        # the old events are untouched; the run appended its own
        assert after["events"] > before["events"]
        assert verify_chain().ok
        run_event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention_run"))
        assert world["judge2_id"] in json.loads(run_event.after)["accounts_anonymised"]
        # a second run finds nothing left to do
        again = run_retention(now=utcnow() + timedelta(days=366))
        assert again[0].entries_blanked == 0 and again[0].accounts_anonymised == []


def test_dry_run_and_not_yet_due_change_nothing(app, world):
    with app.app_context():
        before = _state(world)
        dry = run_retention(now=utcnow() + timedelta(days=366), dry_run=True)
        assert dry[0].entries_blanked == 1 and world["judge2_id"] in dry[0].accounts_anonymised
        assert _state(world) == before
        early = run_retention(now=utcnow() + timedelta(days=30))
        assert not early[0].due and _state(world) == before


def test_an_edition_not_closed_keeps_everything(app, demo):
    from privacy_helpers import populate

    with app.app_context():
        world = populate(close=False)
        before = _state(world)
        assert run_retention(now=utcnow() + timedelta(days=3650)) == []
        assert _state(world) == before


def test_an_account_active_after_the_period_is_kept(app, world):
    with app.app_context():
        judge2 = db.session.get(User, world["judge2_id"])
        judge2.last_login_at = utcnow() + timedelta(days=400)
        db.session.commit()
        run_retention(now=utcnow() + timedelta(days=366))
        assert db.session.get(User, world["judge2_id"]).email == "judge2@award.example"


def test_the_command(app, world, runner):
    app.config["PERSONAL_DATA_RETENTION_DAYS"] = 0
    result = runner.invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Entry, world["entry_id"]).contact_email == CONTACT_EMAIL
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    with app.app_context():
        assert db.session.get(Entry, world["entry_id"]).contact_email == ""
        assert db.session.get(Edition, world["edition_id"]).status is EditionStatus.CLOSED
