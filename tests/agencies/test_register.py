"""The register's pages: list with search and filters, detail, create and edit, access."""

from __future__ import annotations

import json
import re

import pytest
from agency_helpers import agency, agency_count, events

from award.models import AgencyLevel, Geography

AGENCY_FORM = {
    "code": "NEW-0001", "name": "澎湖縣白沙鄉公所", "level": "township", "supervisor_id": "0",
    "county": "澎湖縣", "geography": "outlying_island", "head_name": "", "address": "", "phone": "06-9931000",
}


def codes_in_table(html: str) -> list[str]:
    table = html.split('id="agency-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td class="mono">([^<]+)</td>', table)


def geography_counts(html: str) -> dict[str, int]:
    block = html.split('id="geography-counts"', 1)[1].split("</ul>", 1)[0]
    return {g: int(n) for g, n in re.findall(r'data-geography="(\w+)"[^>]*>\s*<strong>(\d+)</strong>', block)}


# --- list ---------------------------------------------------------------------------------------

def test_list_shows_the_register_in_code_order_with_counts(organizer):
    html = organizer.get("/agencies/").get_data(as_text=True)
    codes = codes_in_table(html)
    assert len(codes) == 14 and codes == sorted(codes)
    assert geography_counts(html) == {"outlying_island": 7, "remote": 2, "main_island": 5}


@pytest.mark.parametrize("query, expected", [
    ({"q": "鄉公所"}, ["DEMO-C4010", "DEMO-C4020", "DEMO-C5010", "DEMO-C6010"]),
    ({"q": "demo-c40"}, ["DEMO-C4000", "DEMO-C4010", "DEMO-C4020"]),  # code, case-insensitive
    ({"q": "%"}, []),  # a wildcard is searched for literally
    ({"county": "臺東縣"}, ["DEMO-C4000", "DEMO-C4010", "DEMO-C4020"]),
    ({"geography": "remote"}, ["DEMO-C4000", "DEMO-C6010"]),
    ({"level": "central"}, ["DEMO-A0100", "DEMO-A0110", "DEMO-A0120"]),
    ({"county": "臺東縣", "geography": "outlying_island"}, ["DEMO-C4010", "DEMO-C4020"]),
    ({"geography": "nonsense", "level": "nonsense", "county": "Atlantis"}, None),  # ignored: everything
])
def test_search_and_filters(organizer, query, expected):
    response = organizer.get("/agencies/", query_string=query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if expected == []:
        assert 'id="no-agencies"' in html
    else:
        assert codes_in_table(html) == (expected if expected is not None else sorted(codes_in_table(html)))
        if expected is None:
            assert len(codes_in_table(html)) == 14


def test_counts_follow_the_other_filters(organizer):
    html = organizer.get("/agencies/", query_string={"county": "臺東縣", "geography": "remote"}).get_data(as_text=True)
    assert geography_counts(html) == {"outlying_island": 2, "remote": 1, "main_island": 0}
    assert codes_in_table(html) == ["DEMO-C4000"]


def test_list_pages(organizer, app, monkeypatch):
    from award.agencies import views

    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    first = codes_in_table(organizer.get("/agencies/").get_data(as_text=True))
    third = codes_in_table(organizer.get("/agencies/?page=3").get_data(as_text=True))
    assert len(first) == 5 and len(third) == 4 and not set(first) & set(third)
    assert organizer.get("/agencies/?page=99").status_code == 200


# --- detail -------------------------------------------------------------------------------------

def test_detail_shows_supervisor_subordinates_and_contacts(organizer, app):
    with app.app_context():
        county_id, green_id = agency("DEMO-C4000").id, agency("DEMO-C4010").id
    html = organizer.get(f"/agencies/{county_id}").get_data(as_text=True)
    subordinates = html.split('id="subordinates"', 1)[1].split("</table>", 1)[0]
    assert "臺東縣綠島鄉公所" in subordinates and "臺東縣蘭嶼鄉公所" in subordinates
    html = organizer.get(f"/agencies/{green_id}").get_data(as_text=True)
    assert f'href="/agencies/{county_id}"' in html.split('id="agency-supervisor"', 1)[1].split("</dd>", 1)[0]
    assert "greenisland@award.example" in html.split('id="contacts"', 1)[1]


def test_unknown_agency_is_404(organizer):
    assert organizer.get("/agencies/99999").status_code == 404
    assert organizer.get("/agencies/99999/edit").status_code == 404


# --- create -------------------------------------------------------------------------------------

def test_create_agency_writes_it_and_the_audit_event(organizer, app):
    with app.app_context():
        supervisor_id = agency("DEMO-C1000").id
    response = organizer.post("/agencies/new", data=AGENCY_FORM | {"supervisor_id": str(supervisor_id),
                                                                   "code": " NEW-0001 "})
    assert response.status_code == 302
    with app.app_context():
        created = agency("NEW-0001")
        assert created.name == "澎湖縣白沙鄉公所" and created.level is AgencyLevel.TOWNSHIP
        assert created.geography is Geography.OUTLYING_ISLAND and created.supervisor.code == "DEMO-C1000"
        assert created.head_name is None and created.phone == "06-9931000"
        assert response.headers["Location"].endswith(f"/agencies/{created.id}")
        [event] = events("agency_created")
        assert event.object_id == str(created.id) and event.actor_label.startswith("organizer@")
        assert json.loads(event.after)["supervisor"] == "DEMO-C1000"


def test_new_form_renders_with_csrf_field_and_labels(organizer):
    html = organizer.get("/agencies/new").get_data(as_text=True)
    assert 'name="csrf_token"' in html
    for name in ("code", "name", "level", "supervisor_id", "county", "geography", "head_name", "address", "phone"):
        assert f'for="{name}"' in html


def test_duplicate_code_is_refused_and_nothing_written(organizer, app):
    with app.app_context():
        before = agency_count()
    response = organizer.post("/agencies/new", data=AGENCY_FORM | {"code": "DEMO-C1000"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="code-error"' in html and "DEMO-C1000" in html.split('id="code-error"', 1)[1][:200]
    with app.app_context():
        assert agency_count() == before and events("agency_created") == []


@pytest.mark.parametrize("change, field", [
    ({"code": ""}, "code"), ({"code": "has space"}, "code"), ({"code": "X" * 21}, "code"),
    ({"name": "  "}, "name"), ({"name": "名" * 101}, "name"), ({"county": "火星市"}, "county"),
    ({"level": "ministry"}, "level"), ({"supervisor_id": "98765"}, "supervisor_id"),
])
def test_bad_input_is_refused_field_by_field(organizer, app, change, field):
    response = organizer.post("/agencies/new", data=AGENCY_FORM | change)
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert agency("NEW-0001") is None


# --- edit ---------------------------------------------------------------------------------------

def edit_data(code: str) -> dict:
    found = agency(code)
    return {"code": found.code, "name": found.name, "level": found.level.value, "county": found.county,
            "geography": found.geography.value, "supervisor_id": str(found.supervisor_id or 0),
            "head_name": found.head_name or "", "address": found.address or "", "phone": found.phone or ""}


def test_edit_form_is_prefilled(organizer, app):
    with app.app_context():
        green = agency("DEMO-C4010")
        green_id, county_id = green.id, green.supervisor_id
    html = organizer.get(f"/agencies/{green_id}/edit").get_data(as_text=True)
    assert 'value="DEMO-C4010"' in html
    assert re.search(rf'<option selected value="{county_id}">|<option value="{county_id}" selected', html)
    assert re.search(r'<option selected value="outlying_island">|<option value="outlying_island" selected', html)
    assert re.search(r'<option selected value="township">|<option value="township" selected', html)


def test_edit_records_before_and_after(organizer, app):
    with app.app_context():
        data, agency_id = edit_data("DEMO-C4020"), agency("DEMO-C4020").id
    response = organizer.post(f"/agencies/{agency_id}/edit", data=data | {"head_name": "新鄉長", "code": "DEMO-C4021"})
    assert response.status_code == 302
    with app.app_context():
        assert agency("DEMO-C4021").head_name == "新鄉長" and agency("DEMO-C4020") is None
        [event] = events("agency_updated")
        assert json.loads(event.before)["head_name"] == "蘭嶼鄉長" and json.loads(event.before)["code"] == "DEMO-C4020"
        assert json.loads(event.after)["head_name"] == "新鄉長" and json.loads(event.after)["code"] == "DEMO-C4021"


def test_saving_without_changes_records_nothing(organizer, app):
    with app.app_context():
        data, agency_id = edit_data("DEMO-C4020"), agency("DEMO-C4020").id
    assert organizer.post(f"/agencies/{agency_id}/edit", data=data).status_code == 302
    with app.app_context():
        assert events("agency_updated") == []


def test_edit_to_a_code_already_taken_is_refused(organizer, app):
    with app.app_context():
        data, agency_id = edit_data("DEMO-C4020"), agency("DEMO-C4020").id
    response = organizer.post(f"/agencies/{agency_id}/edit", data=data | {"code": "DEMO-C4010", "name": "改名"})
    assert response.status_code == 200 and 'id="code-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert agency("DEMO-C4020").name == "臺東縣蘭嶼鄉公所" and events("agency_updated") == []


@pytest.mark.parametrize("target_code", ["DEMO-C4000", "DEMO-C4010", "DEMO-C4020"],
                         ids=["itself", "its subordinate", "below its subordinate"])
def test_supervisor_cannot_be_itself_or_a_subordinate(organizer, app, target_code):
    with app.app_context():
        from award.extensions import db

        # A chain 臺東縣政府 ← 綠島 ← 蘭嶼; then try to put 臺東縣政府 under one of them.
        agency("DEMO-C4020").supervisor = agency("DEMO-C4010")
        db.session.commit()
        data, agency_id, target = edit_data("DEMO-C4000"), agency("DEMO-C4000").id, agency(target_code).id
    page = organizer.get(f"/agencies/{agency_id}/edit").get_data(as_text=True)
    assert f'value="{target}"' not in page  # not even offered
    response = organizer.post(f"/agencies/{agency_id}/edit", data=data | {"supervisor_id": str(target)})
    assert response.status_code == 200 and 'id="supervisor_id-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert agency("DEMO-C4000").supervisor_id is None and events("agency_updated") == []


# --- access -------------------------------------------------------------------------------------

def agency_urls(agency_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/agencies/"), ("get", f"/agencies/{agency_id}"), ("get", "/agencies/new"), ("post", "/agencies/new"),
        ("get", f"/agencies/{agency_id}/edit"), ("post", f"/agencies/{agency_id}/edit"),
        ("get", "/agencies/import"), ("post", "/agencies/import"),
        ("get", "/agencies/import/template.xlsx"), ("get", "/agencies/import/template.csv"),
    ]


@pytest.mark.parametrize("who", ["judge1", "penghu", "greenisland", "moj"])
def test_non_organisers_get_403_everywhere(client, demo, login, app, who):
    with app.app_context():
        own_agency = agency("DEMO-C1000").id  # penghu's own agency: still not theirs to manage here
        before = agency_count()
    login.as_demo(who)
    for method, url in agency_urls(own_agency):
        response = getattr(client, method)(url, data=AGENCY_FORM if method == "post" else None)
        assert response.status_code == 403, (who, method, url)
    with app.app_context():
        assert agency_count() == before


def test_anonymous_is_sent_to_login(client, demo, app):
    with app.app_context():
        agency_id = agency("DEMO-C1000").id
    for method, url in agency_urls(agency_id):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_a_code_taken_meanwhile_is_refused_by_the_database(organizer, app, monkeypatch):
    """Between our check and our write another organiser registers the code: nothing half-written."""
    from award.agencies import operations

    monkeypatch.setattr(operations, "_check", lambda data, agency: None)
    with app.app_context():
        before = agency_count()
    response = organizer.post("/agencies/new", data=AGENCY_FORM | {"code": "DEMO-C1000"})
    assert response.status_code == 200 and 'id="code-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert agency_count() == before and events("agency_created") == []
