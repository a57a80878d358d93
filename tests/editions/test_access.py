"""Only organisers reach the editions area; every part is checked against its edition."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from award.extensions import db
from award.models import Edition
from edition_helpers import audit_count


def _urls(app) -> list[tuple[str, str]]:
    """(method, url) of every route of the editions blueprint, filled with the demo's ids."""
    with app.app_context():
        edition = db.session.scalar(select(Edition).where(Edition.number == 3))
        ids = {"edition_id": edition.id, "category_id": edition.categories[0].id,
               "stage_id": edition.stages[0].id, "tier_id": edition.tiers[0].id}
        found = []
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("editions."):
                url = rule.build({k: v for k, v in ids.items() if k in rule.arguments}, append_unknown=False)[1]
                found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(found) >= 25  # every part of the area, not a lucky few
    return found


@pytest.mark.parametrize("who", ["judge1", "penghu", "greenisland", "moj"])
def test_judges_and_agency_contacts_get_403_everywhere(app, client, demo, login, who):
    login.as_demo(who)
    with app.app_context():
        events = audit_count()
    for method, url in _urls(app):
        response = client.open(url, method=method, data={"status": "open", "name": "x", "direction": "up"})
        assert response.status_code == 403, (method, url)
    with app.app_context():
        assert audit_count() == events  # nothing was changed along the way


def test_anonymous_visitors_are_sent_to_log_in(app, client, demo):
    for method, url in _urls(app):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, url)


def test_a_part_of_another_edition_is_not_found(app, organizer):
    response = organizer.post("/editions/new", data={"number": 9, "year": 2030, "name": "第9屆",
                                                     "submission_opens_at": "", "submission_deadline": ""})
    assert response.status_code == 302
    with app.app_context():
        other = db.session.scalar(select(Edition.id).where(Edition.number == 9))
    for method, url in _urls(app):
        parts = url.split("/")
        if len(parts) > 4 and parts[4].isdigit():  # /editions/<id>/<part>/<part id>/…
            parts[2] = str(other)
            assert organizer.open("/".join(parts), method=method).status_code == 404, (method, url)
    assert organizer.get("/editions/999999").status_code == 404


def test_every_page_of_the_area_renders_for_the_organiser(app, organizer):
    for method, url in _urls(app):
        if method == "GET":
            response = organizer.get(url)
            assert response.status_code == 200, url
            assert "Traceback" not in response.get_data(as_text=True)
