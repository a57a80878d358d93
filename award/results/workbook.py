"""The results workbook (成績總表): a pure function from plain data to the bytes of an .xlsx file.

``build_workbook(WorkbookInput) -> bytes``: no Flask, no database. The input is the canonical results
payload (``payload.build_payload`` or a frozen snapshot's), the diagnostics of each category, the
audit counts, the chain verification and the ceremony settings; ``export_ops`` gathers them.

Seven sheets (names and headers in ``workbook_text``): 摘要, 各組排名, 評分明細, 評分一致性,
參獎機關分布, 頒獎典禮名單, 稽核摘要. Every sheet has a frozen header row, an autofilter, widths
that fit CJK text, a font that renders Chinese, number formats with the configured decimals, and an
A4 landscape print set-up fitted to the page width with the header row repeated and page numbers.

評分明細 recomputes the results with live Excel formulas (explained on the 摘要 sheet too): each
judge's weighted total ``ROUND(ROUND(SUMPRODUCT(marks, weight/max), 9), d)``; the panel mark of
each criterion by the stage's method (AVERAGE, MEDIAN, the trimmed mean
written with SUM, COUNT, LARGE and SMALL, or — at total level — a weight per judge's sheet that
shares the kept places between judges tied at the cut exactly as the engine does); and the total
by the rounding policy. The inner ``ROUND(…, 9)`` snaps binary floating-point noise (4.5 × 15/100
is 0.67499999… in binary, where the exact 0.675 rounds up to 0.68) before the half-up rounding, as
the engine snaps its float methods. The snap could only mislead if an exact value that is not
half-way lay within 5 × 10⁻¹⁰ of a half-way point; with marks of at most six decimals, panels of
real size and ordinary weights and maxima, the nearest such value is orders of magnitude further
away — and test_workbook_formulas.py checks LibreOffice's answers against the engine's on exactly
these hard cases. Z-score and bias cannot be written as spreadsheet formulas: their panel figures
are the engine's values, with a note.

Injection: every text — titles, names, tiers, criteria, messages — is written as an inline string
cell (``t="inlineStr"``, which openpyxl reads back as ``data_type == "s"``), so a title such as
``=HYPERLINK(...)`` stays text; only the ``Formula`` values this module composes get an ``<f>``.

Speed: openpyxl (write-only mode) writes the frame of each sheet — widths, frozen panes, autofilter,
print set-up, header and footer, page breaks, charts — and the stylesheet; ``SheetWriter``
serialises the rows itself and ``_splice`` puts them into the frame's empty ``<sheetData>``.
openpyxl's own cell writer is pure Python without lxml (not a dependency) and took ~23 s for
1,000 entries × 20 judges × 8 criteria; this takes ~4 s (benchmarks/bench_workbook.py).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference, Series
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.pagebreak import Break

from . import workbook_text as T

TAIPEI = ZoneInfo("Asia/Taipei")
SNAP = 9  # decimals of the floating-point snap inside the formulas (the engine's SNAP_PLACES)
MAX_WIDTH = 60  # widest column, in character units
MAX_TEXT = 32767  # Excel's limit on one cell's text
HEADER_TITLE = 120  # characters of the title in the page header (Excel allows 255 for the whole header)
COMPRESS_LEVEL = 6  # zlib level of the .xlsx (zip) parts

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# colours
HEADER_FILL = "DDEBF7"
PANEL_FILL = "E2EFDA"
PARAM_FILL = "F2F2F2"
TRIM_FILL = "F8CBAD"
WARN_FILL = "FFF2CC"
ERROR_FILL = "FFC7CE"


# ------------------------------------------------------------------------------------ input


@dataclass(frozen=True)
class ChainCheck:
    """The audit chain's verification at export time (``audit.verify_chain``)."""

    ok: bool
    count: int
    message: str = ""


@dataclass(frozen=True)
class CheckpointInfo:
    """The latest Merkle checkpoint of the audit trail at export time (``audit.checkpoints``)."""

    id: int
    event_count: int
    root_hash: str
    created_at: datetime
    reason: str = ""


@dataclass
class WorkbookInput:
    """Everything the workbook shows. ``snapshot_hash`` None means provisional (not frozen)."""

    payload: dict[str, Any]
    exported_at: datetime  # aware; printed in Asia/Taipei
    snapshot_hash: str | None = None
    frozen_at: datetime | None = None
    exported_by: str = ""
    # category id -> Diagnostics.to_dict(), or a message saying why there are none
    diagnostics: Mapping[int, dict[str, Any] | str] = field(default_factory=dict)
    audit_counts: Mapping[str, int] = field(default_factory=dict)  # action -> events of the stage
    chain: ChainCheck | None = None
    checkpoint: CheckpointInfo | None = None  # the audit trail's latest Merkle checkpoint
    ceremony_order: Sequence[int] = ()  # entry ids in the organiser's order; the rest follow by default
    award_texts: Mapping[str, str] = field(default_factory=dict)  # tier name -> certificate template
    default_award_text: str = T.AWARD_TEXT_DEFAULT
    county_order: Sequence[str] = ()  # counties/cities in the official order (award.models.COUNTIES)
    live_matches: bool | None = None  # frozen: do the live results still hash as the snapshot?

    @property
    def provisional(self) -> bool:
        return self.snapshot_hash is None


class Formula(str):
    """A formula this module composed (the only strings written as formulas)."""


# ------------------------------------------------------------------------------------ helpers


def clean_text(value: Any) -> str:
    """Text as a cell can hold it: XML-illegal control characters removed, at most 32,767 characters."""
    text = "" if value is None else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:MAX_TEXT]


def text_width(text: str) -> int:
    """Display width in Excel character units: CJK (wide and fullwidth) characters count two."""
    best = 0
    for line in text.split("\n"):
        width = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)
        best = max(best, width)
    return best


def number(value: Any) -> int | float | None:
    """A Decimal (or its string) as Excel stores it: an int when whole, else the float of its digits."""
    if value is None or value == "":
        return None
    value = Decimal(str(value))
    if value == value.to_integral_value():
        return int(value)
    return float(value)


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _xml_escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _number_text(value: Any) -> str:
    """A number as SpreadsheetML writes it (openpyxl's own format: up to 16 significant digits)."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        value = number(value)
        if isinstance(value, int):
            return str(value)
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("a workbook cannot hold NaN or infinity")
    return "%.16g" % value


def decimals_format(decimals: int) -> str:
    return "0" if decimals <= 0 else "0." + "0" * decimals


def taipei(value: datetime | None) -> str:
    if value is None:
        return T.NONE_MARK
    if value.tzinfo is None:  # the database's naive datetimes are UTC
        from datetime import timezone

        value = value.replace(tzinfo=timezone.utc)
    return T.TAIPEI_TIME.format(time=value.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M:%S"))


_FIELD = re.compile(r"\{(\w+)\}")


def award_text(template: str, values: Mapping[str, str]) -> str:
    """Fill ``{agency}``-style fields; anything else in the template stays as written (no str.format:
    a template is organiser text and must not reach attributes)."""
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class Style:
    font: Font | None = None
    fill: PatternFill | None = None
    number_format: str | None = None
    alignment: Alignment | None = None
    border: Border | None = None


class Styles:
    """The few cell styles the workbook uses, by name."""

    def __init__(self, decimals: int):
        bold = Font(name=T.FONT_NAME, charset=T.FONT_CHARSET, bold=True, size=11)
        thin = Side(style="thin", color="A6A6A6")
        fmt = decimals_format(decimals)
        self.decimals_format = fmt
        self.by_name: dict[str, Style] = {
            "header": Style(font=bold, fill=PatternFill("solid", fgColor=HEADER_FILL),
                            alignment=Alignment(vertical="center", wrap_text=True), border=Border(bottom=thin)),
            "num": Style(number_format=fmt),
            "int": Style(number_format="0"),
            "stat": Style(number_format="0.000"),
            "pct": Style(number_format="0.0%"),
            "general": Style(),
            "weight": Style(number_format="0.###"),
            "trim": Style(fill=PatternFill("solid", fgColor=TRIM_FILL)),
            "trim_num": Style(fill=PatternFill("solid", fgColor=TRIM_FILL), number_format="0.#########"),
            "param": Style(fill=PatternFill("solid", fgColor=PARAM_FILL)),
            "param_bold": Style(font=bold, fill=PatternFill("solid", fgColor=PARAM_FILL)),
            "panel": Style(font=bold, fill=PatternFill("solid", fgColor=PANEL_FILL)),
            "panel_num": Style(font=bold, fill=PatternFill("solid", fgColor=PANEL_FILL), number_format=fmt),
            "panel_int": Style(font=bold, fill=PatternFill("solid", fgColor=PANEL_FILL), number_format="0"),
            "bold": Style(font=bold),
            "warn": Style(font=Font(name=T.FONT_NAME, charset=T.FONT_CHARSET, bold=True, size=14, color="C00000"),
                          fill=PatternFill("solid", fgColor=WARN_FILL)),
            "error": Style(fill=PatternFill("solid", fgColor=ERROR_FILL)),
            "wrap": Style(alignment=Alignment(wrap_text=True, vertical="top")),
            "mono": Style(font=Font(name="Consolas", size=10)),
        }


class SheetWriter:
    """Rows of (value, style name) for one worksheet, serialised straight to SpreadsheetML.

    openpyxl (write-only) writes the worksheet's frame — column widths, frozen panes, autofilter,
    print set-up, header and footer, page breaks, charts — and the workbook's styles; the rows are
    serialised here, a few times faster than openpyxl's pure-Python XML writer (lxml is not a
    dependency), and spliced into the frame's empty ``<sheetData>`` by ``build_workbook``.
    Text is always an inline string (``t="inlineStr"``), so it can never be read as a formula;
    only ``Formula`` values get an ``<f>`` element.
    """

    def __init__(self, ws, styles: Styles):
        self.ws = ws
        self.styles = styles
        self.rows = 0
        self.parts: list[str] = []
        self._style_ids: dict[str, int] = {}
        self._letters: list[str] = []
        self.snapshot_hash: str | None = None  # printed in every page's footer (set by build_workbook)

    def set_widths(self, widths: Sequence[int]) -> None:
        for index, width in enumerate(widths, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = max(6, min(MAX_WIDTH, width))

    def style_id(self, name: str) -> int:
        """The cellXfs index of a named style (registered in the workbook's stylesheet once)."""
        found = self._style_ids.get(name)
        if found is None:
            spec = self.styles.by_name[name]
            cell = WriteOnlyCell(self.ws)
            if spec.font is not None:
                cell.font = spec.font
            if spec.fill is not None:
                cell.fill = spec.fill
            if spec.number_format is not None:
                cell.number_format = spec.number_format
            if spec.alignment is not None:
                cell.alignment = spec.alignment
            if spec.border is not None:
                cell.border = spec.border
            found = self._style_ids[name] = cell.style_id
        return found

    def _letter(self, index: int) -> str:
        while len(self._letters) <= index:
            self._letters.append(get_column_letter(len(self._letters) + 1))
        return self._letters[index]

    def append(self, items: Iterable[Any]) -> None:
        """``items``: values, or (value, style name) pairs. Strings are always text."""
        self.rows += 1
        r = str(self.rows)
        out = [f'<row r="{r}">']
        for index, item in enumerate(items):
            if isinstance(item, tuple):
                value, style = item
                sid = self.style_id(style) if style else 0
            else:
                value, sid = item, 0
            s = f' s="{sid}"' if sid else ""
            if value is None or value == "":
                if sid:
                    out.append(f'<c r="{self._letter(index)}{r}"{s}/>')
                continue
            ref = self._letter(index) + r
            if isinstance(value, Formula):
                out.append(f'<c r="{ref}"{s}><f>{_xml_escape(value[1:])}</f></c>')
            elif isinstance(value, str):
                text = clean_text(value)
                space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
                out.append(f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_xml_escape(text)}</t></is></c>')
            elif isinstance(value, bool):
                out.append(f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>')
            else:
                out.append(f'<c r="{ref}"{s}><v>{_number_text(value)}</v></c>')
        out.append("</row>")
        self.parts.append("".join(out))

    def finish(self, columns: int, title: str, provisional: bool, freeze: str = "A2") -> None:
        ws = self.ws
        last = get_column_letter(max(columns, 1))
        ws.auto_filter.ref = f"A1:{last}{max(self.rows, 1)}"
        ws.print_title_rows = "1:1"
        ws.page_setup.paperSize = 9  # A4
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_options.gridLines = False
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        header = ws.oddHeader
        header.left.text = title[:HEADER_TITLE].replace("&", "&&")  # "&" starts a header code
        header.left.size = 9
        if provisional:
            header.right.text = T.STATUS_PROVISIONAL
            header.right.color = "C00000"
        ws.oddFooter.center.text = "第 &P 頁，共 &N 頁"  # page P of N
        ws.oddFooter.center.size = 9
        if self.snapshot_hash:  # the frozen snapshot's hash on every printed page
            ws.oddFooter.right.text = T.PRINT_HASH.format(hash=self.snapshot_hash)
            ws.oddFooter.right.size = 7


def _widths(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: int = 10) -> list[int]:
    widths = [text_width(h) + 4 for h in headers]  # room for the filter button
    for row in rows:
        for index, item in enumerate(row):
            value = item[0] if isinstance(item, tuple) else item
            if value is None or isinstance(value, Formula):
                width = numeric if isinstance(value, Formula) else 0
            elif isinstance(value, str):
                width = text_width(value) + 2
            else:
                width = numeric
            if index < len(widths):
                widths[index] = max(widths[index], width)
            else:
                widths.append(width)
    return widths


# ------------------------------------------------------------------------------------ context


class Context:
    """Lookups shared by the sheets, computed once from the payload."""

    def __init__(self, data: WorkbookInput):
        payload = data.payload
        self.data = data
        self.payload = payload
        self.config = payload["config"]
        self.decimals = int(self.config.get("decimals", 2))
        self.method = self.config["method"]
        self.trim = int(self.config.get("trim", 0))
        self.trim_level = self.config.get("trim_level", "criterion")
        self.round_each_stage = bool(self.config.get("round_each_stage"))
        self.too_few = self.config.get("too_few_judges", "error")
        self.total_level = self.method in ("trimmed", "median") and self.trim_level == "total"
        self.expressible = self.method in ("mean", "trimmed", "median")
        self.judge_names = {str(j["id"]): j["name"] for j in payload["judges"]}
        self.tier_names = [t["name"] for t in payload["tiers"]]
        self.edition = payload["edition"]
        self.stage = payload["stage"]
        self.entries: dict[str, dict[str, Any]] = {}
        self.entry_category: dict[str, dict[str, Any]] = {}
        for category in payload["categories"]:
            for entry in category["entries"]:
                self.entries[str(entry["id"])] = entry
                self.entry_category[str(entry["id"])] = category
        self.title = f"{self.edition['name']} {self.stage['name']}"

    def judge(self, judge_id: Any) -> str:
        return self.judge_names.get(str(judge_id)) or f"評審 #{judge_id}"

    def entry_label(self, entry_id: Any) -> str:
        entry = self.entries.get(str(entry_id))
        if entry is None:
            return f"#{entry_id}"
        agency = (entry.get("agency") or {}).get("name", "")
        return f"{entry['title']}（#{entry_id}{'，' + agency if agency else ''}）"


# ------------------------------------------------------------------------------------ builder


def build_workbook(data: WorkbookInput) -> bytes:
    """The workbook's bytes (see the module docstring)."""
    ctx = Context(data)
    styles = Styles(ctx.decimals)
    wb = Workbook(write_only=True)
    _default_font(wb)
    sheets = {name: wb.create_sheet(name) for name in T.SHEETS}
    writers = {name: SheetWriter(ws, styles) for name, ws in sheets.items()}
    for writer in writers.values():
        writer.snapshot_hash = data.snapshot_hash

    marks_layout = _marks_sheet(writers[T.SHEET_MARKS], ctx)
    _summary_sheet(writers[T.SHEET_SUMMARY], ctx, marks_layout)
    _ranking_sheet(writers[T.SHEET_RANKING], ctx)
    _agreement_sheet(writers[T.SHEET_AGREEMENT], ctx)
    _distribution_sheet(writers[T.SHEET_DISTRIBUTION], ctx)
    _ceremony_sheet(writers[T.SHEET_CEREMONY], ctx)
    _audit_sheet(writers[T.SHEET_AUDIT], ctx)

    wb.properties.title = f"{ctx.title} 成績"  # results
    wb.properties.creator = "透明晶質獎評審系統"  # Transparency Crystal Award judging system
    wb.properties.subject = T.STATUS_PROVISIONAL if data.provisional else f"SHA-256 {data.snapshot_hash}"
    exported = data.exported_at.astimezone(TAIPEI).replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = exported
    wb.calculation.fullCalcOnLoad = True  # no cached values: Excel and LibreOffice compute on opening
    frame = io.BytesIO()
    wb.save(frame)
    return _splice(frame.getvalue(), {ws.path.lstrip("/"): writers[name].parts for name, ws in sheets.items()})


_EMPTY_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")


def _splice(frame: bytes, rows: Mapping[str, list[str]]) -> bytes:
    """Put each sheet's serialised rows into the frame openpyxl wrote (its sheets have no rows)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(frame)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            parts = rows.get(info.filename)
            if parts is None:
                target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
                continue
            match = _EMPTY_SHEET_DATA.search(data)
            if match is None:
                raise RuntimeError(f"no empty sheetData in {info.filename}")
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with target.open(entry, "w") as handle:
                handle.write(data[:match.start()])
                handle.write(b"<sheetData>")
                for start in range(0, len(parts), 2000):
                    handle.write("".join(parts[start:start + 2000]).encode("utf-8"))
                handle.write(b"</sheetData>")
                handle.write(data[match.end():])
    return out.getvalue()


def _default_font(wb: Workbook) -> None:
    """Make the workbook's default (style 0) font one that renders Traditional Chinese."""
    font = Font(name=T.FONT_NAME, charset=T.FONT_CHARSET, family=2, size=11)
    wb._fonts = IndexedList([font])
    wb._named_styles["Normal"].font = font


# ------------------------------------------------------------------------------------ 評分明細


@dataclass
class MarksLayout:
    last_row: int
    total_col: str
    engine_col: str


def _marks_sheet(w: SheetWriter, ctx: Context) -> MarksLayout:
    categories = ctx.payload["categories"]
    width_c = max([len(c["criteria"]) for c in categories] + [1])
    first = len(T.MARKS_ID_HEADERS) + 1
    mark_cols = [get_column_letter(first + i) for i in range(width_c)]
    headers = list(T.MARKS_ID_HEADERS) + [T.CRITERION_HEADER.format(n=i + 1) for i in range(width_c)]
    col = first + width_c
    total_col = get_column_letter(col)
    headers.append(T.H_TOTAL)
    exact_col = weight_col = None
    if ctx.total_level:
        exact_col, weight_col = get_column_letter(col + 1), get_column_letter(col + 2)
        headers += [T.H_EXACT, T.H_WEIGHT]
        col += 2
    engine_col = get_column_letter(col + 1)
    headers += [T.H_ENGINE, T.H_RANK, T.H_TIER, T.H_TRIMMED, T.H_NOTE]
    n_cols = len(headers)

    # widths from the data itself (the rows are streamed, so widths are decided first)
    texts: dict[int, int] = defaultdict(int)
    for category in categories:
        texts[0] = max(texts[0], text_width(category["name"]) + 2)
        for i, criterion in enumerate(category["criteria"]):
            texts[first - 1 + i] = max(texts[first - 1 + i], min(text_width(criterion["name"]) + 2, 24))
        for entry in category["entries"]:
            agency = (entry.get("agency") or {}).get("name", "")
            texts[2] = max(texts[2], text_width(agency) + 2)
            texts[3] = max(texts[3], text_width(entry["title"]) + 2)
    for judge in ctx.payload["judges"]:
        texts[5] = max(texts[5], text_width(judge["name"]) + 2)
    widths = [text_width(h) + 4 for h in headers]
    for index, width in texts.items():
        widths[index] = max(widths[index], width)
    widths[4] = max(widths[4], text_width(T.ROW_PANEL) + 2)
    widths[n_cols - 2] = max(widths[n_cols - 2], 24)
    widths[n_cols - 1] = max(widths[n_cols - 1], 40)
    w.set_widths(widths)
    w.ws.freeze_panes = "A2"
    w.append([(h, "header") for h in headers])

    d = ctx.decimals
    row = 1
    for category in categories:
        criteria = category["criteria"]
        n_c = len(criteria)
        cols = mark_cols[:n_c]
        a, b = cols[0], cols[-1]
        name = category["name"]
        keys = [str(c["id"]) for c in criteria]
        label_of = {k: T.CRITERION_HEADER.format(n=i + 1) for i, k in enumerate(keys)}
        pad = [None] * (width_c - n_c)

        def tail(count: int) -> list[Any]:
            return [None] * count

        after_marks = n_cols - len(T.MARKS_ID_HEADERS) - width_c
        row += 1
        w.append([(name, "param"), None, None, None, (T.ROW_CRITERIA, "param_bold"), None,
                  *[(c["name"], "param") for c in criteria], *pad, *tail(after_marks)])
        row += 1
        w_row = row
        w.append([(name, "param"), None, None, None, (T.ROW_WEIGHT, "param_bold"), None,
                  *[(Decimal(c["weight"]), "weight") for c in criteria], *pad, *tail(after_marks)])
        row += 1
        m_row = row
        w.append([(name, "param"), None, None, None, (T.ROW_MAX, "param_bold"), None,
                  *[(Decimal(c["max_score"]), "weight") for c in criteria], *pad, *tail(after_marks)])
        factor = f"{a}${w_row}:{b}${w_row}/{a}${m_row}:{b}${m_row}"

        by_sheet: dict[tuple[str, str], dict[str, Any]] = defaultdict(dict)
        for mark in category["marks"]:
            if mark["score"] is not None:
                by_sheet[(str(mark["entry"]), str(mark["judge"]))][str(mark["criterion"])] = mark["score"]

        blocks: list[tuple[dict[str, Any] | None, str, list[str]]] = []
        if category["entries"]:
            for entry in category["entries"]:
                judges = sorted(entry["judge_totals"], key=_id_key)
                blocks.append((entry, str(entry["id"]), judges))
        else:  # not ranked: still show every mark and each judge's total
            per_entry: dict[str, set[str]] = defaultdict(set)
            for e, j in by_sheet:
                per_entry[e].add(j)
            for e in sorted(per_entry, key=_id_key):
                blocks.append((None, e, sorted(per_entry[e], key=_id_key)))

        for entry, entry_id, judges in blocks:
            agency = ((entry or {}).get("agency") or {}).get("name", "")
            title = (entry or {}).get("title", "")
            ident = [name, int(entry_id), agency, title]
            trimmed: dict[str, set[str]] = defaultdict(set)
            for j, c in (entry or {}).get("trimmed", []):
                trimmed[str(j)].add(str(c))
            r0, r1 = row + 1, row + len(judges)
            for judge in judges:
                row += 1
                marks = by_sheet.get((entry_id, judge), {})
                cut = trimmed.get(judge, set())
                cells: list[Any] = [*ident, T.ROW_JUDGE, ctx.judge(judge)]
                for key in keys:
                    score = marks.get(key)
                    value = None if score is None else number(score)
                    cells.append((value, "trim_num") if key in cut else value)
                cells += pad
                sp = f"SUMPRODUCT({a}{row}:{b}{row},{factor})"
                if ctx.total_level:
                    own = f"{exact_col}{row}"
                    cells.append((Formula(f"=ROUND({own},{d})"), "num"))
                    cells.append((Formula(f"=ROUND({sp},{SNAP})"), "trim_num" if cut else "general"))
                    cells.append((Formula(_weight_formula(ctx, exact_col, r0, r1, row)), "weight"))
                else:
                    cells.append((Formula(f"=ROUND(ROUND({sp},{SNAP}),{d})"), "num"))
                engine = (entry or {}).get("judge_totals", {}).get(judge)
                cells.append((number(engine), "num") if engine is not None else None)
                cells += [None, None]
                if cut:
                    if ctx.total_level and len(cut) == n_c:
                        cells.append(T.TRIMMED_ALL)
                    else:
                        cells.append(T.TRIMMED_SOME.format(
                            criteria="、".join(label_of[k] for k in keys if k in cut)))
                else:
                    cells.append(None)
                cells.append(None)
                w.append(cells)

            if entry is None:  # the category is not ranked: no panel row
                continue
            row += 1
            p = row
            cells = [(name, "panel"), (int(entry_id), "panel"), (agency, "panel"), (title, "panel"),
                     (T.ROW_PANEL, "panel"), (None, "panel")]
            if ctx.expressible:
                for col_letter in cols:
                    stat = _panel_stat(ctx, col_letter, r0, r1, weight_col)
                    formula = f"=ROUND(ROUND({stat},{SNAP}),{d})" if ctx.round_each_stage else f"={stat}"
                    cells.append((Formula(formula), "panel_num"))
                cells += [(None, "panel")] * len(pad)
                if ctx.round_each_stage:
                    terms = "+".join(f"ROUND(ROUND({c}{p}*{c}${w_row}/{c}${m_row},{SNAP}),{d})" for c in cols)
                    total = f"=ROUND({terms},{d})"
                else:
                    total = f"=ROUND(ROUND(SUMPRODUCT({a}{p}:{b}{p},{factor}),{SNAP}),{d})"
                cells.append((Formula(total), "panel_num"))
                note = T.NOTE_PANEL
            else:
                for key in keys:
                    cells.append((number(entry["panel_marks"].get(key)), "panel_num"))
                cells += [(None, "panel")] * len(pad)
                cells.append((number(entry["total"]), "panel_num"))
                note = T.NOTE_ENGINE_VALUE
            if ctx.total_level:
                cells += [(None, "panel"), (Formula(f"=SUM({weight_col}{r0}:{weight_col}{r1})"), "panel")]
            cells += [(number(entry["total"]), "panel_num"), (entry["rank"], "panel_int"),
                      (entry["tier"] or "", "panel"), (None, "panel"), (note, "panel")]
            w.append(cells)

        if category["error"]:
            row += 1
            w.append([(name, "error"), None, None, None, (T.ROW_ERROR, "error"), None, *tail(width_c),
                      *tail(after_marks - 1), (T.CATEGORY_ERROR.format(error=_engine_error(category)), "error")])

    w.finish(n_cols, f"{ctx.title} {T.SHEET_MARKS}", ctx.data.provisional)
    return MarksLayout(last_row=max(row, 2), total_col=total_col, engine_col=engine_col)


def _id_key(value: str) -> tuple[int, Any]:
    """Ids sort as the engine sorts them (as strings) — but numerically when they are numbers, which
    for the payload's integer ids gives the same judges in a readable order."""
    return (0, int(value)) if str(value).isdigit() else (1, str(value))


def _panel_stat(ctx: Context, col: str, r0: int, r1: int, weight_col: str | None) -> str:
    """The panel mark of one criterion as a spreadsheet expression over the entry's judge rows."""
    rng = f"{col}{r0}:{col}{r1}"
    if ctx.total_level:
        weights = f"${weight_col}${r0}:${weight_col}${r1}"
        return f"SUMPRODUCT({weights},{rng})/SUM({weights})"
    if ctx.method == "median":
        return f"MEDIAN({rng})"
    n = ctx.trim if ctx.method == "trimmed" else 0
    if n == 0:
        return f"AVERAGE({rng})"
    if n == 1:
        dropped = f"-MAX({rng})-MIN({rng})"
    else:
        dropped = "".join(f"-LARGE({rng},{k})-SMALL({rng},{k})" for k in range(1, n + 1))
    stat = f"(SUM({rng}){dropped})/(COUNT({rng})-{2 * n})"
    if ctx.too_few == "mean":
        stat = f"IF(COUNT({rng})<{2 * n + 1},AVERAGE({rng}),{stat})"
    return stat


def _weight_formula(ctx: Context, exact_col: str, r0: int, r1: int, row: int) -> str:
    """Total level: the share of the kept places [N, n−N) of the sorted totals that this judge's sheet
    holds. Judges tied on total split the kept places of their group evenly (the engine's rule):
    weight = max(0, min(below + equal, n − N) − max(below, N)) / equal."""
    totals = f"${exact_col}${r0}:${exact_col}${r1}"
    own = f"{exact_col}{row}"
    below = f"SUMPRODUCT(({totals}<{own})*1)"
    equal = f"SUMPRODUCT(({totals}={own})*1)"
    n = f"COUNT({totals})"
    trim = f"INT(({n}-1)/2)" if ctx.method == "median" else str(ctx.trim)
    weight = f"MAX(0,MIN({below}+{equal},{n}-{trim})-MAX({below},{trim}))/{equal}"
    if ctx.method == "trimmed" and ctx.too_few == "mean" and ctx.trim > 0:
        weight = f"IF({n}<{2 * ctx.trim + 1},1,{weight})"
    return "=" + weight


# ------------------------------------------------------------------------------------ 摘要


def _method_text(ctx: Context) -> str:
    method, trim = ctx.method, ctx.trim
    if method == "trimmed":
        return T.METHOD_TEXT[f"trimmed_{ctx.trim_level}"].format(trim=trim)
    if method == "median":
        return T.METHOD_TEXT[f"median_{ctx.trim_level}"]
    return T.METHOD_TEXT[method]


def _tie_break_text(ctx: Context) -> str:
    rules = ctx.config.get("tie_break") or []
    if not rules:
        return T.TIE_BREAK_NONE
    criteria = {str(c["id"]): c["name"] for cat in ctx.payload["categories"] for c in cat["criteria"]}
    parts = []
    for rule in rules:
        kind, _, key = str(rule).partition(":")
        template = T.TIE_BREAK_RULES.get(kind)
        parts.append(template.format(name=criteria.get(key, key)) if template else str(rule))
    return T.TIE_BREAK_INTRO + "；".join(f"{i + 1}. {p}" for i, p in enumerate(parts)) + T.TIE_BREAK_REST


def _tiers_text(ctx: Context) -> str:
    lines = []
    for tier in ctx.payload["tiers"]:
        rule = []
        if tier.get("min_total") is not None:
            rule.append(T.TIER_MIN.format(min=tier["min_total"]))
        if tier.get("quota") is not None:
            rule.append(T.TIER_QUOTA.format(quota=tier["quota"]))
        lines.append(T.TIER_TEXT.format(name=tier["name"], rule=T.TIER_JOIN.join(rule) or T.TIER_ANY))
    return "\n".join(lines) or T.NONE_MARK


def _summary_sheet(w: SheetWriter, ctx: Context, layout: MarksLayout) -> None:
    data, payload = ctx.data, ctx.payload
    categories = payload["categories"]
    ranked = sum(len(c["entries"]) for c in categories)
    unranked = sum(len(c.get("unranked") or []) for c in categories)
    marks = sum(len(c["marks"]) for c in categories)
    rows: list[list[Any]] = []
    status = T.STATUS_PROVISIONAL if data.provisional else T.STATUS_FROZEN
    rows.append([(T.STATUS_LABEL, "bold"), (status, "warn" if data.provisional else "bold")])
    if data.provisional:
        rows.append([(T.LABEL_WARNING, "bold"), (T.PROVISIONAL_WARNING, "warn")])
    if data.live_matches is False:
        rows.append([(T.LABEL_WARNING, "bold"), (T.LIVE_DIFFERS, "warn")])
    edition = ctx.edition
    rows += [
        [(T.LABEL_EDITION, "bold"), f"第 {edition['number']} 屆　{edition['name']}"],
        [(T.LABEL_YEAR, "bold"), str(edition.get("year", ""))],
        [(T.LABEL_STAGE, "bold"), ctx.stage["name"]],
        [(T.LABEL_METHOD, "bold"), (f"{T.METHOD_NAMES.get(ctx.method, ctx.method)}：{_method_text(ctx)}", "wrap")],
        [(T.LABEL_TRIM, "bold"), T.TRIM_TEXT.format(trim=ctx.trim, level=T.TRIM_LEVELS.get(ctx.trim_level, ""))
         if ctx.method == "trimmed" and ctx.trim > 0 else T.TRIM_NONE],
        [(T.LABEL_ROUNDING, "bold"), ((T.ROUNDING_EACH if ctx.round_each_stage else T.ROUNDING_FINAL)
                                      .format(d=ctx.decimals), "wrap")],
        [(T.LABEL_DECIMALS, "bold"), ctx.decimals],
        [(T.LABEL_TIE_BREAK, "bold"), (_tie_break_text(ctx), "wrap")],
    ]
    rows.append([(T.LABEL_TOO_FEW, "bold"), T.TOO_FEW.get(ctx.too_few, ctx.too_few)
                 if ctx.method == "trimmed" and ctx.trim > 0 else T.TOO_FEW_NOT_APPLICABLE])
    rows += [
        [(T.LABEL_TIERS, "bold"), (_tiers_text(ctx), "wrap")],
        [(T.LABEL_COUNTS, "bold"), T.COUNTS_TEXT.format(categories=len(categories), entries=ranked,
                                                         unranked=unranked, judges=len(payload["judges"]),
                                                         marks=marks)],
    ]
    for category in categories:
        label = (T.LABEL_CATEGORY.format(name=category["name"]), "bold")
        if category["error"]:
            rows.append([label, (T.CATEGORY_ERROR.format(error=_engine_error(category)), "error")])
        else:
            judges = {m["judge"] for m in category["marks"]}
            rows.append([label, T.CATEGORY_TEXT.format(entries=len(category["entries"]), judges=len(judges),
                                                       marks=len(category["marks"]))])
    rows += [
        [(T.LABEL_HASH, "bold"), (data.snapshot_hash, "mono") if data.snapshot_hash else (T.NO_HASH, "warn")],
        [(T.LABEL_HASH_NOTE, "bold"), (T.HASH_NOTE, "wrap")],
        [(T.LABEL_FROZEN_AT, "bold"), taipei(data.frozen_at) if not data.provisional else T.NONE_MARK],
        [(T.LABEL_EXPORTED_AT, "bold"), taipei(data.exported_at)],
        [(T.LABEL_EXPORTED_BY, "bold"), data.exported_by or T.NONE_MARK],
    ]
    chain = data.chain
    if chain is None:
        rows.append([(T.LABEL_CHAIN, "bold"), T.CHAIN_UNKNOWN])
    elif chain.ok:
        rows.append([(T.LABEL_CHAIN, "bold"), T.CHAIN_OK.format(count=chain.count, message=chain.message)])
    else:
        rows.append([(T.LABEL_CHAIN, "bold"), (T.CHAIN_BROKEN.format(count=chain.count, message=chain.message),
                                               "error")])
    formulas = T.FORMULAS_TEXT
    if not ctx.expressible:
        formulas += "\n" + T.FORMULAS_NOT_EXPRESSIBLE.format(method=T.METHOD_NAMES.get(ctx.method, ctx.method))
    rows.append([(T.LABEL_FORMULAS, "bold"), (formulas, "wrap")])
    sheet = f"'{T.SHEET_MARKS}'!"
    total = f"{sheet}{layout.total_col}2:{layout.total_col}{layout.last_row}"
    engine = f"{sheet}{layout.engine_col}2:{layout.engine_col}{layout.last_row}"
    rows.append([(T.LABEL_CHECK, "bold"),
                 (Formula(f'=SUMPRODUCT(({engine}<>"")*(ROUND({total}-{engine},6)<>0))'), "int")])
    rows.append([None, T.CHECK_TEXT])
    rows.append([(T.LABEL_TRIM_MARKS, "bold"), (T.TRIM_MARKS_TEXT, "wrap")])

    widths = _widths(T.SUMMARY_HEADERS, rows)
    widths[1] = MAX_WIDTH + 20  # the long descriptions wrap in a wide column
    w.ws.column_dimensions["A"].width = min(widths[0], 30)
    w.ws.column_dimensions["B"].width = 90
    w.ws.freeze_panes = "A2"
    w.append([(h, "header") for h in T.SUMMARY_HEADERS])
    for row in rows:
        w.append(row)
    w.finish(2, f"{ctx.title} {T.SHEET_SUMMARY}", ctx.data.provisional)


# ------------------------------------------------------------------------------------ 各組排名


def _ranking_sheet(w: SheetWriter, ctx: Context) -> None:
    rows: list[list[Any]] = []
    breaks: list[int] = []
    for category in ctx.payload["categories"]:
        name = category["name"]
        ranks = [e["rank"] for e in category["entries"]]
        for entry in category["entries"]:
            agency = entry.get("agency") or {}
            tied = ranks.count(entry["rank"]) > 1
            rows.append([name, entry["rank"], agency.get("name", ""), entry["title"], (number(entry["total"]), "num"),
                         entry["tier"] or "", agency.get("county", ""), T.GEOGRAPHY.get(agency.get("geography"), ""),
                         agency.get("code", ""), entry["id"], entry["n_judges"],
                         (number(entry["spread"]), "num") if entry.get("spread") is not None else None,
                         "；".join(n for n in (T.NOTE_TIED if tied else "",
                                              T.NOTE_FALLBACK if entry.get("fallback") else "") if n) or None])
        for entry_id in category.get("unranked") or []:
            rows.append([name, None, None, None, None, None, None, None, None, entry_id, 0, None, T.NOTE_UNRANKED])
        if category["error"]:
            rows.append([(name, "error"), None, None, None, None, None, None, None, None, None, None, None,
                         (T.CATEGORY_ERROR.format(error=_engine_error(category)), "error")])
        if rows:
            breaks.append(len(rows) + 1)
    widths = _widths(T.RANKING_HEADERS, rows)
    w.set_widths(widths)
    w.ws.freeze_panes = "A2"
    w.append([(h, "header") for h in T.RANKING_HEADERS])
    for row in rows:
        w.append(row)
    for line in breaks[:-1]:
        w.ws.row_breaks.append(Break(id=line))
    w.finish(len(T.RANKING_HEADERS), f"{ctx.title} {T.SHEET_RANKING}", ctx.data.provisional)


# ------------------------------------------------------------------------------------ 評分一致性


def _read(value: float | None, scale: Sequence[tuple[float | None, str]]) -> str:
    if value is None:
        return T.NOT_COMPUTED
    for threshold, words in scale:
        if threshold is None or value >= threshold:
            return words
    return ""


def _engine_error(category: dict[str, Any]) -> str:
    """Why the category cannot be ranked, in Chinese when the engine's kind of refusal is known."""
    detail = category.get("error_detail") or {}
    text = T.ENGINE_ERRORS.get(detail.get("kind") or "")
    return text.format(**detail) if text else category["error"]


def _note(diagnostic: dict[str, Any]) -> str:
    """The engine's note in Chinese when its code is known, else as the engine gave it."""
    return T.NOTES.get(diagnostic.get("note_code") or "", diagnostic.get("note") or "")


def _agreement_rows(name: str, scope: str, agreement: dict[str, Any]) -> list[list[Any]]:
    def stat(label: str, value: Any, reading: str = "", style: str = "stat") -> list[Any]:
        return [name, T.A_AGREEMENT, scope, label, (value, style) if value is not None else T.NOT_COMPUTED, reading]

    p = agreement.get("kendall_p")
    p_text = "" if p is None else ("p < 0.05：一致性顯著" if p < 0.05 else "p ≥ 0.05：未達顯著")
    # p < 0.05: significant agreement / p ≥ 0.05: not significant
    rows = [
        stat(T.S_N, f"{agreement.get('n_entries', 0)}／{agreement.get('n_judges', 0)}", _note(agreement)),
        stat(T.S_KENDALL_W, agreement.get("kendall_w"), _read(agreement.get("kendall_w"), T.READ_W)),
        stat(T.S_KENDALL_P, p, p_text),
        stat(T.S_ICC21, agreement.get("icc2_1"), _read(agreement.get("icc2_1"), T.READ_ICC)),
        stat(T.S_ICC2K, agreement.get("icc2_k"), _read(agreement.get("icc2_k"), T.READ_ICC)),
        stat(T.S_ALPHA, agreement.get("krippendorff_alpha"), _read(agreement.get("krippendorff_alpha"), T.READ_ALPHA)),
    ]
    return rows


def _agreement_sheet(w: SheetWriter, ctx: Context) -> None:
    rows: list[list[Any]] = []
    points = "num"
    for category in ctx.payload["categories"]:
        name = category["name"]
        diag = ctx.data.diagnostics.get(category["id"])
        if diag is None or isinstance(diag, str):
            message = (_engine_error(category) if category["error"] else diag) or T.NOT_COMPUTED
            rows.append([(name, "error"), T.A_ERROR, None, None, None, (message, "error")])
            continue
        criteria = {str(c["id"]): c["name"] for c in category["criteria"]}
        rows += _agreement_rows(name, T.SCOPE_TOTAL, diag["agreement"])
        for agreement in diag.get("agreement_by_criterion", []):
            scope = T.SCOPE_CRITERION.format(name=criteria.get(str(agreement["scope"]), agreement["scope"]))
            rows += _agreement_rows(name, scope, agreement)
        for judge in diag.get("judges", []):
            who = ctx.judge(judge["judge"])
            ratio = judge.get("spread_ratio")
            ratio_text = ("" if ratio is None else T.READ_RATIO_LOW if ratio < 0.5 else
                          T.READ_RATIO_HIGH if ratio > 2 else "")
            corr = judge.get("correlation")
            for label, value, style, reading in (
                    (T.S_J_N, judge.get("n_entries"), "int", ""),
                    (T.S_J_MEAN, judge.get("mean_total"), points, ""),
                    (T.S_J_LENIENCY, judge.get("leniency"), points, ""),
                    (T.S_J_OFFSET, judge.get("offset"), points, ""),
                    (T.S_J_SPREAD, judge.get("spread"), points, ""),
                    (T.S_J_RATIO, ratio, "stat", ratio_text),
                    (T.S_J_CORR, corr, "stat", T.READ_CORR_NEGATIVE if corr is not None and corr < 0 else "")):
                rows.append([name, T.A_JUDGE, who, label, (value, style) if value is not None else T.NOT_COMPUTED,
                             reading])
        for influence in diag.get("influence", []):
            changes = influence.get("changes") or []
            described = "；".join(T.CHANGE_TEXT.format(
                entry=ctx.entry_label(c["entry"]), rank_before=_dash(c.get("rank_before")),
                rank_after=_dash(c.get("rank_after")), tier_before=_dash(c.get("tier_before")),
                tier_after=_dash(c.get("tier_after"))) for c in changes)
            reading = described or _note(influence) or T.NO_CHANGES
            rows.append([name, T.A_INFLUENCE, ctx.judge(influence["judge"]), T.S_INF_CHANGES, (len(changes), "int"),
                         (reading, "wrap")])
        flags = diag.get("favouritism", [])
        for flag in flags:
            template = T.FLAG_FAVOURS if flag["direction"] == "favours" else T.FLAG_DISFAVOURS
            reading = template.format(deviation=flag["deviation"], usual=flag["usual"], sd=flag["usual_sd"])
            rows.append([(name, "error"), (T.A_FLAG, "error"),
                         f"{ctx.judge(flag['judge'])} → {ctx.entry_label(flag['entry'])}", T.S_FLAG_Z,
                         (flag["z"], "stat"), (f"{reading}。{T.FLAG_CAVEAT}", "wrap")])
        if not flags:
            rows.append([name, T.A_FLAG, T.NO_FLAGS, None, None, T.FLAG_CAVEAT])
        level = diag.get("level", 0.95)
        top_k = diag.get("top_k", 3)
        for conf in diag.get("rank_confidence", []):
            who = ctx.entry_label(conf["entry"])
            low, high = conf.get("rank_low"), conf.get("rank_high")
            interval = T.NOT_COMPUTED if low is None else (f"{low}" if low == high else f"{low}–{high}")
            rows.append([name, T.A_CONFIDENCE, who, T.S_CONF_INTERVAL.format(level=level), interval,
                         f"名次 {conf['rank']}"])  # rank
            if conf.get("rank_median") is not None:
                rows.append([name, T.A_CONFIDENCE, who, T.S_CONF_MEDIAN, (conf["rank_median"], "stat"), ""])
            if conf.get("p_top_k") is not None:
                rows.append([name, T.A_CONFIDENCE, who, T.S_CONF_TOPK.format(k=top_k), (conf["p_top_k"], "pct"), ""])
            for tier, probability in (conf.get("tier_probabilities") or {}).items():
                rows.append([name, T.A_CONFIDENCE, who, T.S_CONF_TIER.format(tier=tier), (probability, "pct"), ""])
        rows.append([name, T.A_SETTINGS, None, T.S_BOOTSTRAP,
                     f"{diag.get('bootstrap_valid', 0)}／{diag.get('bootstrap', 0)}", ""])
        rows.append([name, T.A_SETTINGS, None, T.S_SEED, str(diag.get("seed")), ""])
        rows.append([name, T.A_SETTINGS, None, T.S_THRESHOLD, (diag.get("favour_threshold"), "stat"), ""])
    widths = _widths(T.AGREEMENT_HEADERS, rows)
    w.set_widths(widths)
    w.ws.freeze_panes = "A2"
    w.append([(h, "header") for h in T.AGREEMENT_HEADERS])
    for row in rows:
        w.append(row)
    w.finish(len(T.AGREEMENT_HEADERS), f"{ctx.title} {T.SHEET_AGREEMENT}", ctx.data.provisional)


def _dash(value: Any) -> str:
    return T.NONE_MARK if value is None or value == "" else str(value)


# ------------------------------------------------------------------------------------ 參獎機關分布


def _distribution_sheet(w: SheetWriter, ctx: Context) -> None:
    tiers = ctx.tier_names
    counties: dict[str, dict[str, Any]] = {}
    geographies: dict[str, dict[str, Any]] = {}

    def bucket(store: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
        return store.setdefault(key, {"agencies": set(), "entries": 0, "winners": 0,
                                      "tiers": dict.fromkeys(tiers, 0)})

    for county in ctx.data.county_order:
        bucket(counties, county)
    for geography in T.GEOGRAPHY:
        bucket(geographies, geography)
    total = bucket({}, "")
    unranked = 0
    for category in ctx.payload["categories"]:
        unranked += len(category.get("unranked") or [])
        for entry in category["entries"]:
            agency = entry.get("agency") or {}
            for store, key in ((counties, agency.get("county") or T.UNKNOWN_COUNTY),
                               (geographies, agency.get("geography") or "")):
                for b in (bucket(store, key),):
                    b["agencies"].add(agency.get("code"))
                    b["entries"] += 1
                    if entry["tier"]:
                        b["winners"] += 1
                        if entry["tier"] in b["tiers"]:
                            b["tiers"][entry["tier"]] += 1
            total["agencies"].add(agency.get("code"))
            total["entries"] += 1
            if entry["tier"]:
                total["winners"] += 1
                if entry["tier"] in total["tiers"]:
                    total["tiers"][entry["tier"]] += 1

    headers = list(T.DISTRIBUTION_HEADERS) + tiers + [T.DISTRIBUTION_RATE]

    def line(group: str, label: str, b: dict[str, Any], style: str | None = None) -> list[Any]:
        rate = b["winners"] / b["entries"] if b["entries"] else None
        row = [(group, style), (label, style), (len(b["agencies"]), style), (b["entries"], style),
               (b["winners"], style), *[(b["tiers"][t], style) for t in tiers]]
        row.append((rate, "pct") if rate is not None else (T.NONE_MARK, style))
        return row

    rows: list[list[Any]] = []
    order = list(ctx.data.county_order) + sorted(k for k in counties if k not in set(ctx.data.county_order))
    for county in order:
        rows.append(line(T.GROUP_COUNTY, county, counties[county]))
    county_rows = (2, 1 + len(rows))
    geo_keys = list(T.GEOGRAPHY) + sorted(k for k in geographies if k not in T.GEOGRAPHY)
    for geography in geo_keys:
        rows.append(line(T.GROUP_GEOGRAPHY, T.GEOGRAPHY.get(geography, geography or T.UNKNOWN_COUNTY),
                         geographies[geography]))
    geo_rows = (county_rows[1] + 1, 1 + len(rows))
    rows.append(line(T.GROUP_TOTAL, T.GROUP_TOTAL, total, "bold"))
    if unranked:
        rows.append([T.GROUP_TOTAL, T.DISTRIBUTION_UNRANKED.format(n=unranked)])
    widths = _widths(headers, rows)
    w.set_widths(widths)
    w.ws.freeze_panes = "A2"
    w.append([(h, "header") for h in headers])
    for row in rows:
        w.append(row)
    anchor_col = get_column_letter(len(headers) + 2)
    next_row = 2
    if county_rows[1] >= county_rows[0]:
        height = max(8.0, 0.6 * (county_rows[1] - county_rows[0] + 1) + 3)  # centimetres
        w.ws.add_chart(_bar_chart(w.ws, T.CHART_COUNTY_TITLE, county_rows, height), f"{anchor_col}{next_row}")
        next_row += int(height * 2) + 2  # a default row is about half a centimetre
    w.ws.add_chart(_bar_chart(w.ws, T.CHART_GEOGRAPHY_TITLE, geo_rows, 7.5), f"{anchor_col}{next_row}")
    w.finish(len(headers), f"{ctx.title} {T.SHEET_DISTRIBUTION}", ctx.data.provisional)


def _bar_chart(ws, title: str, rows: tuple[int, int], height: float) -> BarChart:
    chart = BarChart()
    chart.type = "bar"  # horizontal bars: the long CJK names read on the category axis
    chart.grouping = "clustered"
    chart.title = title
    chart.y_axis.title = T.CHART_AXIS_COUNT
    chart.y_axis.majorGridlines = None
    chart.x_axis.scaling.orientation = "maxMin"  # first row at the top, as in the table
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height, chart.width = height, 16
    for column, name in ((4, T.DISTRIBUTION_HEADERS[3]), (5, T.DISTRIBUTION_HEADERS[4])):
        chart.series.append(Series(Reference(ws, min_col=column, min_row=rows[0], max_row=rows[1]), title=name))
    chart.set_categories(Reference(ws, min_col=2, min_row=rows[0], max_row=rows[1]))
    return chart


# ------------------------------------------------------------------------------------ 頒獎典禮名單


def ceremony_entries(ctx: Context) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(category, entry) of every winner, in presentation order: the organiser's order first, then
    by category, tier (best first) and rank."""
    tier_index = {name: i for i, name in enumerate(ctx.tier_names)}
    winners = []
    for c_index, category in enumerate(ctx.payload["categories"]):
        for entry in category["entries"]:
            if entry["tier"]:
                winners.append(((c_index, tier_index.get(entry["tier"], len(tier_index)), entry["rank"],
                                 entry["id"]), category, entry))
    winners.sort(key=lambda item: item[0])
    chosen = {int(e) for e in ctx.data.ceremony_order}
    by_id = {entry["id"]: (category, entry) for _key, category, entry in winners}
    ordered = [by_id[int(e)] for e in ctx.data.ceremony_order if int(e) in by_id]
    seen: set[int] = set()
    result = []
    for category, entry in ordered:
        if entry["id"] not in seen:
            seen.add(entry["id"])
            result.append((category, entry))
    result += [(category, entry) for _key, category, entry in winners if entry["id"] not in chosen]
    return result


def _ceremony_sheet(w: SheetWriter, ctx: Context) -> None:
    rows: list[list[Any]] = []
    for order, (category, entry) in enumerate(ceremony_entries(ctx), start=1):
        agency = entry.get("agency") or {}
        template = ctx.data.award_texts.get(entry["tier"]) or ctx.data.default_award_text
        head = entry.get("head_name") or agency.get("head_name") or ""  # the entry's, else the register's
        text = award_text(template, {
            "agency": agency.get("name", ""), "edition": ctx.edition["name"], "category": category["name"],
            "tier": entry["tier"], "title": entry["title"], "head": head, "rank": str(entry["rank"])})
        rows.append([order, category["name"], entry["tier"], entry["rank"], agency.get("name", ""),
                     head, entry["title"], (text, "wrap"), agency.get("county", ""), entry["id"]])
    widths = _widths(T.CEREMONY_HEADERS, rows)
    w.set_widths(widths)
    w.ws.freeze_panes = "A2"
    w.append([(h, "header") for h in T.CEREMONY_HEADERS])
    for row in rows:
        w.append(row)
    w.finish(len(T.CEREMONY_HEADERS), f"{ctx.title} {T.SHEET_CEREMONY}", ctx.data.provisional)


# ------------------------------------------------------------------------------------ 稽核摘要


def _checkpoint_rows(checkpoint: CheckpointInfo | None) -> list[list[Any]]:
    """The latest Merkle checkpoint: its size and root, which anyone can check proofs against."""
    if checkpoint is None:
        return [[T.AUDIT_CHECKPOINT, T.AUDIT_CHECKPOINT_ROOT, None, None, T.CHECKPOINT_NONE]]
    return [
        [T.AUDIT_CHECKPOINT, T.AUDIT_CHECKPOINT_ROOT, f"#{checkpoint.id}", checkpoint.event_count,
         checkpoint.root_hash],
        [T.AUDIT_CHECKPOINT, T.AUDIT_CHECKPOINT_AT, f"#{checkpoint.id}", None,
         T.CHECKPOINT_AT.format(at=taipei(checkpoint.created_at), reason=checkpoint.reason)],
    ]


def _audit_sheet(w: SheetWriter, ctx: Context) -> None:
    rows: list[list[Any]] = []
    counts = ctx.data.audit_counts
    for action in sorted(counts, key=lambda a: (-counts[a], a)):
        rows.append([T.AUDIT_EVENTS, T.ACTION_LABELS.get(action, action), action, counts[action], None])
    if not counts:
        rows.append([T.AUDIT_EVENTS, T.AUDIT_NONE, None, 0, None])
    rows.append([(T.AUDIT_EVENTS, "bold"), (T.AUDIT_TOTAL, "bold"), None, (sum(counts.values()), "bold"), None])
    chain = ctx.data.chain
    if chain is None:
        rows.append([T.AUDIT_CHAIN, T.AUDIT_CHAIN_RESULT, None, None, T.CHAIN_UNKNOWN])
    elif chain.ok:
        rows.append([T.AUDIT_CHAIN, T.AUDIT_CHAIN_RESULT, "ok", chain.count,
                     T.CHAIN_OK.format(count=chain.count, message=chain.message)])
    else:
        rows.append([(T.AUDIT_CHAIN, "error"), (T.AUDIT_CHAIN_RESULT, "error"), ("broken", "error"),
                     (chain.count, "error"), (T.CHAIN_BROKEN.format(count=chain.count, message=chain.message),
                                              "error")])
    rows.append([T.AUDIT_CHAIN, T.LABEL_EXPORTED_AT, None, None, taipei(ctx.data.exported_at)])
    rows.extend(_checkpoint_rows(ctx.data.checkpoint))
    widths = _widths(T.AUDIT_HEADERS, rows)
    w.set_widths(widths)
    w.ws.freeze_panes = "A2"
    w.append([(h, "header") for h in T.AUDIT_HEADERS])
    for row in rows:
        w.append(row)
    w.finish(len(T.AUDIT_HEADERS), f"{ctx.title} {T.SHEET_AUDIT}", ctx.data.provisional)
