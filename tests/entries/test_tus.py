"""The tus 1.0 endpoint: the protocol through the test client, then real uploads with the tuspy
client against a live server, including one cut off halfway and resumed."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import io
import re
import socket
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import select
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.storage.filestorage import FileStorage

from attachments_support import (  # noqa: F401  (fixtures)
    attachments, attachments_app, audit_actions, big_pdf, client_as, cookie_header, corpus,
    csrf_token_from, draft_entry, live_server, live_session, penghu_client, set_limits, stored_files, tus_uploads,
)
from attachments_support import TUS, part_files, sha1_header
from attachments_support import tus_create as create, tus_metadata as _meta, tus_patch as patch
from award.extensions import db
from award.models import Edition, TusUpload, utcnow

MIB = 1024 * 1024



@pytest.fixture
def started(attachments_app, penghu_client, draft_entry):
    """A PDF upload created by 澎湖縣政府's contact: (url, data)."""
    data = big_pdf(6000)
    response = create(penghu_client, draft_entry, len(data))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.headers["Location"], data


# --- discovery and creation ---------------------------------------------------------------------

def test_options_announces_the_protocol_and_extensions(attachments_app, client, demo):
    response = client.options("/uploads/tus/")
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0" and response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Extension"] == "creation,termination,checksum"
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1"
    assert int(response.headers["Tus-Max-Size"]) == 100 * MIB


def test_creation_makes_an_empty_private_part_file(attachments_app, penghu_client, draft_entry):
    response = create(penghu_client, draft_entry, 1234)
    assert response.status_code == 201 and response.headers["Tus-Resumable"] == "1.0.0"
    location = response.headers["Location"]
    assert re.fullmatch(r"/uploads/tus/[0-9a-f]{32}", location)
    [upload] = tus_uploads(attachments_app)
    assert (upload.id, upload.length, upload.offset, upload.filename) == (location[-32:], 1234, 0, "成果報告.pdf")
    assert upload.expires_at > utcnow() + timedelta(hours=23)
    [part] = part_files(attachments_app)
    assert part.name == f"{upload.id}.part" and part.stat().st_size == 0 and part.stat().st_mode & 0o777 == 0o600
    assert "upload_started" in audit_actions(attachments_app)


@pytest.mark.parametrize("length, filename, status", [
    (100 * MIB + 1, "大.mp4", 413),  # over the per-file limit
    (0, "空.pdf", 422),  # empty
    (1000, "setup.exe", 422),  # a name that can never be accepted
    (1000, "macro.docm", 422),
])
def test_creation_refuses_what_could_never_be_accepted(attachments_app, penghu_client, draft_entry, length, filename,
                                                       status):
    response = create(penghu_client, draft_entry, length, filename)
    assert response.status_code == status
    assert response.json["ok"] is False and response.json["message"]
    assert unquote(response.headers["X-Award-Error"]) == response.json["message"]
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert tus_uploads(attachments_app) == [] and part_files(attachments_app) == []


def test_creation_counts_what_the_entry_already_holds(attachments_app, penghu_client, draft_entry):
    set_limits(attachments_app, file_mb=1, entry_mb=1)
    assert penghu_client.post(f"/entries/{draft_entry}/attachments", data={
        "file": (io.BytesIO(big_pdf(700 * 1024)), "一.pdf")}).status_code == 302
    assert create(penghu_client, draft_entry, 400 * 1024).status_code == 413
    assert create(penghu_client, draft_entry, 300 * 1024).status_code == 201


def test_creation_needs_the_protocol_version_length_and_metadata(attachments_app, penghu_client, draft_entry):
    no_version = penghu_client.post("/uploads/tus/", headers={"Upload-Length": "10", "Upload-Metadata": _meta(
        entry_id=str(draft_entry), filename="a.pdf")})
    assert no_version.status_code == 412 and no_version.headers["Tus-Version"] == "1.0.0"
    assert create(penghu_client, draft_entry, "ten").status_code == 400
    bad_meta = penghu_client.post("/uploads/tus/", headers={**TUS, "Upload-Length": "10",
                                                            "Upload-Metadata": "filename !!notbase64"})
    assert bad_meta.status_code == 400
    deferred = create(penghu_client, draft_entry, 10, **{"Upload-Defer-Length": "1"})
    assert deferred.status_code == 400
    assert tus_uploads(attachments_app) == []


def test_creation_after_the_deadline_is_refused(attachments_app, penghu_client, draft_entry):
    with attachments_app.app_context():
        edition = db.session.scalar(select(Edition))
        edition.submission_opens_at = utcnow() - timedelta(days=9)
        edition.submission_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert create(penghu_client, draft_entry, 100).status_code == 403
    assert tus_uploads(attachments_app) == []


def test_too_many_unfinished_uploads_are_refused(attachments_app, penghu_client, draft_entry):
    from award.entries.tus import MAX_UNFINISHED_PER_USER

    for _ in range(MAX_UNFINISHED_PER_USER):
        assert create(penghu_client, draft_entry, 100).status_code == 201
    assert create(penghu_client, draft_entry, 100).status_code == 403
    assert len(part_files(attachments_app)) == MAX_UNFINISHED_PER_USER


# --- appending ----------------------------------------------------------------------------------

def test_head_reports_the_offset_and_is_never_cached(attachments_app, penghu_client, started):
    url, data = started
    response = penghu_client.head(url, headers=TUS)
    assert response.status_code == 200
    assert (response.headers["Upload-Offset"], response.headers["Upload-Length"]) == ("0", str(len(data)))
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Tus-Resumable"] == "1.0.0"


def test_chunks_with_checksums_become_an_attachment(attachments_app, penghu_client, draft_entry, started):
    url, data = started
    first = patch(penghu_client, url, data[:3000], 0, **{"Upload-Checksum": sha1_header(data[:3000])})
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "3000"
    last = patch(penghu_client, url, data[3000:], 3000, **{"Upload-Checksum": sha1_header(data[3000:])})
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(data))
    [attachment] = attachments(attachments_app, draft_entry)
    assert last.headers["X-Award-Attachment-Id"] == str(attachment.id)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest() and attachment.original_name == "成果報告.pdf"
    assert part_files(attachments_app) == []
    [upload] = tus_uploads(attachments_app)
    assert upload.attachment_id == attachment.id and upload.offset == upload.length
    head = penghu_client.head(url, headers=TUS)  # a reloaded page learns the upload is done
    assert head.headers["Upload-Offset"] == str(len(data)) and head.headers["X-Award-Attachment-Id"] == str(
        attachment.id)


def test_a_checksum_mismatch_is_460_and_nothing_is_appended(attachments_app, penghu_client, started):
    url, data = started
    patch(penghu_client, url, data[:1000], 0)
    response = patch(penghu_client, url, data[1000:2000], 1000, **{"Upload-Checksum": sha1_header(b"other")})
    assert response.status_code == 460
    assert penghu_client.head(url, headers=TUS).headers["Upload-Offset"] == "1000"
    assert part_files(attachments_app)[0].stat().st_size == 1000
    assert patch(penghu_client, url, data[1000:2000], 1000,
                 **{"Upload-Checksum": "md5 " + base64.b64encode(b"x" * 16).decode()}).status_code == 400


def test_a_chunk_at_the_wrong_offset_is_a_conflict(attachments_app, penghu_client, started):
    url, data = started
    patch(penghu_client, url, data[:1000], 0)
    for offset in (0, 500, 2000):
        response = patch(penghu_client, url, data[offset:offset + 100], offset)
        assert response.status_code == 409 and response.headers["Upload-Offset"] == "1000"
    assert part_files(attachments_app)[0].read_bytes() == data[:1000]


def test_two_chunks_at_once_cannot_interleave(attachments_app, penghu_client, started):
    import fcntl

    url, data = started
    [part] = part_files(attachments_app)
    with part.open("r+b") as busy:  # another worker is writing a chunk of this upload
        fcntl.flock(busy.fileno(), fcntl.LOCK_EX)
        assert patch(penghu_client, url, data[:1000], 0).status_code == 409
        assert penghu_client.delete(url, headers=TUS).status_code == 409
    assert part.stat().st_size == 0
    assert patch(penghu_client, url, data[:1000], 0).status_code == 204


def test_any_worker_can_take_the_next_chunk(attachments_app, penghu_client, draft_entry, started):
    from award import create_app
    from award.entries.attachments import bp as attachments_bp
    from award.entries.tus import bp as uploads_bp

    url, data = started
    assert patch(penghu_client, url, data[:2000], 0).status_code == 204
    other = create_app({**attachments_app.config})  # another process: nothing shared but the database and disk
    for bp in (attachments_bp, uploads_bp):
        if bp.name not in other.blueprints:
            other.register_blueprint(bp)
    worker = client_as(other, "penghu")
    assert worker.head(url, headers=TUS).headers["Upload-Offset"] == "2000"
    assert patch(worker, url, data[2000:], 2000).status_code == 204
    assert attachments(attachments_app, draft_entry)[0].sha256 == hashlib.sha256(data).hexdigest()
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_never_more_bytes_than_announced(attachments_app, penghu_client, started):
    url, data = started
    response = patch(penghu_client, url, data + b"extra", 0)
    assert response.status_code == 413
    assert penghu_client.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    assert part_files(attachments_app)[0].stat().st_size == 0


def test_a_chunk_must_be_an_offset_octet_stream(attachments_app, penghu_client, started):
    url, data = started
    assert patch(penghu_client, url, data[:10], 0, **{"Content-Type": "text/plain"}).status_code == 415
    assert penghu_client.patch(url, data=data[:10], headers={
        **TUS, "Content-Type": "application/offset+octet-stream"}).status_code == 400  # no Upload-Offset


def test_termination_deletes_the_partial_file(attachments_app, penghu_client, started):
    url, data = started
    patch(penghu_client, url, data[:1000], 0)
    response = penghu_client.delete(url, headers=TUS)
    assert response.status_code == 204 and response.headers["Tus-Resumable"] == "1.0.0"
    assert part_files(attachments_app) == [] and tus_uploads(attachments_app) == []
    assert penghu_client.head(url, headers=TUS).status_code == 404
    assert audit_actions(attachments_app)[-1] == "upload_cancelled"


def test_an_expired_upload_is_gone(attachments_app, penghu_client, started):
    url, data = started
    patch(penghu_client, url, data[:1000], 0)
    with attachments_app.app_context():
        db.session.get(TusUpload, url[-32:]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert penghu_client.head(url, headers=TUS).status_code == 410
    assert patch(penghu_client, url, data[1000:], 1000).status_code == 410
    assert part_files(attachments_app) == []


def test_expired_uploads_are_purged(attachments_app, penghu_client, started):
    from award.entries.tus import purge_expired_uploads

    with attachments_app.app_context():
        db.session.get(TusUpload, started[0][-32:]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert purge_expired_uploads() == 1
    assert tus_uploads(attachments_app) == [] and part_files(attachments_app) == []


def test_a_file_refused_at_completion_leaves_nothing(attachments_app, penghu_client, draft_entry):
    exe = corpus.EXE
    response = create(penghu_client, draft_entry, len(exe), "report.pdf")
    url = response.headers["Location"]
    done = patch(penghu_client, url, exe, 0)
    assert done.status_code == 422 and done.json["ok"] is False
    assert unquote(done.headers["X-Award-Error"]) == done.json["message"]
    assert "X-Award-Attachment-Id" not in done.headers
    assert attachments(attachments_app, draft_entry) == []
    assert stored_files(attachments_app) == [] and tus_uploads(attachments_app) == []
    assert audit_actions(attachments_app)[-1] == "upload_refused"


def test_chunks_stop_at_the_deadline(attachments_app, penghu_client, started):
    url, data = started
    with attachments_app.app_context():
        edition = db.session.scalar(select(Edition))
        edition.submission_opens_at = utcnow() - timedelta(days=9)
        edition.submission_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert patch(penghu_client, url, data[:100], 0).status_code == 403
    assert penghu_client.head(url, headers=TUS).headers["Upload-Offset"] == "0"


def test_the_csrf_token_travels_in_a_header(attachments_app, penghu_client, draft_entry):
    attachments_app.config["WTF_CSRF_ENABLED"] = True
    refused = create(penghu_client, draft_entry, 100)
    assert refused.status_code == 403 and refused.headers["Tus-Resumable"] == "1.0.0"
    token = csrf_token_from(penghu_client.get("/").get_data(as_text=True))
    created = create(penghu_client, draft_entry, 100, **{"X-CSRFToken": token})
    assert created.status_code == 201
    url = created.headers["Location"]
    assert patch(penghu_client, url, b"x", 0).status_code == 403
    assert penghu_client.head(url, headers=TUS).status_code == 200  # reading needs no token
    assert penghu_client.delete(url, headers={**TUS, "X-CSRFToken": token}).status_code == 204


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["greenisland", "moj", "judge1", "organizer", None])
def test_nobody_else_may_touch_an_upload(attachments_app, penghu_client, draft_entry, started, who):
    url, data = started
    patch(penghu_client, url, data[:1000], 0)
    stranger = client_as(attachments_app, who)
    assert stranger.head(url, headers=TUS).status_code == 404
    assert patch(stranger, url, data[1000:2000], 1000).status_code == 404
    assert stranger.delete(url, headers=TUS).status_code == 404
    assert stranger.patch(url, data=b"x").status_code == 404  # not even the protocol check answers
    created = create(stranger, draft_entry, 100)
    assert created.status_code in (403, 404) and created.headers["Tus-Resumable"] == "1.0.0"
    assert penghu_client.head(url, headers=TUS).headers["Upload-Offset"] == "1000"
    assert len(tus_uploads(attachments_app)) == 1 and len(part_files(attachments_app)) == 1


# --- tuspy against a live server ----------------------------------------------------------------

def _tus(live_server, who="penghu"):
    session = live_session(live_server, who)
    headers = {"Cookie": cookie_header(session)}
    return tus_client.TusClient(f"{live_server}/uploads/tus/", headers=headers), session


def _sample(size=300 * 1024) -> bytes:
    return big_pdf(size)


def test_tuspy_uploads_a_file_in_chunks_with_checksums(attachments_app, live_server, draft_entry, tmp_path):
    data = _sample()
    path = tmp_path / "宣導成果.pdf"
    path.write_bytes(data)
    client, _session = _tus(live_server)
    uploader = client.uploader(str(path), chunk_size=64 * 1024, upload_checksum=True,
                               metadata={"entry_id": str(draft_entry), "filename": path.name})
    uploader.upload()
    assert uploader.offset == len(data)
    [attachment] = attachments(attachments_app, draft_entry)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest() and attachment.original_name == path.name
    assert uploader.request.response_headers["x-award-attachment-id"] == str(attachment.id)
    assert part_files(attachments_app) == []


def test_tuspy_upload_cut_off_halfway_resumes_from_the_servers_offset(attachments_app, live_server, draft_entry,
                                                                      tmp_path):
    data = _sample()
    path = tmp_path / "離島成果.pdf"
    path.write_bytes(data)
    chunk = 50 * 1024
    client, _session = _tus(live_server)
    first = client.uploader(str(path), chunk_size=chunk, metadata={"entry_id": str(draft_entry),
                                                                   "filename": path.name})
    for _ in range(3):  # the link drops after three chunks
        first.upload_chunk()
    url = first.url
    del first
    assert attachments(attachments_app, draft_entry) == []

    # A new uploader (the page reloaded) asks the server where it stands and sends only the rest.
    client, _session = _tus(live_server)
    resumed = client.uploader(str(path), url=url, chunk_size=chunk, upload_checksum=True)
    assert resumed.offset == 3 * chunk
    resumed.upload()
    [attachment] = attachments(attachments_app, draft_entry)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert attachment.size == len(data) and part_files(attachments_app) == []


def test_tuspy_resumes_from_its_stored_url_after_a_reload(attachments_app, live_server, draft_entry, tmp_path):
    data = _sample(200 * 1024)
    path = tmp_path / "簡報.pdf"
    path.write_bytes(data)
    storage = FileStorage(str(tmp_path / "tus-urls.json"))
    client, _session = _tus(live_server)
    first = client.uploader(str(path), chunk_size=64 * 1024, store_url=True, url_storage=storage,
                            metadata={"entry_id": str(draft_entry), "filename": path.name})
    first.upload_chunk()
    client, _session = _tus(live_server)  # the laptop slept: a new session, the same stored URL
    again = client.uploader(str(path), chunk_size=64 * 1024, store_url=True, url_storage=storage,
                            metadata={"entry_id": str(draft_entry), "filename": path.name})
    assert again.url == first.url and again.offset == 64 * 1024
    again.upload()
    assert len(tus_uploads(attachments_app)) == 1
    assert attachments(attachments_app, draft_entry)[0].sha256 == hashlib.sha256(data).hexdigest()


def test_a_connection_broken_mid_chunk_keeps_the_bytes_that_arrived(attachments_app, live_server, draft_entry):
    data = _sample(200 * 1024)
    session = live_session(live_server, "penghu")
    created = session.post(f"{live_server}/uploads/tus/", headers={
        **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": _meta(entry_id=str(draft_entry),
                                                                         filename="斷線.pdf")}, timeout=10)
    url = urlsplit(created.headers["Location"]).path
    host = urlsplit(live_server)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    connection.putrequest("PATCH", url)
    for name, value in {**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
                        "Content-Length": str(len(data)), "Cookie": cookie_header(session),
                        "User-Agent": session.headers["User-Agent"]}.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(data[:100_000])
    connection.sock.shutdown(socket.SHUT_WR)  # the ferry leaves the coverage area
    connection.getresponse().read()
    connection.close()
    offset = int(session.head(f"{live_server}{url}", headers=TUS, timeout=10).headers["Upload-Offset"])
    assert offset == 100_000
    # and the rest, from there
    done = session.patch(f"{live_server}{url}", data=data[offset:], timeout=10, headers={
        **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)})
    assert done.status_code == 204
    assert attachments(attachments_app, draft_entry)[0].sha256 == hashlib.sha256(data).hexdigest()


def test_tuspy_sees_a_refusal_at_completion(attachments_app, live_server, draft_entry, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(corpus.EXE)
    client, _session = _tus(live_server)
    uploader = client.uploader(str(path), metadata={"entry_id": str(draft_entry), "filename": path.name})
    with pytest.raises(TusUploadFailed) as failed:
        uploader.upload()
    assert failed.value.status_code == 422
    assert json.loads(failed.value.response_content)["ok"] is False
    assert attachments(attachments_app, draft_entry) == [] and stored_files(attachments_app) == []


def test_tuspy_cannot_resume_someone_elses_upload(attachments_app, live_server, draft_entry, tmp_path):
    data = _sample(100 * 1024)
    path = tmp_path / "a.pdf"
    path.write_bytes(data)
    client, _session = _tus(live_server)
    first = client.uploader(str(path), chunk_size=32 * 1024, metadata={"entry_id": str(draft_entry),
                                                                       "filename": "a.pdf"})
    first.upload_chunk()
    stranger, _session = _tus(live_server, "greenisland")
    with pytest.raises(TusCommunicationError) as refused:
        stranger.uploader(str(path), url=first.url)
    assert refused.value.status_code == 404
