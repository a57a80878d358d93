"""Leaving right after typing (a link, another page, closing the tab, switching to another tab) saves
what was typed to the server: the agency's entry form (award/static/js/entry-form.js: pagehide and
visibilitychange send a keepalive save, without waiting for the ~3 s autosave) and the judge's score
sheet (award/static/js/score-sheet.js: the same, as a draft). Coming back, in this browser or another
one with nothing kept on the device, the text and marks are there."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from sqlalchemy import select

from award.extensions import db
from award.models import (Agency, Assignment, AssignmentStatus, Edition, EditionStatus, Entry, EntrySection,
                          EntryStatus, ScoreSheet, Screening, StageEntry, User, utcnow)
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


# --- the judge's score sheet ---------------------------------------------------------------------------

JUDGE = "judge1@award.example"


def _judge_assignment(app) -> int:
    """An entry in the demo's written review, open now, assigned to judge1 and confirmed."""
    with app.app_context():
        try:
            edition = db.session.scalar(select(Edition).where(Edition.number == 3))
            edition.status = EditionStatus.JUDGING
            stage = edition.stages[0]
            now = utcnow()
            stage.opens_at, stage.closes_at = now - timedelta(days=1), now + timedelta(days=7)
            category = edition.categories[0]
            entry = Entry(category=category, agency=db.session.scalar(select(Agency).where(Agency.code == "DEMO-C1000")),
                          title="跨島協作的廉能治理", summary="摘要。", status=EntryStatus.SUBMITTED,
                          screening=Screening.ELIGIBLE, submitted_at=now)
            entry.sections = [EntrySection(criterion_id=c.id, text="說明。") for c in category.criteria]
            db.session.add(entry)
            db.session.flush()
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id, basis="eligible"))
            judge = db.session.scalar(select(User).where(User.email == JUDGE))
            assignment = Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=judge.id,
                                    status=AssignmentStatus.CONFIRMED, confirmed_at=now)
            db.session.add(assignment)
            db.session.commit()
            return assignment.id
        finally:
            db.session.remove()


def _sheet_in_db(app, assignment_id):
    with app.app_context():
        try:
            assignment = db.session.get(Assignment, assignment_id)
            sheet = db.session.scalar(select(ScoreSheet).where(
                ScoreSheet.entry_id == assignment.entry_id, ScoreSheet.judge_id == assignment.judge_id))
            if sheet is None:
                return None
            return {"status": sheet.status.value, "version": sheet.version, "comment": sheet.comment,
                    "marks": [m.score for m in sorted(sheet.marks, key=lambda m: m.criterion_id)
                              if m.score is not None]}
        finally:
            db.session.remove()


def _wait_sheet(app, assignment_id, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = _sheet_in_db(app, assignment_id)
        if row is not None:
            return row
        time.sleep(0.1)
    return None


def _mark(page, marks, comment):
    inputs = page.locator("#score-form input.mark-input")
    for index, mark in enumerate(marks):
        inputs.nth(index).fill(mark)
    page.locator("#comment").fill(comment)


def test_a_judge_leaving_the_sheet_at_once_finds_the_marks_saved(fresh_demo, live_app, page, browser):
    base = fresh_demo
    assignment_id = _judge_assignment(live_app)
    login(page, base, JUDGE)
    page.goto(f"{base}/judging/sheets/{assignment_id}")
    expect(page.locator("#score-form")).to_be_visible()
    _mark(page, ["81", "72"], "離開評分表前寫的總評。")
    page.goto(base + "/judging/")  # away at once, without pressing "Save draft"
    row = _wait_sheet(live_app, assignment_id)
    assert row == {"status": "draft", "version": 1, "comment": "離開評分表前寫的總評。",
                   "marks": [Decimal(81), Decimal(72)]}
    page.goto(f"{base}/judging/sheets/{assignment_id}")  # back: the marks are in the form
    inputs = page.locator("#score-form input.mark-input")
    expect(inputs.nth(0)).to_have_value("81")
    expect(inputs.nth(1)).to_have_value("72")
    expect(page.locator("#comment")).to_have_value("離開評分表前寫的總評。")

    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei")  # another device
    try:
        other = context.new_page()
        login(other, base, JUDGE)
        other.goto(f"{base}/judging/sheets/{assignment_id}")
        expect(other.locator("#score-form input.mark-input").nth(0)).to_have_value("81")
    finally:
        context.close()


def test_a_judge_switching_tabs_saves_and_the_next_save_is_no_conflict(fresh_demo, live_app, page):
    base = fresh_demo
    assignment_id = _judge_assignment(live_app)
    login(page, base, JUDGE)
    page.goto(f"{base}/judging/sheets/{assignment_id}")
    _mark(page, ["65"], "切換分頁時存的評語。")
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    row = _wait_sheet(live_app, assignment_id, seconds=5)
    assert row is not None and row["marks"] == [Decimal(65)] and row["version"] == 1
    expect(page.locator("#score-form input[name=version]")).to_have_value("1")  # the page follows
    page.locator("#score-form input.mark-input").nth(1).fill("70")
    with page.expect_navigation():
        page.locator("#save-draft").click()
    expect(page.locator(".conflict-note")).to_have_count(0)
    assert _sheet_in_db(live_app, assignment_id)["marks"] == [Decimal(65), Decimal(70)]
