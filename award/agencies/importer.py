"""Reading and checking agency sheets (CSV or XLSX), with no database access.

``read_sheet`` turns an uploaded file into a header and rows of text; ``check_rows`` turns them
into valid records and a list of ``RowProblem``. Both are pure, so the CLI can reuse them; the
writing is in ``operations.import_agencies``. Text from the sheet is only ever data: it is
stripped and compared, never evaluated.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

from flask_babel import gettext as _

from ..models import COUNTIES, AgencyLevel, Geography
from ..spreadsheets import cell_text
from .geography import geography_problem

MAX_ROWS = 5000  # data rows in one import
MAX_BYTES = 5 * 1024 * 1024  # the uploaded file
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024  # an .xlsx is a zip: refuse a zip bomb before opening it
MAX_COLUMNS = 50
_MAX_PHYSICAL_ROWS = MAX_ROWS * 4  # rows including blank ones (a sheet formatted to the bottom)

# Canonical field names, in the template's order, with the column lengths of the Agency model.
FIELDS = ("code", "name", "level", "supervisor_code", "county", "geography", "head_name", "address", "phone")
REQUIRED = frozenset({"code", "name", "level", "county", "geography"})
OPTIONAL_FIELDS = ("supervisor_code", "head_name", "address", "phone")
MAX_LENGTH = {"code": 20, "name": 100, "supervisor_code": 20, "head_name": 100, "address": 200, "phone": 40}
CHINESE_HEADERS = {
    "code": "機關代碼", "name": "機關名稱", "level": "層級", "supervisor_code": "上級機關代碼", "county": "縣市",
    "geography": "地理分類", "head_name": "機關首長", "address": "地址", "phone": "電話",
}
_HEADER_ALIASES = {
    **{name: name for name in FIELDS},
    **{chinese: name for name, chinese in CHINESE_HEADERS.items()},
    "代碼": "code", "機關代號": "code", "agency_code": "code",
    "名稱": "name", "agency_name": "name",
    "機關層級": "level",
    "上級機關": "supervisor_code", "supervisor": "supervisor_code", "上級機關代號": "supervisor_code",
    "縣市別": "county", "county_city": "county",
    "地理": "geography", "地區分類": "geography",
    "首長": "head_name", "head": "head_name", "head_of_agency": "head_name",
    "tel": "phone", "telephone": "phone",
}

CHINESE_LEVELS = {
    AgencyLevel.CENTRAL: "中央機關", AgencyLevel.MUNICIPAL: "直轄市", AgencyLevel.COUNTY: "縣市",
    AgencyLevel.TOWNSHIP: "鄉鎮市區", AgencyLevel.STATE_OWNED: "國營事業", AgencyLevel.SCHOOL: "學校",
    AgencyLevel.HOSPITAL: "醫院", AgencyLevel.OTHER: "其他",
}
CHINESE_GEOGRAPHY = {Geography.OUTLYING_ISLAND: "離島", Geography.REMOTE: "偏遠", Geography.MAIN_ISLAND: "本島"}
_LEVEL_ALIASES = {
    "中央": AgencyLevel.CENTRAL, "縣(市)": AgencyLevel.COUNTY, "縣（市）": AgencyLevel.COUNTY,
    "鄉(鎮、市、區)": AgencyLevel.TOWNSHIP, "鄉（鎮、市、區）": AgencyLevel.TOWNSHIP, "鄉鎮市": AgencyLevel.TOWNSHIP,
    "state_owned_enterprise": AgencyLevel.STATE_OWNED, "國營事業機構": AgencyLevel.STATE_OWNED,
}
_GEOGRAPHY_ALIASES = {"離島地區": Geography.OUTLYING_ISLAND, "偏遠地區": Geography.REMOTE, "本島地區": Geography.MAIN_ISLAND}

# Official agency codes are letters and digits; we also allow the separators of internal codes.
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class SheetError(Exception):
    """The file as a whole cannot be read: a message for the user, in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as the user sees it, cell texts)
    header_row: int
    file_format: str  # "csv" | "xlsx"
    encoding: str | None = None  # for CSV: the encoding we detected, named for the user


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1 is the header row, as in Excel
    field: str | None  # canonical field name, or None for the whole row or sheet
    column: str  # the column as named in the sheet (or the field's Chinese name)
    value: str
    reason: str


@dataclass(frozen=True)
class AgencyRecord:
    row: int
    code: str
    name: str
    level: AgencyLevel
    county: str
    geography: Geography
    supervisor_code: str | None = None
    head_name: str | None = None
    address: str | None = None
    phone: str | None = None
    # Optional columns present in the sheet: an update changes only these (absent ones are kept).
    columns: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RegisteredAgency:
    """What the check needs to know about an agency already in the register."""

    code: str
    supervisor_code: str | None


@dataclass
class CheckResult:
    records: list[AgencyRecord]
    problems: list[RowProblem]
    ignored_columns: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


# --- reading the file --------------------------------------------------------------------------

_BINARY_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"\xd0\xcf\x11\xe0", b"PK\x03\x04")


def read_sheet(filename: str, data: bytes) -> Sheet:
    """The first worksheet of an .xlsx, or a CSV file, as text rows; or ``SheetError``."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in ("csv", "xlsx"):
        raise SheetError(_("Please choose a .csv or .xlsx file."))
    if not data:
        raise SheetError(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise SheetError(_("The file is larger than %(mb)d MB. Please split it into smaller sheets.",
                           mb=MAX_BYTES // (1024 * 1024)))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SheetError(_("This is an old Excel 97–2003 (.xls) workbook. Please save it as .xlsx or CSV."))
    if data.startswith(b"PK\x03\x04"):
        return Sheet(*_read_xlsx(data), "xlsx")
    if extension == "xlsx" or data.startswith(_BINARY_SIGNATURES):
        raise SheetError(_("The file is not a CSV file or an Excel (.xlsx) workbook."))
    text, encoding = decode_csv(data)
    return Sheet(*_split_header(_csv_rows(text)), "csv", encoding)


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the name of its encoding: UTF-8 (with or without BOM), UTF-16
    with BOM, or Big5 (cp950, as saved by Excel on Taiwanese Windows)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode(data, "utf-16"), "UTF-16"
    if b"\x00" in data:
        raise SheetError(_("The file is not a CSV file or an Excel (.xlsx) workbook."))
    for codec, label in (("utf-8-sig", "UTF-8"), ("cp950", "Big5 (cp950)"), ("big5hkscs", "Big5-HKSCS")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf"):
            label = "UTF-8 (BOM)"
        return text, label
    raise SheetError(_("The file is neither UTF-8 nor Big5 text. Please save it as “CSV UTF-8” or as .xlsx."))


def _decode(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        raise SheetError(_("The file is not a CSV file or an Excel (.xlsx) workbook.")) from error


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            yield number, row
    except csv.Error as error:
        raise SheetError(_("Row %(row)d of the CSV file cannot be read. Please check its quotation marks.",
                           row=number + 1)) from error


def _read_xlsx(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]], int]:
    from openpyxl import load_workbook

    unreadable = _("The file cannot be read as an Excel (.xlsx) workbook. Please save it again as .xlsx or CSV.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise SheetError(unreadable)
            if "xl/workbook.xml" not in archive.namelist():
                raise SheetError(unreadable)
    except zipfile.BadZipFile as error:
        raise SheetError(unreadable) from error
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged file; all mean the same here
        raise SheetError(unreadable) from error
    try:
        if not workbook.worksheets:
            raise SheetError(_("The file is empty."))
        sheet = workbook.worksheets[0]
        rows = ((number, _trimmed([cell_text(value) for value in values]))
                for number, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1))
        return _split_header(rows)
    except SheetError:
        raise
    except Exception as error:
        raise SheetError(unreadable) from error
    finally:
        workbook.close()


def _trimmed(cells: list[str]) -> list[str]:
    # Read-only sheets pad every row to the widest column; trailing blanks are not data.
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _split_header(rows: Iterable[tuple[int, list[str]]]) -> tuple[list[str], list[tuple[int, list[str]]], int]:
    """The first non-blank row is the header; blank rows after it are skipped (numbers kept)."""
    too_many = _("The sheet has more than %(n)d rows. Please split it into smaller sheets.", n=MAX_ROWS)
    header: list[str] | None = None
    header_row = 0
    body: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if number > _MAX_PHYSICAL_ROWS:
            raise SheetError(too_many)
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header, header_row = cells, number
            continue
        body.append((number, cells))
        if len(body) > MAX_ROWS:
            raise SheetError(too_many)
    if header is None:
        raise SheetError(_("The file is empty."))
    return header, body, header_row


# --- checking the rows -------------------------------------------------------------------------

def header_key(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).replace("\ufeff", "").strip().strip("*").strip().lower()
    return re.sub(r"[\s\-]+", "_", key)


def parse_level(text: str) -> AgencyLevel | None:
    return _parse_enum(text, AgencyLevel, CHINESE_LEVELS, _LEVEL_ALIASES)


def parse_geography(text: str) -> Geography | None:
    return _parse_enum(text, Geography, CHINESE_GEOGRAPHY, _GEOGRAPHY_ALIASES)


def _parse_enum(text: str, enum: type[Enum], chinese: Mapping, aliases: Mapping):
    key = header_key(text)
    for member in enum:
        if key in (member.value, member.name.lower()) or text == chinese[member]:
            return member
    return aliases.get(key) or aliases.get(text)


def parse_county(text: str) -> str | None:
    """A county or city of ``COUNTIES``; the common variant 台 for 臺 is accepted."""
    text = text.replace("台", "臺")
    return text if text in COUNTIES else None


def check_rows(
    header: Sequence[str],
    rows: Sequence[tuple[int, Sequence[str]]],
    register: Mapping[str, RegisteredAgency],
    *,
    update_existing: bool,
    header_row: int = 1,
) -> CheckResult:
    """Check every row against the rules and the register; return records and problems.

    ``register`` maps each code already registered to its agency. With ``update_existing``
    false, a code already registered is a problem; otherwise its row updates that agency.
    Records are returned only when no row has a problem: an import is all or nothing.
    """
    columns, problems, ignored = _map_header(header, header_row)
    if problems:
        return CheckResult([], problems, ignored)
    records: list[AgencyRecord] = []
    first_row: dict[str, int] = {}  # every code in the sheet, even on rows with other problems
    for number, cells in rows:
        values, row_problems = _row_values(number, cells, columns, len(header))
        record = _record(number, values, columns, row_problems)
        code = values["code"]
        if code in first_row:
            row_problems.append(_problem(number, "code", code, _(
                "This code is already on row %(row)d of the sheet.", row=first_row[code])))
        elif code:
            first_row[code] = number
            if code in register and not update_existing:
                row_problems.append(_problem(number, "code", code, _(
                    "An agency with this code is already in the register (choose “add new and update existing” "
                    "to update it).")))
        problems += row_problems
        if record is not None and not row_problems:
            records.append(record)
    problems += _check_supervisors(records, set(first_row), register)
    problems.sort(key=lambda p: (p.row, FIELDS.index(p.field) if p.field in FIELDS else -1))
    return CheckResult(records if not problems else [], _named_as_in_sheet(problems, header, columns), ignored)


def _named_as_in_sheet(problems: list[RowProblem], header: Sequence[str],
                       columns: Mapping[str, int]) -> list[RowProblem]:
    """Name each problem's column as the sheet's header does, so the user finds it."""
    names = {name: header[index].replace("\ufeff", "").strip() for name, index in columns.items()}
    return [replace(p, column=names[p.field]) if p.field in names else p for p in problems]


def _problem(row: int, name: str | None, value: str, reason: str, column: str | None = None) -> RowProblem:
    return RowProblem(row, name, column or (CHINESE_HEADERS[name] if name else ""), value, reason)


def _map_header(header: Sequence[str], row: int) -> tuple[dict[str, int], list[RowProblem], list[str]]:
    """Field name → column index; problems with the header itself; names of ignored columns."""
    columns: dict[str, int] = {}
    problems: list[RowProblem] = []
    ignored: list[str] = []
    for index, text in enumerate(header):
        name = _HEADER_ALIASES.get(header_key(text))
        if name is None:
            if text.strip():
                ignored.append(text.strip())
        elif name in columns:
            problems.append(_problem(row, name, text.strip(), _("This column appears twice in the header row."),
                                     column=text.strip()))
        else:
            columns[name] = index
    if not columns:
        expected = "、".join(CHINESE_HEADERS[name] for name in FIELDS)
        problems.append(_problem(row, None, "", _(
            "The first row must be a header row naming the columns: %(columns)s.", columns=expected)))
        return columns, problems, ignored
    for name in FIELDS:
        if name in REQUIRED and name not in columns:
            problems.append(_problem(row, name, "", _("The required column %(column)s is missing.",
                                                    column=f"{CHINESE_HEADERS[name]} ({name})")))
    return columns, problems, ignored


def clean(text: str) -> str:
    """Sheet text as data: surrounding whitespace (full-width too) removed, nothing evaluated."""
    return text.strip()


def clean_code(text: str) -> str:
    # Codes typed with a Chinese input method often come in full-width letters and digits.
    return unicodedata.normalize("NFKC", text).strip()


def _row_values(number: int, cells: Sequence[str], columns: Mapping[str, int], width: int,
                ) -> tuple[dict[str, str], list[RowProblem]]:
    """The row's text per field (a field whose value is unusable is blanked) and its problems."""
    problems: list[RowProblem] = []
    values = {name: clean(cells[index]) if index < len(cells) else "" for name, index in columns.items()}
    for name in ("code", "supervisor_code"):
        if name in values:
            values[name] = clean_code(values[name])
    for extra in cells[width:]:
        if extra.strip():
            problems.append(_problem(number, None, _shorten(clean(extra)),
                                     _("This value is in a column without a header.")))
            break
    for name, value in values.items():
        if _has_control_characters(value):
            problems.append(_problem(number, name, _shorten(value.encode("unicode_escape").decode("ascii")),
                                     _("The value contains control characters.")))
            values[name] = ""
        elif name in MAX_LENGTH and len(value) > MAX_LENGTH[name]:
            problems.append(_problem(number, name, _shorten(value), _(
                "The value is longer than %(n)d characters.", n=MAX_LENGTH[name])))
            values[name] = ""
    return values, problems


def _shorten(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def _has_control_characters(value: str) -> bool:
    # NUL and other control characters cannot be stored in PostgreSQL text or shown sensibly.
    return any(unicodedata.category(char) == "Cc" for char in value)


def _record(number: int, values: Mapping[str, str], columns: Mapping[str, int],
            problems: list[RowProblem]) -> AgencyRecord | None:
    """The row as a record, adding its problems to ``problems`` (the row's own list)."""
    blanked = {p.field for p in problems}
    for name in sorted(REQUIRED, key=FIELDS.index):
        if not values[name] and name not in blanked:
            problems.append(_problem(number, name, "", _("This value is required.")))
    code, supervisor = values["code"], values.get("supervisor_code", "")
    if code and not CODE_PATTERN.fullmatch(code):
        problems.append(_problem(number, "code", code, _(
            "An agency code may contain only letters, digits, “-”, “.” and “_”.")))
    if supervisor and supervisor == code:
        problems.append(_problem(number, "supervisor_code", supervisor, _(
            "An agency cannot be its own supervising authority.")))
    level = parse_level(values["level"]) if values["level"] else None
    if values["level"] and level is None:
        problems.append(_problem(number, "level", values["level"], _(
            "Unknown level. Use one of: %(values)s.", values="、".join(CHINESE_LEVELS.values()))))
    geography = parse_geography(values["geography"]) if values["geography"] else None
    if values["geography"] and geography is None:
        problems.append(_problem(number, "geography", values["geography"], _(
            "Unknown geography class. Use one of: %(values)s.", values="、".join(CHINESE_GEOGRAPHY.values()))))
    county = parse_county(values["county"]) if values["county"] else None
    if values["county"] and county is None:
        problems.append(_problem(number, "county", values["county"], _(
            "Unknown county or city. Use the full name, for example 臺東縣 or 新北市.")))
    if county and geography and (reason := geography_problem(county, geography)):
        problems.append(_problem(number, "geography", values["geography"], reason))
    if problems:
        return None
    return AgencyRecord(
        row=number, code=code, name=values["name"], level=level, county=county, geography=geography,
        supervisor_code=supervisor or None, head_name=values.get("head_name") or None,
        address=values.get("address") or None, phone=values.get("phone") or None,
        columns=frozenset(name for name in OPTIONAL_FIELDS if name in columns),
    )


def _check_supervisors(records: Sequence[AgencyRecord], sheet_codes: set[str],
                       register: Mapping[str, RegisteredAgency]) -> list[RowProblem]:
    """Each supervisor code names an agency in the sheet or the register; no chain loops."""
    problems: list[RowProblem] = []
    parent = {code: agency.supervisor_code for code, agency in register.items()}
    for record in records:
        if "supervisor_code" in record.columns or record.code not in parent:
            parent[record.code] = record.supervisor_code
    for record in records:
        supervisor = record.supervisor_code
        if supervisor is None:
            continue
        if supervisor not in sheet_codes and supervisor not in register:
            problems.append(_problem(record.row, "supervisor_code", supervisor, _(
                "No agency with this code is in the sheet or in the register.")))
        elif _in_cycle(record.code, parent):
            problems.append(_problem(record.row, "supervisor_code", supervisor, _(
                "This supervising authority is itself subordinate to %(code)s: the chain would loop.",
                code=record.code)))
    return problems


def _in_cycle(code: str, parent: Mapping[str, str | None]) -> bool:
    seen = {code}
    node = parent.get(code)
    while node is not None:
        if node == code:
            return True
        if node in seen:
            return False  # a loop further up, reported on its own rows
        seen.add(node)
        node = parent.get(node)
    return False


# --- the template sheet ------------------------------------------------------------------------

TEMPLATE_ROWS = (
    ("EXAMPLE-001", "法務部", "中央機關", "", "臺北市", "本島", "", "臺北市中正區重慶南路一段130號", "02-2191-0189"),
    ("EXAMPLE-002", "臺東縣蘭嶼鄉公所", "鄉鎮市區", "", "臺東縣", "離島", "", "臺東縣蘭嶼鄉紅頭村", ""),
)


def template_header() -> list[str]:
    return [CHINESE_HEADERS[name] for name in FIELDS]


def template_csv() -> bytes:
    """The template as CSV in UTF-8 with a BOM, which Excel needs to show Chinese correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(template_header())
    writer.writerows(TEMPLATE_ROWS)
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """The template workbook: the sheet to fill in first, then the accepted values."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "機關名冊"
    _text_rows(sheet, [template_header(), *TEMPLATE_ROWS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHI", (14, 24, 10, 14, 10, 10, 12, 32, 16), strict=True):
        sheet.column_dimensions[letter].width = width
        sheet.column_dimensions[letter].number_format = "@"  # text, so codes and phones keep leading zeros
    sheet.freeze_panes = "A2"
    values = workbook.create_sheet("說明 Notes")
    _text_rows(values, [
        ["欄位 Column", "說明 Notes"],
        *[[CHINESE_HEADERS[name], "必填 required" if name in REQUIRED else "選填 optional"] for name in FIELDS],
        [],
        ["層級 Level", "、".join(CHINESE_LEVELS.values())],
        ["地理分類 Geography", "、".join(CHINESE_GEOGRAPHY.values())],
        ["縣市 County/city", "、".join(COUNTIES)],
        ["上級機關代碼", "須已在機關名冊或同一工作表中 Must be in the register or in the same sheet"],
    ])
    values.column_dimensions["A"].width = 20
    values.column_dimensions["B"].width = 80
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _text_rows(sheet, rows: Iterable[Sequence[str]]) -> None:
    # Every cell is written as a string: text starting with "=" must never become a formula.
    for row_index, row in enumerate(rows, start=1):
        for column_index, value in enumerate(row, start=1):
            if value == "":
                continue
            cell = sheet.cell(row=row_index, column=column_index)
            cell.value = value
            cell.data_type = "s"
