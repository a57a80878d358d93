"""Fixtures on the Flask tutorial's pattern: ``app``, ``client``, ``runner``.

The schema is built once per test session by the Alembic migrations (so the migrations are
tested too), on SQLite by default or on PostgreSQL when TEST_DATABASE_URL is set; each test
then starts from empty tables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from award import create_app
from award.extensions import db

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _worker_postgres_url(url: str) -> str:
    """Each pytest-xdist worker gets a database of its own next to TEST_DATABASE_URL's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, name = url.rsplit("/", 1)
    worker_db = f"{name}_{worker}"
    engine = create_engine(_psycopg(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": worker_db})
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{worker_db}"'))
    engine.dispose()
    return f"{base}/{worker_db}"


def _reset_postgres(url: str) -> None:
    engine = create_engine(_psycopg(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A database migrated to the latest schema, shared by the session's tests."""
    if POSTGRES_URL:
        url = _worker_postgres_url(POSTGRES_URL)
        _reset_postgres(url)
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    app = create_app({"TESTING": True, "SECRET_KEY": "migrations", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _empty_tables() -> None:
    from audit_support import empty_all_tables  # the audit tables refuse DELETE/TRUNCATE unless lifted

    empty_all_tables()


@pytest.fixture
def app(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": "award.test",
        "PASSWORD_HASHING": "cheapest",
        "RATELIMIT_ENABLED": False,  # tests/security/test_account_security.py turns it on to test it
    })
    with app.app_context():
        _empty_tables()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo edition and accounts loaded; yields {email: password}."""
    from award.demo import load_demo

    with app.app_context():
        accounts = load_demo()
    return {email: password for email, _role, password in accounts}


@pytest.fixture
def login(client):
    from demo_clients import Login

    return Login(client)


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


ROOT = Path(__file__).resolve().parent.parent
