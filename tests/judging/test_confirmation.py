"""The judge's per-entry confirmation that no tie exists, before anything of the entry is shown;
the judge's dashboard rows; and that a conflicted or unassigned judge gets nothing at any
judging URL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from award.extensions import db
from award.judging import assign_ops
from award.models import Assignment, AssignmentStatus, AuditEvent, Tie, TieKind

TAITUNG, GREEN_ISLAND, PENGHU = "DEMO-C4000", "DEMO-C4010", "DEMO-C1000"
SECRET_TITLE, SECRET_SUMMARY = "SECRET-TITLE-4b1e", "SECRET-SUMMARY-90ac"


@pytest.fixture
def green(jw):
    entry = jw.entry(GREEN_ISLAND, title=SECRET_TITLE)
    entry.summary = SECRET_SUMMARY
    db.session.commit()
    return entry


def test_the_confirmation_page_shows_the_agency_and_nothing_of_the_entry(jw, green):
    assignment = jw.assign(green, "judge1")
    page = jw.client("judge1").get(f"/judging/ties/confirm/{assignment.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "臺東縣綠島鄉公所" in body and "DEMO-C4010" in body and "臺東縣政府" in body  # agency, code, supervisor
    assert SECRET_TITLE not in body and SECRET_SUMMARY not in body
    assert 'id="confirm-form"' in body and 'id="tie-form"' in body


def test_confirming_no_tie_opens_the_entry(jw, green):
    assignment = jw.assign(green, "judge1")
    judge1 = jw.client("judge1")
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}")
    assert response.status_code == 302
    assert f"/confirm/{assignment.id}" not in response.headers["Location"]
    assignment = jw.refresh(assignment)
    assert assignment.status is AssignmentStatus.CONFIRMED and assignment.confirmed_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment_confirmed"))
    assert event.object_id == str(assignment.id) and event.actor_id == jw.user("judge1").id
    # Confirmed: the page sends the judge on (to the score sheet), and confirming twice changes nothing.
    before = jw.audit_count()
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 302
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 302
    assert jw.audit_count() == before


def test_declaring_a_tie_at_confirmation_records_it_and_removes_the_entry(jw, green):
    assignment = jw.assign(green, "judge1")
    judge1 = jw.client("judge1")
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}/tie", data={
        "tie-agency_id": jw.agency(TAITUNG).id, "tie-kind": "former_employer", "tie-years": "2018–2022",
        "tie-description": ""})
    assert response.status_code == 302
    [tie] = db.session.scalars(select(Tie)).all()
    assert (tie.judge_id, tie.agency.code, tie.kind) == (jw.user("judge1").id, TAITUNG, TieKind.FORMER_EMPLOYER)
    assignment = jw.refresh(assignment)
    assert assignment.status is AssignmentStatus.CONFLICTED and assignment.ended_at is not None
    assert jw.actions() [-2:] == ["tie_declared", "assignment_conflicted"]
    # From now on the judge gets nothing for this assignment.
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404


def test_a_tie_at_confirmation_must_name_this_agency_or_an_authority_above_it(jw, green):
    assignment = jw.assign(green, "judge1")
    judge1 = jw.client("judge1")
    before = jw.audit_count()
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}/tie", data={
        "tie-agency_id": jw.agency(PENGHU).id, "tie-kind": "advisory"})
    assert response.status_code == 422
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}/tie", data={
        "tie-agency_id": jw.agency(GREEN_ISLAND).id, "tie-kind": "other", "tie-description": ""})
    assert response.status_code == 422 and SECRET_TITLE not in response.get_data(as_text=True)
    assert db.session.scalar(select(Tie.id)) is None and jw.audit_count() == before
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED


def test_another_judges_assignment_is_not_found(jw, green):
    assignment = jw.assign(green, "judge1")
    judge2 = jw.client("judge2")
    assert judge2.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge2.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge2.post(f"/judging/ties/confirm/{assignment.id}/tie",
                       data={"tie-agency_id": jw.agency(GREEN_ISLAND).id, "tie-kind": "advisory"}).status_code == 404
    assert judge2.get("/judging/ties/confirm/999999").status_code == 404
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED
    assert db.session.scalar(select(Tie.id)) is None


@pytest.mark.parametrize("who", ["organizer", "greenisland"])
def test_only_judges_confirm(jw, green, who):
    assignment = jw.assign(green, "judge1")
    client = jw.client(who)
    assert client.get(f"/judging/ties/confirm/{assignment.id}").status_code == 403
    assert client.post(f"/judging/ties/confirm/{assignment.id}").status_code == 403
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED


@pytest.mark.parametrize("status", [AssignmentStatus.CONFLICTED, AssignmentStatus.WITHDRAWN])
def test_an_ended_assignment_is_not_found(jw, green, status):
    assignment = jw.assign(green, "judge1", status)
    judge1 = jw.client("judge1")
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert jw.refresh(assignment).status is status


def test_a_tie_in_the_register_wins_over_a_stale_assignment(jw, green):
    """Even if an assignment were still open, a judge tied (here through the supervisor) gets 404."""
    assignment = jw.assign(green, "judge1")
    jw.tie("judge1", TAITUNG)  # written straight to the table: the assignment is not ended
    judge1 = jw.client("judge1")
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED
    with pytest.raises(assign_ops.AssignmentError):
        assign_ops.confirm_assignment(assignment, jw.user("judge1"))


def test_a_blind_stage_still_shows_the_agency_for_the_tie_check(jw, green):
    stage = jw.stage()
    stage.blind = True
    db.session.commit()
    assignment = jw.assign(green, "judge1")
    body = jw.client("judge1").get(f"/judging/ties/confirm/{assignment.id}").get_data(as_text=True)
    assert "臺東縣綠島鄉公所" in body and SECRET_TITLE not in body


def test_dashboard_rows_hide_the_title_until_confirmed(jw, green):
    penghu = jw.entry(PENGHU, category=1, title="澎湖案")
    pending = jw.assign(green, "judge1")
    confirmed = jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    jw.assign(jw.entry("DEMO-C2000"), "judge1", AssignmentStatus.WITHDRAWN)
    jw.sheet(penghu, "judge1", submitted=False)
    [stage] = assign_ops.judge_dashboard_rows(jw.user("judge1"))
    assert stage.stage_id == jw.stage().id and stage.pending == 1
    rows = {r.assignment_id: r for r in stage.rows}
    assert set(rows) == {pending.id, confirmed.id}
    assert rows[pending.id].confirmation_pending and rows[pending.id].title is None
    assert rows[confirmed.id].title == "澎湖案" and rows[confirmed.id].sheet_status == "draft"
    assert rows[pending.id].category == jw.edition().categories[0].name
    assert assign_ops.judge_dashboard_rows(jw.user("judge2")) == []
    # A tie in the register hides the entry from the rows at once.
    jw.tie("judge1", TAITUNG)
    [stage] = assign_ops.judge_dashboard_rows(jw.user("judge1"))
    assert [r.assignment_id for r in stage.rows] == [confirmed.id]


def test_dashboard_snippet_renders(jw, app, green):
    from flask import render_template_string

    assignment = jw.assign(green, "judge1")
    with app.test_request_context():
        html = render_template_string('{% include "judging/ties/_dashboard.html" %}',
                                      stages=assign_ops.judge_dashboard_rows(jw.user("judge1")))
    assert f"/judging/ties/confirm/{assignment.id}" in html and SECRET_TITLE not in html


# --- every judging URL: a conflicted or unassigned judge gets nothing ---------------------------

def _fill(rule, values) -> str | None:
    url = rule.rule
    for argument in rule.arguments:
        if argument not in values:
            return None
        url = re.sub(r"<(?:[^:<>]+:)?" + argument + r">", str(values[argument]), url)
    return url


@pytest.mark.parametrize("who", ["judge2", "judge3"])
def test_every_judging_url_gives_a_conflicted_or_unassigned_judge_nothing(jw, app, green, who):
    """judge1 is assigned and confirmed; judge2 has no assignment; judge3 is tied to the agency's
    supervisor and their assignment ended. Neither sees the entry at any judging URL."""
    a1 = jw.assign(green, "judge1", AssignmentStatus.CONFIRMED)
    a3 = jw.assign(green, "judge3")
    jw.sheet(green, "judge1")
    jw.client("organizer").post("/judging/ties/register", data={
        "judge_id": jw.user("judge3").id, "agency_id": jw.agency(TAITUNG).id, "kind": "oversight"})
    assert jw.refresh(a3).status is AssignmentStatus.CONFLICTED
    values = {"assignment_id": a1.id if who == "judge2" else a3.id, "stage_id": jw.stage().id,
              "entry_id": green.id, "judge_id": jw.user("judge1").id, "category_id": green.category_id,
              "tie_id": db.session.scalar(select(Tie.id)), "sheet_id": 1, "agency_id": green.agency_id}
    client = jw.client(who)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("ties.", "judging_admin.", "judging.")):
            continue
        url = _fill(rule, values)
        if url is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={})
            body = response.get_data(as_text=True)
            assert SECRET_TITLE not in body and SECRET_SUMMARY not in body, f"{method} {url}"
            if rule.endpoint not in ("ties.mine", "judging.dashboard"):  # a judge's own pages
                assert response.status_code in (403, 404), f"{method} {url} gave {response.status_code}"
            checked += 1
    assert checked >= 10
    # Nothing changed: judge1's assignment is untouched, no tie was declared by the visitor.
    assert jw.refresh(a1).status is AssignmentStatus.CONFIRMED
    assert db.session.scalar(select(Assignment.status).where(Assignment.id == a3.id)) is AssignmentStatus.CONFLICTED
