"""Views and exports of other people's personal data are recorded (award/audit/personal_data.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from award.audit import personal_data, verify_chain
from award.extensions import db
from award.models import Agency, AuditEvent, Edition, User, utcnow


def _views() -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.viewed")
                                   .order_by(AuditEvent.seq)))


def _contact_agency() -> Agency:
    return db.session.scalar(select(Agency).join(User, User.agency_id == Agency.id).limit(1))


def test_an_agency_page_with_its_contacts_is_recorded_once_per_quarter_hour(app, client, demo, login):
    login.as_demo("organizer")
    with app.app_context():
        agency = _contact_agency()
        contacts = sorted(u.id for u in db.session.scalars(select(User).where(User.agency_id == agency.id)))
        organizer = db.session.scalar(select(User).where(User.email == "organizer@award.example"))
        agency_id, code, organizer_id = agency.id, agency.code, organizer.id
    assert client.get(f"/agencies/{agency_id}").status_code == 200
    with app.app_context():
        [event] = _views()
        assert event.actor_id == organizer_id and event.object_type == "page"
        assert event.object_id == f"/agencies/{agency_id}"
        whose = json.loads(event.after)["whose"]
        assert whose["agency"] == code and sorted(whose["contacts"]) == contacts
        assert utcnow() - event.occurred_at < timedelta(minutes=1)
    assert client.get(f"/agencies/{agency_id}").status_code == 200
    with app.app_context():
        assert len(_views()) == 1  # the same viewer and page within 15 minutes: recorded once
    assert client.get(f"/agencies/{agency_id}?again=1").status_code == 200
    with app.app_context():
        assert len(_views()) == 2  # another page (another query)
        assert verify_chain().ok


def test_a_view_is_recorded_again_after_fifteen_minutes_and_for_another_viewer(app, demo, monkeypatch):
    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.email == "organizer@award.example"))
        judge = db.session.scalar(select(User).where(User.email == "judge1@award.example"))
        assert personal_data.viewed({"x": 1}, page="/p", viewer=organizer) is not None
        assert personal_data.viewed({"x": 1}, page="/p", viewer=organizer) is None
        assert personal_data.viewed({"x": 1}, page="/p", viewer=judge) is not None
        later = utcnow() + timedelta(minutes=15, seconds=5)
        monkeypatch.setattr("award.audit.personal_data.utcnow", lambda: later)
        assert personal_data.viewed({"x": 1}, page="/p", viewer=organizer) is not None
        assert len(_views()) == 3


def test_a_long_page_address_is_shortened_with_its_hash():
    long = "/agencies/?" + "q=" + "臺" * 60
    key = personal_data.page_key(long)
    assert len(key) == 50 and key.startswith("/agencies/?q=") and "#" in key
    assert personal_data.page_key(long + "x") != key and personal_data.page_key("/short") == "/short"


@pytest.mark.parametrize("page, whose_key", [
    ("/users", "accounts"), ("/outbox", "outgoing_mail"),
])
def test_account_list_and_mail_log_views_are_recorded(app, client, demo, login, page, whose_key):
    login.as_demo("organizer")
    assert client.get(page).status_code == 200
    with app.app_context():
        [event] = _views()
        assert event.object_id == page and whose_key in json.loads(event.after)["whose"]


def test_judge_panel_and_a_judges_page_are_recorded(app, client, demo, login):
    login.as_demo("organizer")
    with app.app_context():
        stage_id = db.session.scalar(select(Edition)).stages[0].id
        judge_id = db.session.scalar(select(User.id).where(User.email == "judge1@award.example"))
    assert client.get(f"/judging/admin/stages/{stage_id}").status_code == 200
    assert client.get(f"/judging/admin/stages/{stage_id}/judges/{judge_id}/withdraw").status_code == 200
    with app.app_context():
        panel, one = _views()
        assert judge_id in json.loads(panel.after)["whose"]["judges"]
        assert json.loads(one.after)["whose"] == {"stage": stage_id, "judge": judge_id}


def test_the_tie_register_is_recorded_as_a_view(app, client, demo, login):
    """The register lists judges' employment and family ties."""
    from award.judging import conflicts
    from award.models import TieKind

    with app.app_context():
        judge = db.session.scalar(select(User).where(User.email == "judge1@award.example"))
        agency_id = db.session.scalar(select(Agency.id).where(Agency.code == "DEMO-C4010"))
        tie_id = conflicts.declare_tie(judge, conflicts.TieData(agency_id, TieKind.FAMILY, description="配偶任職")).tie.id
    login.as_demo("organizer")
    assert client.get("/judging/ties/register").status_code == 200
    with app.app_context():
        [event] = _views()
        assert event.object_id == "/judging/ties/register" and json.loads(event.after)["whose"] == {"ties": [tie_id]}


def test_pages_without_other_peoples_data_record_nothing(app, client, demo, login):
    login.as_demo("organizer")
    for page in ("/", "/agencies/", "/audit/"):
        assert client.get(page).status_code == 200
    with app.app_context():
        assert _views() == []



def test_an_organiser_opening_an_entry_is_recorded_and_its_own_agency_is_not(app, client, demo, login):
    from privacy_helpers import populate

    with app.app_context():
        made = populate(close=False)
        entry_id = made["entry_id"]
        agency_id = db.session.scalar(select(Agency.id).where(Agency.code == "DEMO-C1000"))
    login.as_demo("penghu")
    assert client.get(f"/entries/{entry_id}").status_code == 200  # the agency's own entry: its own data
    with app.app_context():
        assert _views() == []
    client.post("/logout")
    login.as_demo("organizer")
    assert client.get(f"/entries/{entry_id}").status_code == 200
    with app.app_context():
        [event] = _views()
        assert event.object_id == f"/entries/{entry_id}"
        assert json.loads(event.after)["whose"] == {"entry": entry_id, "agency": agency_id}
