"""Upgrading a database that holds data keeps every row. On SQLite a batch migration rebuilds a table
(create, copy, drop, rename): with foreign keys on, dropping the old ``user`` or ``stage`` table failed,
or set ``audit_event.actor_id`` to NULL and so broke the hash chain. PostgreSQL alters tables in place."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from award import create_app
from award.audit import verify_chain
from award.demo import load_demo
from award.extensions import db

pytestmark = pytest.mark.skipif(
    "TEST_DATABASE_URL" in __import__("os").environ, reason="SQLite's table rebuilds; PostgreSQL alters in place")

# Tables that exist at revision 0005 and hold the demo's rows.
KEPT = ("user", "agency", "edition", "category", "criterion", "stage", "award_tier", "entry", "audit_event",
        "account_token", "assignment")


def _counts() -> dict[str, int]:
    names = set(inspect(db.engine).get_table_names())
    return {t: db.session.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in KEPT if t in names}


def _actors() -> list[tuple]:
    return db.session.execute(text("SELECT seq, actor_id FROM audit_event ORDER BY seq")).all()


def test_downgrading_and_upgrading_a_demo_database_keeps_every_row_and_the_chain(tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SECRET_KEY": "migrations-with-data", "PASSWORD_HASHING": "cheapest",
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "award.sqlite")})
    with app.app_context():
        upgrade()
        load_demo()
        from award.auth.operations import request_password_reset

        request_password_reset("organizer@award.example", lambda token: f"http://award.test/reset/{token}")
        db.session.commit()
        before, actors = _counts(), _actors()
        assert before["account_token"] >= 1 and any(actor for _seq, actor in actors)
        db.session.remove()

        downgrade(revision="0005")  # rebuilds stage (0008) and user (0006)
        assert _counts() == before and _actors() == actors
        db.session.remove()

        upgrade()  # rebuilds user again (0006)
        assert _counts() == before and _actors() == actors
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1  # back on for the app
        assert verify_chain().ok
        db.session.remove()
        db.engine.dispose()
