"""The organiser's assignment pages: filling the first stage, the entry × judge matrix, manual
assignment, the automatic assignment (preview, then apply), and a judge's withdrawal."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from award.auth.operations import create_user
from award.extensions import db
from award.judging import assign_ops
from award.models import (Assignment, AssignmentStatus, AuditEvent, Role, ScoreSheet, StageEntry, TieKind)

TAITUNG, GREEN_ISLAND, ORCHID_ISLAND = "DEMO-C4000", "DEMO-C4010", "DEMO-C4020"
PENGHU, KINMEN = "DEMO-C1000", "DEMO-C2000"
CODES = ["DEMO-A0110", "DEMO-A0120", "DEMO-B0100", PENGHU, KINMEN, "DEMO-C3000", TAITUNG, GREEN_ISLAND, ORCHID_ISLAND,
         "DEMO-C5000", "DEMO-C5010", "DEMO-C6010", "DEMO-S0100"]


def _stage_url(jw, suffix: str = "", position: int = 0) -> str:
    return f"/judging/admin/stages/{jw.stage(position).id}{suffix}"


def _open(jw, stage_position: int = 0) -> list[tuple[int, int]]:
    db.session.expire_all()
    return sorted(db.session.execute(
        select(Assignment.entry_id, Assignment.judge_id).where(
            Assignment.stage_id == jw.stage(stage_position).id,
            Assignment.status.in_([AssignmentStatus.ASSIGNED, AssignmentStatus.CONFIRMED]))).all())


def _more_judges(n: int):
    for i in range(n):
        create_user(f"extra{i}@award.example", f"委員{i:02d}", Role.JUDGE, "Extra-judge-password-2026")


def _event(action: str) -> AuditEvent:
    return db.session.scalar(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc()))


# --- stage membership ---------------------------------------------------------------------------

def test_populate_puts_submitted_eligible_entries_in_the_first_stage_once(jw):
    eligible = jw.entry(PENGHU, in_stage=None)
    other = jw.entry(KINMEN, category=1, in_stage=None)
    jw.entry(TAITUNG, submitted=False, in_stage=None)
    jw.entry(GREEN_ISLAND, eligible=False, in_stage=None)
    organizer = jw.client("organizer")
    assert organizer.post(_stage_url(jw, "/populate")).status_code == 302
    db.session.expire_all()
    rows = db.session.scalars(select(StageEntry).where(StageEntry.stage_id == jw.stage().id)).all()
    assert sorted(r.entry_id for r in rows) == sorted([eligible.id, other.id])
    assert {r.basis for r in rows} == {"eligible"} and {r.decided_by_id for r in rows} == {jw.user("organizer").id}
    assert json.loads(_event("stage_populated").after)["entries"] == sorted([eligible.id, other.id])
    # Idempotent: a second press adds nothing and records nothing.
    before = jw.audit_count()
    assert organizer.post(_stage_url(jw, "/populate")).status_code == 302
    assert db.session.scalar(select(func.count(StageEntry.id))) == 2 and jw.audit_count() == before
    # Only the first stage is filled from the screening.
    assert organizer.post(_stage_url(jw, "/populate", position=1)).status_code == 302
    assert db.session.scalar(select(func.count(StageEntry.id)).where(StageEntry.stage_id == jw.stage(1).id)) == 0


def test_populating_before_screening_says_the_entries_await_it(jw):
    """Not "every eligible entry is already in the stage" while the stage is empty."""
    jw.entry(PENGHU, eligible=False, in_stage=None)
    jw.entry(KINMEN, eligible=False, in_stage=None)
    page = jw.client("organizer").post(_stage_url(jw, "/populate"), follow_redirects=True).get_data(as_text=True)
    warning = page.split('class="flash flash-warning"', 1)[1].split("</p>", 1)[0]
    assert "2" in warning and ("screened" in warning or "初審" in warning or "資格審查" in warning or "篩選" in warning)
    assert db.session.scalar(select(func.count(StageEntry.id))) == 0


# --- the matrix ---------------------------------------------------------------------------------

def test_matrix_shows_states_ties_coverage_and_loads(jw):
    penghu = jw.entry(PENGHU)
    green = jw.entry(GREEN_ISLAND, category=1)
    jw.tie("judge3", TAITUNG, TieKind.OVERSIGHT)
    jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    jw.assign(penghu, "judge2")
    jw.assign(green, "judge1", AssignmentStatus.WITHDRAWN)
    jw.sheet(penghu, "judge1")
    page = jw.client("organizer").get(_stage_url(jw))
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    j1, j2, j3 = (jw.user(w).id for w in ("judge1", "judge2", "judge3"))

    def cell(entry_id: int, judge_id: int) -> str:
        row = re.search(rf'<tr id="entry-{entry_id}".*?</tr>', body, re.S).group(0)
        return re.search(rf'<td class="cell[^"]*" data-judge="{judge_id}"[^>]*>.*?</td>', row, re.S).group(0)

    assert 'data-state="confirmed"' in cell(penghu.id, j1) and f"unassign-{penghu.id}-{j1}" in cell(penghu.id, j1)
    assert 'data-state="assigned"' in cell(penghu.id, j2)
    assert 'data-state="none"' in cell(penghu.id, j3) and f"assign-{penghu.id}-{j3}" in cell(penghu.id, j3)
    tied = cell(green.id, j3)
    assert 'data-state="tie"' in tied and "✕" in tied and "assign-" not in tied  # no button on a conflict
    assert 'data-state="withdrawn"' in cell(green.id, j1) and f"assign-{green.id}-{j1}" in cell(green.id, j1)
    assert 'class="cell-sheet"' in cell(penghu.id, j1)
    assert re.search(rf'<tr id="entry-{penghu.id}".*?data-coverage="2"', body, re.S)
    assert re.search(rf'<tr id="entry-{green.id}".*?data-coverage="0"', body, re.S)
    assert 'id="legend"' in body and 'scope="col"' in body and 'scope="row"' in body
    loads = re.findall(r'data-load="(\d+)"', body)
    assert loads == ["1", "1", "0"]  # judge1 (林), judge2 (陳), judge3 (黃) in name order
    assert 'id="short-count">2<' in body  # K = 3 and neither entry has three
    # The category filter shows one category's rows only.
    filtered = jw.client("organizer").get(_stage_url(jw, f"?category={green.category_id}")).get_data(as_text=True)
    assert f'id="entry-{green.id}"' in filtered and f'id="entry-{penghu.id}"' not in filtered
    assert jw.client("organizer").get(_stage_url(jw, "?category=999999")).status_code == 404
    assert jw.client("organizer").get("/judging/admin/stages/999999").status_code == 404
    assert 'href="/judging/admin/stages/' in jw.client("organizer").get("/judging/admin/").get_data(as_text=True)


# --- manual assignment --------------------------------------------------------------------------

def test_manual_assign_and_unassign(jw):
    penghu = jw.entry(PENGHU)
    organizer = jw.client("organizer")
    j1 = jw.user("judge1").id
    assert organizer.post(_stage_url(jw, "/cell"), data={"cell": f"assign-{penghu.id}-{j1}"}).status_code == 302
    assert _open(jw) == [(penghu.id, j1)]
    event = _event("assignment_added")
    assert json.loads(event.after)["manual"] is True and event.actor_id == jw.user("organizer").id
    # A duplicate is refused and changes nothing.
    before = jw.audit_count()
    organizer.post(_stage_url(jw, "/cell"), data={"cell": f"assign-{penghu.id}-{j1}"})
    assert jw.audit_count() == before and db.session.scalar(select(func.count(Assignment.id))) == 1
    # Unassign, then assign again: the same row is opened again.
    assert organizer.post(_stage_url(jw, "/cell"), data={"cell": f"unassign-{penghu.id}-{j1}"}).status_code == 302
    assert _open(jw) == [] and jw.actions()[-1] == "assignment_removed"
    organizer.post(_stage_url(jw, "/cell"), data={"cell": f"assign-{penghu.id}-{j1}"})
    assert _open(jw) == [(penghu.id, j1)] and db.session.scalar(select(func.count(Assignment.id))) == 1


def test_manual_assign_refuses_a_conflicted_pair_with_the_reason(jw):
    green = jw.entry(GREEN_ISLAND)
    jw.tie("judge2", TAITUNG, TieKind.FAMILY)
    organizer = jw.client("organizer")
    before = jw.audit_count()
    response = organizer.post(_stage_url(jw, "/cell"), data={"cell": f"assign-{green.id}-{jw.user('judge2').id}"},
                              follow_redirects=True)
    body = response.get_data(as_text=True)
    assert 'class="flash flash-error"' in body and "臺東縣政府" in body  # the reason names the tied authority
    # the page it returns to records its view of the judge panel (personal_data.viewed), nothing else
    assert _open(jw) == [] and jw.audit_count() == before + 1


@pytest.mark.parametrize("cell", ["", "assign-x-1", "promote-1-2", "assign-1"])
def test_a_malformed_cell_is_refused(jw, cell):
    jw.entry(PENGHU)
    organizer = jw.client("organizer")
    before = jw.audit_count()
    assert organizer.post(_stage_url(jw, "/cell"), data={"cell": cell}).status_code == 302
    assert jw.audit_count() == before and _open(jw) == []


def test_manual_assign_refuses_entries_outside_the_stage_and_non_judges(jw):
    outside = jw.entry(PENGHU, in_stage=None)
    inside = jw.entry(KINMEN)
    organizer = jw.client("organizer")
    organizer.post(_stage_url(jw, "/cell"), data={"cell": f"assign-{outside.id}-{jw.user('judge1').id}"})
    organizer.post(_stage_url(jw, "/cell"), data={"cell": f"assign-{inside.id}-{jw.user('penghu').id}"})
    assert _open(jw) == []


def test_unassigning_a_judge_with_a_submitted_sheet_is_refused(jw):
    penghu = jw.entry(PENGHU)
    jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    jw.sheet(penghu, "judge1")
    jw.client("organizer").post(_stage_url(jw, "/cell"), data={"cell": f"unassign-{penghu.id}-{jw.user('judge1').id}"})
    assert _open(jw) == [(penghu.id, jw.user("judge1").id)]


# --- automatic assignment -----------------------------------------------------------------------

def _apply_data(body: str) -> dict:
    form = re.search(r'<form method="post" action="[^"]*/auto/apply" id="apply-form">(.*?)</form>', body, re.S).group(1)
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form):
        data.setdefault(name, []).append(value)
    return data


def test_automatic_assignment_previews_then_applies_exactly_the_plan(jw):
    _more_judges(5)  # eight judges
    entries = [jw.entry(code, category=i % 2) for i, code in enumerate(CODES)]
    jw.tie("judge1", TAITUNG)  # forbids 臺東縣政府, 綠島 and 蘭嶼
    jw.tie("judge2", PENGHU)
    organizer = jw.client("organizer")
    form = organizer.get(_stage_url(jw, "/auto"))
    assert form.status_code == 200 and 'id="preview"' not in form.get_data(as_text=True)
    judge_ids = [str(j.id) for j in assign_ops.panel_judges(jw.stage())]
    before = jw.audit_count()
    preview = organizer.post(_stage_url(jw, "/auto"), data={"keep_existing": "y", "judges": judge_ids})
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'id="apply-form"' in body
    assert jw.audit_count() == before and _open(jw) == []  # a preview changes nothing

    response = organizer.post(_stage_url(jw, "/auto/apply"), data=_apply_data(body))
    assert response.status_code == 302
    pairs = _open(jw)
    assert len(pairs) == 3 * len(entries) and len(set(pairs)) == len(pairs)
    forbidden = assign_ops.forbidden_pairs(entries, [int(j) for j in judge_ids])
    assert not set(pairs) & forbidden
    loads = Counter(j for _e, j in pairs)
    assert max(loads.values()) - min(loads.values()) <= 1 and len(loads) == 8
    assert jw.actions()[before:].count("assignment_automatic") == 1
    event = _event("assignment_automatic")
    after = json.loads(event.after)
    assert after["added"] == len(pairs) and after["removed"] == 0 and after["entries_short"] == 0
    assert sorted(map(tuple, after["pairs"])) == pairs and event.object_type == "stage"
    assert {a.status for a in db.session.scalars(select(Assignment))} == {AssignmentStatus.ASSIGNED}

    # Applying the same preview again is refused: the assignments changed since.
    again = organizer.post(_stage_url(jw, "/auto/apply"), data=_apply_data(body))
    assert again.status_code == 409 and len(_open(jw)) == len(pairs)


def test_a_stale_or_tampered_preview_is_not_applied(jw):
    jw.entry(PENGHU)
    organizer = jw.client("organizer")
    demo_judges = [str(jw.user(w).id) for w in ("judge1", "judge2", "judge3")]
    body = organizer.post(_stage_url(jw, "/auto"), data={"keep_existing": "y", "judges": demo_judges}
                          ).get_data(as_text=True)
    data = _apply_data(body)
    jw.tie("judge3", PENGHU)  # a tie declared between the preview and the apply
    before = jw.audit_count()
    assert organizer.post(_stage_url(jw, "/auto/apply"), data=data).status_code == 409
    assert _open(jw) == [] and jw.audit_count() == before
    forged = {**data, "fingerprint": ["0" * 64]}
    assert organizer.post(_stage_url(jw, "/auto/apply"), data=forged).status_code == 409
    assert _open(jw) == []


def test_the_report_names_entries_it_cannot_cover_and_why(jw):
    green = jw.entry(GREEN_ISLAND)
    penghu = jw.entry(PENGHU)
    jw.tie("judge1", TAITUNG)  # K = 3 with three judges: green island is left with two
    preview = assign_ops.preview_automatic(jw.stage(), assign_ops.AutoOptions())
    [short] = preview.plan.shortfalls
    assert (short.entry_id, short.covered, short.eligible, short.reason.value) == (green.id, 2, 2, "too_few_eligible")
    demo_judges = [str(jw.user(w).id) for w in ("judge1", "judge2", "judge3")]
    body = jw.client("organizer").post(_stage_url(jw, "/auto"), data={
        "keep_existing": "y", "judges": demo_judges}).get_data(as_text=True)
    assert re.search(rf'<tr data-entry="{green.id}" data-reason="too_few_eligible">', body)
    assert f'data-entry="{penghu.id}" data-reason' not in body


def test_caps_and_judge_choice_are_respected(jw):
    _more_judges(3)
    entries = [jw.entry(code) for code in CODES[:8]]
    organizer = jw.client("organizer")
    panel = assign_ops.panel_judges(jw.stage())
    chosen = [str(j.id) for j in panel if j.email != "judge3@award.example"]
    body = organizer.post(_stage_url(jw, "/auto"), data={"cap": "4", "keep_existing": "y", "judges": chosen}
                          ).get_data(as_text=True)
    assert organizer.post(_stage_url(jw, "/auto/apply"), data=_apply_data(body)).status_code == 302
    pairs = _open(jw)
    loads = Counter(j for _e, j in pairs)
    assert jw.user("judge3").id not in loads and max(loads.values()) <= 4
    assert len(pairs) == min(3 * len(entries), 4 * 5)
    assert json.loads(_event("assignment_automatic").after)["entries_short"] > 0
    # A cap that is not a whole number from 1 is refused, nothing planned.
    refused = organizer.post(_stage_url(jw, "/auto"), data={"cap": "0", "judges": chosen})
    assert refused.status_code == 422 and 'id="apply-form"' not in refused.get_data(as_text=True)
    none_chosen = organizer.post(_stage_url(jw, "/auto"), data={"keep_existing": "y"})
    assert none_chosen.status_code == 422


def test_keep_existing_off_replaces_only_unconfirmed_assignments(jw):
    _more_judges(3)
    penghu, kinmen = jw.entry(PENGHU), jw.entry(KINMEN)
    confirmed = jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    unconfirmed = [jw.assign(penghu, "judge2"), jw.assign(penghu, "judge3"), jw.assign(kinmen, "judge2"),
                   jw.assign(kinmen, "judge3")]
    options = assign_ops.AutoOptions(keep_existing=False)
    preview = assign_ops.preview_automatic(jw.stage(), options)
    assert (penghu.id, jw.user("judge1").id) in preview.plan.kept_pairs
    applied = assign_ops.apply_automatic(jw.stage(), options, preview.fingerprint, jw.user("organizer"))
    assert jw.refresh(confirmed).status is AssignmentStatus.CONFIRMED
    pairs = _open(jw)
    assert len(pairs) == 6
    loads = Counter(j for _e, j in pairs)
    assert max(loads.values()) - min(loads.values()) <= 1
    replaced = [a for a in unconfirmed if jw.refresh(a).status is AssignmentStatus.WITHDRAWN]
    assert len(replaced) == len(applied.removed) > 0


def test_automatic_assignment_with_nothing_to_do_is_refused(jw):
    penghu = jw.entry(PENGHU)
    for who in ("judge1", "judge2", "judge3"):
        jw.assign(penghu, who)
    preview = assign_ops.preview_automatic(jw.stage(), assign_ops.AutoOptions())
    assert not preview.added
    with pytest.raises(assign_ops.AssignmentError):
        assign_ops.apply_automatic(jw.stage(), assign_ops.AutoOptions(), preview.fingerprint, jw.user("organizer"))
    body = jw.client("organizer").get(_stage_url(jw, "/auto?preview=1")).get_data(as_text=True)
    assert 'id="nothing-to-apply"' in body


# --- withdrawal ---------------------------------------------------------------------------------

def test_withdrawal_keeps_or_excludes_each_sheet_then_reassigns_open_entries(jw):
    _more_judges(1)
    penghu, kinmen, matsu = jw.entry(PENGHU), jw.entry(KINMEN), jw.entry("DEMO-C3000")
    for entry in (penghu, kinmen, matsu):
        for who in ("judge1", "judge2", "judge3"):
            jw.assign(entry, who, AssignmentStatus.CONFIRMED)
    kept = jw.sheet(penghu, "judge1")
    excluded = jw.sheet(kinmen, "judge1")
    jw.sheet(matsu, "judge1", submitted=False)
    organizer = jw.client("organizer")
    judge1 = jw.user("judge1")
    url = _stage_url(jw, f"/judges/{judge1.id}/withdraw")
    page = organizer.get(url).get_data(as_text=True)
    assert f'data-sheet="{kept.id}"' in page and f'data-sheet="{excluded.id}"' in page

    before = jw.audit_count()
    # Every submitted sheet needs a decision; an exclusion needs a reason; the withdrawal a reason.
    for data in ({"reason": "健康因素", f"sheet_{kept.id}": "keep"},
                 {"reason": "健康因素", f"sheet_{kept.id}": "keep", f"sheet_{excluded.id}": "exclude"},
                 {"reason": "", f"sheet_{kept.id}": "keep", f"sheet_{excluded.id}": "keep"}):
        response = organizer.post(url, data=data)
        assert response.status_code == 422
    assert jw.audit_count() == before and len(_open(jw)) == 9

    response = organizer.post(url, data={"reason": "健康因素", f"sheet_{kept.id}": "keep",
                                         f"sheet_{excluded.id}": "exclude",
                                         f"sheet_{excluded.id}_reason": "評分未完整閱讀資料"})
    assert response.status_code == 302 and "/auto" in response.headers["Location"]
    db.session.expire_all()
    assert {a.status for a in db.session.scalars(select(Assignment).where(Assignment.judge_id == judge1.id))} \
        == {AssignmentStatus.WITHDRAWN}
    assert not db.session.get(ScoreSheet, kept.id).excluded
    sheet = db.session.get(ScoreSheet, excluded.id)
    assert sheet.excluded and sheet.excluded_reason == "評分未完整閱讀資料"
    actions = jw.actions()[before:]
    assert actions.count("sheet_kept") == 1 and actions.count("sheet_excluded") == 1
    assert actions[-1] == "judge_withdrawn"
    assert judge1.id in assign_ops.withdrawn_judge_ids(jw.stage().id)

    # Reassign: the kept sheet still covers 澎湖; 金門 and 馬祖 need one judge each, never judge1.
    preview_page = organizer.get(response.headers["Location"]).get_data(as_text=True)
    assert organizer.post(_stage_url(jw, "/auto/apply"), data=_apply_data(preview_page)).status_code == 302
    added = json.loads(_event("assignment_automatic").after)["pairs"]
    extra = jw.user("extra0").id
    assert sorted(map(tuple, added)) == sorted([(kinmen.id, extra), (matsu.id, extra)])
    # judge1 may not be assigned by hand while withdrawn, and may be reinstated.
    organizer.post(_stage_url(jw, "/cell"), data={"cell": f"assign-{penghu.id}-{judge1.id}"})
    assert (penghu.id, judge1.id) not in _open(jw)
    assert organizer.post(url, data={"reason": "again"}).status_code == 422  # already withdrawn
    assert organizer.post(_stage_url(jw, f"/judges/{judge1.id}/reinstate")).status_code == 302
    assert judge1.id not in assign_ops.withdrawn_judge_ids(jw.stage().id)
    assert jw.actions()[-1] == "judge_reinstated"


def test_a_withdrawn_judge_no_longer_sees_the_entry(jw):
    from award.judging.rules import judge_may_view

    penghu = jw.entry(PENGHU)
    jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    assert judge_may_view(jw.user("judge1"), penghu)
    assign_ops.withdraw_judge(jw.stage(), jw.user("judge1"), "退出", {}, jw.user("organizer"))
    assert not judge_may_view(jw.user("judge1"), penghu)


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["judge1", "penghu", None])
def test_organiser_pages_refuse_everybody_else(jw, app, who):
    penghu = jw.entry(PENGHU)
    jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    values = {"stage_id": jw.stage().id, "judge_id": jw.user("judge1").id}
    client = jw.client(who)
    before = jw.audit_count()
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("judging_admin."):
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = re.sub(r"<(?:[^:<>]+:)?" + argument + r">", str(values[argument]), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"cell": f"unassign-{penghu.id}-{values['judge_id']}",
                                                              "reason": "x"})
            if who is None:
                assert response.status_code == 302 and "/login" in response.headers["Location"]
            else:
                assert response.status_code == 403, f"{method} {url}"
            checked += 1
    assert checked >= 9 and jw.audit_count() == before and len(_open(jw)) == 1
