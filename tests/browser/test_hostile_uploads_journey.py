"""An agency contact picks hostile files in the real entry form (an .exe renamed .pdf, an SVG with a
script renamed .png, a macro document renamed .docx): the page shows the server's refusal in the
page's language, and the entry's saved text and earlier attachment stay, on the page and in the
database. With the script (resumable upload) and without it (the plain form)."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from award.extensions import db
from award.models import Attachment, Entry
from browser_helpers import login

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hostile"))
import hostile_corpus as corpus  # noqa: E402

pytestmark = pytest.mark.browser

AGENCY = "greenisland@award.example"
SAVED_TEXT = "綠島鄉公所已儲存的第一段說明：公開採購資訊並由鄉民代表會監督。"
HOSTILE = [  # (file name shown to the picker, bytes, reason)
    ("成果報告.pdf", corpus.EXE, "program"),
    ("流程圖.png", corpus.SVG_SCRIPT, "svg"),
    ("執行計畫.docx", corpus.HOSTILE["docm_macro"]()[1], "macro"),
]


def _in_db(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _state(app, entry_id):
    def read():
        entry = db.session.get(Entry, entry_id)
        files = [(a.original_name, a.sha256) for a in db.session.scalars(
            select(Attachment).where(Attachment.entry_id == entry_id, Attachment.removed_at.is_(None)))]
        return {s.criterion_id: s.text for s in entry.sections}, entry.draft_version, files
    return _in_db(app, read)


def _refusal(app, reason: str) -> str:
    """The refusal as the server words it in Traditional Chinese (the pages' language here)."""
    from award.entries.filetypes import refused

    with app.test_request_context(), force_locale("zh_Hant_TW"):
        return refused(reason).message


def _start_with_saved_text_and_a_file(page, base, app, tmp_path):
    """Log in, start an entry, save a section's text and upload one good PDF; the entry's id."""
    login(page, base, AGENCY)
    page.goto(base + "/entries/")
    with page.expect_navigation():
        page.locator("main li[id^='category-']").first.get_by_role("button").click()
    form = page.locator("#entry-form")
    expect(form).to_be_visible()
    entry_id = int(form.get_attribute("data-entry-id"))
    area = page.locator("#entry-form textarea[name^='section_']").first
    area.fill(SAVED_TEXT)
    with page.expect_navigation():
        page.locator("#save-draft").click()  # "save draft", as a person would
    good = tmp_path / "宣導成果.pdf"
    good.write_bytes(corpus.pdf_bytes("Green Island"))
    return entry_id, good


def test_hostile_files_are_refused_with_the_reason_and_nothing_saved_is_lost(fresh_demo, live_app, page, tmp_path):
    base = fresh_demo
    entry_id, good = _start_with_saved_text_and_a_file(page, base, live_app, tmp_path)
    page.locator("#tus-file").set_input_files(str(good))
    page.wait_for_url(re.compile(r"uploaded="), timeout=30_000)
    expect(page.locator("#attachment-list")).to_contain_text("宣導成果.pdf")
    texts, version, files = _state(live_app, entry_id)
    assert SAVED_TEXT in texts.values() and files == [("宣導成果.pdf", hashlib.sha256(good.read_bytes()).hexdigest())]

    status = page.locator("#tus-status")
    for name, data, reason in HOSTILE:
        hostile = tmp_path / name
        hostile.write_bytes(data)
        page.locator("#tus-file").set_input_files(str(hostile))
        expect(status).to_have_attribute("data-state", "error", timeout=15_000)
        expect(status).to_contain_text(_refusal(live_app, reason))
        expect(page.locator("#tus-file")).to_be_enabled()  # ready for the right file
        # still on the page: the saved text and the earlier file
        expect(page.locator("#entry-form textarea[name^='section_']").first).to_have_value(SAVED_TEXT)
        expect(page.locator("#attachment-list")).to_contain_text("宣導成果.pdf")
        assert _state(live_app, entry_id) == (texts, version, files), name

    page.reload()  # and after a reload, from the server
    expect(page.locator("#entry-form textarea[name^='section_']").first).to_have_value(SAVED_TEXT)
    expect(page.locator("#attachment-list tbody tr")).to_have_count(1)
    assert _state(live_app, entry_id) == (texts, version, files)


def test_without_javascript_the_plain_form_shows_the_refusal_and_keeps_everything(fresh_demo, live_app, browser,
                                                                                   tmp_path):
    base = fresh_demo
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei", java_script_enabled=False)
    context.set_default_timeout(10_000)
    errors: list[str] = []
    context.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page = context.new_page()
    try:
        entry_id, good = _start_with_saved_text_and_a_file(page, base, live_app, tmp_path)
        form = page.locator("#attachment-form")
        expect(form).to_be_visible()  # the script would have swapped it for the resumable upload
        form.locator("input[type=file]").set_input_files(str(good))
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        expect(page.locator("#attachment-list")).to_contain_text("宣導成果.pdf")
        before = _state(live_app, entry_id)
        for name, data, reason in HOSTILE:
            hostile = tmp_path / name
            hostile.write_bytes(data)
            page.locator("#attachment-form input[type=file]").set_input_files(str(hostile))
            with page.expect_navigation():
                page.locator("#attachment-form button[type=submit]").click()
            expect(page.locator(".flash-error")).to_contain_text(_refusal(live_app, reason))
            expect(page.locator("#entry-form textarea[name^='section_']").first).to_have_value(SAVED_TEXT)
            expect(page.locator("#attachment-list tbody tr")).to_have_count(1)
            assert _state(live_app, entry_id) == before, name
    finally:
        context.close()
    assert not errors, errors
