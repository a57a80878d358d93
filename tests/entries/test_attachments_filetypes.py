"""The content checks (filetypes.sniff) on real good and hostile files, and the name rules."""

from __future__ import annotations

import io

import pytest

from attachments_support import corpus, zip_bomb  # noqa: F401  (fixture)
from award.entries.filetypes import KINDS, FileRefused, check_name, safe_name, sniff


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("sample", sorted(corpus.GOOD))
def test_every_allowed_type_is_recognised_by_its_content(ctx, sample):
    name, data = corpus.GOOD[sample]()
    kind = sniff(io.BytesIO(data), name)
    assert kind.kind == sample.split("_")[0]
    assert kind is KINDS[kind.kind]


@pytest.mark.parametrize("sample", sorted(corpus.HOSTILE))
def test_every_hostile_or_broken_file_is_refused_with_its_reason(ctx, sample):
    name, data, reason = corpus.HOSTILE[sample]()
    with pytest.raises(FileRefused) as refused:
        sniff(io.BytesIO(data), name)
    assert refused.value.reason == reason
    assert refused.value.message and "Traceback" not in refused.value.message


def test_a_zip_bomb_is_refused_without_unpacking_it(ctx, zip_bomb):  # noqa: F811
    assert len(zip_bomb) < 2 * 1024 * 1024  # 300 MB of zeros inside
    with pytest.raises(FileRefused) as refused:
        sniff(io.BytesIO(zip_bomb), "bomb.docx")
    assert refused.value.reason == "zip_bomb"


def test_sniff_reads_a_path_and_leaves_a_stream_where_it_was(ctx, tmp_path):
    name, data = corpus.GOOD["png"]()
    path = tmp_path / "any-name"
    path.write_bytes(data)
    assert sniff(path, name).kind == "png"
    stream = io.BytesIO(data)
    stream.seek(5)
    sniff(stream, name)
    assert stream.tell() == 5


def test_the_name_does_not_decide_the_kind(ctx):
    # a PNG named .jpg is refused: the extension must agree with the content
    with pytest.raises(FileRefused) as refused:
        sniff(io.BytesIO(corpus.png_bytes()), "photo.jpg")
    assert refused.value.reason == "extension"
    assert sniff(io.BytesIO(corpus.JPEG_1X1), "PHOTO.JPEG").kind == "jpeg"  # any case, either spelling


@pytest.mark.parametrize("raw, safe", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\政風\\Desktop\\成果報告.pdf", "成果報告.pdf"),
    ("report\x00.pdf", "report.pdf"),
    ("line\nbreak\r.pdf", "linebreak.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("  trailing dots.pdf. . ", "trailing dots.pdf"),
    ("澎湖縣政府 114年度 廉政成果.pdf", "澎湖縣政府 114年度 廉政成果.pdf"),
    ("", ""),
])
def test_names_are_made_safe_to_store_and_show(raw, safe):
    assert safe_name(raw) == safe


def test_long_names_are_cut_to_255_characters_keeping_the_extension():
    name = safe_name("廉" * 400 + ".docx")
    assert len(name) == 255 and name.endswith(".docx") and name.startswith("廉廉")


def test_check_name_refuses_names_that_could_never_be_accepted(ctx):
    assert check_name("簡報.PPTX") == "簡報.PPTX"
    for name in ("setup.exe", "page.html", "logo.svg", "macro.docm", "old.doc", "noextension", "/", "\x00"):
        with pytest.raises(FileRefused):
            check_name(name)
