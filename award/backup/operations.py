"""``award backup DIR`` and ``award restore DIR``.

A snapshot folder holds the database (SQLite through its online backup API, so a live database is
copied consistently; PostgreSQL through ``pg_dump`` in custom format, one consistent transaction),
every file under the upload folder, and ``manifest.json`` naming each file with its SHA-256 and
the schema revision. Restoring checks every hash first and changes nothing if any file is missing,
altered or unlisted; it restores only into an empty database (``--force`` replaces a non-empty one),
never updating or deleting rows one by one, so the append-only audit trail needs no exception.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess  # runs pg_dump and pg_restore  # nosec B404
import tempfile
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from ..extensions import db
from ..models import utcnow

FORMAT = "award-backup/1"
MANIFEST = "manifest.json"
UPLOADS = "uploads"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A refusal with a message for the operator; the command exits non-zero."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def _schema_revision(engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.scalar(text("SELECT version_num FROM alembic_version"))


# --- PostgreSQL tools ---------------------------------------------------------------------------

def _libpq(url) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes in the environment, not argv."""
    url = make_url(str(url.render_as_string(hide_password=False)))
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return args, env


def _tool(name: str) -> str:
    path = current_app.config.get(f"{name.upper()}_PATH") or shutil.which(name)
    if not path:
        raise BackupError(f"{name} was not found: install the PostgreSQL client tools (or set AWARD_{name.upper()}_PATH)")
    return path


def _major(version_text: str) -> int:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    if not match:
        raise BackupError(f"cannot read a version from {version_text!r}")
    return int(match.group(1))


def _check_tool_version(name: str, engine) -> str:
    """pg_dump and pg_restore must be at least as new as the server (PostgreSQL's documented rule)."""
    tool = _tool(name)
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)  # noqa: S603  # nosec B603
    tool_major = _major(version.stdout)
    with engine.connect() as connection:
        server_major = int(connection.scalar(text("SHOW server_version_num"))) // 10000
    if tool_major < server_major:
        raise BackupError(f"{name} {tool_major} is older than the PostgreSQL server ({server_major}); "
                          f"install the client tools of version {server_major} or later")
    return tool


def _run(command: list[str], env: dict[str, str]) -> None:
    # pg_dump/pg_restore with arguments we build (no shell); the connection goes in the environment.
    result = subprocess.run(command, capture_output=True, text=True, env=env)  # noqa: S603  # nosec B603
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


# --- backup -------------------------------------------------------------------------------------

def _sqlite_path(engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def create_backup(target: Path) -> dict:
    """Write a snapshot into ``target`` (a new or empty folder) and return its manifest."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty folder")
    engine = db.engine
    dialect = engine.dialect.name
    if dialect not in DATABASE_FILES:
        raise BackupError(f"backups of {dialect} databases are not supported")
    target.mkdir(parents=True, exist_ok=True)
    database_file = target / DATABASE_FILES[dialect]
    revision = _schema_revision(engine)
    if dialect == "sqlite":
        source = sqlite3.connect(_sqlite_path(engine))
        destination = sqlite3.connect(database_file)
        try:
            with destination:
                source.backup(destination)  # the online backup API: a consistent copy of a live database
        finally:
            destination.close()
            source.close()
    else:
        tool = _check_tool_version("pg_dump", engine)
        args, env = _libpq(engine.url)
        _run([tool, "--format=custom", "--no-owner", "--no-privileges", "--file", str(database_file), *args], env)

    uploads = _upload_folder()
    if uploads.is_dir():
        for path in sorted(uploads.rglob("*")):
            if path.is_file() and not path.name.startswith(".incoming-"):  # half-received uploads are not data
                destination = target / UPLOADS / path.relative_to(uploads)
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, destination)

    files = {}
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        relative = path.relative_to(target).as_posix()
        files[relative] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    manifest = {"format": FORMAT, "created_at": utcnow().isoformat(), "dialect": dialect,
                "schema_revision": revision, "database": database_file.name, "files": files}
    temporary = target / (MANIFEST + ".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temporary, target / MANIFEST)
    return manifest


def manifest_digest(source: Path) -> str:
    return sha256_file(Path(source) / MANIFEST)


# --- verification -------------------------------------------------------------------------------

def verify_backup(source: Path, expected_manifest_sha256: str | None = None) -> dict:
    """Check the snapshot against its manifest: every file present with its hash, nothing unlisted."""
    source = Path(source)
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{source} holds no {MANIFEST}: not a snapshot")
    if expected_manifest_sha256 and sha256_file(manifest_path) != expected_manifest_sha256.lower():
        raise BackupError(f"{MANIFEST} does not have the expected SHA-256: it was changed")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("format") != FORMAT or not isinstance(files, dict):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BackupError(f"{MANIFEST} is not a manifest of this system") from None
    problems = []
    for name, entry in sorted(files.items()):
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not isinstance(entry, dict):
            raise BackupError(f"{MANIFEST} names an unsafe path: {name}")
        path = source / relative
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif sha256_file(path) != entry.get("sha256"):
            problems.append(f"SHA-256 differs: {name}")
    listed = set(files) | {MANIFEST}
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        if path.relative_to(source).as_posix() not in listed:
            problems.append(f"not in the manifest: {path.relative_to(source).as_posix()}")
    if manifest.get("database") not in files or manifest.get("dialect") not in DATABASE_FILES:
        problems.append("the manifest names no database file")
    if problems:
        raise BackupError("the snapshot does not match its manifest; nothing was restored:\n  " + "\n  ".join(problems))
    return manifest


# --- restore ------------------------------------------------------------------------------------

def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def database_is_empty(engine) -> bool:
    """No row in any table but Alembic's (a freshly migrated database is empty)."""
    with engine.connect() as connection:
        inspector = inspect(connection)
        for name in inspector.get_table_names():
            if name == "alembic_version":
                continue
            # The names come from the database's own catalogue, never from a user.
            if connection.scalar(text(f'SELECT 1 FROM "{name}" LIMIT 1')) is not None:  # noqa: S608  # nosec B608
                return False
    return True


def _copy_uploads(source: Path, manifest: dict, staging: Path) -> None:
    for name, entry in manifest["files"].items():
        relative = PurePosixPath(name)
        if relative.parts[0] != UPLOADS:
            continue
        destination = staging.joinpath(*relative.parts[1:])
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(source / relative, destination)
        if sha256_file(destination) != entry["sha256"]:  # the copy, not just the original, must be exact
            raise BackupError(f"copying {name} did not reproduce it exactly")


def restore_backup(source: Path, force: bool = False, expected_manifest_sha256: str | None = None) -> dict:
    """Restore the snapshot in ``source`` into this instance's database and upload folder."""
    source = Path(source)
    manifest = verify_backup(source, expected_manifest_sha256)
    engine = db.engine
    dialect = engine.dialect.name
    if manifest["dialect"] != dialect:
        raise BackupError(f"this is a {manifest['dialect']} snapshot; the configured database is {dialect}")
    revision = manifest.get("schema_revision")
    if revision is not None and revision not in _known_revisions():
        raise BackupError(f"the snapshot's schema revision {revision} is unknown to this version of the system")
    uploads = _upload_folder()
    uploads_in_use = uploads.is_dir() and any(uploads.iterdir())
    if not force and (not database_is_empty(engine) or uploads_in_use):
        raise BackupError("the database or the upload folder is not empty; restore into a new instance, "
                          "or use --force to replace what is there")

    uploads.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restoring-", dir=uploads.parent))
    try:
        _copy_uploads(source, manifest, staging)
        db.session.remove()
        engine.dispose()  # no pooled connection may hold the database while it is replaced
        snapshot = source / manifest["database"]
        if dialect == "sqlite":
            origin = sqlite3.connect(snapshot)
            destination = sqlite3.connect(_sqlite_path(engine))
            try:
                with destination:
                    origin.backup(destination)  # replaces the whole database, page by page
            finally:
                destination.close()
                origin.close()
        else:
            tool = _check_tool_version("pg_restore", engine)
            with create_engine(engine.url, isolation_level="AUTOCOMMIT").connect() as connection:
                # An empty (or --force) target: its tables go as a whole; no row is updated or deleted.
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            args, env = _libpq(engine.url)
            _run([tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", *args,
                  str(snapshot)], env)
        if uploads.exists():
            old = uploads.with_name(uploads.name + ".replaced-" + utcnow().strftime("%Y%m%d%H%M%S"))
            os.replace(uploads, old)
            shutil.rmtree(old)
        os.chmod(staging, 0o700)
        os.replace(staging, uploads)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    engine.dispose()
    return manifest
