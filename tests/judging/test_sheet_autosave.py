"""The score sheet's save on leave (score-sheet.js): the sheet's own POST with X-Award-Autosave: 1,
the same checks as "Save draft", answered in JSON; never a submission, never anybody else's sheet."""

from __future__ import annotations

from decimal import Decimal

from award.models import SheetStatus
from test_sheets_support import form, judging_app, login_client, sheet_of, world  # noqa: F401

AUTOSAVE = {"X-Award-Autosave": "1"}


def _post(client, world, data, judge="judge1", entry="甲"):
    return client.post(f"/judging/sheets/{world.assignment(judge, entry)}", data=data, headers=AUTOSAVE)


def test_a_leave_save_stores_a_draft_and_answers_the_new_version(judging_app, world):
    judge1 = login_client(judging_app, "judge1")
    data = form(world, ["80", "70", None, None, None], {0: "離開前寫的評語"}, version=0)
    data.pop("action", None)
    response = _post(judge1, world, data)
    assert response.status_code == 200 and response.json["ok"] is True and response.json["version"] == 1
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert sheet.status is SheetStatus.DRAFT and sheet.version == 1
        assert {m.criterion_id: m.score for m in sheet.marks if m.score is not None} == {
            world.criteria[0]: Decimal(80), world.criteria[1]: Decimal(70)}
    # the page's version follows: the next save (on leave or by the button) is no conflict
    again = _post(judge1, world, {**data, "version": "1", f"score-{world.criteria[2]}": "60"})
    assert again.json == {"ok": True, "version": 2, "total": again.json["total"]}


def test_a_stale_version_is_a_409_and_overwrites_nothing(judging_app, world):
    judge1 = login_client(judging_app, "judge1")
    assert _post(judge1, world, form(world, ["80"] + [None] * 4, version=0)).status_code == 200
    response = _post(judge1, world, form(world, ["10"] + [None] * 4, version=0))
    assert response.status_code == 409 and response.json["ok"] is False and response.json["conflict"] is True
    with judging_app.app_context():
        assert [m.score for m in sheet_of(world, "judge1", "甲").marks if m.score is not None] == [Decimal(80)]


def test_a_mark_out_of_range_is_refused_in_json_and_nothing_saved(judging_app, world):
    judge1 = login_client(judging_app, "judge1")
    response = _post(judge1, world, form(world, ["150", "70", None, None, None], version=0))
    assert response.status_code == 400 and response.json["ok"] is False and response.json["message"]
    assert f"score-{world.criteria[0]}" in response.json["errors"]
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None


def test_a_leave_save_never_submits(judging_app, world):
    judge1 = login_client(judging_app, "judge1")
    data = form(world, ["80", "70", "60", "50", "40"], version=0, action="submit", confirm=True)
    response = _post(judge1, world, data)
    assert response.status_code == 200 and response.json["ok"] is True
    with judging_app.app_context():
        sheet = sheet_of(world, "judge1", "甲")
        assert sheet.status is SheetStatus.DRAFT and sheet.submitted_at is None  # saved, not submitted


def test_nobody_else_saves_through_it(judging_app, world):
    data = form(world, ["80"] + [None] * 4, version=0)
    for who in ("judge2", "organizer", "penghu"):
        response = login_client(judging_app, who).post(
            f"/judging/sheets/{world.assignment('judge1', '甲')}", data=data, headers=AUTOSAVE)
        assert response.status_code in (403, 404), who
    with judging_app.app_context():
        assert sheet_of(world, "judge1", "甲") is None
