"""The pure sheet reader and row checker (no database, no request)."""

from __future__ import annotations

import io
import zipfile

import pytest
from agency_helpers import DATA, HEADER, sheet_csv
from openpyxl import Workbook, load_workbook

from award.agencies import importer
from award.agencies.importer import RegisteredAgency, SheetError, check_rows, read_sheet
from award.models import AgencyLevel, Geography

REGISTER = {
    "DEMO-A0100": RegisteredAgency("DEMO-A0100", None),
    "DEMO-C4000": RegisteredAgency("DEMO-C4000", None),
    "DEMO-C4010": RegisteredAgency("DEMO-C4010", "DEMO-C4000"),
}


def check(data: bytes, filename: str = "sheet.csv", *, update_existing: bool = True, register=REGISTER):
    sheet = read_sheet(filename, data)
    return check_rows(sheet.header, sheet.rows, register, update_existing=update_existing,
                      header_row=sheet.header_row)


def row(code="T-1", name="測試機關", level="其他", supervisor="", county="臺北市", geography="本島"):
    return [code, name, level, supervisor, county, geography, "", "", ""]


# --- reading ------------------------------------------------------------------------------------

def test_utf8_with_bom_is_read_and_named():
    sheet = read_sheet("a.csv", (DATA / "agencies_utf8_bom.csv").read_bytes())
    assert sheet.encoding == "UTF-8 (BOM)"
    assert sheet.header[0] == "機關代碼"  # the BOM is not part of the first column's name
    assert [number for number, _cells in sheet.rows] == [2, 3, 4, 5]


def test_utf8_without_bom():
    sheet = read_sheet("a.csv", sheet_csv([row()]))
    assert sheet.encoding == "UTF-8"


def test_big5_is_detected_and_decoded():
    data = (DATA / "agencies_big5.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the sample really is Big5
    sheet = read_sheet("a.csv", data)
    assert sheet.encoding == "Big5 (cp950)"
    assert sheet.rows[0][1][1] == "澎湖縣望安鄉公所"


def test_utf16_with_bom_and_tabs():
    text = "\t".join(HEADER) + "\r\n" + "\t".join(row(name="花蓮縣政府", county="花蓮縣")) + "\r\n"
    sheet = read_sheet("a.csv", text.encode("utf-16"))
    assert sheet.encoding == "UTF-16"
    assert sheet.rows[0][1][1] == "花蓮縣政府"


def test_xlsx_values_become_text():
    sheet = read_sheet("a.xlsx", (DATA / "agencies.xlsx").read_bytes())
    assert sheet.file_format == "xlsx" and sheet.encoding is None
    assert sheet.header == ["name", "code", "level", "supervisor_code", "county", "geography", "phone", "note"]
    assert sheet.rows[1][1][0] == '=HYPERLINK("http://x","y")'
    assert sheet.rows[2][1][1] == "40100"  # a number typed in Excel, without ".0"
    assert sheet.rows[2][1][6] == "2212345"


@pytest.mark.parametrize("filename, data", [
    ("picture.csv", (DATA / "picture.csv").read_bytes()),
    ("picture.xlsx", (DATA / "picture.csv").read_bytes()),
    ("report.pdf", b"%PDF-1.4"),
    ("noextension", b"a,b"),
    ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100),
    ("empty.csv", b""),
    ("blank.csv", b"\r\n , ,\r\n\r\n"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip"),
    ("latin1.csv", "機關代碼\n".encode("utf-8") + b"\xff\xfe\xfd"),
])
def test_unreadable_files_are_refused_with_a_message(filename, data):
    with pytest.raises(SheetError) as caught:
        read_sheet(filename, data)
    assert caught.value.message


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(SheetError):
        read_sheet("a.xlsx", out.getvalue())


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    with pytest.raises(SheetError):
        read_sheet("a.csv", sheet_csv([row(code=f"T-{i}") for i in range(4)]))
    assert len(read_sheet("a.csv", sheet_csv([row(code=f"T-{i}") for i in range(3)])).rows) == 3


def test_blank_rows_are_skipped_but_numbering_follows_the_sheet():
    data = ("\r\n" + ",".join(HEADER) + "\r\n\r\n" + ",".join(row()) + "\r\n").encode()
    sheet = read_sheet("a.csv", data)
    assert sheet.header_row == 2
    assert [number for number, _cells in sheet.rows] == [4]


# --- checking -----------------------------------------------------------------------------------

def test_good_rows_become_records_with_parsed_values():
    result = check((DATA / "agencies_utf8_bom.csv").read_bytes())
    assert result.ok, result.problems
    by_code = {r.code: r for r in result.records}
    county = by_code["TEST-0100"]
    assert county.county == "臺東縣"  # 台 is read as 臺
    assert county.level is AgencyLevel.COUNTY and county.geography is Geography.REMOTE
    lanyu = by_code["TEST-0110"]
    assert lanyu.name == "臺東縣蘭嶼鄉公所"  # whitespace stripped
    assert lanyu.supervisor_code == "TEST-0100" and lanyu.geography is Geography.OUTLYING_ISLAND
    assert by_code["TEST-0120"].level is AgencyLevel.TOWNSHIP  # 鄉（鎮、市、區）, full-width brackets
    assert by_code["TEST-0200"].supervisor_code == "DEMO-A0100"  # supervisor from the register


def test_english_values_and_headers_are_accepted():
    header = ["code", "name", "level", "supervisor_code", "county", "geography"]
    result = check(sheet_csv([["T-1", "Taipower", "state_owned", "", "臺北市", "main_island"],
                              ["T-2", "NTU Hospital", "hospital", "T-1", "臺北市", "Main Island"]], header=header))
    assert result.ok, result.problems
    assert [r.level for r in result.records] == [AgencyLevel.STATE_OWNED, AgencyLevel.HOSPITAL]


def test_malformed_sheet_reports_every_bad_row_and_returns_no_records():
    result = check((DATA / "malformed.csv").read_bytes())
    assert not result.ok
    assert result.records == []
    found = {(p.row, p.field) for p in result.problems}
    assert found == {
        (3, "name"), (4, "level"), (5, "county"), (6, "geography"), (7, "code"), (8, "supervisor_code"),
        (9, "name"), (10, "code"), (11, "supervisor_code"), (12, "supervisor_code"), (13, "supervisor_code"),
    }
    assert not any(p.row == 2 for p in result.problems)
    by_place = {(p.row, p.field): p for p in result.problems}
    assert by_place[(4, "level")].value == "部會" and by_place[(4, "level")].column == "層級"
    assert "2" in by_place[(7, "code")].reason  # names the row the code first appeared on
    assert [p.row for p in result.problems] == sorted(p.row for p in result.problems)


def test_duplicate_code_within_the_sheet():
    result = check(sheet_csv([row("T-1"), row("T-2"), row(" T-1 ")]))
    assert [(p.row, p.field, p.value) for p in result.problems] == [(4, "code", "T-1")]


def test_full_width_codes_are_normalised():
    result = check(sheet_csv([row("ＴＥＳＴ－１２")]))
    assert result.ok and result.records[0].code == "TEST-12"


def test_missing_required_column_and_duplicate_column():
    result = check(sheet_csv([["T-1", "名"]], header=["機關代碼", "機關名稱"]))
    assert {p.field for p in result.problems} == {"level", "county", "geography"}
    assert all(p.row == 1 for p in result.problems)
    result = check(sheet_csv([row() + ["T-9"]], header=HEADER + ["code"]))
    assert [(p.row, p.field) for p in result.problems] == [(1, "code")]


def test_a_sheet_without_header_is_reported():
    result = check(sheet_csv([row()], header=row("T-0")))
    assert len(result.problems) == 1 and result.problems[0].row == 1 and result.problems[0].field is None


def test_value_outside_the_header_is_reported():
    result = check(sheet_csv([row() + ["stray"]]))
    assert [(p.row, p.field, p.value) for p in result.problems] == [(2, None, "stray")]


def test_unknown_columns_are_ignored_and_named():
    result = check(sheet_csv([row() + ["x"]], header=HEADER + ["備註"]))
    assert result.ok and result.ignored_columns == ["備註"]


def test_control_characters_and_over_long_fields():
    bad = row(name="機關\x07名稱")
    bad[7] = "地" * 201
    result = check(sheet_csv([bad]))
    assert {(p.row, p.field) for p in result.problems} == {(2, "name"), (2, "address")}
    # A NUL (which PostgreSQL cannot store) from a workbook cell is caught the same way.
    result = check_rows(HEADER, [(2, row(name="機關\x00"))], {}, update_existing=True)
    assert [(p.row, p.field) for p in result.problems] == [(2, "name")]


def test_nul_bytes_make_a_csv_binary():
    with pytest.raises(SheetError):
        read_sheet("a.csv", sheet_csv([row(name="機關\x00名稱")]))


def test_formula_like_text_stays_text():
    result = check(sheet_csv([row(name='=HYPERLINK("http://x","y")'), row("T-2", name="+cmd|' /C calc'!A0")]))
    assert result.ok
    assert [r.name for r in result.records] == ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0"]


def test_add_only_refuses_codes_in_the_register():
    data = sheet_csv([row("DEMO-A0100", name="法務部"), row("T-NEW")])
    refused = check(data, update_existing=False)
    assert [(p.row, p.field) for p in refused.problems] == [(2, "code")]
    assert check(data, update_existing=True).ok


def test_cycle_through_the_register_is_caught():
    # DEMO-C4010 is below DEMO-C4000 in the register; making DEMO-C4000 report to it closes a loop.
    result = check(sheet_csv([row("DEMO-C4000", name="臺東縣政府", level="縣市", supervisor="DEMO-C4010",
                                  county="臺東縣", geography="偏遠")]))
    assert [(p.row, p.field) for p in result.problems] == [(2, "supervisor_code")]


def test_moving_a_subordinate_in_the_same_sheet_avoids_the_loop():
    result = check(sheet_csv([
        row("DEMO-C4000", name="臺東縣政府", supervisor="DEMO-C4010", county="臺東縣"),
        row("DEMO-C4010", name="臺東縣綠島鄉公所", supervisor="", county="臺東縣"),
    ]))
    assert result.ok, result.problems


def test_supervisor_column_absent_keeps_the_registered_chain():
    header = ["機關代碼", "機關名稱", "層級", "縣市", "地理分類"]
    result = check(sheet_csv([["DEMO-C4010", "綠島鄉公所", "鄉鎮市區", "臺東縣", "離島"]], header=header))
    assert result.ok
    assert result.records[0].columns == frozenset()


# --- the template ---------------------------------------------------------------------------------

def test_templates_read_back_and_pass_the_check():
    for filename, data in (("t.xlsx", importer.template_xlsx()), ("t.csv", importer.template_csv())):
        sheet = read_sheet(filename, data)
        assert sheet.header == importer.template_header()
        result = check_rows(sheet.header, sheet.rows, {}, update_existing=False)
        assert result.ok, result.problems
        assert {r.name for r in result.records} == {"法務部", "臺東縣蘭嶼鄉公所"}


def test_template_cells_are_strings():
    workbook = load_workbook(io.BytesIO(importer.template_xlsx()))
    sheet = workbook.worksheets[0]
    assert {cell.data_type for row_ in sheet.iter_rows() for cell in row_ if cell.value is not None} == {"s"}


def test_text_cells_never_become_formulas():
    workbook = Workbook()
    importer._text_rows(workbook.active, [["=1+1", "@SUM(A1)"]])
    out = io.BytesIO()
    workbook.save(out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
    assert load_workbook(io.BytesIO(out.getvalue())).active["A1"].value == "=1+1"
