"""``award uploads purge [--dry-run]``: abandoned tus uploads and orphan files go, printed and
audited; a file an attachment row names never does."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from attachments_support import (  # noqa: F401  (fixtures)
    attachments, attachments_app, big_pdf, blob_files, corpus, draft_entry, penghu_client, stored_files, tus_uploads,
    upload, upload_root,
)
from attachments_support import tus_create, tus_patch
from award.extensions import db
from award.models import Attachment, AuditEvent, TusUpload, utcnow

DAY = 86400


def _start(client, entry_id, data: bytes, sent: int, name="半途.pdf") -> str:
    created = tus_create(client, entry_id, len(data), filename=name)
    assert created.status_code == 201
    url = created.headers["Location"]
    if sent:
        assert tus_patch(client, url, data[:sent], 0).status_code == 204
    return url[-32:]


def _last_chunk(app, upload_id: str, days_ago: float) -> None:
    """Pretend the upload's last chunk came ``days_ago`` days ago (it expires a day after that)."""
    from award.entries.tus import UPLOAD_LIFETIME

    with app.app_context():
        db.session.get(TusUpload, upload_id).expires_at = utcnow() - timedelta(days=days_ago) + UPLOAD_LIFETIME
        db.session.commit()


def _age(path, days: float) -> None:
    stamp = utcnow().timestamp() - days * DAY
    os.utime(path, (stamp, stamp))


def _purge(app, *args):
    result = app.test_cli_runner().invoke(args=["uploads", "purge", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _purged_events(app) -> list[dict]:
    with app.app_context():
        return [json.loads(e.after) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "uploads_purged").order_by(AuditEvent.seq))]


def _part(app, upload_id):
    return upload_root(app) / "tus" / f"{upload_id}.part"


def _orphan(app, days_old: float, name: str | None = None):
    key = name or secrets.token_hex(16)
    path = upload_root(app) / "blobs" / key[:2] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"orphan bytes " + key.encode())
    _age(path, days_old)
    return path


@pytest.fixture
def folder(attachments_app, penghu_client, draft_entry):
    """An upload folder holding one of everything: what must go and what must stay."""
    app = attachments_app
    data = big_pdf(5000)
    # accepted files, one then removed (a frozen version may name it): both stay, however old
    for name, content in (corpus.GOOD["pdf"](), corpus.GOOD["png"]()):
        assert upload(penghu_client, draft_entry, name, content).status_code == 302
    with app.app_context():
        kept = list(db.session.scalars(select(Attachment).order_by(Attachment.id)))
        kept[1].removed_at = utcnow()
        db.session.commit()
        keys = [a.storage_key for a in kept]
    for key in keys:
        _age(upload_root(app) / "blobs" / key[:2] / key, 400)
    things = {
        "abandoned": _start(penghu_client, draft_entry, data, 1200),  # silent for 8 days: goes
        "recent": _start(penghu_client, draft_entry, data, 800),  # expired, silent for 2 days: stays
        "live": _start(penghu_client, draft_entry, data, 300),  # still resumable: stays
        "finished": _start(penghu_client, draft_entry, data, 0, name="完成.pdf"),
    }
    assert tus_patch(penghu_client, f"/uploads/tus/{things['finished']}", data, 0).status_code == 204
    _last_chunk(app, things["abandoned"], 8)
    _last_chunk(app, things["recent"], 2)
    _last_chunk(app, things["finished"], 10)  # its row goes, its attachment stays
    with app.app_context():
        finished_key = db.session.scalar(select(Attachment.storage_key).where(
            Attachment.original_name == "完成.pdf"))
    things["keys"] = keys + [finished_key]
    things["old_orphan"] = _orphan(app, 3)
    things["new_orphan"] = _orphan(app, 0.01)  # perhaps an upload committing right now: stays
    things["stray_part"] = upload_root(app) / "tus" / f"{secrets.token_hex(16)}.part"
    things["stray_part"].write_bytes(b"left by a crash")
    _age(things["stray_part"], 5)
    things["incoming"] = upload_root(app) / "blobs" / "ab" / ".incoming-x1y2"
    things["incoming"].parent.mkdir(parents=True, exist_ok=True)
    things["incoming"].write_bytes(b"half a file")
    _age(things["incoming"], 5)
    things["foreign"] = upload_root(app) / "blobs" / "ab" / "README.txt"  # not ours: never touched
    things["foreign"].write_bytes(b"a note an administrator left")
    _age(things["foreign"], 50)
    return things


def _blob(app, key):
    return upload_root(app) / "blobs" / key[:2] / key


def test_purge_removes_the_abandoned_and_the_orphans_and_keeps_the_rest(attachments_app, draft_entry, folder):
    app = attachments_app
    before = {a.id: a.sha256 for a in attachments(app, draft_entry)}
    output = _purge(app)
    assert f"Removed tus upload {folder['abandoned']}: entry {draft_entry}, '半途.pdf', 1200 of {len(big_pdf(5000))} bytes" in output
    assert f"Removed tus upload {folder['finished']}" in output and "finished (the attachment stays)" in output
    old = folder["old_orphan"]
    assert f"Removed orphan file blobs/{old.parent.name}/{old.name}" in output
    assert "Removed 2 uploads and 3 orphan files" in output
    # gone
    assert not _part(app, folder["abandoned"]).exists() and not old.exists()
    assert not folder["stray_part"].exists() and not folder["incoming"].exists()
    remaining = {u.id for u in tus_uploads(app)}
    assert remaining == {folder["recent"], folder["live"]}
    # kept: every referenced file (active, removed, finished through tus), recent uploads, fresh orphans
    for key in folder["keys"]:
        assert _blob(app, key).is_file(), key
    assert _part(app, folder["recent"]).stat().st_size == 800 and _part(app, folder["live"]).stat().st_size == 300
    assert folder["new_orphan"].exists() and folder["foreign"].exists()
    assert {a.id: a.sha256 for a in attachments(app, draft_entry)} == before
    # audited, once, with what went; the chain still verifies
    [event] = _purged_events(app)
    assert [u["id"] for u in event["uploads"]] == [folder["abandoned"], folder["finished"]]
    assert len(event["orphans"]) == 3 and event["tus_expiry_days"] == 7
    verify = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0 and verify.output.startswith("OK")
    # a second run finds nothing and records nothing
    assert "Nothing to remove." in _purge(app)
    assert len(_purged_events(app)) == 1


def test_dry_run_lists_the_same_and_changes_nothing(attachments_app, folder):
    app = attachments_app
    files_before = stored_files(app)
    uploads_before = {u.id for u in tus_uploads(app)}
    output = _purge(app, "--dry-run")
    assert f"Would remove tus upload {folder['abandoned']}" in output
    assert "Would remove 2 uploads and 3 orphan files" in output
    assert stored_files(app) == files_before and {u.id for u in tus_uploads(app)} == uploads_before
    assert _purged_events(app) == []


def test_tus_expiry_comes_from_the_config(attachments_app, folder):
    app = attachments_app
    app.config["TUS_EXPIRY"] = timedelta(days=30)
    output = _purge(app)
    assert folder["abandoned"] not in output and folder["finished"] not in output
    assert _part(app, folder["abandoned"]).stat().st_size == 1200
    app.config["TUS_EXPIRY"] = 1.5  # a number of days (AWARD_TUS_EXPIRY=1.5 in the environment)
    output = _purge(app)
    assert folder["abandoned"] in output and folder["recent"] in output and folder["live"] not in output
    assert {u.id for u in tus_uploads(app)} == {folder["live"]}


def test_a_referenced_file_is_never_removed_even_if_it_looks_orphaned(attachments_app, folder, monkeypatch):
    """Should the orphan scan ever be wrong, the removal checks the rows again."""
    from award.entries import purge

    app = attachments_app
    referenced = [_blob(app, key) for key in folder["keys"]]
    monkeypatch.setattr(purge, "orphan_files", lambda now: referenced)
    _purge(app)
    for path in referenced:
        assert path.is_file()


def test_nothing_to_remove(attachments_app, penghu_client, draft_entry):
    app = attachments_app
    assert upload(penghu_client, draft_entry, *corpus.GOOD["pdf"]()).status_code == 302
    assert "Nothing to remove." in _purge(app)
    assert _purged_events(app) == [] and len(blob_files(app)) == 1


def test_the_command_is_registered_with_its_help(attachments_app):
    result = attachments_app.test_cli_runner().invoke(args=["uploads", "purge", "--help"])
    assert result.exit_code == 0 and "--dry-run" in result.output and "TUS_EXPIRY" in result.output


def test_an_upload_resumed_after_a_dry_run_is_unaffected(attachments_app, penghu_client, draft_entry):
    app = attachments_app
    data = big_pdf(5000)
    upload_id = _start(penghu_client, draft_entry, data, 1000)
    _purge(app, "--dry-run")
    _purge(app)
    done = tus_patch(penghu_client, f"/uploads/tus/{upload_id}", data[1000:], 1000)
    assert done.status_code == 204
    with app.app_context():
        assert db.session.scalar(select(Attachment.size).where(Attachment.original_name == "半途.pdf")) == len(data)
