"""Who reaches which entries URL: own agency only, organisers everything, judges nothing yet,
anonymous users are sent to log in. A refused request changes nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from award.extensions import db
from award.models import AuditEvent, DeadlineExtension, EntryVersion, OutgoingMail
from entries_helpers import add_attachment, category, complete_data, edition, entry, login_client, start

# (method, path template, whom: expected status)
OWNER_PAGES = [("GET", "/entries/{id}"), ("GET", "/entries/{id}/receipt/1"),
               ("GET", "/entries/{id}/versions/1/content.json")]
AGENCY_ACTIONS = [("GET", "/entries/{id}/edit"), ("POST", "/entries/{id}/edit"), ("POST", "/entries/{id}/submit"),
                  ("POST", "/entries/{id}/withdraw")]
ORGANIZER_PAGES = [("GET", "/entries/admin"), ("GET", "/entries/admin/participation"),
                   ("GET", "/entries/admin/extensions"), ("POST", "/entries/admin/extensions"),
                   ("POST", "/entries/{id}/screening")]


@pytest.fixture
def submitted(app, penghu):
    """Penghu's submitted entry (version 1) and a snapshot function of everything that could change."""
    entry_id = start(penghu)
    with app.app_context():
        add_attachment(entry_id)
        data = complete_data(entry_id)
    assert penghu.post(f"/entries/{entry_id}/submit", data=data).status_code == 302
    return entry_id


def _state(app, entry_id: int) -> tuple:
    with app.app_context():
        e = entry(entry_id)
        return (e.status, e.screening, e.draft_version, e.title,
                db.session.scalar(select(func.count(EntryVersion.id))),
                db.session.scalar(select(func.count(DeadlineExtension.id))),
                db.session.scalar(select(func.count(OutgoingMail.id))),
                db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("entry_%")
                                                                   | AuditEvent.action.like("deadline_%"))).all())


def _call(client, method: str, path: str, entry_id: int):
    url = path.format(id=entry_id)
    data = {"draft_version": "99", "title": "入侵", "decision": "eligible", "reason": "x"}
    return client.get(url) if method == "GET" else client.post(url, data=data)


def test_another_agency_finds_nothing(app, demo, submitted):
    green = login_client(app, "greenisland")
    before = _state(app, submitted)
    for method, path in OWNER_PAGES + AGENCY_ACTIONS:
        assert _call(green, method, path, submitted).status_code == 404, (method, path)
    autosave = green.post(f"/entries/{submitted}/autosave", data={"draft_version": "2", "title": "入侵"})
    assert autosave.status_code == 404 and autosave.get_json()["ok"] is False
    for method, path in ORGANIZER_PAGES:
        assert _call(green, method, path, submitted).status_code == 403, (method, path)
    assert f'id="entry-{submitted}"' not in green.get("/entries/").get_data(as_text=True)
    assert _state(app, submitted) == before


def test_judges_reach_no_entry(app, demo, submitted):
    judge = login_client(app, "judge1")
    before = _state(app, submitted)
    for method, path in OWNER_PAGES:
        assert _call(judge, method, path, submitted).status_code == 404, (method, path)
    for method, path in AGENCY_ACTIONS + ORGANIZER_PAGES + [("GET", "/entries/")]:
        assert _call(judge, method, path, submitted).status_code == 403, (method, path)
    assert judge.post(f"/entries/{submitted}/autosave", data={"draft_version": "2"}).status_code == 403
    with app.app_context():
        category_id = category().id
    assert judge.post(f"/entries/start/{category_id}").status_code == 403
    assert _state(app, submitted) == before


def test_anonymous_users_are_sent_to_log_in(app, demo, submitted):
    anonymous = app.test_client()
    before = _state(app, submitted)
    with app.app_context():
        category_id = category().id
    for method, path in OWNER_PAGES + AGENCY_ACTIONS + ORGANIZER_PAGES + [("GET", "/entries/"),
                                                                          ("POST", f"/entries/start/{category_id}")]:
        response = _call(anonymous, method, path, submitted)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, path)
    autosave = anonymous.post(f"/entries/{submitted}/autosave", data={"draft_version": "2"})
    assert autosave.status_code == 401 and autosave.get_json()["ok"] is False
    assert _state(app, submitted) == before


def test_organisers_see_every_entry_but_do_not_write_the_agency_s_text(app, organizer, submitted):
    before = _state(app, submitted)
    for method, path in OWNER_PAGES:
        assert _call(organizer, method, path, submitted).status_code == 200, (method, path)
    for method, path in AGENCY_ACTIONS:
        assert _call(organizer, method, path, submitted).status_code == 403, (method, path)
    assert organizer.post(f"/entries/{submitted}/autosave", data={"draft_version": "2"}).status_code == 403
    assert organizer.get("/entries/").status_code == 302  # their list is the admin list
    for path in ("/entries/admin", "/entries/admin/participation", "/entries/admin/extensions"):
        assert organizer.get(path).status_code == 200, path
    assert _state(app, submitted) == before


def test_the_owner_reaches_the_own_entry(app, penghu, submitted):
    for method, path in OWNER_PAGES:
        assert _call(penghu, method, path, submitted).status_code == 200, (method, path)
    assert penghu.get("/entries/").status_code == 200
    for method, path in ORGANIZER_PAGES:
        assert _call(penghu, method, path, submitted).status_code == 403, (method, path)


def test_unknown_entries_and_versions_are_not_found(app, penghu, organizer, submitted):
    assert organizer.get("/entries/999999").status_code == 404
    assert organizer.get(f"/entries/{submitted}/receipt/7").status_code == 404
    assert penghu.post("/entries/999999/autosave", data={}).status_code == 404
    assert penghu.post("/entries/start/999999").status_code == 404


def test_pages_carry_the_csrf_token_and_autosave_checks_it_in_json(app, penghu):
    entry_id = start(penghu)
    html = penghu.get(f"/entries/{entry_id}/edit").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        missing = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "1", "title": "甲"})
        assert missing.status_code == 400 and missing.get_json()["ok"] is False
        with_header = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "1", "title": "甲"},
                                  headers={"X-CSRFToken": token})
        assert with_header.status_code == 200 and with_header.get_json()["draft_version"] == 2
        page = penghu.post(f"/entries/{entry_id}/edit", data={"draft_version": "2", "title": "乙"})
        assert page.status_code == 400 and page.mimetype == "text/html"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        assert entry(entry_id).title == "甲" and edition() is not None
