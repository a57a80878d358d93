"""Judging journeys in a real browser (the judging issue, browser side).

From the demo edition, a written-review stage (書面審查) is made ready for scoring with three
entries assigned to one judge (the data set-up goes through the models, as the judging tests'
``JudgingWorld`` does). Then, in the browser: the judge declares a tie with one entry and can
never see it again; scores the two others, meeting the server's refusal of a mark outside the
range with nothing already typed lost; submits; the organiser reopens one sheet with a reason; the
judge sees the reason and can change the sheet again; the organiser's audit trail shows it all.
The score sheet is also checked at tablet width. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from award.extensions import db
from award.models import (Assignment, AssignmentStatus, AuditEvent, Edition, EditionStatus, Entry, EntrySection,
                          EntryStatus, ScoreSheet, Screening, SheetStatus, StageEntry, Tie, User, utcnow)
from browser_helpers import SCREENSHOTS, has_horizontal_overflow, login, logout

pytestmark = pytest.mark.browser

JUDGE = "judge1@award.example"
ORGANISER = "organizer@award.example"
TABLET = {"width": 768, "height": 1024}
# (agency code, title): the judge declares a tie with the last one.
ENTRIES = [
    ("DEMO-C1000", "澎湖縣政府廉政風險地圖"),
    ("DEMO-C4010", "綠島鄉公所採購透明化"),
    ("DEMO-C2000", "金門縣政府廉能志工"),
]


def in_db(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def ready_written_review(app) -> dict:
    """The demo edition in judging, its written review open now, three entries assigned to judge1.

    Returns the stage id and, per agency code, the entry and assignment ids."""
    def build():
        edition = db.session.scalar(select(Edition).where(Edition.number == 3))
        edition.status = EditionStatus.JUDGING
        stage = edition.stages[0]
        now = utcnow()
        stage.opens_at, stage.closes_at = now - timedelta(days=1), now + timedelta(days=14)
        judge = db.session.scalar(select(User).where(User.email == JUDGE))
        organiser = db.session.scalar(select(User).where(User.email == ORGANISER))
        from award.models import Agency

        category = edition.categories[0]
        ids = {"stage": stage.id, "entries": {}, "assignments": {}}
        for code, title in ENTRIES:
            agency = db.session.scalar(select(Agency).where(Agency.code == code))
            entry = Entry(category=category, agency=agency, title=title, summary=f"{title}：計畫摘要。",
                          status=EntryStatus.SUBMITTED, screening=Screening.ELIGIBLE, submitted_at=now)
            entry.sections = [EntrySection(criterion_id=c.id, text=f"{c.name}：具體作為說明。")
                              for c in category.criteria]
            db.session.add(entry)
            db.session.flush()
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id, basis="eligible"))
            assignment = Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=judge.id,
                                    assigned_by_id=organiser.id, status=AssignmentStatus.ASSIGNED)
            db.session.add(assignment)
            db.session.flush()
            ids["entries"][code], ids["assignments"][code] = entry.id, assignment.id
        db.session.commit()
        return ids
    return in_db(app, build)


def criteria_ids(page) -> list[int]:
    return [int(i.get_attribute("id").split("-")[1]) for i in page.locator("#score-form input.mark-input").all()]


def fill_marks(page, marks: list[str], comments: dict[int, str] | None = None) -> None:
    ids = criteria_ids(page)
    assert len(ids) == len(marks)
    for cid, mark in zip(ids, marks):
        page.locator(f"#score-{cid}").fill(mark)
    for index, text in (comments or {}).items():
        page.locator(f"#comment-{ids[index]}").fill(text)


def submit_sheet(page) -> None:
    page.locator("#confirm_final").check()
    with page.expect_navigation():
        page.locator("#submit-sheet").click()
    expect(page.locator("#sheet-locked")).to_be_visible()


def sheet_row(app, judge_email: str, entry_id: int) -> dict | None:
    def read():
        sheet = db.session.scalar(select(ScoreSheet).join(User, User.id == ScoreSheet.judge_id)
                                  .where(User.email == judge_email, ScoreSheet.entry_id == entry_id))
        if sheet is None:
            return None
        return {"id": sheet.id, "status": sheet.status, "version": sheet.version,
                "reopened_reason": sheet.reopened_reason,
                "marks": sorted(format(m.score.normalize(), "f") for m in sheet.marks if m.score is not None)}
    return in_db(app, read)


def test_judge_declares_a_tie_scores_submits_and_the_organiser_reopens(fresh_demo, live_app, page, screenshot):
    base = fresh_demo
    ids = ready_written_review(live_app)
    tied, first, second = (ids["assignments"][code] for code in ("DEMO-C2000", "DEMO-C1000", "DEMO-C4010"))
    tied_entry = ids["entries"]["DEMO-C2000"]

    login(page, base, JUDGE)
    page.goto(base + "/judging/")
    screenshot("01-dashboard")

    # A tie with 金門縣政府: declared before the entry is shown; the entry is then gone for good.
    page.goto(f"{base}/judging/ties/confirm/{tied}")
    expect(page.locator("#agency-name")).to_have_text("金門縣政府")
    tie_form = page.locator("#tie-form")
    tie_form.locator("select[name='tie-kind']").select_option("advisory")
    tie_form.locator("textarea[name='tie-description']").fill("2024 年起擔任該府廉政顧問。")
    screenshot("02-declare-tie")
    with page.expect_navigation():
        tie_form.get_by_role("button").click()
    for url in (f"/judging/sheets/{tied}", f"/judging/ties/confirm/{tied}"):
        response = page.goto(base + url)
        assert response.status == 404, url
        assert "金門縣政府廉能志工" not in page.content()
    page.goto(base + "/judging/")
    assert "金門縣政府廉能志工" not in page.content()
    assert in_db(live_app, lambda: db.session.get(Assignment, tied).status) is AssignmentStatus.CONFLICTED
    assert in_db(live_app, lambda: db.session.scalar(select(Tie.kind))) is not None

    # The first entry: confirm no tie, then mark; a mark beyond the range is refused, nothing typed lost.
    page.goto(f"{base}/judging/ties/confirm/{first}")
    with page.expect_navigation():
        page.locator("#confirm-form").get_by_role("button").click()
    expect(page.locator("#score-form")).to_be_visible()
    fill_marks(page, ["80", "85.5", "90", "75", "150"], {0: "首長親自主持廉政會報。"})
    page.locator("#comment").fill("整體表現良好。")
    expect(page.locator("#live-total")).not_to_have_text("0")
    with page.expect_navigation():
        page.locator("#save-draft").click()
    ids_first = criteria_ids(page)
    bad = f"score-{ids_first[4]}"
    expect(page.locator("#sheet-message")).to_be_visible()
    expect(page.locator(f"#{bad}-error")).to_be_visible()
    expect(page.locator(f"#{bad}-error")).to_contain_text("100")  # the range, in the user's language
    expect(page.locator(f"#{bad}")).to_have_attribute("aria-invalid", "true")
    for cid, mark in zip(ids_first, ["80", "85.5", "90", "75", "150"]):
        expect(page.locator(f"#score-{cid}")).to_have_value(mark)
    expect(page.locator(f"#comment-{ids_first[0]}")).to_have_value("首長親自主持廉政會報。")
    expect(page.locator("#comment")).to_have_value("整體表現良好。")
    screenshot("03-mark-out-of-range")
    assert sheet_row(live_app, JUDGE, ids["entries"]["DEMO-C1000"]) is None  # nothing half-saved

    page.locator(f"#{bad}").fill("70")
    # 80×.2 + 85.5×.2 + 90×.25 + 75×.2 + 70×.15 = 81.1, as the live total shows before saving.
    expect(page.locator("#live-total")).to_have_text("81.1")
    with page.expect_navigation():
        page.locator("#save-draft").click()
    expect(page.locator("#sheet-message")).to_have_count(0)
    expect(page.locator("#live-total")).to_have_text("81.1")
    saved = sheet_row(live_app, JUDGE, ids["entries"]["DEMO-C1000"])
    assert saved["status"] is SheetStatus.DRAFT and saved["marks"] == sorted(["80", "85.5", "90", "75", "70"])
    submit_sheet(page)
    screenshot("04-submitted")

    # The second entry, straight to submission.
    page.goto(f"{base}/judging/ties/confirm/{second}")
    with page.expect_navigation():
        page.locator("#confirm-form").get_by_role("button").click()
    fill_marks(page, ["70", "72.5", "68", "80", "77"])
    submit_sheet(page)
    assert sheet_row(live_app, JUDGE, ids["entries"]["DEMO-C4010"])["status"] is SheetStatus.SUBMITTED

    # The organiser reopens the first sheet with a reason.
    logout(page)
    login(page, base, ORGANISER)
    page.goto(f"{base}/judging/stages/{ids['stage']}/sheets")
    sheet_id = sheet_row(live_app, JUDGE, ids["entries"]["DEMO-C1000"])["id"]
    row = page.locator(f"#sheet-{sheet_id}")
    expect(row).to_have_attribute("data-status", "submitted")
    reason = "「風險防制與課責」之評分請再參考稽核報告。"
    row.locator("textarea[name=reason]").fill(reason)
    with page.expect_navigation():
        row.get_by_role("button").click()
    expect(page.locator(f"#sheet-{sheet_id}")).to_have_attribute("data-status", "draft")
    screenshot("05-reopened")
    after = sheet_row(live_app, JUDGE, ids["entries"]["DEMO-C1000"])
    assert after["status"] is SheetStatus.DRAFT and after["reopened_reason"] == reason

    # The judge sees the reason, and the sheet can be changed again.
    logout(page)
    login(page, base, JUDGE)
    page.goto(f"{base}/judging/sheets/{first}")
    expect(page.locator("#reopened-reason")).to_contain_text(reason)
    expect(page.locator("#sheet-locked")).to_have_count(0)
    mark = page.locator(f"#score-{ids_first[2]}")
    expect(mark).to_be_editable()
    expect(mark).to_have_value("90")
    mark.fill("88")
    with page.expect_navigation():
        page.locator("#save-draft").click()
    expect(page.locator("#sheet-message")).to_have_count(0)
    assert "88" in sheet_row(live_app, JUDGE, ids["entries"]["DEMO-C1000"])["marks"]
    screenshot("06-judge-sees-reason")

    # The organiser's audit trail shows the tie, the saves, the submissions and the reopening.
    logout(page)
    login(page, base, ORGANISER)
    page.goto(base + "/audit/")
    cells = page.locator("table.audit-table tbody tr td[data-action]")
    actions = [cells.nth(i).get_attribute("data-action") for i in range(cells.count())]
    assert "申報利害關係" in cells.all_inner_texts()[actions.index("tie_declared")]  # named in words too
    for action in ("tie_declared", "assignment_conflicted", "sheet_saved", "sheet_submitted", "sheet_reopened"):
        assert action in actions, (action, actions)
    assert actions.count("sheet_submitted") == 2
    assert actions.count("sheet_saved") >= 2  # the first draft and the change after the reopening
    screenshot("07-audit-trail")
    recorded = in_db(live_app, lambda: list(db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.in_(["sheet_saved", "sheet_submitted",
                                                               "sheet_reopened", "tie_declared"])))))
    assert sorted(recorded) == sorted(a for a in actions if a in {"sheet_saved", "sheet_submitted",
                                                                   "sheet_reopened", "tie_declared"})
    assert in_db(live_app, lambda: db.session.get(Entry, tied_entry).title) == "金門縣政府廉能志工"


def test_score_sheet_at_tablet_width(fresh_demo, live_app, browser, screenshot):
    base = fresh_demo
    ids = ready_written_review(live_app)
    assignment = ids["assignments"]["DEMO-C1000"]
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei", viewport=TABLET)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        login(page, base, JUDGE)
        page.goto(f"{base}/judging/ties/confirm/{assignment}")
        with page.expect_navigation():
            page.locator("#confirm-form").get_by_role("button").click()
        expect(page.locator("#score-form")).to_be_visible()
        assert not has_horizontal_overflow(page)
        first = page.locator("#score-form input.mark-input").first
        first.scroll_into_view_if_needed()
        first.fill("90")
        # While marking, the live weighted total stays in view (the sheet's foot is sticky).
        expect(page.locator("#live-total")).to_be_in_viewport()
        expect(page.locator("#live-total")).to_have_text("18")
        last = page.locator("#score-form input.mark-input").last
        last.scroll_into_view_if_needed()
        last.fill("80")
        expect(page.locator("#live-total")).to_be_in_viewport()
        expect(page.locator("#live-total")).to_have_text("30")
        assert not has_horizontal_overflow(page)
        screenshot("tablet-sheet", page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "test_score_sheet_at_tablet_width-tablet-viewport.png"))
    finally:
        context.close()


def test_area_pages_have_no_serious_accessibility_violations(fresh_demo, live_app, page):
    """axe over the pages of every area beyond the foundation's: the judge's dashboard, confirmation and
    score sheet; the organiser's register, editions, entries, assignment matrix and results; the agency's
    entry. Desktop and 375 px, like the foundation pages."""
    from test_foundation_journeys import DESKTOP, PHONE, A11yAudit

    base = fresh_demo
    ids = ready_written_review(live_app)
    edition_id = in_db(live_app, lambda: db.session.scalar(select(Edition.id).where(Edition.number == 3)))
    audit = A11yAudit()

    def check(path: str, label: str | None = None) -> None:
        if path:
            page.goto(base + path)
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            audit.check(page, f"{viewport['width']}px {label or path}", phone=viewport is PHONE)
        page.set_viewport_size(DESKTOP)

    assignment = ids["assignments"]["DEMO-C1000"]
    login(page, base, JUDGE)
    check("/judging/")
    check(f"/judging/ties/confirm/{assignment}")
    with page.expect_navigation():
        page.locator("#confirm-form").get_by_role("button").click()
    expect(page.locator("#score-form")).to_be_visible()
    check("", "score sheet")
    logout(page)

    login(page, base, ORGANISER)
    for path in ("/agencies/", "/editions/", f"/editions/{edition_id}", "/entries/admin",
                 f"/judging/admin/stages/{ids['stage']}", f"/results/stages/{ids['stage']}"):
        check(path)
    logout(page)

    login(page, base, "penghu@award.example")
    check(f"/entries/{ids['entries']['DEMO-C1000']}")
    audit.conclude()
