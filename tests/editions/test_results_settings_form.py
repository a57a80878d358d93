"""The stage form's results settings (tie-break, too few judges to trim) and the tier's certificate text."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from award.extensions import db
from award.models import AuditEvent, AwardTier, Edition, Stage
from edition_helpers import audit_count

FIRST, SECOND = "首長決心與持續作為", "資訊與行政透明"  # criteria every demo category has


@pytest.fixture
def edition_id(app, organizer):
    with app.app_context():
        return db.session.scalar(select(Edition.id).where(Edition.number == 3))


def _stage_data(**overrides) -> dict:
    data = {"name": "書面審查", "opens_at": "2099-11-01T09:00", "closes_at": "2099-11-15T17:00",
            "judges_per_entry": 5, "aggregation": "trimmed", "trim": 1, "trim_level": "total",
            "round_each_stage": "y", "decimals": 2}
    return {**data, **overrides}


def _first_stage(edition_id: int) -> Stage:
    db.session.expire_all()
    return db.session.get(Edition, edition_id).stages[0]


def test_a_new_stage_keeps_todays_behaviour(app, organizer, edition_id):
    response = organizer.post(f"/editions/{edition_id}/stages/new", data=_stage_data(name="決選"))
    assert response.status_code == 302
    with app.app_context():
        stage = db.session.get(Edition, edition_id).stages[-1]
        assert (stage.tie_break, stage.tie_break_criteria, stage.too_few_judges) == ("", "", "error")


def test_the_organiser_sets_the_tie_break_and_the_fallback(app, organizer, edition_id):
    with app.app_context():
        stage_id = _first_stage(edition_id).id
    url = f"/editions/{edition_id}/stages/{stage_id}/edit"
    response = organizer.post(url, data=_stage_data(tie_break="criteria,median",
                                                    tie_break_criteria=f" {SECOND}\r\n\r\n{FIRST} ",
                                                    too_few_judges="mean"))
    assert response.status_code == 302
    with app.app_context():
        stage = _first_stage(edition_id)
        assert (stage.tie_break, stage.tie_break_criteria, stage.too_few_judges) == (
            "criteria,median", f"{SECOND}\n{FIRST}", "mean")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "stage_updated"))
        assert json.loads(event.before)["tie_break"] == "" and json.loads(event.after)["too_few_judges"] == "mean"
    form = organizer.get(url).get_data(as_text=True)
    assert '<option selected value="criteria,median">' in form and '<option selected value="mean">' in form
    assert f"{SECOND}\n{FIRST}</textarea>" in form


@pytest.mark.parametrize(("overrides", "field"), [
    ({"tie_break": "criteria", "tie_break_criteria": "不存在的面向"}, "tie_break_criteria"),  # no such criterion
    ({"tie_break": "criteria", "tie_break_criteria": ""}, "tie_break_criteria"),  # criteria, none named
    ({"tie_break": "median", "tie_break_criteria": FIRST}, "tie_break_criteria"),  # named, not used
    ({"tie_break": "criteria", "tie_break_criteria": f"{FIRST}\n{FIRST}"}, "tie_break_criteria"),
    ({"tie_break": "coin"}, "tie_break"),
    ({"too_few_judges": "ignore"}, "too_few_judges"),
])
def test_bad_results_settings_are_refused_and_nothing_is_saved(app, organizer, edition_id, overrides, field):
    with app.app_context():
        stage_id = _first_stage(edition_id).id
        events = audit_count()
    response = organizer.post(f"/editions/{edition_id}/stages/{stage_id}/edit", data=_stage_data(**overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    with app.app_context():
        stage = _first_stage(edition_id)
        assert (stage.tie_break, stage.tie_break_criteria, stage.too_few_judges) == ("", "", "error")
        assert stage.judges_per_entry == 3 and audit_count() == events  # nothing else saved either


def test_a_criterion_one_category_lacks_is_named_in_the_refusal(app, organizer, edition_id):
    with app.app_context():
        edition = db.session.get(Edition, edition_id)
        stage_id = edition.stages[0].id
        edition.categories[1].criteria[0].name = "首長決心"  # the second category calls it otherwise
        lacking = edition.categories[1].name
        db.session.commit()
    response = organizer.post(f"/editions/{edition_id}/stages/{stage_id}/edit",
                              data=_stage_data(tie_break="criteria", tie_break_criteria=FIRST))
    assert response.status_code == 422
    error = response.get_data(as_text=True).split('id="tie_break_criteria-error">', 1)[1].split("</p>", 1)[0]
    assert lacking in error and FIRST in error


def test_the_tier_form_edits_the_certificate_text(app, organizer, edition_id):
    with app.app_context():
        tier_id = db.session.scalar(select(AwardTier.id).where(AwardTier.name == "特優"))
    url = f"/editions/{edition_id}/tiers/{tier_id}/edit"
    text = "恭賀 {agency}（{head}）\r\n榮獲 {category} {tier}"
    response = organizer.post(url, data={"name": "特優", "min_total": "85", "quota": "2", "award_text": text})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(AwardTier, tier_id).award_text == text.replace("\r\n", "\n")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tier_updated"))
        assert json.loads(event.after)["award_text"] == text.replace("\r\n", "\n")
    assert "榮獲 {category} {tier}</textarea>" in organizer.get(url).get_data(as_text=True)
    table = organizer.get(f"/editions/{edition_id}").get_data(as_text=True).split('id="tier-table"', 1)[1]
    assert "恭賀 {agency}（{head}）\n榮獲 {category} {tier}</td>" in table  # shown with the tiers
    response = organizer.post(url, data={"name": "特優", "min_total": "85", "quota": "2",
                                         "award_text": "{agency} {agency.__class__} {x}"})
    assert response.status_code == 422
    error = response.get_data(as_text=True).split('id="award_text-error">', 1)[1].split("</p>", 1)[0]
    assert "{agency.__class__}" in error and "{x}" in error
    with app.app_context():
        assert db.session.get(AwardTier, tier_id).award_text == text.replace("\r\n", "\n")
