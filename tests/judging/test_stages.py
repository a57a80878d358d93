"""Advancing entries to the next stage: top-N, threshold or by hand, with the basis recorded."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from award.extensions import db
from award.judging import stages as stage_ops
from award.models import Assignment, AssignmentStatus, Stage, StageEntry

from test_sheets_support import (audit_count, judging_app, last_event, login_client, stage, submit_all,  # noqa: F401
                                 user, world)

# Totals: 甲 80, 乙 72.34 (70, 72, 75; the stage rounds each criterion first), 丙 62.34.
MARKS = {
    ("judge1", "甲"): [80] * 5, ("judge2", "甲"): [80] * 5, ("judge3", "甲"): [80] * 5,
    ("judge1", "乙"): [70] * 5, ("judge2", "乙"): [72] * 5, ("judge3", "乙"): [75] * 5,
    ("judge1", "丙"): [60] * 5, ("judge2", "丙"): [65] * 5, ("judge3", "丙"): [62] * 5,
}


@pytest.fixture
def scored(judging_app, world):
    submit_all(judging_app, world, MARKS)
    return world


@pytest.fixture
def organizer(judging_app, world):
    return login_client(judging_app, "organizer")


def _advanced(world) -> dict[int, StageEntry]:
    db.session.expire_all()
    rows = db.session.scalars(select(StageEntry).where(StageEntry.stage_id == world.next_stage_id))
    return {row.entry_id: row for row in rows}


def _html(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_shows_ranking_totals_and_rank_confidence(judging_app, scored, organizer):
    response = organizer.get(f"/judging/stages/{scored.stage_id}/advance")
    assert response.status_code == 200
    html = _html(response)
    rows = re.findall(r'<tr id="rank-entry-(\d+)"', html)
    assert [int(r) for r in rows] == [scored.entries["甲"], scored.entries["乙"], scored.entries["丙"]]
    first = re.search(rf'id="rank-entry-{scored.entries["甲"]}".*?</tr>', html, re.S).group(0)
    assert "80.00" in first and re.search(r"\d–\d", first)  # total and rank interval
    assert 'name="method"' in html and 'name="top_n"' in html and 'name="threshold"' in html


def test_top_n_per_category_advances_with_the_basis_recorded(judging_app, scored, organizer):
    response = organizer.post(f"/judging/stages/{scored.stage_id}/advance", data={"method": "top_n", "top_n": "2"})
    assert response.status_code == 303
    with judging_app.app_context():
        advanced = _advanced(scored)
        assert set(advanced) == {scored.entries["甲"], scored.entries["乙"]}
        basis = advanced[scored.entries["乙"]].basis
        assert "top 2 per category" in basis and "aggregation mean" in basis and "rank 2 of 3" in basis
        assert "72.34" in basis  # rounded per criterion first (round_each_stage) and "整體廉能作為類" in basis
        assert advanced[scored.entries["甲"]].decided_by_id == user("organizer").id
        event = last_event("entries_advanced")
        after = json.loads(event.after)
        assert after["method"] == "top_n" and after["top_n"] == 2 and after["aggregation"] == "mean"
        assert after["to_stage"]["id"] == scored.next_stage_id and after["forced"] is False
        assert [e["entry_id"] for e in after["entries"]] == [scored.entries["甲"], scored.entries["乙"]]
        assert after["entries"][1]["rank"] == 2 and after["entries"][1]["total"] == "72.34"
    page = _html(organizer.get(f"/judging/stages/{scored.stage_id}/advance"))
    assert f'name="entries" value="{scored.entries["甲"]}"' not in page  # shown as advanced


def test_threshold_advances_every_entry_at_or_above_it(judging_app, scored, organizer):
    response = organizer.post(f"/judging/stages/{scored.stage_id}/advance",
                              data={"method": "threshold", "threshold": "７２．３４"})
    assert response.status_code == 303
    with judging_app.app_context():
        advanced = _advanced(scored)
        assert set(advanced) == {scored.entries["甲"], scored.entries["乙"]}
        assert "total at least 72.34" in advanced[scored.entries["甲"]].basis
        assert json.loads(last_event("entries_advanced").after)["threshold"] == "72.34"


def test_manual_choice_advances_the_ticked_entries(judging_app, scored, organizer):
    response = organizer.post(f"/judging/stages/{scored.stage_id}/advance",
                              data={"method": "manual", "entries": [str(scored.entries["丙"])]})
    assert response.status_code == 303
    with judging_app.app_context():
        advanced = _advanced(scored)
        assert set(advanced) == {scored.entries["丙"]}
        assert "chosen by hand" in advanced[scored.entries["丙"]].basis
        assert "rank 3 of 3" in advanced[scored.entries["丙"]].basis


def test_unsubmitted_sheets_stop_the_decision_unless_the_organiser_insists(judging_app, world, organizer):
    submit_all(judging_app, world, {k: v for k, v in MARKS.items() if k != ("judge3", "丙")})
    with judging_app.app_context():
        count = audit_count()
    response = organizer.post(f"/judging/stages/{world.stage_id}/advance", data={"method": "top_n", "top_n": "1"})
    assert response.status_code == 400
    html = _html(response)
    assert 'id="advance-message"' in html and "1" in re.search(r'id="advance-message">\s*<h2>(.*?)</h2>', html, re.S).group(1)
    with judging_app.app_context():
        assert _advanced(world) == {} and audit_count() == count
    response = organizer.post(f"/judging/stages/{world.stage_id}/advance",
                              data={"method": "top_n", "top_n": "1", "force": "y"})
    assert response.status_code == 303
    with judging_app.app_context():
        advanced = _advanced(world)
        assert set(advanced) == {world.entries["甲"]}
        assert "1 score sheet(s) of the stage not submitted" in advanced[world.entries["甲"]].basis
        after = json.loads(last_event("entries_advanced").after)
        assert after["forced"] is True and after["unsubmitted_sheets"] == 1


def test_the_last_stage_has_nowhere_to_advance_to(judging_app, scored, organizer):
    page = organizer.get(f"/judging/stages/{scored.next_stage_id}/advance")
    assert page.status_code == 200 and 'id="no-next-stage"' in _html(page)
    response = organizer.post(f"/judging/stages/{scored.next_stage_id}/advance",
                              data={"method": "top_n", "top_n": "1"})
    assert response.status_code == 400
    with judging_app.app_context():
        assert db.session.scalar(select(func.count(StageEntry.id)).where(
            StageEntry.stage_id == scored.next_stage_id)) == 0


@pytest.mark.parametrize("data, field", [
    ({"method": "top_n", "top_n": ""}, "top_n"),
    ({"method": "top_n", "top_n": "0"}, "top_n"),
    ({"method": "top_n", "top_n": "abc"}, "top_n"),
    ({"method": "threshold", "threshold": "很多"}, "threshold"),
    ({"method": "threshold", "threshold": ""}, "threshold"),
    ({"method": "manual"}, "entries"),
    ({"method": "lottery"}, "method"),
])
def test_an_incomplete_choice_is_refused(judging_app, scored, organizer, data, field):
    response = organizer.post(f"/judging/stages/{scored.stage_id}/advance", data=data)
    assert response.status_code == 400
    assert f'id="{field}-error"' in _html(response)
    with judging_app.app_context():
        assert _advanced(scored) == {}


def test_entries_already_advanced_are_not_advanced_twice(judging_app, scored, organizer):
    url = f"/judging/stages/{scored.stage_id}/advance"
    assert organizer.post(url, data={"method": "top_n", "top_n": "1"}).status_code == 303
    assert organizer.post(url, data={"method": "top_n", "top_n": "1"}).status_code == 400  # nothing new
    assert organizer.post(url, data={"method": "top_n", "top_n": "2"}).status_code == 303
    with judging_app.app_context():
        assert set(_advanced(scored)) == {scored.entries["甲"], scored.entries["乙"]}
        assert json.loads(last_event("entries_advanced").after)["already_in_next_stage"] == [scored.entries["甲"]]


def test_a_manual_choice_outside_the_stage_is_refused(judging_app, scored, organizer):
    response = organizer.post(f"/judging/stages/{scored.stage_id}/advance",
                              data={"method": "manual", "entries": ["999999"]})
    assert response.status_code == 400
    with judging_app.app_context():
        assert _advanced(scored) == {}


def test_only_organisers_advance(judging_app, scored):
    judge1 = login_client(judging_app, "judge1")
    assert judge1.get(f"/judging/stages/{scored.stage_id}/advance").status_code == 403
    assert judge1.post(f"/judging/stages/{scored.stage_id}/advance",
                       data={"method": "top_n", "top_n": "3"}).status_code == 403
    with judging_app.app_context():
        with pytest.raises(stage_ops.StageError):
            stage_ops.advance_entries(user("judge1"), stage(scored.stage_id), stage_ops.AdvanceRequest("top_n", 3))
        assert _advanced(scored) == {}


def test_next_stage_follows_position_and_unsubmitted_counts_confirmed_assignments(judging_app, world):
    with judging_app.app_context():
        first = stage(world.stage_id)
        extra = Stage(edition_id=first.edition_id, name="決審會議", position=5)
        db.session.add(extra)
        db.session.commit()
        assert stage_ops.next_stage(first).id == world.next_stage_id
        assert stage_ops.next_stage(stage(world.next_stage_id)).id == extra.id
        assert stage_ops.next_stage(extra) is None
        assert stage_ops.unsubmitted_count(first) == 9
        withdrawn = db.session.get(Assignment, world.assignment("judge1", "甲"))
        withdrawn.status = AssignmentStatus.WITHDRAWN
        db.session.commit()
        assert stage_ops.unsubmitted_count(first) == 8
    submit_all(judging_app, world, {("judge2", "甲"): [Decimal(80)] * 5})
    with judging_app.app_context():
        assert stage_ops.unsubmitted_count(stage(world.stage_id)) == 7


def test_advancing_takes_an_audit_checkpoint(judging_app, scored, organizer):
    from award.models import AuditCheckpoint

    response = organizer.post(f"/judging/stages/{scored.stage_id}/advance", data={"method": "top_n", "top_n": "1"})
    assert response.status_code == 303
    with judging_app.app_context():
        checkpoint = db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()))
        event = last_event("entries_advanced")
        assert checkpoint.reason.startswith("stage advanced: ") and checkpoint.event_count == event.seq
        assert last_event("audit.checkpoint").seq == event.seq + 1
