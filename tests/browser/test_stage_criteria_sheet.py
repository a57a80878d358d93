"""A stage with criteria of its own (the site visit 實地訪視 on three criteria out of 10, not the
category's five out of 100): the judge's score sheet in a real browser asks for those criteria with
their bounds, the live total and the server's total use their weights, and a mark in the category's
range but outside the stage's is refused with nothing typed lost."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from award.extensions import db
from award.models import (Agency, Assignment, AssignmentStatus, Criterion, Edition, EditionStatus, Entry,
                          EntrySection, EntryStatus, ScoreSheet, Screening, StageEntry, User, utcnow)
from browser_helpers import login

pytestmark = pytest.mark.browser

JUDGE = "judge1@award.example"
VISIT = [("現地查核", 40, 10), ("訪談回饋", 35, 10), ("改善追蹤", 25, 10)]  # name, weight, highest score


def _in_db(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _site_visit_with_its_own_criteria(app) -> dict:
    def build():
        edition = db.session.scalar(select(Edition).where(Edition.number == 3))
        edition.status = EditionStatus.JUDGING
        visit = edition.stages[1]
        now = utcnow()
        visit.opens_at, visit.closes_at = now - timedelta(days=1), now + timedelta(days=7)
        category = edition.categories[0]
        own = [Criterion(category_id=category.id, stage_id=visit.id, name=name, position=i, weight=Decimal(w),
                         min_score=Decimal(0), max_score=Decimal(high), step=Decimal(1))
               for i, (name, w, high) in enumerate(VISIT)]
        db.session.add_all(own)
        agency = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C1000"))
        entry = Entry(category=category, agency=agency, title="跨島協作的廉能治理", summary="摘要。",
                      status=EntryStatus.SUBMITTED, screening=Screening.ELIGIBLE, submitted_at=now)
        entry.sections = [EntrySection(criterion_id=c.id, text=f"{c.name}：說明。") for c in category.criteria]
        db.session.add(entry)
        db.session.flush()
        db.session.add(StageEntry(stage_id=visit.id, entry_id=entry.id, basis="advanced"))
        judge = db.session.scalar(select(User).where(User.email == JUDGE))
        assignment = Assignment(stage_id=visit.id, entry_id=entry.id, judge_id=judge.id,
                                status=AssignmentStatus.CONFIRMED, confirmed_at=now)
        db.session.add(assignment)
        db.session.commit()
        return {"assignment": assignment.id, "entry": entry.id, "stage": visit.id,
                "own": [c.id for c in own], "category": [c.id for c in category.criteria],
                "category_names": [c.name for c in category.criteria]}
    return _in_db(app, build)


def _saved_marks(app, ids):
    def read():
        sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == ids["entry"],
                                                           ScoreSheet.stage_id == ids["stage"]))
        if sheet is None:
            return None, {}
        return sheet.status.value, {m.criterion_id: m.score for m in sheet.marks if m.score is not None}
    return _in_db(app, read)


def test_the_judge_marks_the_stages_own_criteria_and_the_totals_use_them(fresh_demo, live_app, page):
    base = fresh_demo
    ids = _site_visit_with_its_own_criteria(live_app)
    login(page, base, JUDGE)
    page.goto(f"{base}/judging/sheets/{ids['assignment']}")
    form = page.locator("#score-form")
    expect(form).to_be_visible()

    # The stage's three criteria, in order, with their weights and bounds; none of the category's.
    expect(form.locator("fieldset.criterion-mark legend")).to_have_text([name for name, _w, _h in VISIT])
    inputs = form.locator("input.mark-input")
    expect(inputs).to_have_count(3)
    assert [int(i.get_attribute("id").split("-")[1]) for i in inputs.all()] == ids["own"]
    for cid, (_name, weight, high) in zip(ids["own"], VISIT):
        field = page.locator(f"#score-{cid}")
        assert field.get_attribute("data-weight") == str(weight) and field.get_attribute("data-max") == str(high)
        expect(page.locator(f"#score-{cid}-hint")).to_contain_text("0")
        expect(page.locator(f"#score-{cid}-hint")).to_contain_text(str(high))
    for name in ids["category_names"]:
        expect(form.locator("legend", has_text=name)).to_have_count(0)

    # The live total follows the stage's weights: 40×9/10 + 35×8/10 + 25×6/10 = 79 (out of 100).
    for cid, mark in zip(ids["own"], ("9", "8", "6")):
        page.locator(f"#score-{cid}").fill(mark)
    expect(page.locator("#live-total")).to_have_text("79")
    expect(page.locator("#sheet-total")).to_contain_text("/ 100")

    # 50 fits the category's 0–100 but not the stage's 0–10: refused on the field, the rest kept.
    page.locator(f"#score-{ids['own'][0]}").fill("50")
    page.locator(f"#comment-{ids['own'][1]}").fill("訪談時受訪者回應具體。")
    with page.expect_navigation():
        page.locator("#save-draft").click()
    expect(page.locator(f"#score-{ids['own'][0]}-error")).to_be_visible()
    expect(page.locator(f"#score-{ids['own'][1]}")).to_have_value("8")
    expect(page.locator(f"#comment-{ids['own'][1]}")).to_have_value("訪談時受訪者回應具體。")
    assert _saved_marks(live_app, ids) == (None, {})

    page.locator(f"#score-{ids['own'][0]}").fill("9")
    with page.expect_navigation():
        page.locator("#save-draft").click()
    expect(page.locator("#total-note")).to_contain_text("79")  # the server's total, by the scoring engine
    assert _saved_marks(live_app, ids) == ("draft", {ids["own"][0]: Decimal(9), ids["own"][1]: Decimal(8),
                                                     ids["own"][2]: Decimal(6)})

    page.locator("#confirm_final").check()
    with page.expect_navigation():
        page.locator("#submit-sheet").click()
    expect(page.locator("#sheet-total-value")).to_have_text("79")
    expect(page.locator("#submitted-marks tbody tr")).to_have_count(3)
    status, marks = _saved_marks(live_app, ids)
    assert status == "submitted" and set(marks) == set(ids["own"]) and not set(marks) & set(ids["category"])
