"""Login, lockout, password reset and invitations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from award.extensions import db
from award.models import AccountToken, Agency, AuditEvent, OutgoingMail, Role, User, utcnow

ORGANIZER = ("organizer@award.example", "Demo-organizer-2026")


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def _actions():
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()


def _last_mail_link(path_part: str) -> str:
    body = db.session.scalar(select(OutgoingMail.body).order_by(OutgoingMail.id.desc()))
    match = re.search(r"https?://[^/\s]+(/" + path_part + r"/\S+)", body)
    assert match, body
    return match.group(1)


def test_login_and_logout_are_audited(app, client, demo, login):
    response = login(*ORGANIZER)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
    assert client.get("/users").status_code == 200
    client.post("/logout")
    assert client.get("/users").status_code == 302  # back to the login page
    with app.app_context():
        assert _actions()[-3:] == ["login", "personal_data.viewed", "logout"]  # /users lists people


def test_password_hash_is_argon2id(app, demo):
    with app.app_context():
        assert _user(ORGANIZER[0]).password_hash.startswith("$argon2id$")


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app, client, demo, login):
    wrong_password = login(ORGANIZER[0], "not-the-password-at-all").get_data(as_text=True)
    unknown_user = login("nobody@award.example", "not-the-password-at-all").get_data(as_text=True)
    assert 'class="flash flash-error"' in wrong_password

    def message(page):
        return re.search(r'flash-error"[^>]*>([^<]+)<', page).group(1)

    assert message(wrong_password) == message(unknown_user)
    with app.app_context():
        assert _user(ORGANIZER[0]).failed_logins == 1


def test_account_locks_after_repeated_failures_even_for_the_right_password(app, client, demo, login):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(ORGANIZER[0], "wrong-password-123")
    assert login(*ORGANIZER).status_code == 200  # refused: still on the form
    with app.app_context():
        user = _user(ORGANIZER[0])
        assert user.locked_until > utcnow() + timedelta(minutes=14)
        assert "account_locked" in _actions()
        user.locked_until = utcnow() - timedelta(seconds=1)  # the lockout has passed
        db.session.commit()
    assert login(*ORGANIZER).status_code == 302


def test_disabled_account_cannot_log_in(app, client, demo, login):
    with app.app_context():
        _user("judge1@award.example").active = False
        db.session.commit()
    assert login("judge1@award.example", "Demo-judge-one-2026").status_code == 200


def test_password_reset_by_single_use_token(app, client, demo, login):
    client.post("/password/forgot", data={"email": "judge2@award.example"})
    with app.app_context():
        link = _last_mail_link("password/reset")
        stored = db.session.scalars(select(AccountToken.token_hash)).all()
    assert link.rsplit("/", 1)[1] not in stored  # only a hash of the token is kept
    assert client.get(link).status_code == 200
    short = client.post(link, data={"password": "short", "confirm": "short"})
    assert short.status_code == 200  # refused, and the token is not used up by it
    new = "A brand new passphrase 2026"
    assert client.post(link, data={"password": new, "confirm": new}).status_code == 302
    assert login("judge2@award.example", new).status_code == 302
    client.post("/logout")
    assert client.get(link).status_code == 410  # used
    assert client.post(link, data={"password": "Another passphrase 2026!", "confirm": "Another passphrase 2026!"}).status_code == 410


def test_expired_reset_token_is_refused(app, client, demo):
    client.post("/password/forgot", data={"email": "judge2@award.example"})
    with app.app_context():
        link = _last_mail_link("password/reset")
        token = db.session.scalar(select(AccountToken))
        token.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get(link).status_code == 410


def test_reset_for_unknown_address_says_the_same_and_sends_nothing(app, client, demo):
    response = client.post("/password/forgot", data={"email": "stranger@award.example"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(OutgoingMail.id))) == 0


def test_organiser_invites_an_agency_contact_who_sets_a_password(app, client, demo, login):
    login(*ORGANIZER)
    with app.app_context():
        kinmen = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C2000"))
    response = client.post("/users/invite", data={
        "email": "Kinmen.Contact@award.example", "name": "金門聯絡人", "role": "agency", "agency_id": kinmen.id,
    })
    assert response.status_code == 302
    client.post("/logout")
    with app.app_context():
        link = _last_mail_link("invitations")
        assert db.session.scalar(select(OutgoingMail.recipient).order_by(OutgoingMail.id.desc())) == \
            "kinmen.contact@award.example"
    assert client.post(link, data={"name": "金門聯絡人", "password": "x", "confirm": "x"}).status_code == 200
    password = "Kinmen island integrity 2026"
    assert client.post(link, data={"name": "金門聯絡人", "password": password, "confirm": password}).status_code == 302
    assert login("kinmen.contact@award.example", password).status_code == 302
    with app.app_context():
        user = _user("kinmen.contact@award.example")
        assert user.role is Role.AGENCY and user.agency.code == "DEMO-C2000"
        assert {"invitation_sent", "invitation_accepted"} <= set(_actions())
    assert client.get(link).status_code == 410  # single use


def test_invitation_of_agency_contact_without_agency_is_refused(app, client, demo, login):
    login(*ORGANIZER)
    response = client.post("/users/invite", data={"email": "x@award.example", "name": "X", "role": "agency",
                                                  "agency_id": 0})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(AccountToken.id))) == 0


def test_outbox_shows_undelivered_mail_to_organisers_only(app, client, demo, login):
    client.post("/password/forgot", data={"email": "judge2@award.example"})
    login.as_demo("judge1")
    assert client.get("/outbox").status_code == 403
    client.post("/logout")
    login(*ORGANIZER)
    page = client.get("/outbox").get_data(as_text=True)
    assert "judge2@award.example" in page and "/password/reset/" in page


def test_organiser_disables_an_account(app, client, demo, login):
    login(*ORGANIZER)
    with app.app_context():
        judge = _user("judge3@award.example")
    client.post(f"/users/{judge.id}/active", data={"active": "0"})
    with app.app_context():
        assert _user("judge3@award.example").active is False
        assert "user_disabled" in _actions()


def test_next_parameter_cannot_redirect_off_site(client, demo):
    response = client.post("/login?next=//evil.example/x", data={"email": ORGANIZER[0], "password": ORGANIZER[1]})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("password", ["short", "x" * 129])
def test_password_policy(app, password):
    from award.auth.operations import AccountError, hash_password

    with app.test_request_context():
        with pytest.raises(AccountError):
            hash_password(password)
