"""Stages (評選階段) and award tiers (獎項等第): windows in Taipei time, trimming, order, thresholds."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from award.extensions import db
from award.models import Aggregation, AuditEvent, AwardTier, Edition, Stage
from edition_helpers import audit_count, score


@pytest.fixture
def edition_id(app, organizer):
    with app.app_context():
        return db.session.scalar(select(Edition.id).where(Edition.number == 3))


def _stage_data(**overrides) -> dict:
    data = {"name": "決選簡報", "opens_at": "2099-11-01T09:00", "closes_at": "2099-11-15T17:00",
            "judges_per_entry": 5, "aggregation": "trimmed", "trim": 1, "trim_level": "total",
            "round_each_stage": "y", "decimals": 2}
    return {**data, **overrides}


def _stages(edition_id: int) -> list[Stage]:
    db.session.expire_all()
    return db.session.get(Edition, edition_id).stages


def _tiers(edition_id: int) -> list[tuple[str, Decimal | None, int | None]]:
    db.session.expire_all()
    return [(t.name, t.min_total, t.quota) for t in db.session.get(Edition, edition_id).tiers]


def test_a_stage_is_added_with_its_window_in_taipei_time(app, organizer, edition_id):
    response = organizer.post(f"/editions/{edition_id}/stages/new", data=_stage_data(blind="y"))
    assert response.status_code == 302
    with app.app_context():
        stage = _stages(edition_id)[-1]
        assert (stage.name, stage.position) == ("決選簡報", 2)
        assert stage.opens_at == datetime(2099, 11, 1, 1, 0, tzinfo=timezone.utc)
        assert stage.closes_at == datetime(2099, 11, 15, 9, 0, tzinfo=timezone.utc)
        assert (stage.judges_per_entry, stage.aggregation, stage.trim, stage.blind) == (5, Aggregation.TRIMMED, 1, True)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "stage_created"))
        assert json.loads(event.after)["opens_at"].startswith("2099-11-01T01:00")
        stage_id = stage.id
    form = organizer.get(f"/editions/{edition_id}/stages/{stage_id}/edit").get_data(as_text=True)
    assert 'value="2099-11-01T09:00"' in form


@pytest.mark.parametrize(("overrides", "field"), [
    ({"judges_per_entry": 2, "trim": 1}, "trim"),  # 2 judges, trim 1 at each end: nobody left
    ({"judges_per_entry": 4, "trim": 2}, "trim"),
    ({"judges_per_entry": 0}, "judges_per_entry"),
    ({"trim": -1}, "trim"),
    ({"decimals": 5}, "decimals"),
    ({"closes_at": "2099-11-01T09:00"}, "closes_at"),  # closes when it opens
    ({"closes_at": ""}, "closes_at"),
    ({"name": "書面審查"}, "name"),  # the demo already has this stage
    ({"aggregation": "average"}, "aggregation"),
    ({"trim_level": "judge"}, "trim_level"),
])
def test_bad_stages_are_refused(app, organizer, edition_id, overrides, field):
    with app.app_context():
        events = audit_count()
    response = organizer.post(f"/editions/{edition_id}/stages/new", data=_stage_data(**overrides))
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert len(_stages(edition_id)) == 2 and audit_count() == events


def test_trim_that_leaves_a_judge_is_accepted(app, organizer, edition_id):
    assert organizer.post(f"/editions/{edition_id}/stages/new",
                          data=_stage_data(judges_per_entry=3, trim=1)).status_code == 302


def test_editing_a_stage_checks_the_trim_against_its_new_panel(app, organizer, edition_id):
    with app.app_context():
        stage_id = _stages(edition_id)[0].id  # 書面審查: 3 judges, trim 0
    response = organizer.post(f"/editions/{edition_id}/stages/{stage_id}/edit",
                              data=_stage_data(name="書面審查", judges_per_entry=3, trim=2))
    assert response.status_code == 422
    response = organizer.post(f"/editions/{edition_id}/stages/{stage_id}/edit",
                              data=_stage_data(name="書面審查", judges_per_entry=7, trim=2, aggregation="median"))
    assert response.status_code == 302
    with app.app_context():
        stage = db.session.get(Stage, stage_id)
        assert (stage.judges_per_entry, stage.trim, stage.aggregation) == (7, 2, Aggregation.MEDIAN)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "stage_updated"))
        assert json.loads(event.before)["judges_per_entry"] == 3 and json.loads(event.after)["judges_per_entry"] == 7


def test_stages_are_reordered_and_deleted_only_without_score_sheets(app, organizer, edition_id):
    with app.app_context():
        first, second = (s.id for s in _stages(edition_id))
    organizer.post(f"/editions/{edition_id}/stages/{second}/move", data={"direction": "up"})
    with app.app_context():
        assert [(s.id, s.position) for s in _stages(edition_id)] == [(second, 0), (first, 1)]
    organizer.post(f"/editions/{edition_id}/stages/{second}/move", data={"direction": "up"})  # already first
    with app.app_context():
        assert [s.id for s in _stages(edition_id)] == [second, first]
        score(db.session.get(Edition, edition_id).categories[0].criteria[0], Decimal(80))  # a sheet in `second`
    page = organizer.get(f"/editions/{edition_id}/stages/{second}/delete").get_data(as_text=True)
    assert 'id="delete-refused"' in page
    organizer.post(f"/editions/{edition_id}/stages/{second}/delete")
    organizer.post(f"/editions/{edition_id}/stages/{first}/delete")
    with app.app_context():
        assert [(s.id, s.position) for s in _stages(edition_id)] == [(second, 0)]
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "stage")
                                     .order_by(AuditEvent.seq)).all()
        assert actions == ["stage_moved", "stage_moved", "stage_deleted"]


def test_tiers_need_a_threshold_or_a_quota_and_unique_names(app, organizer, edition_id):
    url = f"/editions/{edition_id}/tiers/new"
    assert organizer.post(url, data={"name": "佳作", "min_total": "", "quota": ""}).status_code == 422
    assert organizer.post(url, data={"name": "特優", "min_total": "70"}).status_code == 422  # name taken
    response = organizer.post(url, data={"name": "佳作", "min_total": "101"})
    assert response.status_code == 422 and 'id="min_total-error"' in response.get_data(as_text=True)
    assert organizer.post(url, data={"name": "佳作", "quota": "0"}).status_code == 422
    assert organizer.post(url, data={"name": "佳作", "min_total": "75.5", "quota": "3"}).status_code == 302
    assert organizer.post(url, data={"name": "入圍", "quota": "10"}).status_code == 302
    with app.app_context():
        assert _tiers(edition_id) == [("特優", 85, 2), ("優選", 80, None), ("佳作", Decimal("75.5"), 3),
                                      ("入圍", None, 10)]


def test_a_lower_tier_cannot_ask_for_more_than_a_higher_one(app, organizer, edition_id):
    url = f"/editions/{edition_id}/tiers/new"
    response = organizer.post(url, data={"name": "佳作", "min_total": "86"})  # below 特優 (85) and 優選 (80)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="min_total-error"' in page and "優選" in page and "86" in page
    with app.app_context():
        tiers = db.session.get(Edition, edition_id).tiers
        top, second = tiers[0].id, tiers[1].id
    edit = f"/editions/{edition_id}/tiers/{second}/edit"
    assert organizer.post(edit, data={"name": "優選", "min_total": "90"}).status_code == 422
    assert organizer.post(edit, data={"name": "優選", "min_total": "85"}).status_code == 302  # equal is fine
    # Moving 優選 (85) above 特優 (85) keeps the order valid; with 80 it would not.
    organizer.post(edit, data={"name": "優選", "min_total": "80"})
    organizer.post(f"/editions/{edition_id}/tiers/{second}/move", data={"direction": "up"})
    with app.app_context():
        assert [name for name, _m, _q in _tiers(edition_id)] == ["特優", "優選"]
    organizer.post(f"/editions/{edition_id}/tiers/{top}/edit", data={"name": "特優", "min_total": "", "quota": "2"})
    organizer.post(f"/editions/{edition_id}/tiers/{second}/move", data={"direction": "up"})
    with app.app_context():
        assert _tiers(edition_id) == [("優選", 80, None), ("特優", None, 2)]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tier_updated")
                                  .order_by(AuditEvent.seq.desc()))
        assert json.loads(event.before)["min_total"] == "85" and json.loads(event.after)["min_total"] is None


def test_deleting_a_tier_renumbers_the_rest(app, organizer, edition_id):
    with app.app_context():
        top = db.session.get(Edition, edition_id).tiers[0].id
    organizer.post(f"/editions/{edition_id}/tiers/{top}/delete")
    with app.app_context():
        assert db.session.get(AwardTier, top) is None
        tiers = db.session.get(Edition, edition_id).tiers
        assert [(t.name, t.position) for t in tiers] == [("優選", 0)]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tier_deleted"))
        assert json.loads(event.before)["name"] == "特優"
