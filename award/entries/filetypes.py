"""What an attachment really is, decided by its content (magic bytes), never by its name.

``sniff`` accepts PDF, DOCX, XLSX, PPTX, ODT, JPEG, PNG and MP4 and refuses everything else with
a reason the user can act on: macro-enabled Office files, HTML and SVG (they carry scripts),
programs, legacy OLE2 Office files, encrypted or damaged archives, zip bombs, PDF/HTML polyglots,
and names whose extension does not match the content. ZIP-based files are inspected in place
(read through, never extracted to disk) so a bomb costs at most ``ZIP_MAX_TOTAL`` bytes of reading.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .rules import EntryError

# Zip bomb limits: declared and actual uncompressed sizes both count.
ZIP_MAX_TOTAL = 200 * 1024 * 1024
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_RATIO = 100
ZIP_RATIO_MIN_SIZE = 1024 * 1024
# An Office package embedded in another (a chart's workbook inside a DOCX) is checked in memory.
NESTED_MAX_SIZE = 20 * 1024 * 1024
NAME_MAX = 255
HEAD_SIZE = 1024
PDF_EOF_WINDOW = 1024  # readers look for %%EOF within the last 1 KB; a cut-off upload lacks it
READ_CHUNK = 1024 * 1024


class FileRefused(EntryError):
    """The file is not accepted; ``message`` says why in the user's language, ``reason`` is a code
    (``macro``, ``zip_bomb``, ``extension`` …) for logs and tests."""

    def __init__(self, message: str, reason: str = "refused"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FileKind:
    kind: str  # stored in Attachment.kind
    content_type: str
    extensions: tuple[str, ...]  # lower case, with the dot; the first is the usual one
    label: str


KINDS: dict[str, FileKind] = {k.kind: k for k in (
    FileKind("pdf", "application/pdf", (".pdf",), "PDF"),
    FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",),
             "Word (DOCX)"),
    FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",),
             "Excel (XLSX)"),
    FileKind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",),
             "PowerPoint (PPTX)"),
    FileKind("odt", "application/vnd.oasis.opendocument.text", (".odt",), "OpenDocument (ODT)"),
    FileKind("jpeg", "image/jpeg", (".jpg", ".jpeg"), "JPEG"),
    FileKind("png", "image/png", (".png",), "PNG"),
    FileKind("mp4", "video/mp4", (".mp4", ".m4v"), "MP4"),
)}
ALLOWED_EXTENSIONS: tuple[str, ...] = tuple(ext for k in KINDS.values() for ext in k.extensions)

# The OOXML main part's content type names the kind (the part's own name may vary).
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
_ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
# Library index files LibreOffice may write without any macro in them.
_ODF_MACRO_INDEXES = {"script-lc.xml", "script-lb.xml", "dialog-lc.xml", "dialog-lb.xml", "manifest.xml"}
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
               b"M4VH", b"M4VP", b"dash", b"mmp4"}
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                     b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"\x00asm")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_MARKUP_MARKERS = (b"<html", b"<script", b"<!doctype", b"<svg", b"<?xml", b"<body", b"<iframe", b"<head")
_PDF_POLYGLOT_MARKERS = (b"<html", b"<script", b"<!doctype")
_MACRO_SUFFIXES = (".docm", ".xlsm", ".pptm", ".dotm", ".xltm", ".potm", ".ppsm", ".xlam", ".ppam")
_ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".gz", ".tar", ".jar", ".exe", ".dll", ".msi", ".bat", ".cmd", ".js",
                     ".vbs", ".ps1", ".sh", ".html", ".htm", ".svg")
_BIDI_AND_FORMAT = "Cf"  # e.g. U+202E RIGHT-TO-LEFT OVERRIDE, which makes "exe.pdf" look like "fdp.exe"


def allowed_types_text() -> str:
    return ", ".join(k.label for k in KINDS.values())


# --- names --------------------------------------------------------------------------------------

def safe_name(name: str | None) -> str:
    """A name safe to store and show: no path, no control or direction-changing characters,
    at most 255 characters with the extension kept. CJK and other letters are kept as they are."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name
                   if unicodedata.category(ch) not in ("Cc", _BIDI_AND_FORMAT, "Cs", "Zl", "Zp"))
    name = name.strip().strip(". ").strip()  # Windows drops trailing dots and spaces: so do we
    if len(name) > NAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: NAME_MAX - len(ext)] + ext
    return name


def extension_of(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def check_name(name: str) -> str:
    """Refuse a name that could never be accepted (before any bytes are sent); return it made safe."""
    clean = safe_name(name)
    if not clean:
        raise refused("no_name")
    if extension_of(clean) not in ALLOWED_EXTENSIONS:
        raise refused("unknown")
    return clean


def _check_extension(name: str, kind: FileKind) -> None:
    ext = extension_of(name)
    if ext in kind.extensions:
        return
    expected = " / ".join(kind.extensions)
    if not ext:
        raise FileRefused(_("The file name must end in %(expected)s (the file is a %(kind)s).",
                            expected=expected, kind=kind.label), "extension")
    raise FileRefused(_("The file name ends in “%(ext)s” but the file is a %(kind)s. Please rename it to end in "
                        "%(expected)s and upload it again.", ext=ext, kind=kind.label, expected=expected), "extension")


# --- content ------------------------------------------------------------------------------------

def sniff(source: str | os.PathLike | BinaryIO, declared_name: str) -> FileKind:
    """The kind of the file, decided by its content; raises FileRefused with the reason.

    ``source`` is a path or a seekable binary stream (its position is restored)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            return _sniff_stream(stream, declared_name)
    position = source.tell()
    try:
        return _sniff_stream(source, declared_name)
    finally:
        source.seek(position)


def _sniff_stream(stream: BinaryIO, declared_name: str) -> FileKind:
    name = safe_name(declared_name)
    if not name:
        raise refused("no_name")
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise refused("empty")
    head = stream.read(HEAD_SIZE)
    kind = KINDS[_detect(stream, head, size)]
    _check_extension(name, kind)
    return kind


def _detect(stream: BinaryIO, head: bytes, size: int) -> str:
    if head.startswith(b"%PDF-"):
        return _check_pdf(stream, head, size)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if head[12:16] != b"IHDR":
            raise refused("damaged")
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[4:8] == b"ftyp":
        return _check_mp4(head)
    if head.startswith(_ZIP_MAGIC):
        return _check_zip(stream)
    if head.startswith(_OLE2_MAGIC):
        raise refused("encrypted" if _is_encrypted_ooxml(stream) else "legacy_office")
    if head.startswith(_EXECUTABLE_MAGIC):
        raise refused("program")
    _refuse_markup(head)
    raise refused("unknown")


def _refuse_markup(head: bytes) -> None:
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").lower().replace(b"\x00", b"")
    if b"<svg" in text or text.startswith(b"<?xml"):
        raise refused("svg")
    if any(marker in text for marker in _MARKUP_MARKERS):
        raise refused("html")


def _check_pdf(stream: BinaryIO, head: bytes, size: int) -> str:
    lowered = head.lower()
    if any(marker in lowered for marker in _PDF_POLYGLOT_MARKERS):
        raise refused("polyglot")
    stream.seek(max(0, size - PDF_EOF_WINDOW))
    if b"%%EOF" not in stream.read(PDF_EOF_WINDOW):
        raise refused("damaged")
    return "pdf"


def _check_mp4(head: bytes) -> str:
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16 or len(head) < 12:
        raise refused("damaged")
    if head[8:12] not in _MP4_BRANDS:
        raise refused("video")
    return "mp4"


def _is_encrypted_ooxml(stream: BinaryIO) -> bool:
    # A password-protected DOCX/XLSX/PPTX is an OLE2 file holding an "EncryptedPackage" stream.
    return _contains(stream, "EncryptedPackage".encode("utf-16-le"))


def _contains(stream: BinaryIO, needle: bytes) -> bool:
    stream.seek(0)
    tail = b""
    while chunk := stream.read(READ_CHUNK):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


# --- ZIP-based formats --------------------------------------------------------------------------

def _check_zip(stream: BinaryIO, depth: int = 0) -> str:
    stream.seek(0)
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            _check_zip_directory(members)
            kind = _zip_kind(archive, members)
            _read_through(archive, members, depth)
            return kind
    except FileRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
            RuntimeError, KeyError):
        # Damaged data, unsupported compression, or a CRC that does not match: not a file we can trust.
        raise refused("damaged") from None


def _check_zip_directory(members: list[zipfile.ZipInfo]) -> None:
    """The central directory's own claims: count, encryption, declared sizes and ratios."""
    if len(members) > ZIP_MAX_MEMBERS:
        raise refused("zip_bomb")
    if any(m.flag_bits & 0x1 for m in members):
        raise refused("encrypted")
    if sum(m.file_size for m in members) > ZIP_MAX_TOTAL:
        raise refused("zip_bomb")
    for member in members:
        if member.file_size > ZIP_RATIO_MIN_SIZE and member.file_size > ZIP_MAX_RATIO * max(member.compress_size, 1):
            raise refused("zip_bomb")
    names = [m.filename.lower() for m in members]
    if any(n.rsplit("/", 1)[-1] == "vbaproject.bin" or n.endswith(_MACRO_SUFFIXES) for n in names):
        raise refused("macro")
    if any(n.endswith(_ARCHIVE_SUFFIXES) for n in names):
        raise refused("nested")


def _zip_kind(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> str:
    names = {m.filename for m in members}
    if "[Content_Types].xml" in names:
        return _ooxml_kind(archive, names)
    if "mimetype" in names:
        return _odt_kind(archive, members)
    raise refused("zip")


def _small_member(archive: zipfile.ZipFile, name: str, limit: int = READ_CHUNK) -> bytes:
    with archive.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise refused("damaged")
    return data


def _ooxml_kind(archive: zipfile.ZipFile, names: set[str]) -> str:
    types = _small_member(archive, "[Content_Types].xml")
    lowered = types.lower()
    if b"macroenabled" in lowered or b"vbaproject" in lowered:
        raise refused("macro")
    found = set()
    for element in re.findall(rb"<Override\b[^>]*>", types):
        part = re.search(rb'PartName\s*=\s*["\']([^"\']+)["\']', element)
        content_type = re.search(rb'ContentType\s*=\s*["\']([^"\']+)["\']', element)
        if not part or not content_type:
            continue
        kind = _OOXML_MAIN.get(content_type.group(1).decode("ascii", "replace").strip())
        if kind and part.group(1).decode("utf-8", "replace").lstrip("/") in names:
            found.add(kind)
    if len(found) != 1:
        raise refused("unknown")
    return found.pop()


def _odt_kind(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> str:
    if members[0].filename != "mimetype" or "content.xml" not in {m.filename for m in members}:
        raise refused("damaged")
    mimetype = _small_member(archive, "mimetype", 200).strip()
    if mimetype != _ODT_MIMETYPE:
        if mimetype.startswith(b"application/vnd.oasis.opendocument."):
            raise refused("odf_kind")
        raise refused("unknown")
    for member in members:
        parts = member.filename.split("/")
        if parts[0] in ("Basic", "Scripts") and not member.is_dir() and parts[-1] not in _ODF_MACRO_INDEXES:
            raise refused("macro")
    return "odt"


def _read_through(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], depth: int) -> None:
    """Decompress every member (in memory, chunk by chunk) to check its CRC and that it holds no
    more than it claims; an embedded Office package gets the same checks, one level deep."""
    total = 0
    for member in members:
        if member.is_dir():
            continue
        nested = bytearray()
        with archive.open(member) as data:
            first = True
            while chunk := data.read(READ_CHUNK):
                total += len(chunk)
                if total > ZIP_MAX_TOTAL:
                    raise refused("zip_bomb")
                if first and chunk.startswith(_ZIP_MAGIC):
                    if depth > 0 or member.file_size > NESTED_MAX_SIZE:
                        raise refused("nested")
                    nested = bytearray(chunk)
                elif nested:
                    nested += chunk
                first = False
        if nested:
            _check_embedded(bytes(nested), depth)


def _check_embedded(data: bytes, depth: int) -> None:
    # Word and PowerPoint keep a chart's data as an embedded workbook: allowed if it passes too.
    kind = _check_zip(io.BytesIO(data), depth + 1)
    if kind not in ("docx", "xlsx", "pptx"):
        raise refused("nested")


# --- messages -----------------------------------------------------------------------------------

_MESSAGES = {
    "no_name": lambda: _("The file has no name. Please choose the file again."),
    "empty": lambda: _("The file is empty. Please check it and upload it again."),
    "unknown": lambda: _("This type of file is not accepted. Allowed types: %(types)s.", types=allowed_types_text()),
    "program": lambda: _("Programs and scripts are not accepted as attachments."),
    "html": lambda: _("Web pages (HTML) are not accepted, because they can carry scripts. Please save the page as "
                      "PDF."),
    "svg": lambda: _("SVG images and XML files are not accepted, because they can carry scripts. Please export the "
                     "image as PNG or PDF."),
    "polyglot": lambda: _("This PDF also contains web page code and cannot be accepted. Please save it again as a "
                          "plain PDF (for example Print → Save as PDF)."),
    "legacy_office": lambda: _("Old Office formats (.doc, .xls, .ppt) are not accepted. Please save the file as "
                               ".docx, .xlsx or .pptx (or as PDF) and upload it again."),
    "video": lambda: _("Only MP4 videos are accepted (QuickTime .mov and other formats are not). Please export the "
                       "video as MP4."),
    "damaged": lambda: _("The file is damaged or incomplete. Please check that it opens on your computer and upload "
                         "it again."),
    "encrypted": lambda: _("The file is password-protected or encrypted, so nobody could read it. Please remove the "
                           "password and upload it again."),
    "zip_bomb": lambda: _("The file unpacks to far more data than its size (a “zip bomb”) and cannot be accepted."),
    "macro": lambda: _("Files with macros (such as .docm, .xlsm or .pptm) are not accepted. Please save the file as "
                       ".docx, .xlsx or .pptx without macros and upload it again."),
    "nested": lambda: _("The file contains another archive or program inside it and cannot be accepted."),
    "zip": lambda: _("ZIP archives are not accepted. Please upload the documents themselves."),
    "odf_kind": lambda: _("Of the OpenDocument formats only text documents (.odt) are accepted. Please save "
                          "spreadsheets as .xlsx and presentations as .pptx or PDF."),
}


def refused(reason: str) -> FileRefused:
    return FileRefused(_MESSAGES[reason](), reason)


KIND_DESCRIPTIONS = {
    "pdf": _l("PDF document"),
    "docx": _l("Word document"),
    "xlsx": _l("Excel workbook"),
    "pptx": _l("PowerPoint presentation"),
    "odt": _l("OpenDocument text"),
    "jpeg": _l("JPEG image"),
    "png": _l("PNG image"),
    "mp4": _l("MP4 video"),
}


def kind_description(kind: str) -> str:
    return str(KIND_DESCRIPTIONS.get(kind, kind))
