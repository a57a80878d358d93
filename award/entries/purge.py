"""Clearing the upload folder of what nobody will ever read (``award uploads purge``).

Removed:

- **abandoned tus uploads**: an unfinished upload that expired (no chunk for ``UPLOAD_LIFETIME``) and
  received nothing for ``TUS_EXPIRY`` (config, default 7 days), with its ``.part`` file; and the
  bookkeeping row of a finished upload as old (its Attachment stays);
- **orphan files**: a blob under ``blobs/`` whose key no Attachment row names (the row of a failed
  commit, say), a ``.part`` under ``tus/`` with no upload row, and a temporary ``.incoming-`` file a
  crash left behind; only once untouched for ``ORPHAN_GRACE``, so an upload being written right now
  (its blob is renamed into place just before its row is committed) is never taken.

A file an Attachment row names is never removed, whether the attachment is active or removed (a
frozen version may name it). The run is one audit event, ``uploads_purged``, listing what went.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ..audit import record
from ..extensions import db
from ..models import Attachment, TusUpload, utcnow
from . import storage
from .tus import UPLOAD_LIFETIME, part_path

DEFAULT_TUS_EXPIRY = timedelta(days=7)
ORPHAN_GRACE = timedelta(days=1)
_BLOB = re.compile(r"^[0-9a-f]{32}$")
_PART = re.compile(r"^([0-9a-f]{32})\.part$")


@dataclass(frozen=True)
class PurgedUpload:
    id: str
    entry_id: int
    filename: str
    offset: int
    length: int
    last_chunk_at: datetime
    finished: bool


@dataclass(frozen=True)
class OrphanFile:
    path: str  # relative to the upload folder
    size: int
    modified_at: datetime


@dataclass
class PurgeReport:
    uploads: list[PurgedUpload] = field(default_factory=list)
    orphans: list[OrphanFile] = field(default_factory=list)
    dry_run: bool = False

    @property
    def freed_bytes(self) -> int:
        partial = sum(u.offset for u in self.uploads if not u.finished)
        return partial + sum(o.size for o in self.orphans)


def tus_expiry() -> timedelta:
    value = current_app.config.get("TUS_EXPIRY", DEFAULT_TUS_EXPIRY)
    return value if isinstance(value, timedelta) else timedelta(days=float(value))


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def abandoned_uploads(now: datetime) -> list[TusUpload]:
    """Uploads expired and silent for TUS_EXPIRY (the last chunk came UPLOAD_LIFETIME before expiry)."""
    silent_since = now - tus_expiry()
    rows = db.session.scalars(select(TusUpload).where(TusUpload.expires_at < now).order_by(TusUpload.created_at))
    return [u for u in rows if u.expires_at - UPLOAD_LIFETIME < silent_since]


def orphan_files(now: datetime) -> list[Path]:
    """Files in the upload folder that no row accounts for, untouched for ORPHAN_GRACE."""
    root = storage.upload_root()
    referenced = set(db.session.scalars(select(Attachment.storage_key)))
    uploads = set(db.session.scalars(select(TusUpload.id)))
    cutoff = now - ORPHAN_GRACE
    found: list[Path] = []
    blobs = root / "blobs"
    if blobs.is_dir():
        for path in sorted(blobs.glob("*/*")):
            if not path.is_file() or path.is_symlink():
                continue
            if _BLOB.match(path.name):
                if path.name in referenced or path.parent.name != path.name[:2]:
                    continue
            elif not path.name.startswith(".incoming-"):
                continue  # not ours: left alone
            if _mtime(path) < cutoff:
                found.append(path)
    tus = root / "tus"
    if tus.is_dir():
        for path in sorted(tus.iterdir()):
            match = _PART.match(path.name)
            if match and path.is_file() and not path.is_symlink() and match.group(1) not in uploads \
                    and _mtime(path) < cutoff:
                found.append(path)
    return found


def purge_uploads(dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Remove abandoned tus uploads and orphan files; with ``dry_run`` only report them."""
    now = now or utcnow()
    report = PurgeReport(dry_run=dry_run)
    stale = abandoned_uploads(now)
    for upload in stale:
        report.uploads.append(PurgedUpload(upload.id, upload.entry_id, upload.filename, upload.offset, upload.length,
                                           upload.expires_at - UPLOAD_LIFETIME, upload.attachment_id is not None))
    root = storage.upload_root()
    orphans = orphan_files(now)
    for path in orphans:
        report.orphans.append(OrphanFile(str(path.relative_to(root)), path.stat().st_size, _mtime(path)))
    if dry_run or not (stale or orphans):
        db.session.rollback()
        return report
    for upload in stale:
        db.session.delete(upload)
    record("uploads_purged", object_type="upload_folder", object_id="-", actor=None, after={
        "tus_expiry_days": tus_expiry().total_seconds() / 86400,
        "uploads": [{"id": u.id, "entry_id": u.entry_id, "name": u.filename, "offset": u.offset,
                     "length": u.length, "finished": u.finished} for u in report.uploads],
        "orphans": [{"path": o.path, "size": o.size} for o in report.orphans],
    })
    db.session.commit()
    referenced = set(db.session.scalars(select(Attachment.storage_key)))
    for upload in report.uploads:
        _unlink(part_path(upload.id))
    for path in orphans:
        if path.name not in referenced:  # checked again: never a file a row names
            _unlink(path)
    return report


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
