"""The register of ties: judges declare, organisers add and retract; the hierarchy counts; a new
tie ends the judge's open assignments and voids their submitted sheets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from award.extensions import db
from award.judging import assign_ops, conflicts
from award.judging.rules import is_conflicted
from award.models import Assignment, AssignmentStatus, AuditEvent, ScoreSheet, Tie, TieKind

TAITUNG, GREEN_ISLAND, ORCHID_ISLAND, PENGHU = "DEMO-C4000", "DEMO-C4010", "DEMO-C4020", "DEMO-C1000"


def _ties(jw, who: str) -> list[Tie]:
    db.session.expire_all()
    return list(db.session.scalars(select(Tie).where(Tie.judge_id == jw.user(who).id).order_by(Tie.id)))


# --- the judge's own ties -----------------------------------------------------------------------

def test_judge_declares_a_tie_and_sees_it_listed(jw):
    judge1 = jw.client("judge1")
    page = judge1.get("/judging/ties/")
    assert page.status_code == 200 and 'id="no-ties"' in page.get_data(as_text=True)
    response = judge1.post("/judging/ties/", data={
        "agency_id": jw.agency(TAITUNG).id, "kind": "former_employer", "years": "2015–2019", "description": "曾任計畫科長"})
    assert response.status_code == 302
    [tie] = _ties(jw, "judge1")
    assert (tie.agency.code, tie.kind, tie.years, tie.description) == (TAITUNG, TieKind.FORMER_EMPLOYER, "2015–2019",
                                                                        "曾任計畫科長")
    assert tie.declared_by_id == jw.user("judge1").id and tie.retracted_at is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tie_declared"))
    assert event.object_type == "tie" and event.object_id == str(tie.id)
    assert event.actor_id == jw.user("judge1").id
    listing = judge1.get("/judging/ties/").get_data(as_text=True)
    assert f'data-tie="{tie.id}"' in listing and "臺東縣政府" in listing
    assert _ties(jw, "judge2") == []


@pytest.mark.parametrize("data, field", [
    ({"kind": "other", "description": ""}, "description"),  # "other" needs a description
    ({"kind": "former_employer", "years": ""}, "years"),  # an employer needs the years
    ({"kind": "current_employer", "years": ""}, "years"),
    ({"kind": ""}, "kind"),
    ({"kind": "advisory", "agency_id": ""}, "agency_id"),
    ({"kind": "advisory", "agency_id": "999999"}, "agency_id"),
    ({"kind": "nonsense"}, "kind"),
    ({"kind": "advisory", "years": "x" * 51}, "years"),
])
def test_an_incomplete_declaration_is_refused_and_nothing_saved(jw, data, field):
    judge1 = jw.client("judge1")
    before = jw.audit_count()
    posted = {"agency_id": jw.agency(PENGHU).id, "years": "", "description": "", **data}
    response = judge1.post("/judging/ties/", data=posted)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="problems"' in body and f'href="#{field}"' in body
    assert _ties(jw, "judge1") == [] and jw.audit_count() == before
    if posted.get("description"):
        assert posted["description"] in body  # nothing the judge typed is lost


def test_other_with_a_description_and_advisory_without_years_are_accepted(jw):
    judge2 = jw.client("judge2")
    assert judge2.post("/judging/ties/", data={"agency_id": jw.agency(PENGHU).id, "kind": "other",
                                               "description": "配偶之兄任職"}).status_code == 302
    advisory = {"agency_id": jw.agency(TAITUNG).id, "kind": "advisory"}
    assert judge2.post("/judging/ties/", data=advisory).status_code == 302
    assert [t.kind for t in _ties(jw, "judge2")] == [TieKind.OTHER, TieKind.ADVISORY]


def test_the_same_tie_twice_is_refused(jw):
    judge1 = jw.client("judge1")
    data = {"agency_id": jw.agency(PENGHU).id, "kind": "advisory"}
    assert judge1.post("/judging/ties/", data=data).status_code == 302
    assert judge1.post("/judging/ties/", data=data).status_code == 422
    assert len(_ties(jw, "judge1")) == 1


def test_agency_search_narrows_the_choices(jw):
    page = jw.client("judge1").get("/judging/ties/?q=綠島").get_data(as_text=True)
    assert f'value="{jw.agency(GREEN_ISLAND).id}"' in page
    assert f'value="{jw.agency(PENGHU).id}"' not in page
    everything = jw.client("judge1").get("/judging/ties/").get_data(as_text=True)
    assert f'value="{jw.agency(PENGHU).id}"' in everything


# --- the organiser's register -------------------------------------------------------------------

def test_organizer_adds_a_tie_for_a_judge(jw):
    organizer = jw.client("organizer")
    assert organizer.get("/judging/ties/register").status_code == 200
    response = organizer.post("/judging/ties/register", data={
        "judge_id": jw.user("judge3").id, "agency_id": jw.agency(PENGHU).id, "kind": "family", "years": "",
        "description": "女兒任職於澎湖縣政府"})
    assert response.status_code == 302
    [tie] = _ties(jw, "judge3")
    assert tie.declared_by_id == jw.user("organizer").id and tie.kind is TieKind.FAMILY
    assert jw.actions("tie") == ["tie_added_by_organizer"]
    register = organizer.get("/judging/ties/register").get_data(as_text=True)
    assert f'data-tie="{tie.id}"' in register
    # The judge sees it among their own ties.
    assert f'data-tie="{tie.id}"' in jw.client("judge3").get("/judging/ties/").get_data(as_text=True)


def test_organizer_must_choose_a_judge_not_an_agency_contact(jw):
    organizer = jw.client("organizer")
    data = {"agency_id": jw.agency(PENGHU).id, "kind": "advisory"}
    assert organizer.post("/judging/ties/register", data=data).status_code == 422
    assert organizer.post("/judging/ties/register", data={**data, "judge_id": jw.user("penghu").id}).status_code == 422
    assert db.session.scalar(select(Tie.id)) is None


def test_organizer_filters_the_register_by_judge(jw):
    t1 = jw.tie("judge1", PENGHU)
    t2 = jw.tie("judge2", TAITUNG)
    page = jw.client("organizer").get(f"/judging/ties/register?judge={jw.user('judge2').id}").get_data(as_text=True)
    assert f'data-tie="{t2.id}"' in page and f'data-tie="{t1.id}"' not in page


def test_retracting_keeps_the_tie_with_the_reason(jw):
    tie = jw.tie("judge1", TAITUNG)
    assert is_conflicted(jw.user("judge1").id, jw.agency(GREEN_ISLAND).id)
    organizer = jw.client("organizer")
    assert organizer.get(f"/judging/ties/{tie.id}/retract").status_code == 200
    assert organizer.post(f"/judging/ties/{tie.id}/retract", data={"reason": "  "}).status_code == 422
    assert jw.refresh(tie).retracted_at is None
    assert organizer.post(f"/judging/ties/{tie.id}/retract", data={"reason": "登錄錯誤：應為臺南市政府"}).status_code == 302
    tie = jw.refresh(tie)
    assert tie.retracted_at is not None and tie.retraction_reason == "登錄錯誤：應為臺南市政府"
    assert db.session.get(Tie, tie.id) is not None  # never deleted
    assert not is_conflicted(jw.user("judge1").id, jw.agency(GREEN_ISLAND).id)
    assert jw.actions("tie") == ["tie_retracted"]
    # A second retraction is refused and changes nothing.
    before = jw.audit_count()
    assert organizer.post(f"/judging/ties/{tie.id}/retract", data={"reason": "again"}).status_code == 422
    assert jw.audit_count() == before
    assert organizer.get("/judging/ties/999999/retract").status_code == 404


# --- the hierarchy ------------------------------------------------------------------------------

def test_a_tie_to_taitung_county_blocks_green_islands_entry(jw):
    entry = jw.entry(GREEN_ISLAND)
    other = jw.entry(PENGHU)
    jw.tie("judge1", TAITUNG, TieKind.OVERSIGHT)
    judge1 = jw.user("judge1")
    assert assign_ops.forbidden_pairs([entry, other], [judge1.id]) == {(entry.id, judge1.id)}
    stage = jw.stage()
    with pytest.raises(assign_ops.AssignmentError) as refused:
        assign_ops.assign(stage, entry, judge1, jw.user("organizer"))
    assert "臺東縣政府" in refused.value.message
    assert db.session.scalar(select(Assignment.id)) is None
    preview = assign_ops.preview_automatic(stage, assign_ops.AutoOptions())
    assert (entry.id, judge1.id) not in preview.plan.pairs
    assert (other.id, judge1.id) in preview.plan.pairs


# --- a new tie ends assignments and voids submitted sheets --------------------------------------

def test_a_declared_tie_ends_open_assignments_and_excludes_submitted_sheets(jw):
    green, orchid, penghu = jw.entry(GREEN_ISLAND), jw.entry(ORCHID_ISLAND), jw.entry(PENGHU)
    second_stage_green = jw.assign(green, "judge1", AssignmentStatus.CONFIRMED, stage=1)
    a_green = jw.assign(green, "judge1", AssignmentStatus.CONFIRMED)
    a_orchid = jw.assign(orchid, "judge1")
    a_penghu = jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    other_judge = jw.assign(green, "judge2", AssignmentStatus.CONFIRMED)
    submitted = jw.sheet(green, "judge1")
    draft = jw.sheet(orchid, "judge1", submitted=False)
    untouched = jw.sheet(penghu, "judge1")

    response = jw.client("judge1").post("/judging/ties/", data={
        "agency_id": jw.agency(TAITUNG).id, "kind": "former_employer", "years": "2010–2014"})
    assert response.status_code == 302

    db.session.expire_all()
    for assignment in (a_green, a_orchid, second_stage_green):
        assignment = db.session.get(Assignment, assignment.id)
        assert assignment.status is AssignmentStatus.CONFLICTED
        assert assignment.ended_at is not None and assignment.end_reason
    assert db.session.get(Assignment, a_penghu.id).status is AssignmentStatus.CONFIRMED
    assert db.session.get(Assignment, other_judge.id).status is AssignmentStatus.CONFIRMED
    sheet = db.session.get(ScoreSheet, submitted.id)
    assert sheet.excluded and sheet.excluded_reason
    assert not db.session.get(ScoreSheet, draft.id).excluded
    assert not db.session.get(ScoreSheet, untouched.id).excluded
    actions = jw.actions()
    assert actions.count("assignment_conflicted") == 3 and actions.count("sheet_excluded") == 1
    assert actions.index("tie_declared") < actions.index("assignment_conflicted")


def test_an_organizer_added_tie_has_the_same_effect(jw):
    green = jw.entry(GREEN_ISLAND)
    assignment = jw.assign(green, "judge2", AssignmentStatus.CONFIRMED)
    sheet = jw.sheet(green, "judge2")
    effects = conflicts.add_tie(jw.user("judge2"), conflicts.TieData(jw.agency(TAITUNG).id, TieKind.ADVISORY),
                                jw.user("organizer"))
    assert [a.id for a in effects.ended] == [assignment.id] and [s.id for s in effects.excluded] == [sheet.id]
    assert jw.refresh(assignment).status is AssignmentStatus.CONFLICTED
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sheet_excluded"))
    assert event.actor_id == jw.user("organizer").id


def test_retraction_does_not_bring_assignments_back(jw):
    green = jw.entry(GREEN_ISLAND)
    assignment = jw.assign(green, "judge2")
    effects = conflicts.add_tie(jw.user("judge2"), conflicts.TieData(jw.agency(GREEN_ISLAND).id, TieKind.ADVISORY),
                                jw.user("organizer"))
    conflicts.retract_tie(effects.tie, "誤植", jw.user("organizer"))
    assert jw.refresh(assignment).status is AssignmentStatus.CONFLICTED
    # The organiser may assign again by hand; the row is reused (one row per pair and stage).
    again = assign_ops.assign(jw.stage(), green, jw.user("judge2"), jw.user("organizer"))
    assert again.id == assignment.id and again.status is AssignmentStatus.ASSIGNED and again.ended_at is None


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["judge1", "penghu"])
def test_judges_and_agency_contacts_may_not_use_the_register(jw, who):
    tie = jw.tie("judge2", PENGHU)
    client = jw.client(who)
    assert client.get("/judging/ties/register").status_code == 403
    assert client.post("/judging/ties/register", data={"judge_id": jw.user("judge1").id,
                                                      "agency_id": jw.agency(PENGHU).id,
                                                      "kind": "advisory"}).status_code == 403
    assert client.get(f"/judging/ties/{tie.id}/retract").status_code == 403
    assert client.post(f"/judging/ties/{tie.id}/retract", data={"reason": "x"}).status_code == 403
    assert jw.refresh(tie).retracted_at is None and len(_ties(jw, "judge1")) == 0


@pytest.mark.parametrize("who", ["organizer", "penghu"])
def test_only_judges_declare_their_own_ties(jw, who):
    client = jw.client(who)
    assert client.get("/judging/ties/").status_code == 403
    data = {"agency_id": jw.agency(PENGHU).id, "kind": "advisory"}
    assert client.post("/judging/ties/", data=data).status_code == 403
    assert db.session.scalar(select(Tie.id)) is None


def test_anonymous_visitors_are_sent_to_login(jw):
    client = jw.client()
    for url in ("/judging/ties/", "/judging/ties/register"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_judge_sees_only_their_own_ties(jw):
    tie = jw.tie("judge2", PENGHU, description="SECRET-TIE-NOTE")
    page = jw.client("judge1").get("/judging/ties/").get_data(as_text=True)
    assert f'data-tie="{tie.id}"' not in page and "SECRET-TIE-NOTE" not in page
