"""Chain writes are serialised (award/audit/operations.py ``lock_chain``): concurrent writers never fork
the chain, and the lock is taken before the last event is read."""

from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from award.audit import lock_chain, record, verify_chain
from award.extensions import db
from award.models import AuditEvent

WRITERS = 4
EVENTS_EACH = 15


def test_concurrent_writers_keep_one_gap_free_chain(app):
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            with app.app_context():  # a session (and connection) of its own
                barrier.wait()
                for n in range(EVENTS_EACH):
                    record("concurrent_event", object_type="test", object_id=f"{number}-{n}")
                    db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported below, with the thread's own error
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    with app.app_context():
        seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, WRITERS * EVENTS_EACH + 1))
        objects = db.session.scalars(select(AuditEvent.object_id)).all()
        assert sorted(objects) == sorted(f"{w}-{n}" for w in range(WRITERS) for n in range(EVENTS_EACH))
        result = verify_chain()
        assert result.ok and result.count == WRITERS * EVENTS_EACH


def test_the_chain_lock_is_held_from_before_the_last_event_is_read(app):
    """While one transaction holds the chain lock, no other writer can get it."""
    with app.app_context():
        record("first", object_type="test")
        db.session.commit()
        lock_chain()
        try:
            if db.engine.dialect.name == "sqlite":
                other = sqlite3.connect(make_url(str(db.engine.url)).database, timeout=0)
                try:
                    try:
                        other.execute("BEGIN IMMEDIATE")
                        got_lock = True
                    except sqlite3.OperationalError as error:
                        got_lock = False
                        assert "locked" in str(error)
                finally:
                    other.close()
            else:
                with db.engine.connect() as other:
                    got_lock = other.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                            {"key": 0x7C4A_0001})
                    if got_lock:
                        other.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": 0x7C4A_0001})
            assert got_lock is False
        finally:
            db.session.rollback()
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 1
