"""Leaving the entry form right after typing (a link, another page, closing the tab, switching to
another tab) saves what was typed to the server (award/static/js/entry-form.js: pagehide and
visibilitychange send a keepalive save, without waiting for the ~3 s autosave). Coming back, in
this browser or another one with nothing kept on the device, the text is there."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from award.extensions import db
from award.models import Entry
from browser_helpers import login

pytestmark = pytest.mark.browser

AGENCY = "greenisland@award.example"


def _sections_in_db(app, entry_id) -> list[str]:
    with app.app_context():
        try:
            db.session.expire_all()
            return [s.text for s in db.session.get(Entry, entry_id).sections]
        finally:
            db.session.remove()


def _wait_in_db(app, entry_id, text, seconds=10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in _sections_in_db(app, entry_id):
            return True
        time.sleep(0.1)
    return False


def _start(page, base) -> int:
    login(page, base, AGENCY)
    page.goto(base + "/entries/")
    with page.expect_navigation():
        page.locator("main li[id^='category-']").first.get_by_role("button").click()
    form = page.locator("#entry-form")
    expect(form).to_be_visible()
    return int(form.get_attribute("data-entry-id"))


def _area(page, n=0):
    return page.locator("#entry-form textarea[name^='section_']").nth(n)


def _type(page, n, text):
    area = _area(page, n)
    area.click()
    area.press_sequentially(text[:4])  # real keystrokes (input events) …
    area.fill(text)  # … and the rest at once


def _comes_back_in_a_fresh_browser(browser, base, entry_id, n, text):
    """Another browser (nothing on the device): the text must have come from the server."""
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei")
    try:
        other = context.new_page()
        login(other, base, AGENCY)
        other.goto(f"{base}/entries/{entry_id}/edit")
        expect(_area(other, n)).to_have_value(text)
        assert other.locator("#draft-restored").count() == 0  # not restored from a copy on the device
    finally:
        context.close()


def test_typing_then_following_a_link_at_once_saves_the_text(fresh_demo, live_app, page, browser):
    base = fresh_demo
    entry_id = _start(page, base)
    text = "離開前剛打的字：綠島鄉公所的採購資訊每月公開。"
    _type(page, 0, text)
    page.goto(base + "/entries/")  # away at once, long before the autosave's debounce
    assert _wait_in_db(live_app, entry_id, text)
    page.goto(f"{base}/entries/{entry_id}/edit")  # back: the text is in the form
    expect(_area(page, 0)).to_have_value(text)
    _comes_back_in_a_fresh_browser(browser, base, entry_id, 0, text)


def test_closing_the_tab_right_after_typing_saves_the_text(fresh_demo, live_app, page, browser):
    base = fresh_demo
    entry_id = _start(page, base)
    text = "關閉分頁前最後一句：請勿遺失。"
    _type(page, 1, text)
    context = page.context
    page.close(run_before_unload=True)
    assert _wait_in_db(live_app, entry_id, text)
    again = context.new_page()
    again.goto(f"{base}/entries/{entry_id}/edit")
    expect(_area(again, 1)).to_have_value(text)
    _comes_back_in_a_fresh_browser(browser, base, entry_id, 1, text)


def test_switching_to_another_tab_saves_the_text(fresh_demo, live_app, page):
    base = fresh_demo
    entry_id = _start(page, base)
    text = "切換到其他分頁時存檔。"
    _type(page, 0, text)
    # The tab is hidden (the contact switches to another tab or application).
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    assert _wait_in_db(live_app, entry_id, text, seconds=2.5)  # before the 3 s autosave would have fired
    page.reload()
    expect(_area(page, 0)).to_have_value(text)
