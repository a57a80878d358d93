"""Resumable uploads over links that drop (tus 1.0: core, creation, termination, checksum).

The received bytes live in ``UPLOAD_FOLDER/tus/<id>.part`` and the offset in the TusUpload row, so
any worker can take the next chunk and an upload survives a page reload, a sleeping laptop or a
restarted server. An append holds an exclusive lock on the part file and the row (``FOR UPDATE``)
so two PATCHes cannot interleave. When the last byte arrives the file goes through exactly the
checks of the multipart form (``stage_attachment``) and becomes an Attachment; a refused file is
deleted with its upload.

Every response carries ``Tus-Resumable: 1.0.0``. Refusals answer JSON ``{"ok": false, "message"}``
with the translated message also in ``X-Award-Error`` (URL-quoted), for the page's script to show.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, select
from werkzeug.exceptions import ClientDisconnected, HTTPException

from ..audit import record
from ..extensions import csrf, db
from ..models import Edition, EditionStatus, Entry, TusUpload, User, utcnow
from . import storage
from .attachments import MIB, TooLarge, check_size, commit_or_discard, limits_for, stage_attachment
from .filetypes import FileRefused, check_name, refused
from .rules import EntryError, ensure_editable

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum"
UPLOAD_LIFETIME = timedelta(hours=24)  # renewed by every chunk received
MAX_UNFINISHED_PER_USER = 10  # each may reserve up to a file's limit of disk
READ_CHUNK = 64 * 1024
# Werkzeug's own cap on a request body here; each PATCH is held to its upload's remaining bytes.
BODY_CAP = 4 * 1024 * MIB
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")

bp = Blueprint("uploads", __name__, url_prefix="/uploads/tus")
# The app-wide CSRF check would parse the body under the 32 MB form limit first; _before checks it.
csrf.exempt(bp)


# --- responses ----------------------------------------------------------------------------------

def _error(status: int | str, message: str, **headers: str) -> Response:
    response = jsonify(ok=False, message=message)
    response.status = status
    response.headers["X-Award-Error"] = quote(message)
    response.headers.update(headers)
    return response


def _empty(status: int, **headers: str) -> Response:
    response = Response(status=status)
    response.headers.update(headers)
    return response


@bp.after_request
def _tus_headers(response: Response) -> Response:
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    messages = {
        404: _("This upload does not exist, or it is not yours."),
        413: _("The request is larger than allowed."),
    }
    return _error(error.code or 500, messages.get(error.code, _("The upload request could not be handled.")))


@bp.before_request
def _before():
    request.max_content_length = BODY_CAP
    config = current_app.config
    if config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True):
        try:
            csrf.protect()  # the token comes in the X-CSRFToken header
        except CSRFError:
            return _error(403, _("Your session expired or the request came from elsewhere. Reload the page and "
                                 "try again; the upload resumes where it stopped."))
    return None


def _unsupported_version() -> Response | None:
    """Checked after access, so a stranger learns nothing from it."""
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        return _error(412, _("This upload client speaks a protocol version the server does not support."),
                      **{"Tus-Version": TUS_VERSION})
    return None


# --- storage of partial uploads -----------------------------------------------------------------

def part_path(upload_id: str) -> Path:
    if not _UPLOAD_ID.match(upload_id):
        raise ValueError("not an upload id")
    return storage.upload_root() / "tus" / f"{upload_id}.part"


def _remove_part(upload_id: str) -> None:
    try:
        part_path(upload_id).unlink()
    except FileNotFoundError:
        pass


@contextmanager
def _locked_part(upload_id: str) -> Iterator[BinaryIO | None]:
    """The part file opened for writing under an exclusive lock; None if another request holds it
    (or the file is gone). The lock works between workers on one host; the row lock covers the rest."""
    try:
        handle = part_path(upload_id).open("r+b")
    except FileNotFoundError:
        yield None
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield handle


# --- operations ---------------------------------------------------------------------------------

def unfinished_uploads(user: User) -> int:
    return db.session.scalar(select(func.count(TusUpload.id)).where(
        TusUpload.user_id == user.id, TusUpload.attachment_id.is_(None), TusUpload.expires_at > utcnow()
    )) or 0


def create_upload(entry: Entry, user: User, filename: str, length: int) -> TusUpload:
    """Start a resumable upload. Refuses (EntryError) what could never be accepted before any byte
    is sent: a closed entry, an unacceptable name, an empty or too large file."""
    ensure_editable(entry)
    name = check_name(filename)
    if length <= 0:
        raise refused("empty")
    check_size(limits_for(entry), length)
    if unfinished_uploads(user) >= MAX_UNFINISHED_PER_USER:
        raise EntryError(_("You have too many unfinished uploads. Let them finish or cancel them first."))
    upload = TusUpload(id=secrets.token_hex(16), entry_id=entry.id, user_id=user.id, length=length, offset=0,
                       filename=name, expires_at=utcnow() + UPLOAD_LIFETIME)
    db.session.add(upload)
    record("upload_started", upload, actor=user, after={"entry_id": entry.id, "name": name, "length": length})
    path = part_path(upload.id)
    storage.private_dir("tus")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _remove_part(upload.id)
        raise
    return upload


def is_expired(upload: TusUpload, now: datetime | None = None) -> bool:
    return upload.attachment_id is None and (now or utcnow()) > upload.expires_at


def terminate_upload(upload: TusUpload, user: User, reason: str = "cancelled") -> None:
    """Forget an upload and its partial bytes (an Attachment it became stays)."""
    upload_id = upload.id
    record("upload_" + reason, upload, actor=user,
           before={"entry_id": upload.entry_id, "name": upload.filename, "offset": upload.offset,
                   "length": upload.length})
    db.session.delete(upload)
    db.session.commit()
    _remove_part(upload_id)


def purge_expired_uploads(now: datetime | None = None) -> int:
    """Delete expired partial uploads and old finished ones (for a periodic ``award`` CLI job)."""
    now = now or utcnow()
    stale = db.session.scalars(select(TusUpload).where(TusUpload.expires_at < now)).all()
    for upload in stale:
        if upload.attachment_id is None:
            record("upload_expired", upload, actor=None,
                   before={"entry_id": upload.entry_id, "name": upload.filename, "offset": upload.offset})
        db.session.delete(upload)
    db.session.commit()
    for upload in stale:
        _remove_part(upload.id)
    return len(stale)


def complete_upload(upload: TusUpload, user: User) -> int:
    """Turn the finished bytes into an Attachment (same checks as the multipart form); returns its id.

    On a refusal the upload and its bytes are deleted and EntryError is raised."""
    entry = db.session.get(Entry, upload.entry_id)
    upload_id = upload.id
    try:
        with part_path(upload_id).open("rb") as stream:
            attachment = stage_attachment(entry, user, stream, upload.filename)
    except EntryError as refusal:
        db.session.rollback()
        upload = db.session.get(TusUpload, upload_id)
        record("upload_refused", upload, actor=user,
               before={"entry_id": upload.entry_id, "name": upload.filename, "length": upload.length},
               after={"reason": getattr(refusal, "reason", "refused"), "message": refusal.message})
        db.session.delete(upload)
        db.session.commit()
        _remove_part(upload_id)
        raise
    upload.attachment_id = attachment.id
    upload.offset = upload.length
    commit_or_discard(attachment)
    _remove_part(upload_id)
    return attachment.id


# --- protocol helpers ---------------------------------------------------------------------------

def _small_int(text: str, digits: int = 18) -> int | None:
    """A plain ASCII decimal of at most ``digits`` digits, else None (``str.isdigit`` also accepts
    "²" and "１", which ``int`` then refuses or reads)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None


def _int_header(name: str) -> int | None:
    return _small_int(request.headers.get(name, ""))


def parse_metadata(header: str) -> dict[str, str] | None:
    """``key base64,key base64`` → {key: text}; None if malformed."""
    result: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _sep, value = pair.partition(" ")
        try:
            result[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    return result


def _parse_checksum(header: str | None) -> tuple[bytes | None, Response | None]:
    if not header:
        return None, None
    algorithm, _sep, value = header.strip().partition(" ")
    if algorithm.lower() != "sha1":
        return None, _error(400, _("Unsupported checksum algorithm."))
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != hashlib.sha1(usedforsecurity=False).digest_size:
        return None, _error(400, _("The chunk's checksum could not be read."))
    return digest, None


def _agency_user() -> User | None:
    if current_user.is_authenticated and current_user.is_agency:
        return current_user._get_current_object()
    return None


def _owned_upload(upload_id: str) -> TusUpload:
    """The caller's own upload, to an entry of their agency; anything else is "not found"."""
    user = _agency_user()
    upload = db.session.get(TusUpload, upload_id) if _UPLOAD_ID.match(upload_id) else None
    if user is None or upload is None or upload.user_id != user.id:
        abort(404)
    entry = db.session.get(Entry, upload.entry_id)
    if entry is None or entry.agency_id != user.agency_id:
        abort(404)
    return upload


def _gone(upload: TusUpload) -> Response:
    _remove_part(upload.id)  # the row stays so the client keeps hearing 410, until the purge
    return _error(410, _("This upload expired before it was finished. Please start it again."))


def _offset_headers(upload: TusUpload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length)}
    if upload.attachment_id:
        headers["X-Award-Attachment-Id"] = str(upload.attachment_id)
    return headers


def _max_size() -> int:
    largest = db.session.scalar(select(func.max(Edition.attachment_max_mb)).where(
        Edition.status == EditionStatus.OPEN))
    return (largest or 100) * MIB


# --- views --------------------------------------------------------------------------------------

@bp.route("/", methods=["OPTIONS"], endpoint="tus_options", provide_automatic_options=False)
@bp.route("/<upload_id>", methods=["OPTIONS"], endpoint="tus_options", provide_automatic_options=False)
def options(upload_id: str | None = None):
    return _empty(204, **{
        "Tus-Version": TUS_VERSION, "Tus-Extension": TUS_EXTENSIONS, "Tus-Max-Size": str(_max_size()),
        "Tus-Checksum-Algorithm": "sha1",
    })


@bp.route("/", methods=["POST"], endpoint="tus_create", provide_automatic_options=False)
def create():
    user = _agency_user()
    if user is None:
        return _error(403, _("Only an agency's contact may upload files to its entry."))
    if problem := _unsupported_version():
        return problem
    if "Upload-Defer-Length" in request.headers:
        return _error(400, _("The upload's length must be given when it starts."))
    length = _int_header("Upload-Length")
    metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    entry_id = _small_int(metadata.get("entry_id", ""), digits=9) if metadata is not None else None
    if length is None or entry_id is None:
        return _error(400, _("The upload request is incomplete (length, entry or file name missing)."))
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.agency_id != user.agency_id:
        abort(404)
    try:
        upload = create_upload(entry, user, metadata.get("filename", ""), length)
    except TooLarge as refusal:
        return _error(413, refusal.message)
    except FileRefused as refusal:
        return _error(422, refusal.message)
    except EntryError as refusal:
        return _error(403, refusal.message)
    return _empty(201, Location=url_for("uploads.tus_status", upload_id=upload.id), **{"Upload-Offset": "0"})


@bp.route("/<upload_id>", methods=["HEAD"], endpoint="tus_status", provide_automatic_options=False)
def status(upload_id: str):
    upload = _owned_upload(upload_id)
    if problem := _unsupported_version():
        return problem
    if is_expired(upload):
        return _gone(upload)
    return _empty(200, **_offset_headers(upload))


@bp.route("/<upload_id>", methods=["DELETE"], endpoint="tus_terminate", provide_automatic_options=False)
def terminate(upload_id: str):
    upload = _owned_upload(upload_id)
    if problem := _unsupported_version():
        return problem
    with _locked_part(upload.id) as part:
        if part is None and part_path(upload.id).exists():
            return _error(409, _("A chunk of this upload is being received; try again in a moment."))
        terminate_upload(upload, _agency_user())
    return _empty(204)


@bp.route("/<upload_id>", methods=["PATCH"], endpoint="tus_append", provide_automatic_options=False)
def append(upload_id: str):
    upload = _owned_upload(upload_id)
    if problem := _unsupported_version():
        return problem
    if request.mimetype != "application/offset+octet-stream":
        return _error(415, _("A chunk must be sent as application/offset+octet-stream."))
    offset = _int_header("Upload-Offset")
    if offset is None:
        return _error(400, _("The chunk's offset (Upload-Offset) is missing."))
    expected, problem = _parse_checksum(request.headers.get("Upload-Checksum"))
    if problem:
        return problem
    if is_expired(upload):
        return _gone(upload)
    if upload.attachment_id is not None:  # finished: its part file is gone, there is nothing to add to
        return _error(409, _("The chunk does not continue where the upload stands; the upload resumes from "
                             "the server's offset."), **_offset_headers(upload))
    with _locked_part(upload.id) as part:
        if part is None:
            return _error(409, _("A chunk of this upload is being received; try again in a moment."))
        db.session.refresh(upload, with_for_update=True)  # the stored offset, now that we hold the lock
        if upload.attachment_id is not None or offset != upload.offset:
            return _error(409, _("The chunk does not continue where the upload stands; the upload resumes from "
                                 "the server's offset."), **_offset_headers(upload))
        try:
            ensure_editable(db.session.get(Entry, upload.entry_id))
        except EntryError as refusal:
            db.session.rollback()
            return _error(403, refusal.message)
        return _receive(upload, part, expected)


def _receive(upload: TusUpload, part: BinaryIO, expected: bytes | None) -> Response:
    start, remaining = upload.offset, upload.length - upload.offset
    if (request.content_length or 0) > remaining:
        db.session.rollback()
        return _error(413, _("The chunk goes past the end of the file announced."))
    received, complete, digest = _copy_body(part, start, remaining, expected is not None)
    if received > remaining:
        db.session.rollback()
        return _error(413, _("The chunk goes past the end of the file announced."))
    if expected is not None and (not complete or not hmac.compare_digest(digest, expected)):
        part.truncate(start)  # nothing of a chunk that cannot be verified is kept
        db.session.rollback()
        return _error("460 Checksum Mismatch", _("The chunk arrived damaged; it is sent again."),
                      **{"Upload-Offset": str(start)})
    upload.offset = start + received
    upload.expires_at = utcnow() + UPLOAD_LIFETIME
    if upload.offset == upload.length:
        return _finish(upload)
    db.session.commit()
    if not complete:  # the connection broke: what arrived is kept, the client resumes from here
        return _error(400, _("The connection broke; the upload resumes from the last byte received."))
    return _empty(204, **{"Upload-Offset": str(upload.offset)})


def _copy_body(part: BinaryIO, start: int, remaining: int, hashed: bool) -> tuple[int, bool, bytes]:
    """Append the request body at ``start``: (bytes received, whether the body arrived whole, sha1).
    Reads at most one byte past ``remaining``; the caller refuses such a chunk (nothing of it is kept)."""
    sha1 = hashlib.sha1(usedforsecurity=False) if hashed else None  # tus checksum: integrity, not security
    received, complete = 0, True
    part.seek(start)
    part.truncate()  # bytes past the stored offset were never acknowledged
    try:
        while True:
            try:
                chunk = request.stream.read(min(READ_CHUNK, remaining + 1 - received))
            except (ClientDisconnected, OSError):  # the link dropped mid-chunk
                complete = False
                break
            if not chunk:
                break
            if received + len(chunk) > remaining:
                part.truncate(start)
                return received + len(chunk), complete, b""
            part.write(chunk)
            received += len(chunk)
            if sha1:
                sha1.update(chunk)
        part.flush()
        os.fsync(part.fileno())
    except BaseException:
        part.truncate(start)  # a failed write (a full disk) keeps nothing of this chunk
        raise
    return received, complete, sha1.digest() if sha1 else b""


def _finish(upload: TusUpload) -> Response:
    try:
        attachment_id = complete_upload(upload, _agency_user())
    except EntryError as refusal:
        return _error(422, refusal.message)
    return _empty(204, **{"Upload-Offset": str(upload.length), "X-Award-Attachment-Id": str(attachment_id)})
