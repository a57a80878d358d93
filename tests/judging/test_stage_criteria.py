"""Per-stage criteria: a stage may judge a category on criteria of its own (the site visit 實地訪視
on a shorter set); otherwise the category's apply. The one answer is
``scoring_adapter.criteria_for(category, stage)``; these tests check that the sheet's fields, its
checks and totals, the results (and freeze payload), the offline workbook and the organiser's
editor all follow it."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from award import scoring_adapter
from award.editions import operations as edition_ops
from award.extensions import db
from award.judging import offline_ops
from award.judging import sheets as ops
from award.models import AssignmentStatus, AuditEvent, Criterion, Mark, utcnow
from award.results.payload import build_payload

VISIT = [("現地查核", 40, 10), ("訪談回饋", 35, 10), ("改善追蹤", 25, 10)]  # name, weight, highest score


def _form(rows: list[dict], token: str | None = None) -> dict:
    data = {}
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"criteria-{index}-{key}"] = value
    return data


def _rows(spec=VISIT) -> list[dict]:
    return [{"name": name, "description": "", "weight": str(weight), "min_score": "0", "max_score": str(high),
             "step": "1"} for name, weight, high in spec]


def _editor_url(jw, stage=1, category=0) -> str:
    edition = jw.edition()
    return (f"/editions/{edition.id}/stages/{edition.stages[stage].id}/categories/"
            f"{edition.categories[category].id}/criteria")


def _open_window(jw, position: int) -> None:
    stage = jw.stage(position)
    stage.opens_at, stage.closes_at = utcnow() - timedelta(days=1), utcnow() + timedelta(days=7)
    db.session.commit()


@pytest.fixture
def visit(jw):
    """The site visit with criteria of its own for the first category, saved through the editor."""
    organiser = jw.client("organizer")
    response = organiser.post(_editor_url(jw), data=_form(_rows()))
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    return scoring_adapter.stage_own_criteria(jw.edition().categories[0], jw.stage(1))


def test_editor_saves_a_stages_own_criteria_and_records_them(jw, visit):
    category = jw.edition().categories[0]
    assert [(c.name, c.weight, c.max_score, c.stage_id) for c in visit] == [
        (name, Decimal(weight), Decimal(high), jw.stage(1).id) for name, weight, high in VISIT]
    # The category's own criteria (and the entry form's sections) are untouched.
    assert len(category.criteria) == 5 and all(c.stage_id is None for c in category.criteria)
    assert scoring_adapter.criteria_for(category, jw.stage(1)) == visit
    assert scoring_adapter.criteria_for(category, jw.stage(0)) == list(category.criteria)
    assert scoring_adapter.criteria_for(jw.edition().categories[1], jw.stage(1)) == \
        list(jw.edition().categories[1].criteria)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "stage_criteria_saved"))
    assert event is not None and event.object_type == "stage" and event.object_id == str(jw.stage(1).id)
    assert "現地查核" in str(event.after) and event.actor_id == jw.user("organizer").id
    page = jw.client("organizer").get(_editor_url(jw)).get_data(as_text=True)
    assert 'value="現地查核"' in page
    show = jw.client("organizer").get(f"/editions/{jw.edition().id}").get_data(as_text=True)
    assert _editor_url(jw) in show


@pytest.mark.parametrize("rows, field", [
    (_rows([("現地查核", 40, 10), ("訪談回饋", 35, 10), ("改善追蹤", 20, 10)]), None),  # weights add up to 95
    (_rows([("現地查核", 40, 10), ("現地查核", 35, 10), ("改善追蹤", 25, 10)]), "criteria-1-name"),
    ([{**_rows()[0], "step": "3"}, *_rows()[1:]], "criteria-0-step"),  # 0..10 is not a whole number of 3s
    ([{**_rows()[0], "max_score": "0"}, *_rows()[1:]], "criteria-0-max_score"),
])
def test_editor_refuses_what_the_category_editor_refuses_and_saves_nothing(jw, rows, field):
    organiser = jw.client("organizer")
    before = jw.audit_count()
    response = organiser.post(_editor_url(jw), data=_form(rows))
    assert response.status_code in (400, 422)
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "Traceback" not in html
    if field:
        tag = re.search(rf'<input[^>]*name="{field}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag
    assert db.session.scalar(select(Criterion).where(Criterion.stage_id.is_not(None))) is None
    assert jw.audit_count() == before


def test_sheet_fields_checks_and_total_follow_the_stages_criteria(jw, visit):
    _open_window(jw, 1)
    category = jw.edition().categories[0]
    entry = jw.entry("DEMO-C1000", in_stage=1)
    assignment = jw.assign(entry, "judge1", status=AssignmentStatus.CONFIRMED, stage=1)
    judge = jw.client("judge1")
    html = judge.get(f"/judging/sheets/{assignment.id}").get_data(as_text=True)
    fields = {int(i) for i in re.findall(r'name="score-(\d+)"', html)}
    assert fields == {c.id for c in visit}
    assert not fields & {c.id for c in category.criteria}
    assert 'data-max="10"' in html and 'data-weight="40"' in html  # the live total's data

    # A mark beyond the stage's range (10) is refused, though the category's range is 0–100.
    data = {"version": "0", "action": "save", f"score-{visit[0].id}": "50", f"score-{visit[1].id}": "8"}
    response = judge.post(f"/judging/sheets/{assignment.id}", data=data)
    assert response.status_code == 400
    assert f'id="score-{visit[0].id}-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Mark.id)) is None

    data = {"version": "0", "action": "save", f"score-{visit[0].id}": "9", f"score-{visit[1].id}": "8",
            f"score-{visit[2].id}": "6"}
    assert judge.post(f"/judging/sheets/{assignment.id}", data=data).status_code == 303
    sheet = ops.sheet_for(jw.user("judge1").id, entry.id, jw.stage(1).id)
    assert {m.criterion_id: m.score for m in sheet.marks} == {
        visit[0].id: Decimal(9), visit[1].id: Decimal(8), visit[2].id: Decimal(6)}
    # 40×9/10 + 35×8/10 + 25×6/10 = 36 + 28 + 15
    assert ops.sheet_total(ops.criteria_of(entry, jw.stage(1)), sheet) == Decimal(79)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "sheet_saved"))
    after = json.loads(event.after) if isinstance(event.after, str) else event.after
    assert after["total"] == "79" and set(after["marks"]) == {name for name, _w, _h in VISIT}

    # A mark on one of the category's criteria does not belong on this stage's sheet.
    with pytest.raises(ops.SheetError):
        ops.save_sheet(jw.user("judge1"), jw.refresh(assignment), {category.criteria[0].id: ("80", "")}, "",
                       sheet.version)
    db.session.rollback()


def test_results_and_offline_workbook_use_the_stages_criteria(jw, visit):
    _open_window(jw, 1)
    entries = [jw.entry(code, in_stage=1) for code in ("DEMO-C1000", "DEMO-C4010")]
    assignments = [jw.assign(e, "judge1", status=AssignmentStatus.CONFIRMED, stage=1) for e in entries]
    judge = jw.user("judge1")

    # The offline workbook offers the stage's criteria, with their bounds.
    download = offline_ops.download_workbook(judge, jw.stage(1))
    assert [[r.criterion_id for r in e.rows] for e in download.signature.entries] == [[c.id for c in visit]] * 2
    ws = load_workbook(io.BytesIO(download.data))[download.signature.entries[0].worksheet]
    names = [ws[f"A{row}"].value for row in range(10, 13)]
    assert names == [name for name, _w, _h in VISIT] and ws["D10"].value == 10

    for assignment, marks in zip(assignments, (("9", "8", "6"), ("10", "10", "10"))):
        comments = {c.id: "滿分理由" for c in visit} if marks[0] == "10" else {c.id: "" for c in visit}
        ops.save_sheet(judge, assignment, {c.id: (m, comments[c.id]) for c, m in zip(visit, marks)}, "", 0,
                       submit=True)
    payload = build_payload(jw.stage(1))
    category = payload["categories"][0]
    assert [c["id"] for c in category["criteria"]] == [c.id for c in visit]
    assert [(e["id"], e["total"]) for e in category["entries"]] == [
        (entries[1].id, "100.00"), (entries[0].id, "79.00")]
    result = scoring_adapter.rank(jw.stage(1), jw.edition().categories[0])
    assert [r.total for r in result.entries] == [Decimal("100.00"), Decimal("79.00")]
    # The written review (no criteria of its own) still uses the category's five.
    assert len(build_payload(jw.stage(0))["categories"][0]["criteria"]) == 5


def test_category_criteria_still_apply_without_stage_criteria(jw):
    _open_window(jw, 0)
    category = jw.edition().categories[0]
    entry = jw.entry("DEMO-C1000")
    assignment = jw.assign(entry, "judge1", status=AssignmentStatus.CONFIRMED)
    html = jw.client("judge1").get(f"/judging/sheets/{assignment.id}").get_data(as_text=True)
    assert {int(i) for i in re.findall(r'name="score-(\d+)"', html)} == {c.id for c in category.criteria}
    assert scoring_adapter.criteria_for(category, jw.stage(0)) == list(category.criteria)


def test_no_criteria_of_its_own_once_scoring_started_and_scored_ones_are_locked(jw, visit):
    # Stage 0 has been scored on the category's criteria: it cannot switch to criteria of its own.
    _open_window(jw, 0)
    category = jw.edition().categories[0]
    entry = jw.entry("DEMO-C1000", in_stage=0)
    assignment = jw.assign(entry, "judge1", status=AssignmentStatus.CONFIRMED)
    ops.save_sheet(jw.user("judge1"), assignment, {category.criteria[0].id: ("80", "")}, "", 0)
    organiser = jw.client("organizer")
    assert organiser.get(_editor_url(jw, stage=0)).status_code == 200
    response = organiser.post(_editor_url(jw, stage=0), data=_form(_rows()))
    assert response.status_code in (400, 422)
    assert db.session.scalar(select(Criterion).where(Criterion.stage_id == jw.stage(0).id)) is None

    # On the site visit, a scored criterion of the stage keeps its weight and cannot be removed.
    _open_window(jw, 1)
    other = jw.entry("DEMO-C4010", in_stage=1)
    visit_assignment = jw.assign(other, "judge1", status=AssignmentStatus.CONFIRMED, stage=1)
    ops.save_sheet(jw.user("judge1"), visit_assignment, {visit[0].id: ("7", "")}, "", 0)
    rows = [{"id": str(c.id), **row} for c, row in zip(visit, _rows())]
    changed = [{**rows[0], "weight": "30"}, {**rows[1], "weight": "45"}, rows[2]]
    response = organiser.post(_editor_url(jw), data=_form(changed))
    assert response.status_code in (400, 422)
    removed = [{**rows[0], "remove": "y"}, rows[1], rows[2]]
    assert organiser.post(_editor_url(jw), data=_form(removed)).status_code in (400, 422)
    db.session.expire_all()
    assert [c.weight for c in scoring_adapter.stage_own_criteria(category, jw.stage(1))] == [40, 35, 25]
    # Renaming stays allowed, and is recorded.
    renamed = [{**rows[0], "name": "現地查核（含書面）"}, rows[1], rows[2]]
    assert organiser.post(_editor_url(jw), data=_form(renamed)).status_code == 302
    db.session.expire_all()
    assert scoring_adapter.stage_own_criteria(category, jw.stage(1))[0].name == "現地查核（含書面）"
    assert jw.actions("stage").count("stage_criteria_saved") == 2


def test_removing_every_row_returns_the_stage_to_the_categorys_criteria(jw, visit):
    category = jw.edition().categories[0]
    rows = [{"id": str(c.id), **row, "remove": "y"} for c, row in zip(visit, _rows())]
    assert jw.client("organizer").post(_editor_url(jw), data=_form(rows)).status_code == 302
    db.session.expire_all()
    assert scoring_adapter.criteria_for(category, jw.stage(1)) == list(category.criteria)
    assert db.session.scalar(select(Criterion).where(Criterion.stage_id.is_not(None))) is None


def test_a_stage_may_reuse_a_category_criterions_name_but_not_repeat_its_own(jw):
    category = jw.edition().categories[0]
    same = _rows([(category.criteria[0].name, 60, 10), ("訪談回饋", 40, 10)])
    assert jw.client("organizer").post(_editor_url(jw), data=_form(same)).status_code == 302
    db.session.expire_all()
    assert [c.name for c in scoring_adapter.criteria_for(category, jw.stage(1))][0] == category.criteria[0].name
    # The database itself refuses a second category criterion of the same name (stage_id NULL).
    from sqlalchemy.exc import IntegrityError

    db.session.add(Criterion(category_id=category.id, name=category.criteria[1].name, weight=1, max_score=10))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_deleting_a_stage_or_a_category_takes_its_stage_criteria(jw, visit):
    edition = jw.edition()
    assert edition_ops.category_delete_problem(edition.categories[0]) is None
    edition_ops.delete_category(edition.categories[0])
    assert db.session.scalar(select(Criterion).where(Criterion.stage_id.is_not(None))) is None
