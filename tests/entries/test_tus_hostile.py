"""Hostile requests to the tus endpoint: each is refused with the right status, and nothing saved
before it (the bytes received so far, the offset, other uploads, attachments) is lost."""

from __future__ import annotations

import base64
import hashlib
import http.client
import threading
import time
from urllib.parse import urlsplit

import pytest

from attachments_support import (  # noqa: F401  (fixtures)
    attachments, attachments_app, big_pdf, client_as, cookie_header, draft_entry, live_server, live_session,
    penghu_client, set_limits, stored_files, tus_uploads,
)
from attachments_support import TUS, part_files, sha1_header
from attachments_support import tus_create as create, tus_metadata as _meta, tus_patch as patch
from award.extensions import db
from award.models import Agency, Edition, Entry, TusUpload
from sqlalchemy import select

MIB = 1024 * 1024
KEPT = 1000  # bytes received before each hostile request



@pytest.fixture
def half(attachments_app, penghu_client, draft_entry):
    """澎湖縣政府's upload with its first KEPT bytes received: (url, data)."""
    data = big_pdf(6000)
    created = create(penghu_client, draft_entry, len(data))
    assert created.status_code == 201
    url = created.headers["Location"]
    assert patch(penghu_client, url, data[:KEPT], 0).status_code == 204
    return url, data


def assert_kept(app, client, url, data, offset=KEPT):
    """The upload stands where it stood: its offset, its bytes on disk, no attachment yet."""
    head = client.head(url, headers=TUS)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(offset)
    [part] = [p for p in part_files(app) if p.stem == url[-32:]]
    assert part.read_bytes() == data[:offset]


def finish(app, client, url, data, entry_id, offset=KEPT):
    """The rightful owner can still finish the upload, and the file is exactly the data."""
    done = patch(client, url, data[offset:], offset)
    assert done.status_code == 204, done.get_data(as_text=True)
    [attachment] = attachments(app, entry_id)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest() and attachment.size == len(data)


def assert_refusal(response, status):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.headers["Tus-Resumable"] == "1.0.0"
    if response.status_code != 204 and response.data:
        assert response.json["ok"] is False and response.json["message"]
        assert "Traceback" not in response.get_data(as_text=True)


# --- the offset -----------------------------------------------------------------------------------

@pytest.mark.parametrize("offset", [0, KEPT - 1, KEPT + 1, 6000, 10 ** 17])
def test_a_wrong_offset_is_a_conflict_and_tells_the_servers_offset(attachments_app, penghu_client, draft_entry, half,
                                                                   offset):
    url, data = half
    response = patch(penghu_client, url, b"X" * 100, offset)
    assert_refusal(response, 409)
    assert response.headers["Upload-Offset"] == str(KEPT)
    assert_kept(attachments_app, penghu_client, url, data)
    finish(attachments_app, penghu_client, url, data, draft_entry)


@pytest.mark.parametrize("offset", ["-1", "+1000", "1e3", "1000.0", "0x3e8", "", "１０００", "²", "9" * 40, "1000, 0"])
def test_an_unreadable_offset_is_a_bad_request(attachments_app, penghu_client, draft_entry, half, offset):
    url, data = half
    response = penghu_client.patch(url, data=data[KEPT:KEPT + 100], headers={
        **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": offset})
    assert_refusal(response, 400)
    assert_kept(attachments_app, penghu_client, url, data)
    finish(attachments_app, penghu_client, url, data, draft_entry)


def test_a_patch_on_a_finished_upload_is_a_conflict_not_a_second_file(attachments_app, penghu_client, draft_entry,
                                                                       half):
    url, data = half
    finish(attachments_app, penghu_client, url, data, draft_entry)
    again = patch(penghu_client, url, b"more", len(data))
    assert_refusal(again, 409)
    assert again.headers["Upload-Offset"] == str(len(data))
    assert len(attachments(attachments_app, draft_entry)) == 1


# --- the length -----------------------------------------------------------------------------------

def test_a_chunk_past_the_declared_length_is_refused_and_the_earlier_bytes_stay(attachments_app, penghu_client,
                                                                                draft_entry, half):
    url, data = half
    response = patch(penghu_client, url, data[KEPT:] + b"%%EOF trailing garbage", KEPT)
    assert_refusal(response, 413)
    assert_kept(attachments_app, penghu_client, url, data)
    assert attachments(attachments_app, draft_entry) == []
    finish(attachments_app, penghu_client, url, data, draft_entry)


def test_a_chunked_body_past_the_length_is_cut_off_and_nothing_of_it_kept(attachments_app, live_server, draft_entry):
    """Without a Content-Length the server cannot refuse up front: it stops one byte past the end."""
    data = big_pdf(200 * 1024)
    session = live_session(live_server, "penghu")
    created = session.post(f"{live_server}/uploads/tus/", headers={
        **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": _meta(entry_id=str(draft_entry),
                                                                         filename="分段.pdf")}, timeout=10)
    url = urlsplit(created.headers["Location"]).path
    headers = {**TUS, "Content-Type": "application/offset+octet-stream"}
    first = session.patch(f"{live_server}{url}", data=data[:KEPT], headers={**headers, "Upload-Offset": "0"},
                          timeout=10)
    assert first.status_code == 204
    too_much = session.patch(f"{live_server}{url}", data=iter([data[KEPT:], b"X" * 70_000]),  # chunked encoding
                             headers={**headers, "Upload-Offset": str(KEPT)}, timeout=10)
    assert too_much.status_code == 413 and too_much.json()["ok"] is False
    head = session.head(f"{live_server}{url}", headers=TUS, timeout=10)
    assert head.headers["Upload-Offset"] == str(KEPT)
    [part] = part_files(attachments_app)
    assert part.read_bytes() == data[:KEPT]
    done = session.patch(f"{live_server}{url}", data=data[KEPT:], headers={**headers, "Upload-Offset": str(KEPT)},
                         timeout=10)
    assert done.status_code == 204


@pytest.mark.parametrize("length", ["", "-5", "1e6", "²", "9" * 40, "0"])
def test_an_unreadable_or_empty_length_is_refused(attachments_app, penghu_client, draft_entry, length):
    response = penghu_client.post("/uploads/tus/", headers={
        **TUS, "Upload-Length": length, "Upload-Metadata": _meta(entry_id=str(draft_entry), filename="a.pdf")})
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert response.json["ok"] is False
    assert tus_uploads(attachments_app) == [] and part_files(attachments_app) == []


@pytest.mark.parametrize("entry_id", ["²", "9" * 40, "-1", "1 OR 1=1", ""])
def test_an_unreadable_entry_id_is_refused(attachments_app, penghu_client, draft_entry, entry_id):
    response = penghu_client.post("/uploads/tus/", headers={
        **TUS, "Upload-Length": "100", "Upload-Metadata": _meta(entry_id=entry_id, filename="a.pdf")})
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert response.json["ok"] is False
    assert tus_uploads(attachments_app) == []


def test_upload_length_over_the_editions_per_file_limit_is_refused_before_any_byte(attachments_app, penghu_client,
                                                                                   draft_entry, half):
    url, data = half
    set_limits(attachments_app, file_mb=2)
    response = create(penghu_client, draft_entry, 2 * MIB + 1)
    assert_refusal(response, 413)
    assert "2 MB" in response.json["message"]
    assert create(penghu_client, draft_entry, 2 * MIB).status_code == 201
    assert len(part_files(attachments_app)) == 2
    assert_kept(attachments_app, penghu_client, url, data)  # the upload under way is untouched


# --- the protocol version -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", [None, "", "0.2.2", "1.0", "1.0.0, 0.2.2", "2.0.0"])
def test_a_missing_or_unsupported_version_is_412_and_changes_nothing(attachments_app, penghu_client, draft_entry,
                                                                     half, version):
    url, data = half
    headers = {} if version is None else {"Tus-Resumable": version}
    chunk = penghu_client.patch(url, data=data[KEPT:], headers={
        **headers, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(KEPT)})
    assert_refusal(chunk, 412)
    assert chunk.headers["Tus-Version"] == "1.0.0"
    assert penghu_client.head(url, headers=headers).status_code == 412
    assert_refusal(penghu_client.delete(url, headers=headers), 412)
    created = penghu_client.post("/uploads/tus/", headers={
        **headers, "Upload-Length": "100", "Upload-Metadata": _meta(entry_id=str(draft_entry), filename="a.pdf")})
    assert_refusal(created, 412)
    assert len(tus_uploads(attachments_app)) == 1
    assert_kept(attachments_app, penghu_client, url, data)
    finish(attachments_app, penghu_client, url, data, draft_entry)


# --- the checksum ---------------------------------------------------------------------------------------

def _digest_of(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()


@pytest.mark.parametrize("header, status", [
    ("md5 " + base64.b64encode(b"x" * 16).decode(), 400),  # an algorithm not announced
    ("sha256 " + base64.b64encode(b"x" * 32).decode(), 400),
    ("sha1 !!!not-base64!!!", 400),
    ("sha1 " + base64.b64encode(b"short").decode(), 400),  # not 20 bytes
    ("sha1", 400),
    ("sha1 " + base64.b64encode(b"\0" * 20).decode(), 460),  # well formed, wrong
    ("SHA1 " + base64.b64encode(b"\1" * 20).decode(), 460),
])
def test_a_bad_checksum_keeps_nothing_of_the_chunk_and_all_before_it(attachments_app, penghu_client, draft_entry,
                                                                     half, header, status):
    url, data = half
    response = patch(penghu_client, url, data[KEPT:3000], KEPT, **{"Upload-Checksum": header})
    assert_refusal(response, status)
    assert_kept(attachments_app, penghu_client, url, data)
    right = patch(penghu_client, url, data[KEPT:3000], KEPT, **{"Upload-Checksum": sha1_header(data[KEPT:3000])})
    assert right.status_code == 204 and right.headers["Upload-Offset"] == "3000"
    finish(attachments_app, penghu_client, url, data, draft_entry, offset=3000)


def test_a_last_chunk_with_a_bad_checksum_does_not_become_an_attachment(attachments_app, penghu_client, draft_entry,
                                                                        half):
    url, data = half
    response = patch(penghu_client, url, data[KEPT:], KEPT, **{"Upload-Checksum": "sha1 " + _digest_of(b"other")})
    assert_refusal(response, 460)
    assert attachments(attachments_app, draft_entry) == []
    assert_kept(attachments_app, penghu_client, url, data)


# --- other people's uploads -------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["greenisland", "kinmen", "judge1", "organizer", None])
def test_another_agencys_patch_head_and_delete_are_not_found_and_reach_no_byte(attachments_app, penghu_client,
                                                                               draft_entry, half, who):
    url, data = half
    stranger = client_as(attachments_app, who) if who != "kinmen" else _kinmen(attachments_app)
    evil = b"%PDF-1.4 evil" * 50
    for offset in (KEPT, 0):
        response = patch(stranger, url, evil, offset, **{"Upload-Checksum": sha1_header(evil)})
        assert_refusal(response, 404)
        assert "Upload-Offset" not in response.headers  # not even the offset leaks
    head = stranger.head(url, headers=TUS)
    assert head.status_code == 404 and "Upload-Offset" not in head.headers and "Upload-Length" not in head.headers
    assert_refusal(stranger.delete(url, headers=TUS), 404)
    assert_refusal(stranger.patch(url, data=evil), 404)  # no protocol headers: still "not found" first
    assert len(tus_uploads(attachments_app)) == 1
    assert_kept(attachments_app, penghu_client, url, data)
    finish(attachments_app, penghu_client, url, data, draft_entry)


def _kinmen(app):
    """A contact of 金門縣政府 (another agency), created for this test."""
    from award.auth.operations import create_user
    from award.models import Role

    with app.test_request_context():
        kinmen = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C2000"))
        create_user("kinmen-contact@award.example", "金門縣政府聯絡人", Role.AGENCY, "Kinmen-Contact-2024!",
                    agency=kinmen)
    client = app.test_client()
    assert client.post("/login", data={"email": "kinmen-contact@award.example",
                                       "password": "Kinmen-Contact-2024!"}).status_code == 302
    return client


def test_a_stranger_cannot_start_an_upload_on_penghus_entry(attachments_app, draft_entry):
    stranger = client_as(attachments_app, "greenisland")
    assert_refusal(create(stranger, draft_entry, 100), 404)
    assert tus_uploads(attachments_app) == []


@pytest.mark.parametrize("upload_id", ["../../../etc/passwd", "0" * 31, "G" * 32, "0" * 33, "%2e%2e%2fblobs"])
def test_made_up_upload_ids_are_not_found(attachments_app, penghu_client, half, upload_id):
    url, data = half
    for method in ("head", "delete", "patch"):
        response = getattr(penghu_client, method)(f"/uploads/tus/{upload_id}", headers={
            **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}, data=b"x")
        assert response.status_code == 404, (method, response.status_code)
    assert_kept(attachments_app, penghu_client, url, data)


def test_a_contact_moved_to_another_agency_loses_the_upload(attachments_app, penghu_client, draft_entry, half):
    url, data = half
    with attachments_app.app_context():
        from award.models import User

        contact = db.session.scalar(select(User).where(User.email.startswith("penghu@")))
        contact.agency_id = db.session.scalar(select(Agency.id).where(Agency.code == "DEMO-C2000"))
        db.session.commit()
    assert_refusal(patch(penghu_client, url, data[KEPT:], KEPT), 404)
    assert penghu_client.head(url, headers=TUS).status_code == 404
    [part] = part_files(attachments_app)
    assert part.read_bytes() == data[:KEPT]


# --- two PATCHes at once -----------------------------------------------------------------------------------

def _raw_patch(live_server, session, url, offset, body_parts, pause=0.0, results=None, key=None):
    host = urlsplit(live_server)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=20)
    connection.putrequest("PATCH", url)
    length = sum(len(p) for p in body_parts)
    for name, value in {**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
                        "Content-Length": str(length), "Cookie": cookie_header(session),
                        "User-Agent": session.headers["User-Agent"]}.items():
        connection.putheader(name, value)
    connection.endheaders()
    for index, part in enumerate(body_parts):
        connection.send(part)
        if index == 0 and pause:
            time.sleep(pause)
    response = connection.getresponse()
    status = response.status
    response.read()
    connection.close()
    if results is not None:
        results[key] = status
    return status


def _start(live_server, session, entry_id, data) -> str:
    created = session.post(f"{live_server}/uploads/tus/", headers={
        **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": _meta(entry_id=str(entry_id),
                                                                         filename="同時.pdf")}, timeout=10)
    assert created.status_code == 201
    return urlsplit(created.headers["Location"]).path


def _wait_until_receiving(app, url, seconds=15.0):
    """Until the server has written part of a chunk: it holds the upload's lock while it does."""
    part = upload_root_of(app) / "tus" / f"{url[-32:]}.part"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if part.exists() and part.stat().st_size > 0:
            return
        time.sleep(0.02)
    raise AssertionError("the slow chunk never started arriving")


def upload_root_of(app):
    from pathlib import Path

    return Path(app.config["UPLOAD_FOLDER"])


def test_a_patch_arriving_while_another_is_received_is_refused(attachments_app, live_server, draft_entry):
    data = big_pdf(300 * 1024)
    session = live_session(live_server, "penghu")
    url = _start(live_server, session, draft_entry, data)
    results: dict[str, int] = {}
    slow = threading.Thread(target=_raw_patch, args=(live_server, session, url, 0,
                                                     [data[:100_000], data[100_000:]], 2.0, results, "slow"))
    slow.start()
    _wait_until_receiving(attachments_app, url)  # the slow one holds the upload now
    rival = b"%PDF-1.4 " + b"R" * (len(data) - 9)
    results["rival"] = _raw_patch(live_server, session, url, 0, [rival])
    slow.join(timeout=30)
    assert results == {"slow": 204, "rival": 409}
    [attachment] = attachments(attachments_app, draft_entry)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest()
    assert part_files(attachments_app) == []


def test_concurrent_patches_of_the_same_chunk_only_one_wins(attachments_app, live_server, draft_entry):
    data = big_pdf(400 * 1024)
    session = live_session(live_server, "penghu")
    url = _start(live_server, session, draft_entry, data)
    middle = len(data) // 2
    assert _raw_patch(live_server, session, url, 0, [data[:middle]]) == 204
    results: dict[str, int] = {}
    barrier = threading.Barrier(4)

    def rival(key):
        barrier.wait()
        _raw_patch(live_server, session, url, middle, [data[middle:]], 0.0, results, key)

    threads = [threading.Thread(target=rival, args=(f"r{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == [204, 409, 409, 409], results
    [attachment] = attachments(attachments_app, draft_entry)
    assert attachment.sha256 == hashlib.sha256(data).hexdigest() and attachment.size == len(data)
    with attachments_app.app_context():
        [upload] = db.session.scalars(select(TusUpload)).all()
        assert upload.attachment_id == attachment.id and upload.offset == len(data)


def test_a_delete_while_a_chunk_is_received_waits_its_turn(attachments_app, live_server, draft_entry):
    data = big_pdf(200 * 1024)
    session = live_session(live_server, "penghu")
    url = _start(live_server, session, draft_entry, data)
    results: dict[str, int] = {}
    slow = threading.Thread(target=_raw_patch, args=(live_server, session, url, 0,
                                                     [data[:70_000], data[70_000:100_000]], 2.0, results, "slow"))
    slow.start()
    _wait_until_receiving(attachments_app, url)
    deleted = session.delete(f"{live_server}{url}", headers=TUS, timeout=10)
    slow.join(timeout=30)
    assert deleted.status_code == 409 and results == {"slow": 204}
    head = session.head(f"{live_server}{url}", headers=TUS, timeout=10)
    assert head.headers["Upload-Offset"] == "100000"


def test_the_entry_and_edition_are_untouched_by_all_this(attachments_app, penghu_client, draft_entry, half):
    url, data = half
    with attachments_app.app_context():
        before = db.session.get(Entry, draft_entry).title, db.session.scalar(select(Edition.attachment_max_mb))
    for hostile in (lambda: patch(penghu_client, url, b"x" * 10, 3),
                    lambda: patch(penghu_client, url, data[KEPT:] + b"x", KEPT),
                    lambda: penghu_client.delete(url)):
        assert hostile().status_code in (409, 412, 413)
    with attachments_app.app_context():
        assert (db.session.get(Entry, draft_entry).title,
                db.session.scalar(select(Edition.attachment_max_mb))) == before
    assert_kept(attachments_app, penghu_client, url, data)
