"""`award backup DIR` / `award restore DIR`: a populated instance round-trips exactly (every row of
every table, every file byte for byte), the audit chain verifies after restore, and a snapshot that
does not match its manifest is refused with nothing changed. On SQLite, and on PostgreSQL when
TEST_DATABASE_URL is set (with databases of our own named privacy_*)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from award import create_app
from award.audit import verify_chain
from award.backup.operations import BackupError, create_backup, restore_backup
from award.extensions import db
from privacy_helpers import PDF


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    engine = create_engine(_psycopg(url))
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            tables = {}
            for name in sorted(inspector.get_table_names()):
                keys = inspector.get_pk_constraint(name)["constrained_columns"] or \
                    [c["name"] for c in inspector.get_columns(name)]
                order = ", ".join(f'"{k}"' for k in keys)
                tables[name] = [tuple(r) for r in connection.execute(text(f'SELECT * FROM "{name}" ORDER BY {order}'))]
            return tables
    finally:
        engine.dispose()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def target(database_url, tmp_path, monkeypatch):
    """A second instance: a freshly migrated, empty database and an empty instance folder."""
    if database_url.startswith("postgresql"):
        name = "privacy_restore_" + secrets.token_hex(4)
        admin = create_engine(_psycopg(database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = database_url.rsplit("/", 1)[0] + "/" + name
    else:
        admin, name = None, None
        url = "sqlite:///" + str(tmp_path / "restored.sqlite")
    instance = tmp_path / "restored-instance"
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True, "SECRET_KEY": "restored", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    yield app, url
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def snapshot(app, world, tmp_path):
    folder = tmp_path / "snapshot"
    with app.app_context():
        manifest = create_backup(folder)
    return folder, manifest


def test_round_trip_restores_every_row_and_file(app, database_url, snapshot, target):
    folder, manifest = snapshot
    assert manifest["schema_revision"] and manifest["database"] in manifest["files"]
    assert any(name.startswith("uploads/blobs/") for name in manifest["files"])
    target_app, target_url = target
    with target_app.app_context():
        restore_backup(folder)
        assert verify_chain().ok
        assert verify_chain().count > 3
        restored_uploads = Path(target_app.config["UPLOAD_FOLDER"])
    source_rows = _rows(database_url)
    restored_rows = _rows(target_url)
    assert source_rows.keys() == restored_rows.keys()
    for table in source_rows:
        assert restored_rows[table] == source_rows[table], table
    assert sum(len(r) for r in source_rows.values()) > 50
    assert _files(restored_uploads) == _files(Path(app.config["UPLOAD_FOLDER"]))
    assert PDF in _files(restored_uploads).values()


def _assert_untouched(target_app, target_url):
    rows = _rows(target_url)
    assert all(not r for name, r in rows.items() if name != "alembic_version")
    uploads = Path(target_app.config["UPLOAD_FOLDER"])
    assert not uploads.exists() or not any(uploads.iterdir())


def test_an_altered_file_is_refused(snapshot, target):
    folder, manifest = snapshot
    blob = next(folder / n for n in manifest["files"] if n.startswith("uploads/"))
    data = bytearray(blob.read_bytes())
    data[-1] ^= 1
    blob.write_bytes(bytes(data))
    target_app, target_url = target
    with target_app.app_context(), pytest.raises(BackupError):
        restore_backup(folder)
    _assert_untouched(target_app, target_url)


def test_an_altered_manifest_a_missing_or_an_extra_file_is_refused(snapshot, target):
    folder, manifest = snapshot
    target_app, target_url = target
    database = folder / manifest["database"]
    # the manifest claims another hash for the database
    edited = json.loads((folder / "manifest.json").read_text())
    edited["files"][manifest["database"]]["sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(edited))
    with target_app.app_context(), pytest.raises(BackupError):
        restore_backup(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    # a file slipped in
    (folder / "uploads" / "extra.bin").write_bytes(b"x")
    with target_app.app_context(), pytest.raises(BackupError):
        restore_backup(folder)
    (folder / "uploads" / "extra.bin").unlink()
    # the database is missing
    database.rename(folder / "elsewhere")
    with target_app.app_context(), pytest.raises(BackupError):
        restore_backup(folder)
    _assert_untouched(target_app, target_url)


def test_the_commands_and_a_non_empty_target(app, world, tmp_path, target):
    folder = tmp_path / "cli-snapshot"
    result = app.test_cli_runner().invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    # the source itself is not empty: refused without --force
    result = app.test_cli_runner().invoke(args=["restore", str(folder)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    target_app, target_url = target
    (folder / "manifest.json").write_text((folder / "manifest.json").read_text() + " ")
    result = target_app.test_cli_runner().invoke(args=["restore", str(folder), "--manifest-sha256", "0" * 64])
    assert result.exit_code != 0
    _assert_untouched(target_app, target_url)
    result = target_app.test_cli_runner().invoke(args=["restore", str(folder)])
    assert result.exit_code == 0, result.output
    # restoring again over the now populated instance needs --force, and then gives the same data
    result = target_app.test_cli_runner().invoke(args=["restore", str(folder)])
    assert result.exit_code != 0
    before = _rows(target_url)
    result = target_app.test_cli_runner().invoke(args=["restore", str(folder), "--force"])
    assert result.exit_code == 0, result.output
    assert _rows(target_url) == before
