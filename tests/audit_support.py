"""Test helpers around the append-only audit tables (award/audit/triggers.py).

The database refuses UPDATE, DELETE and TRUNCATE of audit rows. Tests that tamper with the chain on
purpose, and the fixtures that empty every table between tests, lift that guard for a moment:
on PostgreSQL by disabling the tables' user triggers (the owner's right), on SQLite by dropping the
triggers and creating them again.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from award.audit import triggers
from award.extensions import db


def _execute(statements: list[str]) -> None:
    for sql in statements:
        db.session.execute(text(sql))


@contextmanager
def audit_guard_lifted():
    """Within an app context: audit rows may be changed and removed until the block ends."""
    dialect = db.engine.dialect.name
    db.session.rollback()
    _execute(triggers.lift_statements(dialect))
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        _execute(triggers.restore_statements(dialect))
        db.session.commit()


def empty_all_tables() -> None:
    """Empty every table, the audit tables too, in one transaction (the guard is back on at the end).

    On PostgreSQL a browser test's last request (a save on leaving the page) may still be running in the
    live server and hold a table this transaction locks: when the server picks us as the deadlock's
    victim, wait a moment and try again.
    """
    for attempt in range(5):
        try:
            _empty_all_tables()
            return
        except OperationalError as error:
            db.session.rollback()
            if "deadlock" not in str(error.orig).lower() or attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


def _empty_all_tables() -> None:
    dialect = db.engine.dialect.name
    tables = list(reversed(db.metadata.sorted_tables))
    db.session.rollback()
    _execute(triggers.lift_statements(dialect))
    if dialect == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    _execute(triggers.restore_statements(dialect))
    db.session.commit()
