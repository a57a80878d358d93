"""Who reaches a score sheet and the entry's files; reopening by the organiser; blind stages."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from award.extensions import db
from award.models import Assignment, AssignmentStatus, AuditEvent, SheetStatus, Tie, TieKind

from test_sheets_support import (add_pdf, agency, audit_count, judging_app, last_event, login_client,  # noqa: F401
                                 post_sheet, sheet_of, stage, submit_all, world)


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- not your sheet: not found ---------------------------------------------------------------------

def test_only_the_judges_own_confirmed_tie_free_assignment_opens(judging_app, world):
    url = f"/judging/sheets/{world.assignment('judge1', '甲')}"
    assert login_client(judging_app, "judge1").get(url).status_code == 200
    judge2 = login_client(judging_app, "judge2")
    assert judge2.get(url).status_code == 404  # another judge's assignment
    assert judge2.post(url, data={"version": "0", "action": "save"}).status_code == 404
    assert login_client(judging_app, "organizer").get(url).status_code == 403
    assert login_client(judging_app, "penghu").get(url).status_code == 403
    assert judging_app.test_client().get(url).status_code == 302  # to the login page
    assert login_client(judging_app, "judge1").get("/judging/sheets/999999").status_code == 404


@pytest.mark.parametrize("status", [AssignmentStatus.ASSIGNED, AssignmentStatus.CONFLICTED,
                                    AssignmentStatus.WITHDRAWN])
def test_an_unconfirmed_assignment_does_not_open(judging_app, world, status):
    with judging_app.app_context():
        assignment = db.session.get(Assignment, world.assignment("judge1", "甲"))
        assignment.status = status
        db.session.commit()
    judge1 = login_client(judging_app, "judge1")
    assert judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}").status_code == 404
    assert post_sheet(judge1, world, "judge1", "甲", 80).status_code == 404
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None


def test_a_tie_declared_later_closes_the_sheet(judging_app, world):
    judge1 = login_client(judging_app, "judge1")
    post_sheet(judge1, world, "judge1", "甲", 80)
    with judging_app.app_context():
        # A tie to 澎湖縣政府 (the entry's agency); a tie to a supervisor would cover it too.
        db.session.add(Tie(judge_id=world.judges["judge1"], agency_id=agency("DEMO-C1000").id, kind=TieKind.ADVISORY))
        db.session.commit()
    assert judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}").status_code == 404
    assert post_sheet(judge1, world, "judge1", "甲", 90, version=1).status_code == 404
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲").version == 1


# --- the entry's PDF, inline ---------------------------------------------------------------------------

def test_pdf_is_shown_inline_with_safe_headers_and_logged(judging_app, world):
    with judging_app.app_context():
        attachment_id = add_pdf(world.entries["甲"])
    judge1 = login_client(judging_app, "judge1")
    page = _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))
    url = f"/judging/sheets/{world.assignment('judge1', '甲')}/attachments/{attachment_id}/view"
    assert f'<iframe src="{url}"' in page and "成果報告.pdf" in page
    response = judge1.get(url)
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "sandbox" not in csp  # Chromium's viewer refuses sandboxed PDFs
    assert response.headers["Cache-Control"] == "private, no-store"
    with judging_app.app_context():
        event = last_event("attachment_downloaded")
        assert event is not None and event.actor_id == world.judges["judge1"]


def test_pdf_view_refuses_other_judges_other_entries_and_other_kinds(judging_app, world):
    with judging_app.app_context():
        pdf = add_pdf(world.entries["甲"])
        image = add_pdf(world.entries["甲"], content=b"\x89PNG\r\n", name="photo.png", kind="png")
        disguised = add_pdf(world.entries["甲"], content=b"<html><script>alert(1)</script>", name="x.pdf")
        other_entry = add_pdf(world.entries["乙"])
    base = f"/judging/sheets/{world.assignment('judge1', '甲')}/attachments"
    judge1 = login_client(judging_app, "judge1")
    assert judge1.get(f"{base}/{image}/view").status_code == 404
    assert judge1.get(f"{base}/{disguised}/view").status_code == 404  # not a PDF inside
    assert judge1.get(f"{base}/{other_entry}/view").status_code == 404  # not this assignment's entry
    assert login_client(judging_app, "judge2").get(f"{base}/{pdf}/view").status_code == 404
    assert login_client(judging_app, "organizer").get(f"{base}/{pdf}/view").status_code == 403
    with judging_app.app_context():
        assignment = db.session.get(Assignment, world.assignment("judge1", "甲"))
        assignment.status = AssignmentStatus.ASSIGNED
        db.session.commit()
    assert judge1.get(f"{base}/{pdf}/view").status_code == 404


# --- blind stages ---------------------------------------------------------------------------------------

def test_a_blind_stage_hides_the_agency(judging_app, world):
    with judging_app.app_context():
        stage(world.stage_id).blind = True
        add_pdf(world.entries["甲"], name="澎湖縣政府成果報告.pdf")
        db.session.commit()
        agency_ = agency("DEMO-C1000")
        hidden = [agency_.name, agency_.code, agency_.head_name, "聯絡人王小明", "ethics@example.org"]
    judge1 = login_client(judging_app, "judge1")
    sheet_page = _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))
    dashboard = _html(judge1.get("/judging/"))
    assert "跨島協作的廉能治理" in sheet_page and 'id="blind-note"' in sheet_page
    for text in hidden:
        assert text not in sheet_page, text
        assert text not in dashboard, text
    with judging_app.app_context():
        stage(world.stage_id).blind = False
        db.session.commit()
    assert agency_.name in _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))


# --- reopening --------------------------------------------------------------------------------------------

def test_organiser_reopens_with_a_reason_the_judge_sees(judging_app, world):
    judge1 = login_client(judging_app, "judge1")
    post_sheet(judge1, world, "judge1", "甲", 80, action="submit", confirm=True)
    with judging_app.app_context():
        sheet_id = sheet_of(world, "judge1", "甲").id
    organizer = login_client(judging_app, "organizer")
    listing = _html(organizer.get(f"/judging/stages/{world.stage_id}/sheets"))
    assert f'id="sheet-{sheet_id}" data-status="submitted"' in listing and "林評審委員" in listing
    reason = "第三項評語與分數不一致，請再確認。"
    response = organizer.post(f"/judging/sheets/{sheet_id}/reopen", data={"reason": reason})
    assert response.status_code == 303
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert sheet.status is SheetStatus.DRAFT and sheet.reopened_reason == reason and sheet.version == 2
        assert sheet.submitted_at is None
        event = last_event("sheet_reopened")
        assert json.loads(event.before)["status"] == "submitted"
        after = json.loads(event.after)
        assert after["status"] == "draft" and after["reopened_reason"] == reason
        assert event.actor_label.startswith("organizer@")
    page = _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))
    assert 'id="reopened-reason"' in page and reason in page and 'id="score-form"' in page
    assert reason in _html(judge1.get("/judging/"))
    # The judge changes a mark and submits again.
    assert post_sheet(judge1, world, "judge1", "甲", 85, version=2, action="submit", confirm=True).status_code == 303
    with judging_app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "score_sheet")
                                          .order_by(AuditEvent.seq)))
        assert actions == ["sheet_submitted", "sheet_reopened", "sheet_submitted"]
        before = json.loads(last_event("sheet_submitted").before)
        assert before["marks"]["首長決心與持續作為"] == "80" and before["status"] == "draft"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_reopen_needs_a_reason(judging_app, world, reason):
    submit_all(judging_app, world, {("judge1", "甲"): [80] * 5})
    organizer = login_client(judging_app, "organizer")
    with judging_app.app_context():
        sheet_id, count = sheet_of(world, "judge1", "甲").id, audit_count()
    response = organizer.post(f"/judging/sheets/{sheet_id}/reopen", data={"reason": reason})
    assert response.status_code == 400
    assert f'id="reason-{sheet_id}-error"' in _html(response)
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲").status is SheetStatus.SUBMITTED and audit_count() == count


def test_only_an_organiser_reopens_and_only_a_submitted_sheet(judging_app, world):
    judge1 = login_client(judging_app, "judge1")
    post_sheet(judge1, world, "judge1", "甲", 80)
    with judging_app.app_context():
        sheet_id = sheet_of(world, "judge1", "甲").id
    assert judge1.post(f"/judging/sheets/{sheet_id}/reopen", data={"reason": "r"}).status_code == 403
    assert judge1.get(f"/judging/stages/{world.stage_id}/sheets").status_code == 403
    response = login_client(judging_app, "organizer").post(f"/judging/sheets/{sheet_id}/reopen", data={"reason": "r"})
    assert response.status_code == 400  # a draft: nothing to reopen
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲").reopened_reason == ""


# --- no peeking -------------------------------------------------------------------------------------------

def test_no_judge_sees_another_judges_marks_before_the_discussion(judging_app, world):
    submit_all(judging_app, world, {("judge2", "甲"): ["73.5", "61.5", "77.5", "59.5", "66.5"]})
    judge1 = login_client(judging_app, "judge1")
    pages = [judge1.get("/judging/"), judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"),
             judge1.get(f"/judging/stages/{world.stage_id}/discussion")]
    assert [p.status_code for p in pages] == [200, 200, 200]
    for page in pages:
        html = _html(page)
        for mark in ("73.5", "61.5", "77.5", "59.5", "66.5"):
            assert mark not in html


def test_a_reopened_sheet_may_be_corrected_after_the_window_closed(judging_app, world):
    from datetime import timedelta

    from award.models import utcnow

    judge1 = login_client(judging_app, "judge1")
    post_sheet(judge1, world, "judge1", "甲", 80, action="submit", confirm=True)
    post_sheet(judge1, world, "judge1", "乙", 70)  # a plain draft
    with judging_app.app_context():
        s = stage(world.stage_id)
        s.closes_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        sheet_id = sheet_of(world, "judge1", "甲").id
    login_client(judging_app, "organizer").post(f"/judging/sheets/{sheet_id}/reopen", data={"reason": "請更正第一項"})
    assert post_sheet(judge1, world, "judge1", "乙", 75, version=1).status_code == 400  # closed for drafts
    page = _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))
    assert 'id="sheet-window"' not in page and 'id="submit-sheet"' in page
    assert post_sheet(judge1, world, "judge1", "甲", 85, version=2, action="submit", confirm=True).status_code == 303
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲").status is SheetStatus.SUBMITTED
