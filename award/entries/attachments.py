"""Attachments (佐證資料) of an entry: adding, removing and downloading them.

Operations (``add_attachment``, ``remove_attachment``, ``record_download``) are shared by the
plain multipart form below and by the resumable tus endpoint (tus.py). Views are thin: access
(role, then object), one operation, a redirect back to the entry form with a message.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.exceptions import RequestEntityTooLarge

from ..audit import record
from ..auth.access import roles_required
from ..extensions import csrf, db
from ..judging.rules import judges_blind
from ..models import Attachment, Entry, Role, User, utcnow
from ..urls import safe_next
from . import storage
from .filetypes import ALLOWED_EXTENSIONS, FileRefused, allowed_types_text, kind_description, safe_name, sniff
from .rules import EntryError, can_view_entry, ensure_editable

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Room for the multipart envelope and the CSRF field around a file of the largest allowed size.
FORM_MARGIN = MIB

bp = Blueprint("attachments", __name__, url_prefix="/entries")
agency_required = roles_required(Role.AGENCY)


class TooLarge(EntryError):
    """The file exceeds the per-file limit or the entry's total."""


# --- limits -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    file_bytes: int
    entry_bytes: int
    used_bytes: int

    @property
    def remaining_bytes(self) -> int:
        return max(0, self.entry_bytes - self.used_bytes)


def used_bytes(entry: Entry) -> int:
    total = db.session.scalar(
        select(func.coalesce(func.sum(Attachment.size), 0))
        .where(Attachment.entry_id == entry.id, Attachment.removed_at.is_(None))
    )
    return int(total or 0)  # PostgreSQL sums a BIGINT as NUMERIC


def limits_for(entry: Entry) -> Limits:
    edition = entry.category.edition
    return Limits(edition.attachment_max_mb * MIB, edition.entry_attachments_max_mb * MIB, used_bytes(entry))


def filesize(size: int | None) -> str:
    """A size in the units people read (1 KB = 1024 bytes, as the organiser's MB limits are)."""
    size = size or 0
    if size < 1024:
        return _("%(n)s bytes", n=size)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{format_decimal(round(size, 1), format='#,##0.#')} {unit}"


def check_size(limits: Limits, size: int) -> None:
    """Refuse a file that is over the per-file limit or would take the entry over its total."""
    if size > limits.file_bytes:
        raise TooLarge(_("The file is %(size)s; each file may be at most %(limit)s.",
                         size=filesize(size), limit=filesize(limits.file_bytes)))
    if limits.used_bytes + size > limits.entry_bytes:
        raise TooLarge(_("This file (%(size)s) does not fit: an entry's attachments may total at most %(limit)s and "
                         "%(used)s are used. Remove an attachment or make the file smaller.",
                         size=filesize(size), limit=filesize(limits.entry_bytes), used=filesize(limits.used_bytes)))


# --- operations ---------------------------------------------------------------------------------

def _lock_entry(entry: Entry) -> None:
    # Serialise uploads to one entry (PostgreSQL) so two at once cannot both fit under the total.
    db.session.execute(select(Entry.id).where(Entry.id == entry.id).with_for_update())


def _stream_size(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def stage_attachment(entry: Entry, user: User, stream: BinaryIO, filename: str | None) -> Attachment:
    """Check the file, store its bytes and add the Attachment row and audit event, uncommitted.

    ``stream`` must be seekable. On a refusal (EntryError) nothing is stored; the caller commits
    with ``commit_or_discard`` (which removes the blob again should the commit fail)."""
    ensure_editable(entry)
    name = safe_name(filename)
    _lock_entry(entry)
    limits = limits_for(entry)
    check_size(limits, _stream_size(stream))
    kind = sniff(stream, name)
    stream.seek(0)
    try:
        blob = storage.save_stream(stream, limits.file_bytes)
    except storage.BlobTooLarge:  # the stream grew while we read it
        raise TooLarge(_("The file is larger than %(limit)s.", limit=filesize(limits.file_bytes))) from None
    try:
        attachment = Attachment(entry=entry, uploaded_by_id=user.id, original_name=name, kind=kind.kind,
                                content_type=kind.content_type, size=blob.size, sha256=blob.sha256,
                                storage_key=blob.key)
        db.session.add(attachment)
        entry.updated_at = utcnow()
        record("attachment_added", attachment, actor=user, after={
            "entry_id": entry.id, "name": name, "kind": kind.kind, "size": blob.size, "sha256": blob.sha256,
        })
    except BaseException:
        db.session.rollback()
        storage.delete_blob(blob.key)
        raise
    return attachment


def commit_or_discard(attachment: Attachment) -> None:
    key = attachment.storage_key
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        storage.delete_blob(key)  # no orphan file for a row that was never written
        raise


def add_attachment(entry: Entry, user: User, stream: BinaryIO, filename: str | None) -> Attachment:
    """Add a file to a draft entry. Raises EntryError (FileRefused, TooLarge …) with the reason;
    the database and the upload folder are then exactly as they were."""
    try:
        attachment = stage_attachment(entry, user, stream, filename)
    except EntryError:
        db.session.rollback()  # release the entry lock; nothing was written
        raise
    commit_or_discard(attachment)
    return attachment


def remove_attachment(entry: Entry, user: User, attachment: Attachment) -> None:
    """Take a file off a draft. The row and the bytes stay: a frozen version may name them."""
    ensure_editable(entry)
    if attachment.entry_id != entry.id or attachment.removed_at is not None:
        raise EntryError(_("This attachment has already been removed."))
    attachment.removed_at = utcnow()
    entry.updated_at = attachment.removed_at
    record("attachment_removed", attachment, actor=user,
           before={"entry_id": entry.id, "name": attachment.original_name, "size": attachment.size,
                   "sha256": attachment.sha256},
           after={"removed_at": attachment.removed_at})
    db.session.commit()


def record_download(attachment: Attachment, user: User) -> None:
    # Entries hold contacts' personal data: who read which file is logged (個人資料保護法).
    record("attachment_downloaded", attachment, actor=user,
           after={"entry_id": attachment.entry_id, "name": attachment.original_name, "sha256": attachment.sha256})
    db.session.commit()


# --- template helpers ---------------------------------------------------------------------------

@bp.app_template_filter("filesize")
def _filesize_filter(size: int | None) -> str:
    return filesize(size)


@bp.app_template_global()
def attachment_limits(entry: Entry) -> Limits:
    return limits_for(entry)


@bp.app_context_processor
def _attachment_helpers():
    return {
        "attachment_kind_label": kind_description,
        "attachment_types": allowed_types_text,
        "attachment_accept": ",".join(ALLOWED_EXTENSIONS),
    }


# --- views --------------------------------------------------------------------------------------

def _entry_for_change(entry_id: int) -> Entry:
    """The entry of the user's own agency; any other is "not found" (its existence not confirmed)."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or not can_view_entry(current_user, entry) or entry.agency_id != current_user.agency_id:
        abort(404)
    return entry


def _attachment_of(entry: Entry, attachment_id: int) -> Attachment:
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.entry_id != entry.id:
        abort(404)
    return attachment


def _back(entry_id: int):
    """Back to the entry form; before it exists, to the page the form was on."""
    if "entries.edit_entry" in current_app.view_functions:
        return redirect(url_for("entries.edit_entry", entry_id=entry_id, _anchor="attachments"))
    referrer = urlsplit(request.referrer or "")
    same_site = referrer.netloc == request.host
    target = safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else "")) if same_site else None
    return redirect(target or url_for("main.index"))


def _check_csrf() -> None:
    """The CSRF check the app runs before every view, run here after the body limit is raised."""
    config = current_app.config
    if config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True):
        csrf.protect()


def _user() -> User:
    return current_user._get_current_object()


@bp.post("/<int:entry_id>/attachments", endpoint="upload_attachment")
@csrf.exempt  # checked in the view, once the request may be as large as the edition allows
@agency_required
def upload_view(entry_id: int):
    entry = _entry_for_change(entry_id)
    limits = limits_for(entry)
    request.max_content_length = limits.file_bytes + FORM_MARGIN
    too_large = _("The file is larger than %(limit)s, the limit per file. Nothing was saved.",
                  limit=filesize(limits.file_bytes))
    if (request.content_length or 0) > request.max_content_length:
        flash(too_large, "error")
        return _back(entry_id)
    try:
        _check_csrf()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        flash(too_large, "error")
        return _back(entry_id)
    if upload is None or not upload.filename:
        flash(_("Please choose a file to upload."), "error")
        return _back(entry_id)
    try:
        attachment = add_attachment(entry, _user(), upload.stream, upload.filename)
    except EntryError as refusal:
        flash(refusal.message, "error")
        return _back(entry_id)
    flash(_("“%(name)s” was added to the attachments.", name=attachment.original_name), "success")
    return _back(entry_id)


@bp.post("/<int:entry_id>/attachments/<int:attachment_id>/remove", endpoint="remove_attachment")
@agency_required
def remove_view(entry_id: int, attachment_id: int):
    entry = _entry_for_change(entry_id)
    attachment = _attachment_of(entry, attachment_id)
    name = attachment.original_name
    try:
        remove_attachment(entry, _user(), attachment)
    except EntryError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return _back(entry_id)
    flash(_("“%(name)s” was removed from the attachments.", name=name), "success")
    return _back(entry_id)


@bp.get("/<int:entry_id>/attachments/<int:attachment_id>", endpoint="download_attachment")
@login_required
def download_view(entry_id: int, attachment_id: int):
    entry = db.session.get(Entry, entry_id)
    if entry is None or not can_view_entry(current_user, entry):
        abort(404)
    attachment = _attachment_of(entry, attachment_id)
    if attachment.removed_at is not None and not current_user.is_organizer:
        abort(404)  # a removed file stays available to organisers: a frozen version may name it
    path = storage.blob_path(attachment.storage_key)
    if not path.is_file():
        log.error("attachment %s of entry %s: blob %s is missing", attachment.id, entry.id, attachment.storage_key)
        abort(404)
    if _starts_download():
        record_download(attachment, _user())
    response = send_file(path, mimetype=attachment.content_type, conditional=True, etag=attachment.sha256,
                         last_modified=attachment.uploaded_at, max_age=None)
    blind = judges_blind(current_user, entry)  # a judge in a blind stage gets a neutral file name
    response.headers["Content-Disposition"] = content_disposition(attachment, neutral_name(attachment) if blind else None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _starts_download() -> bool:
    """A resumed download (a Range request past byte 0) is the same reading, logged once."""
    ranges = request.range.ranges if request.range else None
    return not ranges or ranges[0][0] == 0


def neutral_name(attachment: Attachment) -> str:
    """The name a judge in a blind stage sees: ``entry-17-attachment-2.pdf`` (the file's place among the
    entry's attachments and its allowed extension), since file names often name the agency."""
    entry = attachment.entry
    files = entry.active_attachments if attachment.removed_at is None else entry.attachments
    number = next((n for n, a in enumerate(files, 1) if a.id == attachment.id), attachment.id)
    ext = os.path.splitext(attachment.original_name)[1].lower()
    ext = ext if ext in ALLOWED_EXTENSIONS else ""
    return f"entry-{entry.id}-attachment-{number}{ext}"


def content_disposition(attachment: Attachment, name: str | None = None, disposition: str = "attachment") -> str:
    """``attachment`` with an ASCII fallback name and the real one (CJK too) as RFC 5987 filename*;
    ``name`` replaces the real name (a blind stage's neutral name)."""
    name = name or attachment.original_name
    stem, ext = os.path.splitext(name)
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", ascii_stem).strip(" ._")
    fallback = (ascii_stem or f"attachment-{attachment.id}") + re.sub(r"[^A-Za-z0-9.]", "", ext)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


__all__ = [
    "FileRefused", "Limits", "TooLarge", "add_attachment", "bp", "check_size", "commit_or_discard", "filesize",
    "limits_for", "neutral_name", "record_download", "remove_attachment", "stage_attachment",
]
