"""Importing agencies from CSV and XLSX sheets through the page: all or nothing, audited."""

from __future__ import annotations

import io
import json
import re

import pytest
from agency_helpers import DATA, after, agency, agency_count, events, sheet_csv, upload
from openpyxl import load_workbook

from award.models import AgencyLevel, Geography


def problem_rows(html: str) -> list[tuple[int, str]]:
    return [(int(r), f) for r, f in re.findall(r'<tr data-row="(\d+)" data-field="(\w*)">', html)]


def snapshot(app) -> tuple[int, int]:
    with app.app_context():
        return agency_count(), len(events("agencies_imported"))


def test_import_page_renders(organizer):
    html = organizer.get("/agencies/import").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    assert 'for="sheet"' in html and "<legend>" in html
    assert "/agencies/import/template.xlsx" in html and "/agencies/import/template.csv" in html
    template = organizer.get("/agencies/import/template.csv")
    assert template.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_utf8_bom_csv_creates_agencies_with_supervisors(organizer, app):
    count, _ = snapshot(app)
    response = upload(organizer, "台東.csv", (DATA / "agencies_utf8_bom.csv").read_bytes())
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'id="created-count"><strong>4</strong>', html)
    assert "UTF-8 (BOM)" in html
    with app.app_context():
        assert agency_count() == count + 4
        lanyu = agency("TEST-0110")
        assert lanyu.name == "臺東縣蘭嶼鄉公所" and lanyu.supervisor.code == "TEST-0100"
        assert lanyu.geography is Geography.OUTLYING_ISLAND and lanyu.level is AgencyLevel.TOWNSHIP
        assert agency("TEST-0100").county == "臺東縣" and agency("TEST-0100").phone == "089-326141"
        assert agency("TEST-0200").supervisor.code == "DEMO-A0100"
        [event] = events("agencies_imported")
        data = after(event)
        assert data["created_count"] == 4 and sorted(data["created"]) == ["TEST-0100", "TEST-0110", "TEST-0120",
                                                                          "TEST-0200"]
        assert data["updated_count"] == 0 and data["file"] == "台東.csv" and data["encoding"] == "UTF-8 (BOM)"
        assert event.actor_label.startswith("organizer@")


def test_big5_csv_is_imported_and_the_encoding_named(organizer, app):
    response = upload(organizer, "islands.csv", (DATA / "agencies_big5.csv").read_bytes())
    assert response.status_code == 200 and "Big5 (cp950)" in response.get_data(as_text=True)
    with app.app_context():
        assert agency("TEST-0300").name == "澎湖縣望安鄉公所"
        assert agency("TEST-0300").head_name == "望安鄉長"
        assert agency("TEST-0320").supervisor.code == "DEMO-C3000"
        assert after(events("agencies_imported")[0])["encoding"] == "Big5 (cp950)"


def test_xlsx_is_imported_and_formula_text_stays_literal(organizer, app):
    response = upload(organizer, "agencies.xlsx", (DATA / "agencies.xlsx").read_bytes())
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "note" in html  # the unrecognised column is named as ignored
    with app.app_context():
        assert agency("TEST-0401").name == '=HYPERLINK("http://x","y")'
        assert agency("TEST-0400").supervisor.code == "DEMO-C1000" and agency("TEST-0400").phone == "06-9971001"
        assert agency("40100").name == "數字代碼機關" and agency("40100").phone == "2212345"
    # And the page shows it as text, escaped, not as markup.
    with app.app_context():
        agency_id = agency("TEST-0401").id
    detail = organizer.get(f"/agencies/{agency_id}").get_data(as_text=True)
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in detail or "=HYPERLINK(&quot;http://x&quot;" in detail


def test_malformed_sheet_writes_nothing_and_reports_each_row(organizer, app):
    before = snapshot(app)
    response = upload(organizer, "malformed.csv", (DATA / "malformed.csv").read_bytes())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="import-refused"' in html
    assert problem_rows(html) == [
        (3, "name"), (4, "level"), (5, "county"), (6, "geography"), (7, "code"), (8, "supervisor_code"),
        (9, "name"), (10, "code"), (11, "supervisor_code"), (12, "supervisor_code"), (13, "supervisor_code"),
    ]
    assert "火星市" in html and "部會" in html and "NOPE-999" in html
    assert snapshot(app) == before
    with app.app_context():
        assert agency("BAD-0001") is None  # the one good row was not half-imported either


def test_duplicate_code_within_the_sheet_is_reported(organizer, app):
    before = snapshot(app)
    data = sheet_csv([["DUP-1", "甲", "其他", "", "臺北市", "本島", "", "", ""],
                      ["DUP-2", "乙", "其他", "", "臺北市", "本島", "", "", ""],
                      ["DUP-1", "丙", "其他", "", "臺北市", "本島", "", "", ""]])
    response = upload(organizer, "dup.csv", data)
    assert response.status_code == 422 and problem_rows(response.get_data(as_text=True)) == [(4, "code")]
    assert snapshot(app) == before


UPDATE_SHEET = [
    ["DEMO-C4020", "臺東縣蘭嶼鄉公所", "鄉鎮市區", "DEMO-C4000", "臺東縣", "離島", "新任鄉長", "臺東縣蘭嶼鄉紅頭村", ""],
    ["DEMO-C4010", "臺東縣綠島鄉公所", "鄉鎮市區", "DEMO-C4000", "臺東縣", "離島", "綠島鄉長", "", ""],
    ["NEW-0500", "臺東縣達仁鄉公所", "鄉鎮市區", "DEMO-C4000", "臺東縣", "偏遠", "", "", ""],
]


def test_update_mode_adds_new_and_updates_existing(organizer, app):
    count, _ = snapshot(app)
    response = upload(organizer, "update.csv", sheet_csv(UPDATE_SHEET), mode="update")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for element, n in (("created-count", 1), ("updated-count", 1), ("unchanged-count", 1)):
        assert re.search(rf'id="{element}"><strong>{n}</strong>', html), element
    with app.app_context():
        assert agency_count() == count + 1
        lanyu = agency("DEMO-C4020")
        assert lanyu.head_name == "新任鄉長" and lanyu.address == "臺東縣蘭嶼鄉紅頭村"
        event = events("agencies_imported")[0]
        data = after(event)
        assert data["mode"] == "update_existing" and data["created"] == ["NEW-0500"]
        assert data["updated"] == {"DEMO-C4020": {"address": "臺東縣蘭嶼鄉紅頭村", "head_name": "新任鄉長"}}
        assert data["unchanged_count"] == 1
        assert json.loads(event.before) == {"DEMO-C4020": {"address": None, "head_name": "蘭嶼鄉長"}}


def test_add_only_mode_rejects_existing_codes_and_writes_nothing(organizer, app):
    before = snapshot(app)
    response = upload(organizer, "update.csv", sheet_csv(UPDATE_SHEET), mode="add")
    assert response.status_code == 422
    assert problem_rows(response.get_data(as_text=True)) == [(2, "code"), (3, "code")]
    assert snapshot(app) == before
    with app.app_context():
        assert agency("DEMO-C4020").head_name == "蘭嶼鄉長" and agency("NEW-0500") is None


def test_add_only_mode_with_only_new_codes(organizer, app):
    response = upload(organizer, "new.csv", sheet_csv(UPDATE_SHEET[2:]), mode="add")
    assert response.status_code == 200
    with app.app_context():
        assert agency("NEW-0500") is not None
        assert after(events("agencies_imported")[0])["mode"] == "add_only"


def test_absent_optional_columns_are_left_alone_on_update(organizer, app):
    header = ["code", "name", "level", "county", "geography"]
    response = upload(organizer, "short.csv", sheet_csv([["DEMO-C4020", "蘭嶼鄉公所", "township", "臺東縣",
                                                          "outlying_island"]], header=header))
    assert response.status_code == 200
    with app.app_context():
        lanyu = agency("DEMO-C4020")
        assert lanyu.name == "蘭嶼鄉公所" and lanyu.head_name == "蘭嶼鄉長" and lanyu.supervisor.code == "DEMO-C4000"


def test_cycle_with_the_register_is_refused(organizer, app):
    before = snapshot(app)
    data = sheet_csv([["DEMO-C4000", "臺東縣政府", "縣市", "DEMO-C4010", "臺東縣", "偏遠", "", "", ""]])
    response = upload(organizer, "loop.csv", data)
    assert response.status_code == 422 and problem_rows(response.get_data(as_text=True)) == [(2, "supervisor_code")]
    assert snapshot(app) == before


@pytest.mark.parametrize("filename, data", [
    ("picture.csv", (DATA / "picture.csv").read_bytes()),  # a PNG renamed .csv
    ("picture.xlsx", (DATA / "picture.csv").read_bytes()),
    ("empty.csv", b"\xef\xbb\xbf"),
    ("header-only.csv", sheet_csv([])),
    ("truncated.xlsx", (DATA / "agencies.xlsx").read_bytes()[:400]),
])
def test_unreadable_files_are_refused_cleanly(organizer, app, filename, data):
    before = snapshot(app)
    response = upload(organizer, filename, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="import-error"' in html and "Traceback" not in html
    assert snapshot(app) == before


def test_wrong_extension_and_missing_file_are_form_errors(organizer, app):
    before = snapshot(app)
    response = upload(organizer, "agencies.pdf", b"%PDF-1.4")
    assert response.status_code == 200 and 'id="sheet-error"' in response.get_data(as_text=True)
    response = organizer.post("/agencies/import", data={"mode": "update"}, content_type="multipart/form-data")
    assert response.status_code == 200 and 'id="sheet-error"' in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_too_many_rows_are_refused(organizer, app, monkeypatch):
    from award.agencies import importer

    monkeypatch.setattr(importer, "MAX_ROWS", 2)
    rows = [[f"MANY-{i}", f"機關{i}", "其他", "", "臺北市", "本島", "", "", ""] for i in range(3)]
    before = snapshot(app)
    response = upload(organizer, "many.csv", sheet_csv(rows))
    assert response.status_code == 422 and 'id="import-error"' in response.get_data(as_text=True)
    assert snapshot(app) == before


def test_register_changing_under_the_import_writes_nothing(organizer, app, monkeypatch):
    """A code registered by someone else between the check and the commit: the import is undone."""
    from award.agencies import operations
    from award.extensions import db
    from award.models import Agency

    real_write = operations._write

    def write_then_collide(records, report):
        result = real_write(records, report)
        db.session.add(Agency(code="RACE-1", name="搶先", level=AgencyLevel.OTHER, county="臺北市",
                              geography=Geography.MAIN_ISLAND))
        return result

    monkeypatch.setattr(operations, "_write", write_then_collide)
    before = snapshot(app)
    data = sheet_csv([["RACE-1", "甲", "其他", "", "臺北市", "本島", "", "", ""]])
    response = upload(organizer, "race.csv", data)
    assert response.status_code == 422 and 'id="import-error"' in response.get_data(as_text=True)
    assert snapshot(app) == before


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_templates_download_and_import(organizer, app, file_format):
    response = organizer.get(f"/agencies/import/template.{file_format}")
    assert response.status_code == 200
    assert f"agency-import-template.{file_format}" in response.headers["Content-Disposition"]
    data = response.get_data()
    if file_format == "xlsx":
        sheet = load_workbook(io.BytesIO(data)).worksheets[0]
        assert sheet["A1"].value == "機關代碼" and sheet["B3"].value == "臺東縣蘭嶼鄉公所"
        assert sheet["F3"].value == "離島"
    else:
        assert data.startswith(b"\xef\xbb\xbf") and "臺東縣蘭嶼鄉公所" in data.decode("utf-8-sig")
    assert upload(organizer, f"template.{file_format}", data).status_code == 200
    with app.app_context():
        assert agency("EXAMPLE-002").geography is Geography.OUTLYING_ISLAND
