"""Offline score sheets (離線評分表) for site visits without a usable connection: pure functions.

``build_workbook`` turns plain data (a :class:`WorkbookSpec`) into the bytes of an .xlsx workbook:
an overview, one protected worksheet per entry whose only unlocked cells are the marks and comments
(each mark cell with a data validation of its range and step), a live weighted-total formula, and a
"veryHidden" worksheet holding the signature: canonical JSON naming the judge, the stage, and per
entry the sheet and its version and the cell of every criterion, with an HMAC-SHA256 over that JSON.

``open_signed`` reads an uploaded workbook back: it refuses anything that is not a readable .xlsx,
lacks the signature or whose HMAC does not hold. :meth:`SignedWorkbook.check_owner` refuses a sheet
made for another judge or stage, and :meth:`SignedWorkbook.read_entries` reads every signed cell,
checking the layout (the ids at the signed cells) and each mark (a number in range and on the step,
by ``scoring.validate_mark``), naming the worksheet and cell of every problem.

Nothing here touches the database or the request; ``offline_ops`` does.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

import scoring

from ..spreadsheets import cell_text

FORMAT_VERSION = 1
KEY_PURPOSE = b"offline-sheet-v1"
MAX_BYTES = 5 * 1024 * 1024  # an upload larger than this is refused before it is opened
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024  # no zip bombs (a signed workbook takes about 10 kB per entry)
MAX_WORKSHEETS = 500
# Defaults of the limits; ``offline_ops`` passes those of ``sheets`` (the one place for the rules).
COMMENT_MAX = 2000  # characters of a criterion's comment; longer is refused with the cell, never cut
OVERALL_MAX = 5000  # characters of the overall comment
MAX_PLACES = 4  # decimal places of a mark
CHUNK = 8000  # characters of signature JSON per cell (a cell holds at most 32,767)
TAIPEI = ZoneInfo("Asia/Taipei")

# --- the workbook's words: data of the workbook, in Traditional Chinese (English in the comments) ---

SIGNATURE_SHEET = "_signature"
OVERVIEW_SHEET = "總覽"  # Overview
ENTRY_SHEET = "參獎案{id}"  # Entry {id}
TITLE = "{edition} {stage} 離線評分表"  # {edition} {stage}: offline score sheet
LABEL_ENTRY_NO = "參獎案編號"  # Entry number
LABEL_AGENCY = "參獎機關"  # Agency
LABEL_TITLE = "參獎案名稱"  # Title
LABEL_CATEGORY = "組別"  # Category
LABEL_JUDGE = "評選委員"  # Judge
LABEL_ISSUED = "下載時間"  # Downloaded at
LABEL_NOTE = "說明"  # Notes
HEADERS = ("評核面向", "權重", "最低分", "最高分", "級距", "分數", "評語", "面向代碼")
# Criterion, Weight, Lowest mark, Highest mark, Step, Mark, Comment, Criterion code
LABEL_TOTAL = "加權總分（試算）"  # Weighted total (estimate)
NOTE_TOTAL = "離線試算，正式分數以系統計算為準"  # Computed offline; the system's figure is authoritative
LABEL_OVERALL = "綜合評語"  # Overall comment
BLIND_AGENCY = "（匿名審查，不顯示機關名稱）"  # (Blind review: the agency is not named)
ENTRY_NOTE = ("請於淺黃色儲存格填寫分數與評語。分數須在範圍內且符合級距；空白表示不評分。"
              "上傳後系統逐格檢核，確認後存為草稿，仍須於評選系統送出。")
# Fill in the marks and comments in the pale yellow cells. A mark must lie in the range and on the
# step; a blank cell means no mark. After upload the system checks every cell; once you confirm,
# the marks are saved as drafts, which you still submit in the judging system.
OVERVIEW_HEADERS = ("工作表", "參獎案編號", "參獎機關", "參獎案名稱", "組別", "加權總分（試算）")
# Worksheet, Entry number, Agency, Title, Category, Weighted total (estimate)
OVERVIEW_NOTES = (
    # One worksheet per entry; click its name to go there.
    "1. 每一參獎案一張工作表；請點選工作表名稱前往填寫。",
    # Only the pale yellow cells take input; do not add or remove rows or worksheets.
    "2. 僅淺黃色儲存格可以輸入；請勿增刪列或工作表。",
    # Only the judge who downloaded this file may upload it, for this stage; it carries a tamper-proof signature.
    "3. 本檔案僅供下載之評選委員於本評選階段上傳使用，並附有防偽簽章。",
    # If you change one of these score sheets on the website after downloading, this file expires: download a new one.
    "4. 若於下載後在評選系統修改了評分表，本檔案即失效，請重新下載。",
    # After upload every change is shown for you to check; nothing is saved until you confirm.
    "5. 上傳後會先顯示所有異動供您核對，確認後才會存檔。",
)
VALIDATION_TITLE = "分數不符"  # Invalid mark
VALIDATION_ERROR = "請輸入 {min} 至 {max} 之間的數字，級距為 {step}。"  # Enter a number from {min} to {max}, in steps of {step}.
VALIDATION_ERROR_NO_STEP = "請輸入 {min} 至 {max} 之間的數字。"  # Enter a number from {min} to {max}.
PROMPT_TITLE = "分數"  # Mark
PROMPT = "{min}–{max}，級距 {step}"  # {min}–{max}, in steps of {step}
FOOTER = "第 &P 頁，共 &N 頁"  # Page &P of &N

# Layout of an entry worksheet. Column letters are fixed; rows depend on the number of criteria.
ID_CELL = "B2"
FIRST_CRITERION_ROW = 10
COL_NAME, COL_WEIGHT, COL_MIN, COL_MAX, COL_STEP, COL_MARK, COL_COMMENT, COL_ID = "ABCDEFGH"

INPUT_FILL = "FFF2CC"  # pale yellow: the cells to fill in
HEADER_FILL = "D9E2F3"


# --- plain data --------------------------------------------------------------------------------

@dataclass(frozen=True)
class CriterionRow:
    id: int
    name: str
    weight: Decimal
    min_score: Decimal
    max_score: Decimal
    step: Decimal | None
    score: Decimal | None = None  # the current draft, prefilled
    comment: str = ""


@dataclass(frozen=True)
class EntryBlock:
    entry_id: int
    title: str
    agency: str
    category: str
    sheet_id: int | None  # None when the judge has no sheet for the entry yet
    sheet_version: int  # 0 when there is no sheet
    criteria: tuple[CriterionRow, ...]
    overall_comment: str = ""


@dataclass(frozen=True)
class WorkbookSpec:
    judge_id: int
    judge_name: str
    stage_id: int
    stage_name: str
    edition_name: str
    entries: tuple[EntryBlock, ...]
    issued_at: datetime  # aware, UTC


@dataclass(frozen=True)
class SignedRow:
    criterion_id: int
    id_cell: str
    mark_cell: str
    comment_cell: str


@dataclass(frozen=True)
class SignedEntry:
    entry_id: int
    sheet_id: int | None
    version: int
    worksheet: str
    id_cell: str
    rows: tuple[SignedRow, ...]
    overall_cell: str


@dataclass(frozen=True)
class Signature:
    judge_id: int
    stage_id: int
    issued_at: datetime
    entries: tuple[SignedEntry, ...]
    mac: str  # the HMAC, hex: names this download in the audit trail


@dataclass(frozen=True)
class FilledRow:
    criterion_id: int
    mark_cell: str
    comment_cell: str
    score: Decimal | None
    comment: str


@dataclass(frozen=True)
class FilledEntry:
    signed: SignedEntry
    rows: tuple[FilledRow, ...]
    overall_comment: str


@dataclass(frozen=True)
class Problem:
    """What is wrong, and where: ``code`` for programs, ``message`` for people."""

    code: str
    message: str
    worksheet: str | None = None
    cell: str | None = None
    entry_id: int | None = None

    @property
    def where(self) -> str:
        if self.worksheet and self.cell:
            return f"{self.worksheet}!{self.cell}"
        return self.worksheet or ""


class OfflineSheetError(Exception):
    """The upload is refused as a whole; ``problems`` says every reason found, with its cell."""

    def __init__(self, problems: Problem | Sequence[Problem]):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.message = " ".join(p.message for p in self.problems)
        super().__init__(self.message)

    @property
    def codes(self) -> set[str]:
        return {p.code for p in self.problems}


# --- signing -----------------------------------------------------------------------------------

def derive_key(secret_key: str | bytes) -> bytes:
    """A key for this purpose only, derived from the app's SECRET_KEY (never the key itself)."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(secret, KEY_PURPOSE, hashlib.sha256).digest()


def sign(payload_text: str, key: bytes) -> str:
    return hmac.new(key, payload_text.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical(payload: Mapping) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _payload(spec: WorkbookSpec, layouts: Sequence[SignedEntry]) -> dict:
    return {
        "format": FORMAT_VERSION,
        "judge": spec.judge_id,
        "stage": spec.stage_id,
        "issued_at": spec.issued_at.astimezone(timezone.utc).isoformat(),
        "nonce": secrets.token_hex(8),  # two downloads in the same second still differ
        "entries": [
            {"entry": e.entry_id, "sheet": e.sheet_id, "version": e.version, "worksheet": e.worksheet,
             "id_cell": e.id_cell, "overall": e.overall_cell,
             "rows": [{"criterion": r.criterion_id, "id_cell": r.id_cell, "mark": r.mark_cell,
                       "comment": r.comment_cell} for r in e.rows]}
            for e in layouts
        ],
    }


# --- writing -----------------------------------------------------------------------------------

def number_text(value: Decimal | int | None) -> str:
    """85.5000 → "85.5", 100.0000 → "100" (never an exponent)."""
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return text


def _cell_number(value: Decimal | None) -> int | float | None:
    """A Decimal as Excel stores it: an int when whole, else the float whose repr is the same digits."""
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return float(number_text(value))


def text_cell(ws, coordinate: str, value: str | None):
    """Write user-provided text as text: a value starting with "=" must never become a formula."""
    cell = ws[coordinate]
    value = ILLEGAL_CHARACTERS_RE.sub("", value or "")  # stored before control characters were refused
    cell.value = value or None
    if value:
        cell.data_type = "s"
    return cell


def worksheet_name(entry_id: int) -> str:
    return ENTRY_SHEET.format(id=entry_id)[:31]


def mark_rule(mark_cell: str, row: CriterionRow) -> str:
    """The custom validation formula of a mark cell: a number in range and on the step grid."""
    low, high = number_text(row.min_score), number_text(row.max_score)
    parts = [f"ISNUMBER({mark_cell})", f"{mark_cell}>={low}", f"{mark_cell}<={high}"]
    if row.step:
        # ROUND first: 85.5/0.5 may come out as 170.99999999999997 in binary floating point.
        parts.append(f"MOD(ROUND(({mark_cell}-{low})/{number_text(row.step)},6),1)=0")
    return "AND(" + ",".join(parts) + ")"


def build_workbook(spec: WorkbookSpec, key: bytes) -> tuple[bytes, Signature]:
    """The workbook's bytes and the signature embedded in it."""
    from openpyxl import Workbook
    from openpyxl.workbook.protection import WorkbookProtection

    workbook = Workbook()
    overview = workbook.active
    overview.title = OVERVIEW_SHEET
    layouts: list[SignedEntry] = []
    total_cells: list[str] = []
    for block in spec.entries:
        ws = workbook.create_sheet(worksheet_name(block.entry_id))
        layout, total_cell = _entry_sheet(ws, spec, block)
        layouts.append(layout)
        total_cells.append(total_cell)
    _overview_sheet(overview, spec, layouts, total_cells)

    payload_text = canonical(_payload(spec, layouts))
    mac = sign(payload_text, key)
    signed = workbook.create_sheet(SIGNATURE_SHEET)
    text_cell(signed, "A1", mac)
    for index in range(0, len(payload_text), CHUNK):
        text_cell(signed, f"A{index // CHUNK + 2}", payload_text[index:index + CHUNK])
    signed.sheet_state = "veryHidden"
    _protect(signed)

    workbook.active = 0
    workbook.security = WorkbookProtection(workbookPassword=secrets.token_urlsafe(18), lockStructure=True)
    workbook.properties.creator = "透明晶質獎評選系統"  # Transparency Crystal Award judging system
    workbook.properties.title = TITLE.format(edition=spec.edition_name, stage=spec.stage_name)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), _signature_from(json.loads(payload_text), mac)


def _protect(ws) -> None:
    """Lock the worksheet with a random password that nobody is told; unlocked cells stay editable.
    Judges may still resize rows and columns (to read a long comment), never insert or delete."""
    ws.protection.sheet = True
    ws.protection.password = secrets.token_urlsafe(18)
    ws.protection.formatRows = False
    ws.protection.formatColumns = False


def _a4(ws, landscape: bool = True) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = FOOTER


def _entry_sheet(ws, spec: WorkbookSpec, block: EntryBlock) -> tuple[SignedEntry, str]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    input_fill = PatternFill("solid", fgColor=INPUT_FILL)
    header_fill = PatternFill("solid", fgColor=HEADER_FILL)
    wrap = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)

    ws.merge_cells("A1:G1")
    text_cell(ws, "A1", TITLE.format(edition=spec.edition_name, stage=spec.stage_name)).font = Font(bold=True, size=14)
    facts = ((LABEL_ENTRY_NO, None), (LABEL_AGENCY, block.agency), (LABEL_TITLE, block.title),
             (LABEL_CATEGORY, block.category), (LABEL_JUDGE, spec.judge_name), (LABEL_NOTE, ENTRY_NOTE))
    for row, (label, value) in enumerate(facts, start=2):
        text_cell(ws, f"A{row}", label).font = Font(bold=True)
        if row == 2:
            ws[ID_CELL] = block.entry_id
            ws[ID_CELL].alignment = Alignment(horizontal="left")
            continue
        ws.merge_cells(f"B{row}:G{row}")
        text_cell(ws, f"B{row}", value).alignment = wrap
    ws.row_dimensions[4].height = 32
    ws.row_dimensions[7].height = 48

    header_row = FIRST_CRITERION_ROW - 1
    for column, header in zip("ABCDEFGH", HEADERS, strict=True):
        cell = text_cell(ws, f"{column}{header_row}", header)
        cell.font, cell.fill, cell.border = Font(bold=True), header_fill, box
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    rows: list[SignedRow] = []
    for offset, criterion in enumerate(block.criteria):
        r = FIRST_CRITERION_ROW + offset
        text_cell(ws, f"{COL_NAME}{r}", criterion.name).alignment = wrap
        for column, value in ((COL_WEIGHT, criterion.weight), (COL_MIN, criterion.min_score),
                              (COL_MAX, criterion.max_score), (COL_STEP, criterion.step)):
            ws[f"{column}{r}"] = _cell_number(value)
        ws[f"{COL_ID}{r}"] = criterion.id
        mark, comment = ws[f"{COL_MARK}{r}"], ws[f"{COL_COMMENT}{r}"]
        mark.value = _cell_number(criterion.score)
        text_cell(ws, comment.coordinate, criterion.comment)
        comment.number_format = "@"  # whatever is typed stays text
        for cell in (mark, comment):
            cell.protection, cell.fill = unlocked, input_fill
        comment.alignment = wrap
        mark.alignment = Alignment(horizontal="center", vertical="top")
        for column in "ABCDEFG":
            ws[f"{column}{r}"].border = box
        ws.row_dimensions[r].height = 60

        bounds = {"min": number_text(criterion.min_score), "max": number_text(criterion.max_score),
                  "step": number_text(criterion.step)}
        rule = DataValidation(type="custom", formula1=mark_rule(mark.coordinate, criterion), allow_blank=True,
                              showErrorMessage=True, showInputMessage=True, errorStyle="stop")
        rule.errorTitle, rule.promptTitle = VALIDATION_TITLE, PROMPT_TITLE
        rule.error = (VALIDATION_ERROR if criterion.step else VALIDATION_ERROR_NO_STEP).format(**bounds)
        rule.prompt = PROMPT.format(**bounds) if criterion.step else f"{bounds['min']}–{bounds['max']}"
        ws.add_data_validation(rule)
        rule.add(mark.coordinate)
        rows.append(SignedRow(criterion.id, f"{COL_ID}{r}", mark.coordinate, comment.coordinate))

    last = FIRST_CRITERION_ROW + len(block.criteria) - 1
    total_row = last + 1
    text_cell(ws, f"A{total_row}", LABEL_TOTAL).font = Font(bold=True)
    total = ws[f"{COL_MARK}{total_row}"]
    if block.criteria:
        marks = f"{COL_MARK}{FIRST_CRITERION_ROW}:{COL_MARK}{last}"
        total.value = (f"=ROUND(SUMPRODUCT({COL_WEIGHT}{FIRST_CRITERION_ROW}:{COL_WEIGHT}{last},"
                       f"{marks}/{COL_MAX}{FIRST_CRITERION_ROW}:{COL_MAX}{last}),2)")
        ws[f"{COL_WEIGHT}{total_row}"] = f"=SUM({COL_WEIGHT}{FIRST_CRITERION_ROW}:{COL_WEIGHT}{last})"
    total.font, total.border = Font(bold=True), box
    total.alignment = Alignment(horizontal="center")
    text_cell(ws, f"{COL_COMMENT}{total_row}", NOTE_TOTAL).font = Font(italic=True, color="595959")

    overall_row = total_row + 2
    text_cell(ws, f"A{overall_row}", LABEL_OVERALL).font = Font(bold=True)
    ws.merge_cells(f"B{overall_row}:G{overall_row}")
    overall = text_cell(ws, f"B{overall_row}", block.overall_comment)
    overall.protection, overall.fill, overall.alignment, overall.number_format = unlocked, input_fill, wrap, "@"
    ws.row_dimensions[overall_row].height = 120

    for column, width in zip("ABCDEFGH", (26, 8, 8, 8, 8, 10, 60, 10), strict=True):
        ws.column_dimensions[column].width = width
    ws.column_dimensions[COL_ID].hidden = True
    ws.print_area = f"A1:G{overall_row}"
    _a4(ws)
    _protect(ws)
    layout = SignedEntry(entry_id=block.entry_id, sheet_id=block.sheet_id, version=block.sheet_version,
                         worksheet=ws.title, id_cell=ID_CELL, rows=tuple(rows), overall_cell=overall.coordinate)
    return layout, total.coordinate


def _overview_sheet(ws, spec: WorkbookSpec, layouts: Sequence[SignedEntry], total_cells: Sequence[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    ws.merge_cells("A1:F1")
    text_cell(ws, "A1", TITLE.format(edition=spec.edition_name, stage=spec.stage_name)).font = Font(bold=True, size=14)
    text_cell(ws, "A2", LABEL_JUDGE).font = Font(bold=True)
    text_cell(ws, "B2", spec.judge_name)
    text_cell(ws, "A3", LABEL_ISSUED).font = Font(bold=True)
    text_cell(ws, "B3", spec.issued_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") + "（臺北時間）")  # (Taipei time)
    for offset, note in enumerate(OVERVIEW_NOTES):
        ws.merge_cells(f"A{5 + offset}:F{5 + offset}")
        text_cell(ws, f"A{5 + offset}", note)
    header_row = 5 + len(OVERVIEW_NOTES) + 1
    for column, header in zip("ABCDEF", OVERVIEW_HEADERS, strict=True):
        cell = text_cell(ws, f"{column}{header_row}", header)
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
    blocks = {b.entry_id: b for b in spec.entries}
    for offset, (layout, total_cell) in enumerate(zip(layouts, total_cells, strict=True)):
        r = header_row + 1 + offset
        block = blocks[layout.entry_id]
        link = text_cell(ws, f"A{r}", layout.worksheet)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{layout.worksheet}'!A1")  # within the file
        link.font = Font(color="0563C1", underline="single")
        ws[f"B{r}"] = block.entry_id
        text_cell(ws, f"C{r}", block.agency)
        text_cell(ws, f"D{r}", block.title)
        text_cell(ws, f"E{r}", block.category)
        ws[f"F{r}"] = f"='{layout.worksheet}'!{total_cell}"
        for column in "CD":
            ws[f"{column}{r}"].alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEF", (12, 10, 26, 48, 18, 14), strict=True):
        ws.column_dimensions[column].width = width
    _a4(ws)
    _protect(ws)


# --- reading -----------------------------------------------------------------------------------

_CELL = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,6}$")


def _unreadable() -> Problem:
    return Problem("unreadable", _("The file cannot be read as an Excel (.xlsx) workbook. Upload the offline "
                                   "score sheet you downloaded, saved as .xlsx."))


def _not_ours() -> Problem:
    return Problem("no_signature", _("This workbook is not an offline score sheet of this system (its signature "
                                     "is missing). Download the offline score sheet and fill that in."))


def _tampered(detail: str | None = None) -> Problem:
    return Problem("tampered", _("The workbook's signature does not match its content: the sheet was altered "
                                 "outside the cells meant for marks and comments. Nothing was imported. Download a "
                                 "new sheet."), worksheet=SIGNATURE_SHEET if detail is None else detail)


class SignedWorkbook:
    """An uploaded workbook whose signature holds. Read its entries with :meth:`read_entries`."""

    def __init__(self, workbook, signature: Signature):
        self.workbook = workbook
        self.signature = signature

    def check_owner(self, judge_id: int, stage_id: int) -> None:
        if self.signature.judge_id != judge_id:
            raise OfflineSheetError(Problem("other_judge", _(
                "This sheet was made for another judge. Each judge may import only the sheet they downloaded "
                "themselves. Nothing was imported.")))
        if self.signature.stage_id != stage_id:
            raise OfflineSheetError(Problem("other_stage", _(
                "This sheet was made for another judging stage. Upload it on that stage's page, or download the "
                "sheet for this stage. Nothing was imported.")))

    def read_entries(self, criteria: Mapping[int, scoring.Criterion], *, comment_max: int = COMMENT_MAX,
                     overall_max: int = OVERALL_MAX, max_places: int = MAX_PLACES
                     ) -> tuple[list[FilledEntry], list[Problem]]:
        """Every signed cell read back; the problems found (layout, not a number, out of range, off
        the step, too long), each with its worksheet and cell. ``criteria`` maps the criterion ids of
        the signature to their current bounds (a missing one is checked for being a number only)."""
        problems: list[Problem] = []
        filled: list[FilledEntry] = []
        for signed in self.signature.entries:
            entry_problems: list[Problem] = []
            if signed.worksheet not in self.workbook.sheetnames:
                problems.append(Problem("layout", _("The worksheet %(sheet)s is missing from the workbook.",
                                                    sheet=signed.worksheet),
                                        worksheet=signed.worksheet, entry_id=signed.entry_id))
                continue
            ws = self.workbook[signed.worksheet]

            def layout(cell: str, expected: int) -> None:
                found = _as_int(ws[cell].value)
                if found != expected:
                    entry_problems.append(Problem("layout", _(
                        "%(where)s: the sheet's layout was changed (a row was moved, inserted or deleted, or a "
                        "locked cell edited). Undo the change or download a new sheet.",
                        where=f"{signed.worksheet}!{cell}"), worksheet=signed.worksheet, cell=cell,
                        entry_id=signed.entry_id))

            layout(signed.id_cell, signed.entry_id)
            rows: list[FilledRow] = []
            for row in signed.rows:
                layout(row.id_cell, row.criterion_id)
                score, problem = read_mark(ws, row.mark_cell, criteria.get(row.criterion_id), max_places)
                if problem is not None:
                    entry_problems.append(_at(problem, signed))
                comment, problem = read_text(ws, row.comment_cell, comment_max)
                if problem is not None:
                    entry_problems.append(_at(problem, signed))
                rows.append(FilledRow(row.criterion_id, row.mark_cell, row.comment_cell, score, comment))
            overall, problem = read_text(ws, signed.overall_cell, overall_max)
            if problem is not None:
                entry_problems.append(_at(problem, signed))
            problems.extend(entry_problems)
            filled.append(FilledEntry(signed, tuple(rows), overall))
        return filled, problems

    def close(self) -> None:
        self.workbook.close()


def _at(problem: Problem, signed: SignedEntry) -> Problem:
    return Problem(problem.code, f"{signed.worksheet}!{problem.cell}: {problem.message}", worksheet=signed.worksheet,
                   cell=problem.cell, entry_id=signed.entry_id)


def open_signed(data: bytes, key: bytes) -> SignedWorkbook:
    """Open an uploaded workbook and verify its signature, or raise :class:`OfflineSheetError`."""
    from openpyxl import load_workbook

    if len(data) > MAX_BYTES:
        raise OfflineSheetError(Problem("too_large", _("The file is larger than %(mb)d MB. Upload the offline score "
                                                       "sheet you downloaded.", mb=MAX_BYTES // (1024 * 1024))))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" not in names or sum(i.file_size for i in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise OfflineSheetError(_unreadable())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise OfflineSheetError(_unreadable()) from error
    try:
        # Formulas as written (not cached results): a formula in a mark cell is refused, not guessed at.
        workbook = load_workbook(io.BytesIO(data), data_only=False)
    except Exception as error:  # openpyxl raises many kinds on a damaged file; all mean the same here
        raise OfflineSheetError(_unreadable()) from error
    try:
        if len(workbook.sheetnames) > MAX_WORKSHEETS or SIGNATURE_SHEET not in workbook.sheetnames:
            raise OfflineSheetError(_not_ours())
        ws = workbook[SIGNATURE_SHEET]
        mac = ws["A1"].value
        chunks: list[str] = []
        for (value,) in ws.iter_rows(min_row=2, max_col=1, values_only=True):
            if value is None:
                break
            chunks.append(value if isinstance(value, str) else str(value))
        if not isinstance(mac, str) or not chunks:
            raise OfflineSheetError(_not_ours())
        payload_text = "".join(chunks)
        if not hmac.compare_digest(sign(payload_text, key).encode(), mac.strip().encode("utf-8", "replace")):
            raise OfflineSheetError(_tampered())
        try:
            signature = _signature_from(json.loads(payload_text), mac.strip())
        except (ValueError, KeyError, TypeError) as error:  # signed by us yet unreadable: an old format
            raise OfflineSheetError(_not_ours()) from error
        return SignedWorkbook(workbook, signature)
    except BaseException:
        workbook.close()
        raise


def _signature_from(payload: Mapping, mac: str) -> Signature:
    if payload.get("format") != FORMAT_VERSION:
        raise ValueError("unknown format")

    def cell(value) -> str:
        if not isinstance(value, str) or not _CELL.match(value):
            raise ValueError("not a cell")
        return value

    def integer(value) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("not an integer")
        return value

    entries = tuple(
        SignedEntry(
            entry_id=integer(e["entry"]), sheet_id=None if e["sheet"] is None else integer(e["sheet"]),
            version=integer(e["version"]), worksheet=str(e["worksheet"]), id_cell=cell(e["id_cell"]),
            overall_cell=cell(e["overall"]),
            rows=tuple(SignedRow(integer(r["criterion"]), cell(r["id_cell"]), cell(r["mark"]), cell(r["comment"]))
                       for r in e["rows"]),
        )
        for e in payload["entries"]
    )
    issued_at = datetime.fromisoformat(payload["issued_at"])
    if issued_at.tzinfo is None:
        raise ValueError("naive time")
    return Signature(judge_id=integer(payload["judge"]), stage_id=integer(payload["stage"]), issued_at=issued_at,
                     entries=entries, mac=mac)


def _as_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_number(value) -> Decimal | None:
    """A cell value as a Decimal; ``None`` for a blank; ``ValueError`` when it is not a number.

    Whole-width digits (８５) and a number typed into a text-formatted cell ("85.5") are accepted."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (datetime, date, time)):
        raise ValueError("not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest digits that read back as this float: what was typed
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip().replace(" ", "")
        if not text:
            return None
        if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            raise ValueError("not a number")
        try:
            return Decimal(text)
        except InvalidOperation as error:
            raise ValueError("not a number") from error
    raise ValueError("not a number")


def read_mark(ws, coordinate: str, criterion: scoring.Criterion | None, max_places: int = MAX_PLACES
              ) -> tuple[Decimal | None, Problem | None]:
    cell = ws[coordinate]
    value = cell.value
    shown = _shorten(value)
    if cell.data_type == "f":
        return None, Problem("not_a_number", _("a formula is not accepted as a mark; type the number itself."),
                             cell=coordinate)
    try:
        score = parse_number(value)
    except ValueError:
        return None, Problem("not_a_number", _("“%(value)s” is not a number.", value=shown), cell=coordinate)
    if score is None:
        return None, None
    if max(0, -score.normalize().as_tuple().exponent) > max_places:
        return None, Problem("off_step", _("%(value)s has more than %(n)d decimal places.", value=number_text(score),
                                           n=max_places), cell=coordinate)
    if criterion is None:
        return score, None
    try:
        return scoring.validate_mark(criterion, score), None
    except scoring.InvalidMark:
        return None, mark_problem(criterion, score, coordinate)


def mark_problem(criterion: scoring.Criterion, score: Decimal, coordinate: str | None) -> Problem:
    low, high = number_text(criterion.min_score), number_text(criterion.max_score)
    shown = number_text(score) if score.is_finite() else str(score)
    if not score.is_finite():
        message = _("“%(value)s” is not a number.", value=shown)
        code = "not_a_number"
    elif score < criterion.min_score or score > criterion.max_score:
        message = _("%(value)s is outside %(min)s–%(max)s.", value=shown, min=low, max=high)
        code = "out_of_range"
    elif criterion.step is not None and (score - criterion.min_score) % criterion.step != 0:
        message = _("%(value)s is not in steps of %(step)s (from %(min)s).", value=shown,
                    step=number_text(criterion.step), min=low)
        code = "off_step"
    else:
        message = _("%(value)s has too many decimal places.", value=shown)
        code = "off_step"
    return Problem(code, message, cell=coordinate)


def read_text(ws, coordinate: str, limit: int = COMMENT_MAX) -> tuple[str, Problem | None]:
    """A comment cell's text, line breaks normalised and stripped (as the web sheet saves it)."""
    value = ws[coordinate].value
    text = cell_text(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > limit:
        return text, Problem("too_long", _("the comment has %(n)d characters; at most %(max)d are allowed.",
                                           n=len(text), max=limit), cell=coordinate)
    return text, None


def _shorten(value: object, limit: int = 40) -> str:
    text = cell_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def criteria_signature(rows: Iterable[CriterionRow]) -> dict[int, scoring.Criterion]:
    """The bounds of the criteria as the scoring engine checks them."""
    return {r.id: scoring.Criterion(key=str(r.id), weight=r.weight, max_score=r.max_score, min_score=r.min_score,
                                    step=r.step, label=r.name) for r in rows}

