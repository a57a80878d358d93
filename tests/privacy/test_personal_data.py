"""The §8 notice on every form collecting personal data, the privacy page, and the organiser's
personal data requests: find, show, export, correct, erase — each recorded with its reference."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from award.audit import verify_chain
from award.auth import operations as auth_ops
from award.extensions import db
from award.models import (Agency, AuditEvent, Entry, EntryVersion, Mark, Role, ScoreSheet, TokenPurpose, User)
from privacy_helpers import CONTACT_EMAIL, CONTACT_NAME, HEAD_NAME, demo_password, user

REF = "廉政署 115 年個資申請第 7 號"


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


# --- the notice ---------------------------------------------------------------------------------

def test_every_form_collecting_personal_data_shows_the_notice(app, world, organizer, client_as):
    with app.app_context():
        agency_id = db.session.scalar(select(Agency.id).where(Agency.code == "DEMO-C1000"))
        organiser = user("organizer")
        auth_ops.invite("new.judge@example.org", "新委員", Role.JUDGE, agency=None, actor=organiser,
                        link_for=lambda token: f"/invitations/{token}")
        db.session.commit()
        token_link = None
        from award.models import OutgoingMail
        body = db.session.scalar(select(OutgoingMail.body).order_by(OutgoingMail.id.desc()))
        token_link = body[body.index("/invitations/"):].split()[0]
        # a draft entry of penghu's to edit
        entry = db.session.get(Entry, world["entry_id"])
        from award.models import EditionStatus, EntryStatus, Edition
        edition = db.session.get(Edition, world["edition_id"])
        edition.status = EditionStatus.OPEN
        entry.status = EntryStatus.DRAFT
        db.session.commit()
    pages = [(organizer, "/users/invite"), (organizer, "/agencies/new"), (organizer, f"/agencies/{agency_id}/edit"),
             (organizer, "/agencies/import"), (client_as("penghu"), f"/entries/{world['entry_id']}/edit"),
             (app.test_client(), token_link)]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "data-pdpa-notice" in html, url
        assert 'href="/privacy"' in html or "award.test/privacy" in html, url


def test_privacy_page_covers_article_8(client):
    html = client.get("/privacy").get_data(as_text=True)
    for section in ("collector", "purpose", "categories", "use", "rights", "consequences"):
        assert f'id="{section}"' in html
    assert "365" in html  # the retention period comes from the configuration


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["judge1", "penghu"])
def test_only_organisers_reach_the_requests(app, world, client_as, who):
    client = client_as(who)
    for method, url in [("GET", "/privacy/requests/"), ("POST", "/privacy/requests/"),
                        ("POST", "/privacy/requests/export"), ("POST", "/privacy/requests/correct"),
                        ("POST", "/privacy/requests/erase")]:
        response = client.open(url, method=method, data={"q": CONTACT_EMAIL, "reference": REF,
                                                         "kind": "entry", "object_id": world["entry_id"],
                                                         "field": "contact_phone", "value": "x", "confirm": "y"})
        assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Entry, world["entry_id"]).contact_phone == "06-9274400"
        assert _events("personal_data_searched") == []


def test_anonymous_is_sent_to_login(client):
    response = client.get("/privacy/requests/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- find and show ------------------------------------------------------------------------------

def test_search_finds_the_person_everywhere_and_records_the_reference(app, world, organizer):
    response = organizer.post("/privacy/requests/", data={"q": "  Judge2@Award.example ", "reference": REF})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="user-{world["judge2_id"]}"' in html
    assert "具體可行" in html  # the judge's own comment on their sheet is part of what is held
    response = organizer.post("/privacy/requests/", data={"q": CONTACT_NAME, "reference": REF})
    assert f'id="entry-{world["entry_id"]}"' in response.get_data(as_text=True)
    with app.app_context():
        events = _events("personal_data_searched")
        assert len(events) == 2
        after = json.loads(events[0].after)
        assert after["reference"] == REF and after["found"] == 1
        assert after["records"] == [f"user:{world['judge2_id']}"]  # whose data the page showed
        assert "judge2" not in events[0].after  # the audit trail keeps a digest, not the address


def test_search_without_reference_is_refused(app, world, organizer):
    response = organizer.post("/privacy/requests/", data={"q": CONTACT_EMAIL, "reference": ""})
    assert response.status_code == 400
    with app.app_context():
        assert _events("personal_data_searched") == []


def test_export_is_utf8_json_of_everything_held(app, world, organizer):
    response = organizer.post("/privacy/requests/export", data={"q": CONTACT_EMAIL, "reference": REF})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert CONTACT_NAME.encode("utf-8") in raw  # real UTF-8, not \u escapes
    document = json.loads(raw.decode("utf-8"))
    assert document["reference"] == REF
    kinds = {r["kind"]: r for r in document["records"]}
    assert kinds["entry"]["data"]["contact_phone"] == "06-9274400"
    assert kinds["entry"]["data"]["head_name"] == HEAD_NAME
    with app.app_context():
        import hashlib

        event = _events("personal_data_exported")[0]
        assert json.loads(event.after)["sha256"] == hashlib.sha256(raw).hexdigest()


# --- correct ------------------------------------------------------------------------------------

def test_correct_a_field(app, world, organizer):
    response = organizer.post("/privacy/requests/correct", data={
        "q": CONTACT_EMAIL, "reference": REF, "kind": "entry", "object_id": world["entry_id"],
        "field": "contact_phone", "value": "06-9270001"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(Entry, world["entry_id"]).contact_phone == "06-9270001"
        event = _events("personal_data_corrected")[0]
        assert event.object_type == "entry" and event.object_id == str(world["entry_id"])
        assert json.loads(event.after)["reference"] == REF
        assert "06-9270001" not in event.after


@pytest.mark.parametrize("data", [
    {"kind": "user", "field": "email", "value": "not-an-address"},
    {"kind": "user", "field": "email", "value": "judge1@award.example"},  # another account's
    {"kind": "user", "field": "role", "value": "organizer"},  # not a personal field
    {"kind": "user", "field": "name", "value": ""},
])
def test_bad_corrections_are_refused_and_change_nothing(app, world, organizer, data):
    response = organizer.post("/privacy/requests/correct", data={
        "q": "judge2@award.example", "reference": REF, "object_id": world["judge2_id"], **data})
    assert response.status_code == 400
    with app.app_context():
        judge2 = db.session.get(User, world["judge2_id"])
        assert judge2.email == "judge2@award.example" and judge2.role is Role.JUDGE and judge2.name
        assert _events("personal_data_corrected") == []


# --- erase --------------------------------------------------------------------------------------

def test_a_judge_with_scores_is_anonymised_not_deleted(app, world, organizer):
    with app.app_context():
        marks_before = [(m.sheet_id, m.criterion_id, m.score) for m in db.session.scalars(select(Mark))]
    response = organizer.post("/privacy/requests/erase", data={
        "q": "judge2@award.example", "reference": REF, "kind": "user", "object_id": world["judge2_id"],
        "confirm": "y"})
    assert response.status_code == 200
    with app.app_context():
        judge2 = db.session.get(User, world["judge2_id"])
        assert judge2 is not None and judge2.email.endswith("@anonymised.invalid")
        assert judge2.name == f"person-{judge2.id}" and judge2.password_hash is None and not judge2.active
        assert db.session.scalar(select(ScoreSheet.judge_id).where(ScoreSheet.id == world["sheet_id"])) == judge2.id
        assert [(m.sheet_id, m.criterion_id, m.score) for m in db.session.scalars(select(Mark))] == marks_before
        assert json.loads(_events("personal_data_anonymised")[0].after)["reference"] == REF
        assert verify_chain().ok
    login = app.test_client().post("/login", data={"email": "judge2@award.example",
                                                   "password": demo_password("judge2")})
    assert login.status_code != 302


def test_an_account_nothing_refers_to_is_deleted(app, world, organizer):
    with app.app_context():
        lone = auth_ops.create_user("lone@example.org", "孤單", Role.JUDGE, "a-long-password-123")
        db.session.commit()
        lone_id = lone.id
    response = organizer.post("/privacy/requests/erase", data={
        "q": "lone@example.org", "reference": REF, "kind": "user", "object_id": lone_id, "confirm": "y"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.get(User, lone_id) is None
        assert _events("personal_data_deleted")[0].object_id == str(lone_id)
        assert verify_chain().ok


def test_erasing_without_confirmation_changes_nothing(app, world, organizer):
    response = organizer.post("/privacy/requests/erase", data={
        "q": "judge2@award.example", "reference": REF, "kind": "user", "object_id": world["judge2_id"]})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(User, world["judge2_id"]).email == "judge2@award.example"


def test_an_organiser_cannot_erase_their_own_account(app, world, organizer):
    with app.app_context():
        own = user("organizer").id
    response = organizer.post("/privacy/requests/erase", data={
        "q": "organizer@award.example", "reference": REF, "kind": "user", "object_id": own, "confirm": "y"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(User, own).email == "organizer@award.example"


def test_erasing_a_contact_blanks_the_entry_and_its_versions_only(app, world, organizer):
    response = organizer.post("/privacy/requests/erase", data={
        "q": CONTACT_EMAIL, "reference": REF, "kind": "entry", "object_id": world["entry_id"],
        "fields": "contact_name,contact_title,contact_phone,contact_email", "confirm": "y"})
    assert response.status_code == 200
    with app.app_context():
        entry = db.session.get(Entry, world["entry_id"])
        assert (entry.contact_name, entry.contact_phone, entry.contact_email) == ("", "", "")
        assert entry.head_name == HEAD_NAME and entry.title  # the head's name and the entry stay
        version = db.session.get(EntryVersion, world["version_id"])
        content = json.loads(version.content)
        assert content["contact"] == {"name": "", "title": "", "phone": "", "email": ""}
        assert content["head"]["name"] == HEAD_NAME and "contact_email" in content["redacted"]
        assert CONTACT_EMAIL not in version.content
        assert verify_chain().ok
    found = organizer.post("/privacy/requests/", data={"q": CONTACT_EMAIL, "reference": REF})
    assert 'id="no-records"' in found.get_data(as_text=True)


def test_pending_invitation_is_deleted(app, world, organizer):
    with app.app_context():
        token = auth_ops.invite("invitee@example.org", "受邀者", Role.JUDGE, agency=None, actor=user("organizer"),
                                link_for=lambda t: t)
        db.session.commit()
        token_id = token.id
    organizer.post("/privacy/requests/erase", data={
        "q": "invitee@example.org", "reference": REF, "kind": "account_token", "object_id": token_id, "confirm": "y"})
    with app.app_context():
        from award.models import AccountToken, OutgoingMail

        assert db.session.get(AccountToken, token_id) is None
        assert db.session.scalar(select(func.count()).select_from(AccountToken)
                                 .where(AccountToken.purpose == TokenPurpose.INVITATION)) == 0
        assert db.session.scalar(select(func.count(OutgoingMail.id))) >= 1  # the message is a separate record
