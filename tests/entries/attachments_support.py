"""Fixtures and helpers of the attachment and tus tests (import the fixtures into a test module).

tests/entries/conftest.py registers the entries blueprints on ``app`` until create_app does;
``attachments_app`` makes sure of the two this area needs either way.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import stat
import sys
import threading
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import WSGIRequestHandler, make_server

from award.extensions import db
from award.models import Agency, Attachment, AuditEvent, Edition, Entry, TusUpload

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hostile"))
import hostile_corpus as corpus  # noqa: E402
from demo_clients import demo_client as client_as  # one login helper for every folder; re-exported

PENGHU = "DEMO-C1000"
ENTRY_TITLE = "離島廉能治理：澎湖跨島協作"


@pytest.fixture
def attachments_app(app):
    from award.entries.attachments import bp as attachments_bp
    from award.entries.tus import bp as uploads_bp

    for bp in (attachments_bp, uploads_bp):
        if bp.name not in app.blueprints:
            app.register_blueprint(bp)
    return app


@pytest.fixture
def draft_entry(attachments_app, demo) -> int:
    """A draft entry of 澎湖縣政府 in the demo edition's first category; its id."""
    with attachments_app.app_context():
        penghu = db.session.scalar(select(Agency).where(Agency.code == PENGHU))
        edition = db.session.scalar(select(Edition))
        entry = Entry(category=edition.categories[0], agency=penghu, title=ENTRY_TITLE)
        db.session.add(entry)
        db.session.commit()
        return entry.id


@pytest.fixture
def penghu_client(attachments_app, demo):
    return client_as(attachments_app, "penghu")


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory) -> bytes:
    """A DOCX unpacking to 300 MB of zeros (about 1.4 MB), built once per test session."""
    path = corpus.write_zip_bomb(tmp_path_factory.mktemp("hostile") / "bomb.docx")
    return path.read_bytes()


def upload(client, entry_id: int, name: str, data: bytes, **extra):
    return client.post(f"/entries/{entry_id}/attachments", data={"file": (io.BytesIO(data), name), **extra},
                       content_type="multipart/form-data")


def big_pdf(size: int) -> bytes:
    """A valid PDF of about ``size`` bytes (a long comment before the final %%EOF)."""
    pdf = corpus.pdf_bytes()
    padding = max(0, size - len(pdf) - 10)
    return pdf + b"%" + b"0" * padding + b"\n%%EOF\n"


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def upload_root(app) -> Path:
    return Path(app.config["UPLOAD_FOLDER"])


def stored_files(app) -> list[Path]:
    root = upload_root(app)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def blob_files(app) -> list[Path]:
    return [p for p in stored_files(app) if "blobs" in p.parts]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def attachments(app, entry_id: int) -> list[Attachment]:
    with app.app_context():
        rows = db.session.scalars(select(Attachment).where(Attachment.entry_id == entry_id)
                                  .order_by(Attachment.id)).all()
        db.session.expunge_all()
        return list(rows)


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(AuditEvent.id)))


def tus_uploads(app) -> list[TusUpload]:
    with app.app_context():
        rows = db.session.scalars(select(TusUpload)).all()
        db.session.expunge_all()
        return list(rows)


def set_limits(app, file_mb: int | None = None, entry_mb: int | None = None) -> None:
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        if file_mb is not None:
            edition.attachment_max_mb = file_mb
        if entry_mb is not None:
            edition.entry_attachments_max_mb = entry_mb
        db.session.commit()


# --- a live server for tuspy (it speaks HTTP through requests) ----------------------------------

class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


@pytest.fixture
def live_server(attachments_app):
    server = make_server("127.0.0.1", 0, attachments_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="tus-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def live_session(base_url: str, who: str) -> requests.Session:
    """A requests session logged in on the live server (the same client identity tuspy presents)."""
    from award.demo import ACCOUNTS

    email, password = next((a[0], a[4]) for a in ACCOUNTS if a[0].startswith(who + "@"))
    session = requests.Session()
    response = session.post(f"{base_url}/login", data={"email": email, "password": password},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return session


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


# tus 1.0 requests through the test client
TUS = {"Tus-Resumable": "1.0.0"}


def tus_metadata(**values: str) -> str:
    """An Upload-Metadata header: comma-separated ``key base64(value)`` pairs."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def tus_create(client, entry_id, length, filename="成果報告.pdf", **headers):
    return client.post("/uploads/tus/", headers={
        **TUS, "Upload-Length": str(length),
        "Upload-Metadata": tus_metadata(entry_id=str(entry_id), filename=filename), **headers})


def tus_patch(client, url, data, offset, **headers):
    return client.patch(url, data=data, headers={
        **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset), **headers})


def sha1_header(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()


def part_files(app) -> list[Path]:
    return [p for p in stored_files(app) if p.suffix == ".part"]
