"""Island counties are outlying islands: a row of 澎湖縣, 金門縣 or 連江縣 classed "main island" is refused
by the sheet import, the agency form and the operations alike; island townships of main-island
counties (綠島鄉, 蘭嶼鄉, 琉球鄉) may be outlying islands."""

from __future__ import annotations

import re

import pytest
from agency_helpers import agency, agency_count, events, sheet_csv, upload

from award.agencies.geography import geography_problem
from award.agencies.importer import check_rows, read_sheet
from award.agencies.operations import AgencyData, AgencyError, create_agency, update_agency
from award.models import AgencyLevel, Geography

ISLAND_COUNTIES = ("澎湖縣", "金門縣", "連江縣")


# --- the rule ------------------------------------------------------------------------------------

@pytest.mark.parametrize("county", ISLAND_COUNTIES)
def test_an_island_county_cannot_be_main_island(app, county):
    with app.test_request_context():
        reason = geography_problem(county, Geography.MAIN_ISLAND)
        assert reason == f"{county}為離島縣，該縣機關不得歸類為本島，請改選「離島」。"  # the zh-TW interface
        assert geography_problem(county, "main_island") == reason
        assert geography_problem(county, Geography.OUTLYING_ISLAND) is None
        assert geography_problem(county, Geography.REMOTE) is None


@pytest.mark.parametrize("county", ["臺東縣", "屏東縣", "臺北市", "南投縣"])
@pytest.mark.parametrize("geography", list(Geography))
def test_main_island_counties_allow_every_class(app, county, geography):
    with app.test_request_context():
        assert geography_problem(county, geography) is None


def test_the_demo_register_keeps_the_rule(app, demo):
    from award.demo import AGENCIES

    with app.test_request_context():
        assert [a[0] for a in AGENCIES if geography_problem(a[4], a[5])] == []


# --- the sheet import -----------------------------------------------------------------------------

ROWS = [
    ["ISL-1", "澎湖縣馬公市公所", "鄉鎮市區", "", "澎湖縣", "本島", "", "", ""],  # refused
    ["ISL-2", "金門縣金城鎮公所", "鄉鎮市區", "", "金門縣", "main_island", "", "", ""],  # refused
    ["ISL-3", "連江縣南竿鄉公所", "鄉鎮市區", "", "連江縣", "本島", "", "", ""],  # refused
    ["ISL-4", "臺東縣綠島鄉公所二", "鄉鎮市區", "", "臺東縣", "離島", "", "", ""],  # fine
    ["ISL-5", "臺東縣蘭嶼鄉公所二", "鄉鎮市區", "", "臺東縣", "離島", "", "", ""],  # fine
    ["ISL-6", "屏東縣琉球鄉公所二", "鄉鎮市區", "", "屏東縣", "離島", "", "", ""],  # fine
    ["ISL-7", "澎湖縣望安鄉公所", "鄉鎮市區", "", "澎湖縣", "離島", "", "", ""],  # fine
]


def test_the_checker_reports_each_island_county_main_island_row(app):
    sheet = read_sheet("islands.csv", sheet_csv(ROWS))
    with app.test_request_context():
        result = check_rows(sheet.header, sheet.rows, {}, update_existing=True, header_row=sheet.header_row)
    assert [(p.row, p.field) for p in result.problems] == [(2, "geography"), (3, "geography"), (4, "geography")]
    assert [p.value for p in result.problems] == ["本島", "main_island", "本島"]
    assert all("為離島縣" in p.reason for p in result.problems)


def test_an_import_with_such_a_row_writes_nothing(organizer, app):
    with app.app_context():
        before = agency_count()
    response = upload(organizer, "islands.csv", sheet_csv(ROWS))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    rows = [(int(r), f) for r, f in re.findall(r'<tr data-row="(\d+)" data-field="(\w*)">', html)]
    assert rows == [(2, "geography"), (3, "geography"), (4, "geography")]
    assert "澎湖縣為離島縣" in html
    with app.app_context():
        assert agency_count() == before and events("agencies_imported") == []


def test_island_townships_of_main_island_counties_import(organizer, app):
    response = upload(organizer, "islands.csv", sheet_csv(ROWS[3:]))
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    with app.app_context():
        assert agency("ISL-4").geography is Geography.OUTLYING_ISLAND and agency("ISL-4").county == "臺東縣"
        assert agency("ISL-6").geography is Geography.OUTLYING_ISLAND and agency("ISL-6").county == "屏東縣"
        assert agency("ISL-7").geography is Geography.OUTLYING_ISLAND


def test_an_update_turning_penghu_main_island_is_refused(organizer, app):
    response = upload(organizer, "update.csv", sheet_csv(
        [["DEMO-C1000", "澎湖縣政府", "縣市政府", "", "澎湖縣", "本島", "陳縣長", "", ""]]))
    assert response.status_code == 422
    with app.app_context():
        assert agency("DEMO-C1000").geography is Geography.OUTLYING_ISLAND


# --- the form ---------------------------------------------------------------------------------------

FORM = {"code": "NEW-0001", "name": "澎湖縣白沙鄉公所", "level": "township", "supervisor_id": "0",
        "county": "澎湖縣", "geography": "main_island", "head_name": "", "address": "", "phone": ""}


@pytest.mark.parametrize("county", ISLAND_COUNTIES)
def test_the_form_refuses_main_island_in_an_island_county(organizer, app, county):
    response = organizer.post("/agencies/new", data=FORM | {"county": county})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="geography-error"' in html
    assert f"{county}為離島縣" in html.split('id="geography-error"', 1)[1][:400]
    with app.app_context():
        assert agency("NEW-0001") is None and events("agency_created") == []


def test_the_form_accepts_green_island_as_an_outlying_island(organizer, app):
    response = organizer.post("/agencies/new", data=FORM | {
        "name": "臺東縣綠島鄉某機關", "county": "臺東縣", "geography": "outlying_island"})
    assert response.status_code == 302
    with app.app_context():
        assert agency("NEW-0001").geography is Geography.OUTLYING_ISLAND


def test_editing_kinmen_to_main_island_is_refused(organizer, app):
    with app.app_context():
        kinmen = agency("DEMO-C2000")
        kinmen_id = kinmen.id
        data = {"code": kinmen.code, "name": kinmen.name, "level": kinmen.level.value, "county": kinmen.county,
                "geography": "main_island", "supervisor_id": "0", "head_name": kinmen.head_name or "",
                "address": "", "phone": ""}
    response = organizer.post(f"/agencies/{kinmen_id}/edit", data=data)
    assert response.status_code == 200 and 'id="geography-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert agency("DEMO-C2000").geography is Geography.OUTLYING_ISLAND and events("agency_updated") == []


# --- the operations (any other caller) ----------------------------------------------------------------

def _data(**changes) -> AgencyData:
    values = dict(code="OPS-1", name="連江縣某機關", level=AgencyLevel.OTHER, county="連江縣",
                  geography=Geography.MAIN_ISLAND)
    values.update(changes)
    return AgencyData(**values)


def test_the_operations_refuse_it_too(app, demo):
    with app.test_request_context():
        with pytest.raises(AgencyError) as refused:
            create_agency(_data())
        assert refused.value.field == "geography" and "連江縣" in refused.value.message
        assert agency("OPS-1") is None
        created = create_agency(_data(geography=Geography.OUTLYING_ISLAND))
        with pytest.raises(AgencyError):
            update_agency(created, _data(geography=Geography.MAIN_ISLAND))
        assert agency("OPS-1").geography is Geography.OUTLYING_ISLAND
        moved = update_agency(created, _data(county="臺北市", geography=Geography.MAIN_ISLAND))
        assert moved.geography is Geography.MAIN_ISLAND
