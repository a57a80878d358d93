"""scripts/postgres-app-role.sql: the application's role may only INSERT and SELECT the audit trail
(PostgreSQL only; skipped on SQLite, which has no roles)."""

from __future__ import annotations

import shutil
import subprocess  # runs psql on the script, as docs/deploy.md says
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from award import create_app
from award.audit import record, verify_chain
from award.extensions import db
from award.models import AuditEvent

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres-app-role.sql"
REFUSED = [
    "UPDATE audit_event SET actor_label = 'someone else'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "UPDATE audit_checkpoint SET root_hash = 'x'",
    "DELETE FROM audit_checkpoint",
    "TRUNCATE audit_checkpoint",
    "UPDATE alembic_version SET version_num = version_num",
]


def _psql(url: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "app_password=",
                           "-f", str(SCRIPT)], capture_output=True, text=True, check=False)


def test_the_app_role_may_only_insert_and_select_the_audit_trail(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("roles are PostgreSQL's; set TEST_DATABASE_URL")
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    with app.app_context():
        record("before_the_role", object_type="test")
        db.session.commit()
    for _ in range(2):  # it can be run again after every upgrade
        applied = _psql(database_url)
        assert applied.returncode == 0, applied.stderr
    app_url = make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1)).set(username="award_app")
    engine = create_engine(app_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_user")) == "award_app"
            for sql in REFUSED:
                with pytest.raises(ProgrammingError, match="permission denied"):
                    connection.execute(text(sql))
                connection.rollback()
            assert connection.scalar(text("SELECT count(*) FROM audit_event")) == 1
            connection.execute(text('UPDATE "user" SET name = name'))  # the other tables stay writable
            connection.rollback()
    finally:
        engine.dispose()
    as_app = create_app({"TESTING": True, "SECRET_KEY": "role",
                         "SQLALCHEMY_DATABASE_URI": app_url.render_as_string(hide_password=False)})
    with as_app.app_context():
        assert db.engine.url.username == "award_app"
        record("as_the_app_role", object_type="test")  # INSERT with the chain's advisory lock
        db.session.commit()
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 2 and verify_chain().ok
        db.session.remove()
        db.engine.dispose()
