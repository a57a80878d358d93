"""The blob store for attachments: ``UPLOAD_FOLDER/blobs/<2 hex>/<32 hex>``.

The stored name is random (``secrets.token_hex``) and never derived from user input; the
content is identified by its SHA-256, kept in the database. Files are owner-only (0o600, never
executable), live under the instance folder (never under ``static/``), and are written to a temporary
file in the same folder, fsynced and renamed, so a crash never leaves half a file under a real name.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


class BlobTooLarge(Exception):
    """More bytes arrived than allowed; nothing was kept."""


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def private_dir(*parts: str) -> Path:
    """``UPLOAD_FOLDER/<parts…>``, each folder created owner-only (0o700) if it is missing."""
    path = upload_root()
    for part in ("", *parts):
        path = path / part if part else path
        try:
            path.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir's mode is masked by the umask
    return path


def blob_path(key: str) -> Path:
    if not _KEY.match(key or ""):
        raise ValueError("not a storage key")
    return upload_root() / "blobs" / key[:2] / key


def save_stream(stream: BinaryIO, max_bytes: int) -> StoredBlob:
    """Copy ``stream`` into a new blob, hashing on the way; past ``max_bytes`` stop and keep nothing."""
    key = secrets.token_hex(16)
    final = blob_path(key)
    folder = private_dir("blobs", key[:2])
    digest, size = hashlib.sha256(), 0
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=".incoming-")  # mode 0o600
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise BlobTooLarge()
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, final)
    except BaseException:
        _unlink(Path(temp_name))
        raise
    return StoredBlob(key=key, sha256=digest.hexdigest(), size=size)


def open_blob(key: str) -> BinaryIO:
    return blob_path(key).open("rb")


def blob_exists(key: str) -> bool:
    return blob_path(key).is_file()


def delete_blob(key: str) -> None:
    _unlink(blob_path(key))


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
