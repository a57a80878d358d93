"""The panel's discussion view: closed to judges until the organiser opens it, then only their entries."""

from __future__ import annotations

import json
import re

import pytest

from award.extensions import db
from award.models import Aggregation, Assignment, AssignmentStatus, Tie, TieKind

from test_sheets_support import (agency, judging_app, last_event, login_client, stage, submit_all,  # noqa: F401
                                 world)

# judge2's marks are distinctive, so a page that shows them is easy to spot.
MARKS = {
    ("judge1", "甲"): [80, 80, 80, 80, 80], ("judge2", "甲"): ["73.5", "61.5", "77.5", "59.5", "66.5"],
    ("judge3", "甲"): [85, 85, 85, 85, 85],
    ("judge1", "乙"): [70, 70, 70, 70, 70], ("judge2", "乙"): [72, 72, 72, 72, 72], ("judge3", "乙"): [75, 75, 75, 75, 75],
    ("judge1", "丙"): [60, 60, 60, 60, 60], ("judge2", "丙"): [65, 65, 65, 65, 65], ("judge3", "丙"): [62, 62, 62, 62, 62],
}


@pytest.fixture
def scored(judging_app, world):
    submit_all(judging_app, world, MARKS)
    return world


def _html(response) -> str:
    return response.get_data(as_text=True)


def _open(app, world, is_open: bool = True):
    response = login_client(app, "organizer").post(f"/judging/stages/{world.stage_id}/discussion",
                                                   data={"discussion": "open" if is_open else "close"})
    assert response.status_code == 303


def test_closed_discussion_shows_a_judge_nothing(judging_app, scored):
    response = login_client(judging_app, "judge1").get(f"/judging/stages/{scored.stage_id}/discussion")
    assert response.status_code == 200
    html = _html(response)
    assert 'id="discussion-closed"' in html and "73.5" not in html and "85" not in html


def test_the_organiser_previews_with_names_and_opens_it_with_an_audit_record(judging_app, scored):
    organizer = login_client(judging_app, "organizer")
    preview = _html(organizer.get(f"/judging/stages/{scored.stage_id}/discussion"))
    assert "73.5" in preview and "陳評審委員" in preview  # judge2 by name, for the organiser
    _open(judging_app, scored)
    with judging_app.app_context():
        assert stage(scored.stage_id).discussion_open is True
        event = last_event("discussion_opened")
        assert json.loads(event.before) == {"discussion_open": False}
        assert json.loads(event.after)["discussion_open"] is True
    _open(judging_app, scored, False)
    with judging_app.app_context():
        assert stage(scored.stage_id).discussion_open is False
        assert json.loads(last_event("discussion_closed").after)["discussion_open"] is False


def test_open_discussion_shows_the_panel_anonymised_with_spread_and_diagnostics(judging_app, scored):
    _open(judging_app, scored)
    html = _html(login_client(judging_app, "judge1").get(f"/judging/stages/{scored.stage_id}/discussion"))
    assert "73.5" in html  # judge2's mark on 甲
    assert "陳評審委員" not in html and "黃評審委員" not in html  # the others are letters
    assert "Judge A" in html or "委員A" in html or "委員 A" in html
    entry = re.search(rf'id="entry-{scored.entries["甲"]}".*?</article>', html, re.S).group(0)
    assert "73.5–85" in entry  # lowest–highest on the first criterion
    assert "5.77" in entry  # sample SD of 80, 73.5, 85 on it
    assert "Kendall" in html


def test_a_judge_sees_only_entries_they_scored_and_never_a_tied_one(judging_app, scored):
    with judging_app.app_context():
        withdrawn = db.session.get(Assignment, scored.assignment("judge1", "乙"))
        withdrawn.status = AssignmentStatus.WITHDRAWN
        db.session.add(Tie(judge_id=scored.judges["judge1"], agency_id=agency("DEMO-C3000").id, kind=TieKind.OTHER))
        db.session.commit()
    _open(judging_app, scored)
    html = _html(login_client(judging_app, "judge1").get(f"/judging/stages/{scored.stage_id}/discussion"))
    assert f'id="entry-{scored.entries["甲"]}"' in html
    assert f'id="entry-{scored.entries["乙"]}"' not in html and "採購透明化平台" not in html
    assert f'id="entry-{scored.entries["丙"]}"' not in html and "離島工程稽核" not in html


def test_a_judge_without_an_assignment_in_the_stage_gets_not_found(judging_app, scored):
    with judging_app.app_context():
        for key in ("甲", "乙", "丙"):
            db.session.get(Assignment, scored.assignment("judge3", key)).status = AssignmentStatus.WITHDRAWN
        db.session.commit()
    _open(judging_app, scored)
    url = f"/judging/stages/{scored.stage_id}/discussion"
    assert login_client(judging_app, "judge3").get(url).status_code == 404
    assert login_client(judging_app, "penghu").get(url).status_code == 404
    assert login_client(judging_app, "judge1").get(f"/judging/stages/{scored.next_stage_id}/discussion").status_code == 404
    assert login_client(judging_app, "judge1").post(url, data={"discussion": "close"}).status_code == 403


def test_a_scoring_error_is_explained_not_a_crash(judging_app, world):
    # Trimming one mark at each end needs three judges; only two submitted.
    submit_all(judging_app, world, {k: v for k, v in MARKS.items() if k[0] != "judge3"})
    with judging_app.app_context():
        s = stage(world.stage_id)
        s.aggregation, s.trim, s.trim_level = Aggregation.TRIMMED, 1, "criterion"
        db.session.commit()
    response = login_client(judging_app, "organizer").get(f"/judging/stages/{world.stage_id}/discussion")
    assert response.status_code == 200
    assert f'id="diagnostics-problem-{world.category_id}"' in _html(response)


def test_bad_switch_value_is_refused(judging_app, world):
    response = login_client(judging_app, "organizer").post(f"/judging/stages/{world.stage_id}/discussion",
                                                           data={"discussion": "maybe"})
    assert response.status_code == 400
