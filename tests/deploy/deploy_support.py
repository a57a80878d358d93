"""Serving the app the production way for tests and load benchmarks: a fresh PostgreSQL database,
migrated by Alembic, and gunicorn with several workers on a free loopback port.

Used by tests/deploy/test_gunicorn.py and benchmarks/load_*.py (which put this folder on sys.path).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "docs" / "examples" / "gunicorn.conf.py"
# The access log line the tests and benchmarks read: worker pid, method, path, status, duration (µs).
ACCESS_FORMAT = "%(p)s %(m)s %(U)s %(s)s %(D)s"
_ACCESS_LINE = re.compile(r"^<?(\d+)>? (\S+) (\S+) (\d{3}) (\d+)$")


def psycopg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create the database ``name`` on the server of ``server_url``; its URL."""
    url = make_url(psycopg_url(server_url))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def setup_app(database_url: str, instance: Path, **config):
    """An app on the database (for building data in-process), with the schema made by the migrations."""
    from flask_migrate import upgrade

    from award import create_app

    instance.mkdir(parents=True, exist_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "setup-only",
                      "UPLOAD_FOLDER": str(instance / "uploads"), **config})
    with app.app_context():
        upgrade()
    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class AccessRecord:
    pid: int
    method: str
    path: str
    status: int
    micros: int


class Gunicorn:
    """gunicorn serving ``award.wsgi:app`` with the example configuration, on a free loopback port."""

    def __init__(self, database_url: str, instance: Path, workers: int = 3, threads: int | None = None,
                 worker_class: str | None = None, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.instance = instance
        self.access_log = instance / "access.log"
        self.error_log = instance / "gunicorn.log"
        self.command = [
            sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--max-requests", "0",
            *(["--threads", str(threads)] if threads else []),
            *(["--worker-class", worker_class] if worker_class else []),
            "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT,
            "--error-logfile", str(self.error_log), "award.wsgi:app",
        ]
        self.env = {**os.environ, "DATABASE_URL": database_url, "AWARD_INSTANCE_PATH": str(instance),
                    **(env or {})}
        self.env.pop("SECRET_KEY", None)  # the workers share the key generated into the instance folder
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.instance.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within 30 s: {self.log_tail()}")

    def __exit__(self, *_exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the arbiter stops its own workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.error_log.read_text().splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def worker_pids(self) -> set[int]:
        return {record.pid for record in self.access_records()}

    def access_records_when(self, ready, timeout: float = 10) -> list[AccessRecord]:
        """The access log once ``ready(records)`` holds (a worker logs a request just after answering it)."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.access_records()
            if ready(records) or time.monotonic() > deadline:
                return records
            time.sleep(0.1)

    def access_records(self) -> list[AccessRecord]:
        records = []
        for line in self.access_log.read_text().splitlines():
            match = _ACCESS_LINE.match(line.strip())
            if match:
                pid, method, path, status, micros = match.groups()
                records.append(AccessRecord(int(pid), method, path, int(status), int(micros)))
        return records


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not match:
        raise AssertionError("no CSRF token in the page")
    return match.group(1)


def login(base_url: str, email: str, password: str, session: requests.Session | None = None,
          timeout: float = 30) -> requests.Session:
    """Log in as a browser does: fetch the form (and its CSRF token), post it."""
    session = session or requests.Session()
    page = session.get(f"{base_url}/login", timeout=timeout)
    page.raise_for_status()
    response = session.post(f"{base_url}/login", timeout=timeout, allow_redirects=False,
                            data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)})
    if response.status_code != 302:
        raise AssertionError(f"login of {email} answered {response.status_code}")
    return session


@contextlib.contextmanager
def app_context(app) -> Iterator[None]:
    with app.app_context():
        yield
