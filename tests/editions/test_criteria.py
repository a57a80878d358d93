"""The criteria editor: one form for all criteria of a category, all or nothing, locked once scored."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from award.extensions import db
from award.models import AuditEvent, Category, Criterion, Edition
from edition_helpers import AREAS, area_rows, audit_count, criteria_data, criteria_state, rows_of, score


@pytest.fixture
def category(app, organizer):
    """The demo's 整體廉能作為類 (weights 20, 20, 25, 20, 15): (edition id, category id, url)."""
    with app.app_context():
        edition = db.session.scalar(select(Edition).where(Edition.number == 3))
        category = edition.categories[0]
        return edition.id, category.id, f"/editions/{edition.id}/categories/{category.id}/criteria"


def _category(category_id: int) -> Category:
    return db.session.get(Category, category_id)


def _rows(app, category_id: int) -> list[dict]:
    with app.app_context():
        return rows_of(_category(category_id))


def test_editor_shows_every_criterion_and_spare_rows(organizer, category):
    page = organizer.get(category[2]).get_data(as_text=True)
    for area in AREAS:
        assert f'value="{area}"' in page
    assert 'name="criteria-6-name"' in page and 'name="criteria-7-name"' not in page  # five + two spare
    assert 'name="criteria-0-weight"' in page and 'value="20"' in page  # 20, not 20.0000


def test_a_new_category_offers_rows_for_all_five_areas_in_one_save(app, organizer, category):
    """Every save must bring the weights to 100, so a new category needs room for the award's five
    areas at once (two spare rows could only ever make a category of two criteria)."""
    edition_id, _category_id, _url = category
    response = organizer.post(f"/editions/{edition_id}/categories/new", data={"name": "新組別", "description": ""})
    assert response.status_code == 302
    page = organizer.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="criteria-4-name"' in page and 'name="criteria-5-name"' not in page
    with app.app_context():
        new_id = db.session.scalar(select(Category.id).where(Category.name == "新組別"))
    data = {}
    for index, (area, weight) in enumerate(zip(AREAS, (20, 20, 25, 20, 15), strict=True)):
        data.update({f"criteria-{index}-name": area, f"criteria-{index}-weight": weight,
                     f"criteria-{index}-min_score": 0, f"criteria-{index}-max_score": 100,
                     f"criteria-{index}-step": 1, f"criteria-{index}-section_char_limit": 3000})
    response = organizer.post(f"/editions/{edition_id}/categories/{new_id}/criteria", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert [c.name for c in _category(new_id).criteria] == list(AREAS)


def test_weights_adding_to_95_are_refused_and_nothing_is_written(app, organizer, category):
    _edition_id, category_id, url = category
    with app.app_context():
        before, events = criteria_state(category_id), audit_count()
    rows = _rows(app, category_id)
    rows[0]["weight"] = "15"  # 15 + 20 + 25 + 20 + 15 = 95
    rows[1]["description"] = "新的說明文字"
    rows.append({"name": "新增面向", "weight": "", "min_score": 0, "max_score": 100, "step": 1,
                 "section_char_limit": 2000})
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="refusal"' not in page  # the sum is reported only once every weight is a valid number
    assert 'id="criteria-5-weight-error"' in page  # the new row lacks a weight
    # Give the new row a weight of 0 → still refused; now fill it validly but keep the total at 95.
    rows[-1]["weight"] = "0"
    assert 'id="criteria-5-weight-error"' in organizer.post(url, data=criteria_data(rows)).get_data(as_text=True)
    rows.pop()
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r"\b95\b", page) and 'class="refusal"' in page
    assert 'value="新的說明文字"' not in page and "新的說明文字" in page  # the typed description is kept
    assert 'name="criteria-0-weight"' in page and 'value="15"' in page
    with app.app_context():
        assert criteria_state(category_id) == before
        assert audit_count() == events


def test_a_valid_save_is_audited_with_before_and_after(app, organizer, category):
    _edition_id, category_id, url = category
    rows = _rows(app, category_id)
    rows[0]["weight"], rows[4]["weight"] = "17.5", "17.5"
    rows[2]["name"] = "風險防制、課責與內控"
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 302
    with app.app_context():
        criteria = _category(category_id).criteria
        assert [c.weight for c in criteria] == [Decimal("17.5"), 20, 25, 20, Decimal("17.5")]
        assert criteria[2].name == "風險防制、課責與內控"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "criteria_saved"))
        assert event.object_type == "category" and event.object_id == str(category_id)
        before, after = json.loads(event.before), json.loads(event.after)
        assert before[0]["weight"] == "20" and after[0]["weight"] == "17.5"
        assert before[2]["name"] == "風險防制與課責" and after[2]["name"] == "風險防制、課責與內控"


@pytest.mark.parametrize(("row", "field", "value"), [
    (0, "weight", "0"),
    (0, "weight", "-5"),
    (0, "weight", "NaN"),
    (0, "weight", "20.00001"),
    (1, "max_score", "0"),
    (1, "step", "0"),
    (1, "step", "3"),  # 0–100 is not a whole number of steps of 3
    (2, "name", ""),
    (2, "name", "首長決心與持續作為"),  # the same name twice
    (3, "min_score", "-1"),
    (3, "section_char_limit", "0"),
])
def test_bad_rows_are_refused_field_by_field(app, organizer, category, row, field, value):
    _edition_id, category_id, url = category
    with app.app_context():
        before = criteria_state(category_id)
    rows = _rows(app, category_id)
    rows[row][field] = value
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 422
    assert f'id="criteria-{row}-{field}-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert criteria_state(category_id) == before


def test_removing_renaming_and_reusing_names_in_one_save(app, organizer, category):
    _edition_id, category_id, url = category
    rows = _rows(app, category_id)
    old_ids = [r["id"] for r in rows]
    rows[0]["name"], rows[1]["name"] = rows[1]["name"], rows[0]["name"]  # swap two names
    rows[4]["remove"] = True  # 廉能創新與擴散 (15) goes …
    rows.append({"name": "廉能創新與擴散", "description": "重新定義", "weight": 15, "min_score": 0,
                 "max_score": 10, "step": 1, "section_char_limit": 1500})  # … and comes back anew
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        criteria = _category(category_id).criteria
        assert [c.name for c in criteria] == [AREAS[1], AREAS[0], AREAS[2], AREAS[3], AREAS[4]]
        assert [c.id for c in criteria][:4] == old_ids[:4] and criteria[4].id != old_ids[4]
        assert criteria[4].max_score == 10 and criteria[4].position == 4
        assert db.session.get(Criterion, old_ids[4]) is None


def test_a_row_of_another_category_is_refused(app, organizer, category):
    edition_id, category_id, url = category
    with app.app_context():
        other = db.session.scalar(select(Edition).where(Edition.number == 3)).categories[1]
        other_id, foreign_id = other.id, other.criteria[0].id
        before = criteria_state(other_id)
    rows = _rows(app, category_id)
    rows[0]["id"] = foreign_id
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 422
    with app.app_context():
        assert criteria_state(other_id) == before


def test_weights_are_locked_once_a_score_exists(app, organizer, category):
    _edition_id, category_id, url = category
    with app.app_context():
        scored = _category(category_id).criteria[0]
        score(scored, Decimal("85.5"))
        before = criteria_state(category_id)
    page = organizer.get(url).get_data(as_text=True)
    weight_input = re.search(r'<input[^>]*name="criteria-0-weight"[^>]*>', page).group(0)
    assert "readonly" in weight_input
    assert 'id="row-0-lock"' in page
    assert "readonly" not in re.search(r'<input[^>]*name="criteria-1-weight"[^>]*>', page).group(0)
    assert "disabled" in re.search(r'<input[^>]*name="criteria-0-remove"[^>]*>', page).group(0)

    # A forged change of weight (balanced elsewhere, so only the lock refuses it), range or step.
    for field, value in (("weight", "25"), ("max_score", "50"), ("min_score", "10"), ("step", "1")):
        rows = _rows(app, category_id)
        rows[0][field] = value
        if field == "weight":
            rows[4]["weight"] = "10"
        response = organizer.post(url, data=criteria_data(rows))
        assert response.status_code == 422, field
        assert f'id="criteria-0-{field}-error"' in response.get_data(as_text=True)
    rows = _rows(app, category_id)
    rows[0]["remove"] = True
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 422
    assert 'id="criteria-0-remove-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert criteria_state(category_id) == before

    # The description, name and other criteria's weights may still change.
    rows = _rows(app, category_id)
    rows[0]["description"] = "首長親自主持廉政會報。"
    rows[0]["weight"] = "20.000"  # the same weight, written differently, is not a change
    rows[1]["weight"], rows[2]["weight"] = "25", "20"
    response = organizer.post(url, data=criteria_data(rows))
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        criteria = _category(category_id).criteria
        assert criteria[0].description == "首長親自主持廉政會報。" and criteria[0].weight == 20
        assert [c.weight for c in criteria[1:3]] == [25, 20]


def test_an_unscored_mark_allows_weight_changes_but_not_removal(app, organizer, category):
    _edition_id, category_id, url = category
    with app.app_context():
        score(_category(category_id).criteria[4], None)
    rows = _rows(app, category_id)
    rows[4]["weight"], rows[3]["weight"] = "10", "25"
    assert organizer.post(url, data=criteria_data(rows)).status_code == 302
    rows = _rows(app, category_id)
    rows[4]["remove"], rows[3]["weight"] = True, "35"
    assert organizer.post(url, data=criteria_data(rows)).status_code == 422
    with app.app_context():
        assert len(_category(category_id).criteria) == 5


def test_a_new_category_with_weights_of_95_gets_no_criteria(app, organizer, category):
    edition_id = category[0]
    organizer.post(f"/editions/{edition_id}/categories/new", data={"name": "試辦組"})
    with app.app_context():
        new_id = db.session.scalar(select(Category.id).where(Category.name == "試辦組"))
    url = f"/editions/{edition_id}/categories/{new_id}/criteria"
    response = organizer.post(url, data=criteria_data(area_rows((20, 20, 20, 20, 15))))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "95" in page and all(f'value="{area}"' in page for area in AREAS)
    with app.app_context():
        assert criteria_state(new_id) == []
