"""Score sheets: drafts, submission and its lock, validation of every mark, extremes, versions, audit."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

import scoring
from award import scoring_adapter
from award.extensions import db
from award.judging.sheets import SheetConflict, SheetError, parse_score, save_sheet
from award.models import Assignment, Category, ScoreSheet, SheetStatus, utcnow

from test_sheets_support import (audit_count, judging_app, last_event, login_client, post_sheet,  # noqa: F401
                                 scores_of, sheet_of, stage, user, world)


@pytest.fixture
def judge1(judging_app, world):
    return login_client(judging_app, "judge1")


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- the page ------------------------------------------------------------------------------------

def test_sheet_has_one_bounded_field_and_comment_per_criterion(judging_app, world, judge1):
    response = judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}")
    assert response.status_code == 200
    html = _html(response)
    for criterion_id in world.criteria:
        # A text field (a number field would silently empty "８５"); the server checks range and step.
        field = re.search(rf'<input type="text"[^>]*id="score-{criterion_id}"[^>]*>', html, re.S).group(0)
        assert 'data-min="0"' in field and 'data-max="100"' in field and 'data-step="0.5"' in field
        assert 'inputmode="decimal"' in field and "data-weight=" in field and 'data-max="100"' in field
        assert f'name="comment-{criterion_id}"' in html
    assert 'name="version" value="0"' in html
    assert 'name="comment"' in html and 'name="confirm_final"' in html
    assert "跨島協作的廉能治理摘要" in html  # the entry's summary
    assert "js/score-sheet.js" in html and "<script>" not in html


def test_draft_save_writes_marks_version_and_audit_with_engine_total(judging_app, world, judge1):
    scores = [80, 85.5, 90, 70, 60]
    response = post_sheet(judge1, world, "judge1", "甲", scores, comments={1: "具體"}, overall="整體良好")
    assert response.status_code == 303
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert sheet.status is SheetStatus.DRAFT and sheet.version == 1 and sheet.comment == "整體良好"
        assert scores_of(sheet) == {cid: Decimal(str(s)) for cid, s in zip(world.criteria, scores)}
        category = db.session.get(Category, world.category_id)
        engine = scoring.weighted_total(scoring_adapter.to_criteria(category.criteria),
                                        {str(cid): Decimal(str(s)) for cid, s in zip(world.criteria, scores)})
        event = last_event("sheet_saved")
        assert event.before is None
        after = json.loads(event.after)
        assert after["total"] == format(engine.normalize(), "f")
        assert after["marks"]["資訊與行政透明"] == "85.5" and after["status"] == "draft" and after["version"] == 1
        assert after["comments"] == {"資訊與行政透明": "具體"}
    page = _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))
    assert 'value="85.5"' in page and 'name="version" value="1"' in page
    assert '<output id="live-total"' in page and format(engine.normalize(), "f") in page


def test_second_save_bumps_version_and_records_before_and_after(judging_app, world, judge1):
    post_sheet(judge1, world, "judge1", "甲", 80)
    response = post_sheet(judge1, world, "judge1", "甲", [80, 80, 80, 80, 75], version=1)
    assert response.status_code == 303
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲").version == 2
        event = last_event("sheet_saved")
        before, after = json.loads(event.before), json.loads(event.after)
        assert before["marks"]["廉能創新與擴散"] == "80" and after["marks"]["廉能創新與擴散"] == "75"
        assert before["total"] == "80" and after["total"] == "79.25"  # 15 points × 75/100 = 11.25


def test_saving_nothing_new_records_nothing(judging_app, world, judge1):
    post_sheet(judge1, world, "judge1", "甲", 80)
    with judging_app.app_context():
        count = audit_count()
    assert post_sheet(judge1, world, "judge1", "甲", 80, version=1).status_code == 303
    with judging_app.app_context():
        assert audit_count() == count and sheet_of(world, "judge1", "甲").version == 1


def test_submit_locks_the_sheet(judging_app, world, judge1):
    response = post_sheet(judge1, world, "judge1", "甲", 80, action="submit", confirm=True)
    assert response.status_code == 303
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert sheet.status is SheetStatus.SUBMITTED and sheet.submitted_at is not None and sheet.version == 1
        after = json.loads(last_event("sheet_submitted").after)
        assert after["status"] == "submitted" and after["total"] == "80"
        count = audit_count()
    page = _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))
    assert 'id="sheet-locked"' in page and 'id="score-form"' not in page
    refused = post_sheet(judge1, world, "judge1", "甲", 50, version=1)
    assert refused.status_code == 400
    assert '<td class="num">80</td>' in _html(refused) and '<td class="num">50</td>' not in _html(refused)
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert set(scores_of(sheet).values()) == {Decimal(80)} and sheet.status is SheetStatus.SUBMITTED
        assert audit_count() == count


def test_submit_needs_the_confirmation_tick(judging_app, world, judge1):
    response = post_sheet(judge1, world, "judge1", "甲", 80, action="submit")
    assert response.status_code == 400
    assert 'id="confirm_final-error"' in _html(response) and 'value="80"' in _html(response)
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None


def test_submit_needs_every_criterion_marked(judging_app, world, judge1):
    response = post_sheet(judge1, world, "judge1", "甲", [80, 80, None, 80, 80], action="submit", confirm=True)
    assert response.status_code == 400
    assert f'id="score-{world.criteria[2]}-error"' in _html(response)
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None


# --- every mark is checked, and a refusal writes nothing --------------------------------------------

@pytest.mark.parametrize("bad", ["101", "-1", "85.3", "abc", "NaN", "Infinity", "1e2", "85.00001", "8 5 a"])
def test_a_bad_mark_is_refused_with_nothing_written(judging_app, world, judge1, bad):
    with judging_app.app_context():
        count = audit_count()
    response = post_sheet(judge1, world, "judge1", "甲", [80, bad, 80, 80, 80])
    assert response.status_code == 400
    html = _html(response)
    assert f'id="score-{world.criteria[1]}-error"' in html
    assert f'value="{bad}"' in html  # what the judge typed is still there
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None and audit_count() == count


def test_a_bad_mark_on_a_saved_sheet_changes_nothing(judging_app, world, judge1):
    post_sheet(judge1, world, "judge1", "甲", 80)
    response = post_sheet(judge1, world, "judge1", "甲", [90, 90, 90, 90, 85.3], version=1)
    assert response.status_code == 400
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert sheet.version == 1 and set(scores_of(sheet).values()) == {Decimal(80)}


def test_full_width_digits_are_read(judging_app, world, judge1):
    assert post_sheet(judge1, world, "judge1", "甲", ["８５．５", " 90 ", "７０", "60", "50"]).status_code == 303
    with judging_app.app_context():
        assert list(scores_of(sheet_of(world, "judge1", "甲")).values())[:3] == [Decimal("85.5"), 90, 70]


@pytest.mark.parametrize("text, value", [("85", Decimal(85)), ("85.5", Decimal("85.5")), ("８５", Decimal(85)),
                                         ("", None), (" ", None), (7.5, Decimal("7.5")), (Decimal("1.0"), Decimal("1.0"))])
def test_parse_score(text, value):
    assert parse_score(text) == value


@pytest.mark.parametrize("text", ["abc", "NaN", "inf", "1e2", "85,5", "--1", True])
def test_parse_score_refuses(text):
    with pytest.raises(ValueError):
        parse_score(text)


# --- extremes need a comment ------------------------------------------------------------------------

def test_extreme_marks_may_be_drafted_but_are_flagged(judging_app, world, judge1):
    response = post_sheet(judge1, world, "judge1", "甲", [100, 0, 80, 80, 80])
    assert response.status_code == 303
    page = _html(judge1.get(response.headers["Location"]))
    assert "flash-warning" in page
    assert page.count("needs-comment") >= 2


def test_extreme_marks_need_a_comment_to_submit(judging_app, world, judge1):
    response = post_sheet(judge1, world, "judge1", "甲", [100, 0, 80, 80, 80], comments={0: "卓越"},
                          action="submit", confirm=True)
    assert response.status_code == 400
    html = _html(response)
    assert f'id="comment-{world.criteria[1]}-error"' in html  # 0 without a comment
    assert f'id="comment-{world.criteria[0]}-error"' not in html  # 100 with one
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None
    ok = post_sheet(judge1, world, "judge1", "甲", [100, 0, 80, 80, 80], comments={0: "卓越", 1: "未提出具體作為"},
                    action="submit", confirm=True)
    assert ok.status_code == 303
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲").status is SheetStatus.SUBMITTED


# --- concurrent saves ------------------------------------------------------------------------------

def test_a_stale_save_is_refused_and_both_versions_are_shown(judging_app, world, judge1):
    post_sheet(judge1, world, "judge1", "甲", 80)  # version 1, seen by both tabs
    assert post_sheet(judge1, world, "judge1", "甲", [81, 81, 81, 81, 81], version=1).status_code == 303  # tab A
    response = post_sheet(judge1, world, "judge1", "甲", [92.5, 92.5, 92.5, 92.5, 92.5],
                          comments={0: "B 分頁的評語"}, version=1)  # tab B, stale
    assert response.status_code == 409
    html = _html(response)
    assert 'value="92.5"' in html and "B 分頁的評語" in html  # what tab B typed
    assert f'id="score-{world.criteria[0]}-saved"' in html and "81" in html  # what tab A saved
    assert 'name="version" value="2"' in html  # the next save builds on what is saved now
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert sheet.version == 2 and set(scores_of(sheet).values()) == {Decimal(81)}
    assert post_sheet(judge1, world, "judge1", "甲", 92.5, version=2).status_code == 303


def test_two_first_saves_cannot_both_create_the_sheet(judging_app, world):
    with judging_app.app_context():
        assignment = db.session.get(Assignment, world.assignment("judge1", "甲"))
        judge = user("judge1")
        save_sheet(judge, assignment, {world.criteria[0]: ("80", "")}, "", base_version=0)
        with pytest.raises(SheetConflict) as refused:
            save_sheet(judge, assignment, {world.criteria[0]: ("90", "")}, "", base_version=0)
        assert refused.value.current.version == 1
        assert refused.value.current.marks[world.criteria[0]][0] == Decimal(80)


# --- the operation as the offline sheets use it -----------------------------------------------------

def test_save_sheet_keeps_criteria_it_is_not_given(judging_app, world):
    with judging_app.app_context():
        assignment = db.session.get(Assignment, world.assignment("judge2", "乙"))
        judge = user("judge2")
        first = save_sheet(judge, assignment, {cid: (Decimal(70), "") for cid in world.criteria}, "", 0)
        second = save_sheet(judge, assignment, {world.criteria[0]: (75, "較佳")}, "新增總評", first.version)
        assert second.version == 2
        assert scores_of(second)[world.criteria[0]] == 75 and scores_of(second)[world.criteria[4]] == 70
        with pytest.raises(SheetError) as refused:
            save_sheet(judge, assignment, {999999: (70, "")}, "", second.version)
        assert "999999" in refused.value.message


def test_another_judges_assignment_cannot_be_used(judging_app, world):
    with judging_app.app_context():
        assignment = db.session.get(Assignment, world.assignment("judge2", "乙"))
        with pytest.raises(SheetError):
            save_sheet(user("judge1"), assignment, {world.criteria[0]: (70, "")}, "", 0)
        assert sheet_of(world, "judge1", "乙") is None and sheet_of(world, "judge2", "乙") is None


def test_an_excluded_sheet_cannot_be_saved(judging_app, world, judge1):
    post_sheet(judge1, world, "judge1", "甲", 80)
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        sheet.excluded, sheet.excluded_reason = True, "委員退出"
        db.session.commit()
    assert post_sheet(judge1, world, "judge1", "甲", 90, version=1).status_code == 400
    with judging_app.app_context():
        assert set(scores_of(sheet_of(world, "judge1", "甲")).values()) == {Decimal(80)}


@pytest.mark.parametrize("when", ["before", "after"])
def test_outside_the_stage_window_nothing_is_saved(judging_app, world, judge1, when):
    with judging_app.app_context():
        s = stage(world.stage_id)
        now = utcnow()
        if when == "before":
            s.opens_at, s.closes_at = now + timedelta(hours=1), now + timedelta(days=2)
        else:
            s.opens_at, s.closes_at = now - timedelta(days=2), now - timedelta(minutes=1)
        db.session.commit()
    page = _html(judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}"))
    assert 'id="sheet-window"' in page and 'id="submit-sheet"' not in page
    response = post_sheet(judge1, world, "judge1", "甲", 80)
    assert response.status_code == 400
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None


# --- the judge's dashboard ----------------------------------------------------------------------------

def test_dashboard_lists_entries_per_stage_with_progress(judging_app, world, judge1):
    post_sheet(judge1, world, "judge1", "甲", 80, action="submit", confirm=True)
    post_sheet(judge1, world, "judge1", "乙", 70)
    with judging_app.app_context():
        pending = db.session.get(Assignment, world.assignment("judge1", "丙"))
        pending.status = pending.status.ASSIGNED
        db.session.commit()
    html = _html(judge1.get("/judging/"))
    assert re.search(r'data-count="submitted">1<', html) and re.search(r'data-count="draft">1<', html)
    assert re.search(r'data-count="pending">1<', html)
    assert f'id="assignment-{world.assignment("judge1", "甲")}" data-state="submitted"' in html
    assert f'id="assignment-{world.assignment("judge1", "乙")}" data-state="draft"' in html
    pending_row = re.search(rf'id="assignment-{world.assignment("judge1", "丙")}".*?</tr>', html, re.S).group(0)
    assert 'data-state="pending"' in pending_row and "離島工程稽核" not in pending_row  # not shown before the check
    assert "澎湖縣政府" in html  # not a blind stage


def test_the_offline_sheet_is_offered_only_while_something_is_left_to_score(judging_app, world, judge1):
    html = _html(judge1.get("/judging/"))
    assert 'id="offline-' in html and 'id="all-submitted-' not in html
    for title in ("甲", "乙", "丙"):
        assert post_sheet(judge1, world, "judge1", title, 80, action="submit", confirm=True).status_code == 303
    html = _html(judge1.get("/judging/"))
    assert 'id="offline-' not in html and "/offline" not in html  # no download that leads to "nothing to fill"
    assert 'id="all-submitted-' in html


def test_dashboard_leaves_out_tied_and_declared_entries(judging_app, world, judge1):
    from award.models import AssignmentStatus, Tie, TieKind

    from test_sheets_support import agency

    with judging_app.app_context():
        db.session.add(Tie(judge_id=world.judges["judge1"], agency_id=agency("DEMO-C1000").id, kind=TieKind.FAMILY))
        declared = db.session.get(Assignment, world.assignment("judge1", "乙"))
        declared.status = AssignmentStatus.CONFLICTED
        db.session.commit()
    html = _html(judge1.get("/judging/"))
    assert "跨島協作的廉能治理" not in html and "採購透明化平台" not in html and "離島工程稽核" in html


def test_dashboard_is_for_judges(judging_app, world):
    assert login_client(judging_app, "organizer").get("/judging/").status_code == 403
    assert login_client(judging_app, "penghu").get("/judging/").status_code == 403
    assert judging_app.test_client().get("/judging/").status_code == 302


def test_submitted_totals_feed_the_stage_ranking(judging_app, world, judge1):
    post_sheet(judge1, world, "judge1", "甲", [90, 85, 80, 75, 70], action="submit", confirm=True)
    with judging_app.app_context():
        category = db.session.get(Category, world.category_id)
        result = scoring_adapter.rank(stage(world.stage_id), category)
        sheet = db.session.scalar(select(ScoreSheet))
        assert result.entries[0].judge_totals[str(world.judges["judge1"])] == Decimal("80.50")
        assert json.loads(last_event("sheet_submitted").after)["total"] == "80.5"
        assert sheet.status is SheetStatus.SUBMITTED


def test_save_sheet_can_leave_the_commit_to_the_caller(judging_app, world):
    with judging_app.app_context():
        judge = user("judge1")
        for key in ("甲", "乙"):
            assignment = db.session.get(Assignment, world.assignment("judge1", key))
            save_sheet(judge, assignment, {cid: (80, "") for cid in world.criteria}, "", 0, commit=False)
        db.session.rollback()  # e.g. a later sheet of the same workbook was refused
        assert sheet_of(world, "judge1", "甲") is None and sheet_of(world, "judge1", "乙") is None
        assert last_event("sheet_saved") is None


def test_an_overlong_comment_is_refused_and_kept(judging_app, world, judge1):
    long_comment = "評" * 2001
    response = post_sheet(judge1, world, "judge1", "甲", 80, comments={2: long_comment})
    assert response.status_code == 400
    assert f'id="comment-{world.criteria[2]}-error"' in _html(response) and long_comment in _html(response)
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None
