"""While a stage's results are frozen, what they were computed with stays as the snapshot says: the
stage's results settings and the edition's tiers are refused until an organiser unfreezes (with a
reason). What does not change a result (a stage's name, a tier's certificate text) can still change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from award.editions import operations as editions
from award.extensions import db
from award.models import AwardTier, Stage
from award.results import operations as ops

ORGANIZER = "organizer@award.example"


def _stage_form(stage: Stage, **overrides) -> dict:
    """The stage edit form as the browser posts it, with the stage's current values."""
    data = {"name": stage.name, "opens_at": stage.opens_at.strftime("%Y-%m-%dT%H:%M"),
            "closes_at": stage.closes_at.strftime("%Y-%m-%dT%H:%M"), "judges_per_entry": stage.judges_per_entry,
            "aggregation": stage.aggregation.value, "trim": stage.trim, "trim_level": stage.trim_level,
            "decimals": stage.decimals, "tie_break": stage.tie_break, "too_few_judges": stage.too_few_judges,
            "tie_break_criteria": stage.tie_break_criteria}
    if stage.round_each_stage:
        data["round_each_stage"] = "y"
    if stage.blind:
        data["blind"] = "y"
    return {k: v for k, v in {**data, **overrides}.items() if v is not None}


def _freeze(scored_stage) -> None:
    ops.freeze(scored_stage.stage(), scored_stage.user(ORGANIZER))


def _edit_url(scored_stage) -> str:
    return f"/editions/{scored_stage.edition_id}/stages/{scored_stage.stage_id}/edit"


@pytest.mark.parametrize("field, value", [("aggregation", "mean"), ("trim", 0), ("decimals", 1),
                                          ("round_each_stage", None), ("too_few_judges", "mean"),
                                          ("tie_break", "median")])
def test_a_frozen_stages_results_settings_are_refused(app, scored_stage, client, login, field, value):
    login.as_demo("organizer")
    with app.app_context():
        _freeze(scored_stage)
        stage = scored_stage.stage()
        before = editions.stage_view(stage)
        data = _stage_form(stage, **{field: value})  # None: the box left unticked
    response = client.post(_edit_url(scored_stage), data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "unfreeze them, with a reason" in html or "解除凍結" in html
    with app.app_context():
        db.session.expire_all()
        assert editions.stage_view(scored_stage.stage()) == before  # nothing saved
        snapshot = ops.active_snapshot(scored_stage.stage())
        assert ops.snapshot_matches_live(snapshot)  # the official results and the settings still agree


def test_a_frozen_stage_can_still_be_renamed(app, scored_stage, client, login):
    login.as_demo("organizer")
    assert 'id="stage-frozen"' not in client.get(_edit_url(scored_stage)).get_data(as_text=True)
    with app.app_context():
        _freeze(scored_stage)
    assert 'id="stage-frozen"' in client.get(_edit_url(scored_stage)).get_data(as_text=True)  # said up front
    with app.app_context():
        data = _stage_form(scored_stage.stage(), name="書面審查（初審）")
    assert client.post(_edit_url(scored_stage), data=data).status_code == 302
    with app.app_context():
        db.session.expire_all()
        assert scored_stage.stage().name == "書面審查（初審）"


def test_after_unfreezing_the_settings_change_and_a_new_freeze_records_them(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        _freeze(scored_stage)
        ops.unfreeze(scored_stage.stage(), scored_stage.user(ORGANIZER), "評審會議決議改採平均數")
        data = _stage_form(scored_stage.stage(), aggregation="mean", trim=0)
    assert client.post(_edit_url(scored_stage), data=data).status_code == 302
    with app.app_context():
        stage = scored_stage.stage()
        assert stage.aggregation.value == "mean"
        snapshot = ops.freeze(stage, scored_stage.user(ORGANIZER))
        assert '"method":"mean"' in snapshot.payload.replace(" ", "")


def _tier(scored_stage) -> AwardTier:
    return db.session.scalars(select(AwardTier).where(AwardTier.edition_id == scored_stage.edition_id)
                              .order_by(AwardTier.position)).first()


def _tier_form(tier: AwardTier, **overrides) -> dict:
    data = {"name": tier.name, "min_total": "" if tier.min_total is None else str(tier.min_total),
            "quota": "" if tier.quota is None else str(tier.quota), "award_text": tier.award_text}
    return {**data, **overrides}


def test_tiers_are_refused_while_a_stage_of_the_edition_is_frozen(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        _freeze(scored_stage)
        tier = _tier(scored_stage)
        tier_id, before = tier.id, editions.tier_view(tier)
        count, stage_name = len(tier.edition.tiers), scored_stage.stage().name
        data = _tier_form(tier, min_total="60")
    base = f"/editions/{scored_stage.edition_id}/tiers"
    response = client.post(f"{base}/{tier_id}/edit", data=data)
    assert response.status_code == 422
    assert stage_name in response.get_data(as_text=True)
    client.post(f"{base}/new", data={"name": "佳作", "min_total": "50", "quota": "", "award_text": ""})
    client.post(f"{base}/{tier_id}/delete")
    client.post(f"{base}/{tier_id}/move", data={"direction": "down"})
    confirm = client.get(f"{base}/{tier_id}/delete").get_data(as_text=True)
    assert stage_name in confirm  # the confirmation page says why before anyone tries
    with app.app_context():
        db.session.expire_all()
        tier = db.session.get(AwardTier, tier_id)
        assert editions.tier_view(tier) == before and len(tier.edition.tiers) == count
        assert ops.snapshot_matches_live(ops.active_snapshot(scored_stage.stage()))


def test_a_tiers_certificate_text_can_change_while_frozen(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        _freeze(scored_stage)
        tier = _tier(scored_stage)
        tier_id, data = tier.id, _tier_form(tier, award_text="{agency} 榮獲 {tier}")
    response = client.post(f"/editions/{scored_stage.edition_id}/tiers/{tier_id}/edit", data=data)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(AwardTier, tier_id).award_text == "{agency} 榮獲 {tier}"
