"""The database itself refuses to change or remove audit records (award/audit/triggers.py, migration 0007)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from audit_support import audit_guard_lifted
from award.audit import record, verify_chain
from award.extensions import db
from award.models import AuditEvent


@pytest.fixture
def events(app):
    with app.app_context():
        for n in range(3):
            record("test_event", object_type="test", object_id=n, after={"n": n})
        db.session.commit()
    return 3


def _refused(sql: str) -> str:
    with pytest.raises(DBAPIError) as refused:
        db.session.execute(text(sql))
    db.session.rollback()
    return str(refused.value)


@pytest.mark.parametrize("sql", [
    "UPDATE audit_event SET actor_label = 'someone else' WHERE seq = 2",
    "UPDATE audit_event SET seq = seq + 100",
    "DELETE FROM audit_event WHERE seq = 3",
    "DELETE FROM audit_event",
])
def test_update_and_delete_of_audit_events_are_refused_by_the_database(app, events, sql):
    with app.app_context():
        message = _refused(sql)
        assert "audit_event is append-only" in message
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events
        assert db.session.scalar(select(AuditEvent.actor_label).where(AuditEvent.seq == 2)) == "system"
        assert verify_chain().ok


def test_truncate_is_refused_on_postgresql(app, events):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE; DELETE FROM without WHERE is refused above")
        assert "append-only: TRUNCATE refused" in _refused("TRUNCATE audit_event")
        # Emptying a table that audit_event refers to, with CASCADE, cannot empty the trail either.
        assert "append-only" in _refused('TRUNCATE "user" CASCADE')
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_checkpoints_are_append_only_too(app, events):
    with app.app_context():
        db.session.execute(text("INSERT INTO audit_checkpoint (created_at, reason, event_count, root_hash, "
                                "recorded_by) VALUES (CURRENT_TIMESTAMP, 'test', 3, :root, 'system')"),
                           {"root": "a" * 64})
        db.session.commit()
        assert "audit_checkpoint is append-only" in _refused("UPDATE audit_checkpoint SET root_hash = 'b'")
        assert "audit_checkpoint is append-only" in _refused("DELETE FROM audit_checkpoint")


def test_inserting_is_still_allowed(app, events):
    with app.app_context():
        record("another_event", object_type="test")
        db.session.commit()
        assert db.session.scalar(select(func.max(AuditEvent.seq))) == events + 1


def test_the_guard_is_back_after_a_test_lifts_it(app, events):
    with app.app_context():
        with audit_guard_lifted():
            db.session.execute(text("UPDATE audit_event SET actor_label = 'tamperer' WHERE seq = 1"))
            db.session.commit()
        assert not verify_chain().ok
        assert "append-only" in _refused("DELETE FROM audit_event WHERE seq = 1")
