"""Editions: creating the real award through the forms, Taipei times, uniqueness, status moves, audit."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from award.extensions import db
from award.i18n import TAIPEI
from award.models import Agency, AuditEvent, Category, Edition, EditionStatus, Entry, Stage
from edition_helpers import AREAS, area_rows, audit_count, criteria_data, edition_data

REAL_CATEGORIES = {"整體廉能作為類": (20, 20, 25, 20, 15), "創新廉能措施類": (10, 15, 20, 20, 35)}


def _edition(number: int) -> Edition:
    return db.session.scalar(select(Edition).where(Edition.number == number))


def _create(client, number: int = 7, **overrides):
    return client.post("/editions/new", data=edition_data(number, **overrides))


def test_real_award_is_set_up_through_the_forms(app, organizer):
    response = _create(organizer, 7)
    assert response.status_code == 302
    with app.app_context():
        edition_id = _edition(7).id
    for name, weights in REAL_CATEGORIES.items():
        response = organizer.post(f"/editions/{edition_id}/categories/new", data={"name": name, "description": ""})
        assert response.status_code == 302
        assert "/criteria" in response.headers["Location"]
        with app.app_context():
            category_id = db.session.scalar(select(Category.id).where(Category.name == name,
                                                                      Category.edition_id == edition_id))
        response = organizer.post(f"/editions/{edition_id}/categories/{category_id}/criteria",
                                  data=criteria_data(area_rows(weights) + [{"name": "", "weight": "",
                                                                            "min_score": 0, "max_score": 100}]))
        assert response.status_code == 302, response.get_data(as_text=True)

    with app.app_context():
        edition = _edition(7)
        assert [c.name for c in edition.categories] == list(REAL_CATEGORIES)
        for category, weights in zip(edition.categories, REAL_CATEGORIES.values(), strict=True):
            assert [c.name for c in category.criteria] == AREAS
            assert [c.weight for c in category.criteria] == [Decimal(w) for w in weights]
            assert all(isinstance(c.weight, Decimal) and c.step == Decimal("0.5") for c in category.criteria)
            assert category.weight_sum == Decimal(100)

    page = organizer.get(f"/editions/{edition_id}").get_data(as_text=True)
    for area in AREAS:
        assert area in page
    assert 'id="opening-problems"' not in page
    response = organizer.post(f"/editions/{edition_id}/status", data={"status": "open", "confirmed": "1"})
    with app.app_context():
        assert _edition(7).status is EditionStatus.OPEN


def test_deadline_entered_in_taipei_is_stored_as_utc(app, organizer):
    _create(organizer, 8, submission_opens_at="2024-09-01T08:30", submission_deadline="2024-09-30T17:00")
    with app.app_context():
        edition = _edition(8)
        assert edition.submission_deadline == datetime(2024, 9, 30, 9, 0, tzinfo=timezone.utc)
        assert edition.submission_opens_at == datetime(2024, 9, 1, 0, 30, tzinfo=timezone.utc)
        edition_id = edition.id
    form = organizer.get(f"/editions/{edition_id}/edit").get_data(as_text=True)
    assert 'value="2024-09-30T17:00"' in form  # shown back in Taipei time, as the browser needs it
    page = organizer.get(f"/editions/{edition_id}").get_data(as_text=True)
    assert "2024-09-30 17:00" in page


def test_edition_number_is_unique_and_deadline_follows_opening(app, organizer):
    assert _create(organizer, 3).status_code == 422  # the demo edition is number 3
    response = _create(organizer, 9, submission_opens_at="2099-10-01T09:00", submission_deadline="2099-09-30T17:00")
    assert response.status_code == 422
    assert 'id="submission_deadline-error"' in response.get_data(as_text=True)
    response = _create(organizer, 9, year="abc")
    assert response.status_code == 422
    assert 'value="第9屆透明晶質獎"' in response.get_data(as_text=True)  # what was typed is kept
    with app.app_context():
        assert db.session.scalars(select(Edition.number).order_by(Edition.number)).all() == [3]


def test_editing_an_edition_is_audited_with_before_and_after(app, organizer):
    _create(organizer, 10)
    with app.app_context():
        edition_id = _edition(10).id
    response = organizer.post(f"/editions/{edition_id}/edit",
                              data=edition_data(10, name="第10屆透明晶質獎（修正）", submission_deadline="2099-10-15T17:00"))
    assert response.status_code == 302
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "edition",
                                                             AuditEvent.object_id == str(edition_id))
                                    .order_by(AuditEvent.seq)).all()
        assert [e.action for e in events] == ["edition_created", "edition_updated"]
        assert json.loads(events[0].after)["status"] == "draft"
        before, after = json.loads(events[1].before), json.loads(events[1].after)
        assert before["name"] == "第10屆透明晶質獎" and after["name"] == "第10屆透明晶質獎（修正）"
        assert before["submission_deadline"].startswith("2099-09-30T09:00")
        assert after["submission_deadline"].startswith("2099-10-15T09:00")
        assert events[1].actor_label.startswith("organizer@")


def test_opening_refused_while_a_category_does_not_add_up(app, organizer):
    _create(organizer, 11)
    with app.app_context():
        edition = _edition(11)
        edition_id = edition.id
        category = Category(edition=edition, name="整體廉能作為類")
        from award.models import Criterion

        for index, (name, weight) in enumerate(zip(AREAS, (20, 20, 20, 20, 15), strict=True)):
            category.criteria.append(Criterion(name=name, position=index, weight=Decimal(weight),
                                               max_score=Decimal(100)))
        db.session.add(category)
        db.session.commit()
    page = organizer.get(f"/editions/{edition_id}").get_data(as_text=True)
    assert 'id="opening-problems"' in page and "95" in page
    before = audit_count_in(app)
    response = organizer.post(f"/editions/{edition_id}/status", data={"status": "open", "confirmed": "1"}, follow_redirects=True)
    assert "整體廉能作為類" in response.get_data(as_text=True) and "95" in response.get_data(as_text=True)
    with app.app_context():
        assert _edition(11).status is EditionStatus.DRAFT
    assert audit_count_in(app) == before


def test_opening_refused_without_categories_criteria_or_deadline(app, organizer):
    _create(organizer, 12, submission_opens_at="", submission_deadline="")
    with app.app_context():
        edition = _edition(12)
        edition_id = edition.id
        from award.editions import operations as ops

        assert len(ops.opening_problems(edition)) == 2  # no category, no deadline
        db.session.add(Category(edition=edition, name="創新廉能措施類"))
        db.session.commit()
        problems = ops.opening_problems(edition)
        assert any("創新廉能措施類" in p for p in problems)
    organizer.post(f"/editions/{edition_id}/status", data={"status": "open", "confirmed": "1"})
    with app.app_context():
        assert _edition(12).status is EditionStatus.DRAFT


def test_status_moves_follow_the_rules(app, organizer):
    with app.app_context():
        demo = _edition(3)  # open, with two stages
        edition_id = demo.id
        demo_stages = [s.id for s in demo.stages]
    # Not from open straight to closed, and no unknown status.
    organizer.post(f"/editions/{edition_id}/status", data={"status": "closed", "confirmed": "1"})
    assert organizer.post(f"/editions/{edition_id}/status", data={"status": "bogus"}).status_code == 400
    with app.app_context():
        assert _edition(3).status is EditionStatus.OPEN
        agency = db.session.scalars(select(Agency).order_by(Agency.id)).first()
        db.session.add(Entry(category_id=_edition(3).categories[0].id, agency_id=agency.id, title="案"))
        db.session.commit()
    organizer.post(f"/editions/{edition_id}/status", data={"status": "draft", "confirmed": "1"})  # entries exist: refused
    with app.app_context():
        assert _edition(3).status is EditionStatus.OPEN
        for stage_id in demo_stages:
            db.session.delete(db.session.get(Stage, stage_id))
        db.session.commit()
    organizer.post(f"/editions/{edition_id}/status", data={"status": "judging", "confirmed": "1"})  # no stage: refused
    with app.app_context():
        assert _edition(3).status is EditionStatus.OPEN
        db.session.add(Stage(edition_id=edition_id, name="書面審查", judges_per_entry=3, trim=0))
        db.session.commit()
    organizer.post(f"/editions/{edition_id}/status", data={"status": "judging", "confirmed": "1"})
    organizer.post(f"/editions/{edition_id}/status", data={"status": "closed", "confirmed": "1"})
    with app.app_context():
        assert _edition(3).status is EditionStatus.CLOSED
        moves = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "edition_status_changed")
                                   .order_by(AuditEvent.seq)).all()
        assert [(json.loads(e.before)["status"], json.loads(e.after)["status"]) for e in moves] == [
            ("open", "judging"), ("judging", "closed")]


def test_starting_judging_asks_first_and_warns_before_the_deadline(app, organizer):
    """One click on "Start judging" must not close submissions a month early: the button leads to a
    page that says what it does and that the deadline has not passed; only its confirm button acts."""
    with app.app_context():
        edition = _edition(3)  # the demo's: open, deadline ahead
        edition_id = edition.id
        deadline = edition.submission_deadline.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
        agency = db.session.scalars(select(Agency).order_by(Agency.id)).first()
        db.session.add(Entry(category_id=edition.categories[0].id, agency_id=agency.id, title="草稿案"))
        db.session.commit()
        count = audit_count()
    asked = organizer.post(f"/editions/{edition_id}/status", data={"status": "judging"})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    warnings = page.split('id="status-warnings"', 1)[1].split("</div>", 1)[0]
    assert deadline in warnings and "1" in warnings  # the deadline, and one entry not submitted
    assert 'name="confirmed" value="1"' in page
    with app.app_context():
        assert _edition(3).status is EditionStatus.OPEN and audit_count() == count  # nothing changed yet
    organizer.post(f"/editions/{edition_id}/status", data={"status": "judging", "confirmed": "1"})
    with app.app_context():
        assert _edition(3).status is EditionStatus.JUDGING
    # a move that is not allowed is refused at once, without a confirmation page
    refused = organizer.post(f"/editions/{edition_id}/status", data={"status": "draft"})
    assert refused.status_code == 302
    with app.app_context():
        assert _edition(3).status is EditionStatus.JUDGING


def test_list_shows_editions_newest_first(app, organizer):
    _create(organizer, 20)
    page = organizer.get("/editions/").get_data(as_text=True)
    assert page.index("第20屆透明晶質獎") < page.index("第3屆透明晶質獎")


def test_categories_are_unique_and_deleted_only_without_entries(app, organizer):
    with app.app_context():
        edition = _edition(3)
        edition_id, category_id = edition.id, edition.categories[0].id
        other_id = edition.categories[1].id
    response = organizer.post(f"/editions/{edition_id}/categories/{other_id}/edit",
                              data={"name": "整體廉能作為類", "description": ""})
    assert response.status_code == 422
    assert organizer.post(f"/editions/{edition_id}/categories/new",
                          data={"name": "創新廉能措施類"}).status_code == 422
    with app.app_context():
        agency = db.session.scalars(select(Agency).order_by(Agency.id)).first()
        db.session.add(Entry(category_id=category_id, agency_id=agency.id, title="案"))
        db.session.commit()
    page = organizer.get(f"/editions/{edition_id}/categories/{category_id}/delete").get_data(as_text=True)
    assert 'id="delete-refused"' in page
    organizer.post(f"/editions/{edition_id}/categories/{category_id}/delete")
    organizer.post(f"/editions/{edition_id}/categories/{other_id}/delete")
    with app.app_context():
        assert [c.id for c in _edition(3).categories] == [category_id]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "category_deleted"))
        before = json.loads(event.before)
        assert before["name"] == "創新廉能措施類" and len(before["criteria"]) == 5


def audit_count_in(app) -> int:
    with app.app_context():
        return audit_count()
