"""Every route × every role × another agency's objects, generated from the app's URL map.

A new route that is not in ``POLICY`` fails this test, so nothing escapes the matrix. A refused
request must answer 403/404 (or send an anonymous visitor to the login page) and never show the
protected data; an allowed one must not be refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from award.extensions import db
from decimal import Decimal

from award.models import (Agency, Assignment, AssignmentStatus, Criterion, Edition, Entry, Mark, ScoreSheet, Stage,
                          StageEntry, Tie, TieKind, User, utcnow)

# Who may reach each endpoint. "own-agency": organisers, and agency contacts of the object's agency;
# "agency-contact": only the contacts of the object's agency (organisers do not write agencies' entries).
PUBLIC, LOGGED_IN, ORGANIZER = "public", "logged-in", "organizer"
OWN_AGENCY, AGENCY_CONTACT, AGENCY_OR_ORGANIZER = "own-agency", "agency-contact", "agency-or-organizer"
ANY_AGENCY_CONTACT = "any-agency-contact"  # the object is checked later (e.g. in the upload's metadata)
JUDGE = "judge"  # any judge; the page shows only what is theirs
# Only the judge holding the assignment: the matrix's judge (judge1) is NOT the one assigned
# (judge2 is), so every role must be refused.
ASSIGNED_JUDGE = "assigned-judge"
ROLES = ("anonymous", "organizer", "judge", "agency", "other_agency")

POLICY: dict[str, str] = {
    "static": PUBLIC,
    "main.index": LOGGED_IN,
    "main.set_language": PUBLIC,
    "main.privacy": PUBLIC,
    "main.healthz": PUBLIC,  # load balancers' liveness check: no database, no data
    "auth.login": PUBLIC,
    "auth.logout": LOGGED_IN,
    "auth.forgot_password": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.accept_invitation": PUBLIC,
    "auth.change_password": LOGGED_IN,
    "auth.users": ORGANIZER,
    "auth.invite": ORGANIZER,
    "auth.set_active": ORGANIZER,
    "auth.unlock": ORGANIZER,
    "auth.require_password_change": ORGANIZER,
    "auth.outbox": ORGANIZER,
    "audit.events": ORGANIZER,
    "audit.verify": ORGANIZER,
    "entries.my_entries": AGENCY_OR_ORGANIZER,
    "entries.start_entry": ANY_AGENCY_CONTACT,  # starts the contact's own agency's entry
    "entries.edit_entry": AGENCY_CONTACT,
    "entries.autosave": AGENCY_CONTACT,
    "entries.submit_entry": AGENCY_CONTACT,
    "entries.withdraw_entry": AGENCY_CONTACT,
    "entries.show_entry": OWN_AGENCY,
    "entries.receipt": OWN_AGENCY,
    "entries.version_content": OWN_AGENCY,
    "entries.admin_entries": ORGANIZER,
    "entries.participation": ORGANIZER,
    "entries.extensions": ORGANIZER,
    "entries.screen_entry": ORGANIZER,
    "attachments.upload_attachment": AGENCY_CONTACT,
    "attachments.remove_attachment": AGENCY_CONTACT,
    "attachments.download_attachment": OWN_AGENCY,
    "uploads.tus_options": PUBLIC,  # protocol discovery, no data
    "uploads.tus_create": ANY_AGENCY_CONTACT,
    "uploads.tus_status": AGENCY_CONTACT,
    "uploads.tus_append": AGENCY_CONTACT,
    "uploads.tus_terminate": AGENCY_CONTACT,
    "ties.mine": JUDGE,
    "ties.register": ORGANIZER,
    "ties.retract": ORGANIZER,
    "ties.confirm": ASSIGNED_JUDGE,
    "ties.declare_on_assignment": ASSIGNED_JUDGE,
    "judging.dashboard": JUDGE,
    "judging.sheet": ASSIGNED_JUDGE,
    "judging.view_pdf": ASSIGNED_JUDGE,
    "judging.discussion": ORGANIZER,  # and judges assigned in the stage (judge1 is not)
    "judging.stage_sheets": ORGANIZER,
    "judging.reopen": ORGANIZER,
    "judging.toggle_discussion": ORGANIZER,
    "judging.advance": ORGANIZER,
    "offline.download": JUDGE,
    "offline.upload": JUDGE,
    "offline.confirm": JUDGE,
    "privacy_requests.search": ORGANIZER,
    "privacy_requests.export": ORGANIZER,
    "privacy_requests.correct": ORGANIZER,
    "privacy_requests.erase": ORGANIZER,
    "editions.edit_stage_criteria": ORGANIZER,
}
# Whole areas that belong to organisers only.
ORGANIZER_PREFIXES = ("agencies.", "editions.", "judging_admin.", "results.", "exports.")

SECRET_TITLE = "SECRET-ENTRY-TITLE-7f3a"
SECRET_COMMENT = "SECRET-JUDGE2-COMMENT-91c"


def policy_for(endpoint: str) -> str | None:
    if endpoint in POLICY:
        return POLICY[endpoint]
    if endpoint.startswith(ORGANIZER_PREFIXES):
        return ORGANIZER
    return None


@dataclass
class World:
    values: dict[str, object]
    logins: dict[str, tuple[str, str] | None]


@pytest.fixture
def world(app, demo) -> World:
    with app.app_context():
        penghu = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C1000"))
        edition = db.session.scalar(select(Edition))
        category = edition.categories[0]
        entry = Entry(category=category, agency=penghu, title=SECRET_TITLE)
        db.session.add(entry)
        db.session.flush()
        stage = edition.stages[0]
        judge2 = db.session.scalar(select(User).where(User.email == "judge2@award.example"))
        db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id))
        assignment = Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=judge2.id,
                                status=AssignmentStatus.CONFIRMED, confirmed_at=utcnow())
        sheet = ScoreSheet(entry_id=entry.id, judge_id=judge2.id, stage_id=stage.id, comment=SECRET_COMMENT)
        sheet.marks = [Mark(criterion_id=c.id, score=Decimal("77.5"), comment=SECRET_COMMENT)
                       for c in category.criteria]
        tie = Tie(judge_id=judge2.id, agency_id=db.session.scalar(
            select(Agency.id).where(Agency.code == "DEMO-C2000")), kind=TieKind.OTHER, description=SECRET_COMMENT)
        db.session.add_all([assignment, sheet, tie])
        db.session.commit()
        values = {
            "edition_id": edition.id, "category_id": category.id,
            "criterion_id": db.session.scalar(select(Criterion.id).where(Criterion.category_id == category.id)),
            "stage_id": db.session.scalar(select(Stage.id).where(Stage.edition_id == edition.id)),
            "tier_id": edition.tiers[0].id,
            "agency_id": penghu.id, "entry_id": entry.id,
            "user_id": db.session.scalar(select(User.id).where(User.email == "judge2@award.example")),
            "token": "not-a-real-token", "filename": "css/app.css", "version": 1, "number": 1,
            "attachment_id": 1, "upload_id": "0" * 32, "file_format": "csv",
            "assignment_id": assignment.id, "sheet_id": sheet.id, "tie_id": tie.id, "judge_id": judge2.id,
            "snapshot_id": 1,
        }
    logins = {
        "anonymous": None,
        "organizer": ("organizer@award.example", demo["organizer@award.example"]),
        "judge": ("judge1@award.example", demo["judge1@award.example"]),
        "agency": ("penghu@award.example", demo["penghu@award.example"]),  # owns the entry
        "other_agency": ("greenisland@award.example", demo["greenisland@award.example"]),
    }
    return World(values, logins)


def _url(rule, values) -> str:
    url = rule.rule
    for argument in rule.arguments:
        if argument not in values:
            pytest.fail(f"the access matrix has no sample value for <{argument}> in {rule.rule}")
        url = re.sub(r"<(?:[^:<>]+:)?" + argument + r">", str(values[argument]), url)
    return url


def _allowed(policy: str, role: str) -> bool:
    return {
        PUBLIC: True,
        LOGGED_IN: role != "anonymous",
        ORGANIZER: role == "organizer",
        OWN_AGENCY: role in ("organizer", "agency"),
        AGENCY_CONTACT: role == "agency",
        AGENCY_OR_ORGANIZER: role in ("organizer", "agency", "other_agency"),
        JUDGE: role == "judge",
        ASSIGNED_JUDGE: False,
        ANY_AGENCY_CONTACT: role in ("agency", "other_agency"),
    }[policy]


def test_every_endpoint_has_a_policy(app):
    missing = sorted({r.endpoint for r in app.url_map.iter_rules() if policy_for(r.endpoint) is None})
    assert missing == [], f"add these endpoints to the access matrix: {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(app, world, role):
    client = app.test_client()
    if world.logins[role]:
        email, password = world.logins[role]
        assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    problems = []
    for rule in app.url_map.iter_rules():
        policy = policy_for(rule.endpoint)
        if rule.endpoint in ("auth.logout", "main.set_language") or policy is None:
            continue  # would end the session under test / covered elsewhere
        url = _url(rule, world.values)
        for method in sorted(rule.methods - {"OPTIONS"} if rule.endpoint.startswith("uploads.") else
                             rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={})
            body = response.get_data().decode("utf-8", "replace")  # some answers are workbooks
            allowed = _allowed(policy, role)
            if allowed and response.status_code == 403:
                problems.append(f"{method} {url} refused {role} (403)")
            if allowed and response.status_code >= 500:
                problems.append(f"{method} {url} failed for {role} ({response.status_code})")
            if not allowed:
                to_login = response.status_code == 302 and "/login" in response.headers.get("Location", "")
                if response.status_code not in (401, 403, 404) and not (role == "anonymous" and to_login):
                    problems.append(f"{method} {url} let {role} through ({response.status_code})")
                if SECRET_TITLE in body:
                    problems.append(f"{method} {url} showed the entry to {role}")
            if role != "organizer" and SECRET_COMMENT in body:
                problems.append(f"{method} {url} showed judge2's marks or ties to {role}")
    assert problems == []
