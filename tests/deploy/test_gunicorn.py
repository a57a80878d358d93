"""The app as production runs it: gunicorn with three workers on PostgreSQL, nothing shared between
the workers but the database and the instance folder. A judge saves a score sheet; an agency contact
uploads a file through tus in chunks that land on different workers, and it arrives intact.

PostgreSQL only (TEST_DATABASE_URL): SQLite is not a database for several workers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess  # psql runs the app role script, as in production
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from deploy_support import Gunicorn, csrf_token_from, drop_database, fresh_database, login, setup_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hostile"))
import hostile_corpus  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")

pytestmark = pytest.mark.skipif(
    not (POSTGRES_URL or "").startswith("postgres"),
    reason="gunicorn with several workers is tested on PostgreSQL only: set TEST_DATABASE_URL",
)

CHUNK = 64 * 1024
APP_ROLE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres-app-role.sql"


def _pdf(size: int) -> bytes:
    pdf = hostile_corpus.pdf_bytes()
    return pdf + b"%" + bytes(range(48, 58)) * ((size - len(pdf)) // 10) + b"\n%%EOF\n"


@pytest.fixture
def served(tmp_path):
    """A fresh database with the demo loaded, an open stage with one confirmed assignment for judge1
    and a draft entry of 澎湖縣政府; then gunicorn with three workers on it."""
    from award.demo import load_demo
    from award.extensions import db
    from award.models import (Agency, Assignment, AssignmentStatus, Edition, Entry, EntrySection, StageEntry,
                              User, utcnow)

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    base_name = POSTGRES_URL.rsplit("/", 1)[1].split("?")[0]
    url = fresh_database(POSTGRES_URL, f"{base_name}_gunicorn_{worker}")
    instance = tmp_path / "instance"
    app = setup_app(url, instance, PASSWORD_HASHING="cheapest")
    ids = {}
    with app.app_context():
        load_demo()
        edition = db.session.scalar(select(Edition))
        stage, category = edition.stages[0], edition.categories[0]
        now = utcnow()
        stage.opens_at, stage.closes_at = now - timedelta(days=1), now + timedelta(days=1)
        kinmen = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C2000"))
        scored = Entry(category=category, agency=kinmen, title="採購透明化平台", summary="摘要",
                       head_name=kinmen.head_name, contact_name="王小明", contact_email="ethics@example.org")
        scored.sections = [EntrySection(criterion_id=c.id, text=f"{c.name}的作為") for c in category.criteria]
        db.session.add(scored)
        db.session.flush()
        db.session.add(StageEntry(stage_id=stage.id, entry_id=scored.id, basis="eligible"))
        judge = db.session.scalar(select(User).where(User.email == "judge1@award.example"))
        assignment = Assignment(stage_id=stage.id, entry_id=scored.id, judge_id=judge.id,
                                status=AssignmentStatus.CONFIRMED, confirmed_at=now)
        penghu = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C1000"))
        draft = Entry(category=category, agency=penghu, title="跨島協作的廉能治理")
        db.session.add_all([assignment, draft])
        db.session.commit()
        ids.update(assignment=assignment.id, criteria=[c.id for c in category.criteria], draft=draft.id,
                   judge=judge.id, scored=scored.id, stage=stage.id)
        db.session.remove()
        db.engine.dispose()
    try:
        with Gunicorn(_as_app_role(url), instance, workers=3) as server:
            yield server, app, ids
    finally:
        drop_database(url)


def _as_app_role(url: str) -> str:
    """The workers connect as production's least-privilege role (scripts/postgres-app-role.sql, run
    as the owner after the migrations, as docs/deploy.md says), so these tests also prove the app
    needs nothing more: INSERT and SELECT only on the audit trail."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    applied = subprocess.run(["psql", plain, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "app_password=",
                              "-f", str(APP_ROLE_SCRIPT)], capture_output=True, text=True, check=False)
    assert applied.returncode == 0, applied.stderr
    return make_url(url).set(username="award_app").render_as_string(hide_password=False)


def _connected_roles(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(text("SELECT usename FROM pg_stat_activity WHERE datname = :db"),
                                          {"db": make_url(url).database}))
    finally:
        engine.dispose()


def test_a_judge_saves_a_score_sheet_through_gunicorn(served):
    from award.audit import verify_chain
    from award.extensions import db
    from award.models import AuditEvent, ScoreSheet

    server, app, ids = served
    session = login(server.url, "judge1@award.example", "Demo-judge-one-2026")
    page = session.get(f"{server.url}/judging/sheets/{ids['assignment']}", timeout=30)
    assert page.status_code == 200
    form = {"csrf_token": csrf_token_from(page.text), "version": "0", "action": "save", "comment": "整體表現佳"}
    scores = ["80", "85.5", "70", "90", "75"]
    for criterion_id, score in zip(ids["criteria"], scores, strict=True):
        form[f"score-{criterion_id}"], form[f"comment-{criterion_id}"] = score, ""
    saved = session.post(f"{server.url}/judging/sheets/{ids['assignment']}", data=form, allow_redirects=False,
                         timeout=30)
    assert saved.status_code == 303, saved.text

    # Without the token the same post is refused: CSRF protection is on in the served app.
    form.pop("csrf_token")
    assert session.post(f"{server.url}/judging/sheets/{ids['assignment']}", data=form, allow_redirects=False,
                        timeout=30).status_code == 400

    with app.app_context():
        sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.judge_id == ids["judge"]))
        assert sheet.version == 1 and sheet.comment == "整體表現佳"
        assert {m.criterion_id: m.score for m in sheet.marks} == {
            c: Decimal(s) for c, s in zip(ids["criteria"], scores, strict=True)}
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "sheet_saved", AuditEvent.object_id == str(sheet.id))) is not None
        assert verify_chain().ok
        assert "award_app" in _connected_roles(db.engine.url.render_as_string(hide_password=False))
        db.engine.dispose()


def test_tus_chunks_land_on_different_workers_and_the_file_arrives_intact(served, tmp_path):
    from tusclient import client as tus_client

    from award.audit import verify_chain
    from award.entries import storage
    from award.extensions import db
    from award.models import Attachment

    server, app, ids = served
    data = _pdf(12 * CHUNK + 1234)
    path = tmp_path / "澎湖成果報告.pdf"
    path.write_bytes(data)
    session = login(server.url, "penghu@award.example", "Demo-penghu-2026")
    page = session.get(f"{server.url}/entries/{ids['draft']}/edit", timeout=30)
    assert page.status_code == 200
    headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies),
               "X-CSRFToken": csrf_token_from(page.text), "User-Agent": session.headers["User-Agent"]}
    uploader = tus_client.TusClient(f"{server.url}/uploads/tus/", headers=headers).uploader(
        str(path), chunk_size=CHUNK, upload_checksum=True,
        metadata={"entry_id": str(ids["draft"]), "filename": path.name})
    uploader.upload()
    assert uploader.offset == len(data)

    upload_id = uploader.url.rstrip("/").rsplit("/", 1)[1]
    chunks = -(-len(data) // CHUNK)

    def patches_of(records):
        return [r for r in records if r.method == "PATCH" and r.path.endswith(upload_id)]

    patches = patches_of(server.access_records_when(lambda records: len(patches_of(records)) >= chunks))
    assert len(patches) == chunks and all(r.status == 204 for r in patches)
    assert len({r.pid for r in patches}) >= 2, "every chunk went to one worker: nothing proved"

    digest = hashlib.sha256(data).hexdigest()
    with app.app_context():
        [attachment] = db.session.scalars(select(Attachment).where(Attachment.entry_id == ids["draft"])).all()
        assert attachment.sha256 == digest and attachment.size == len(data)
        with storage.open_blob(attachment.storage_key) as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == digest
        assert verify_chain().ok
        db.engine.dispose()
