"""The results workbook as a pure function: payloads made by the scoring engine in, an .xlsx out.

Opened with openpyxl and checked cell by cell against the payload (the engine's figures); the
formulas themselves are recomputed by LibreOffice in test_workbook_formulas.py.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

import scoring
from award.results import workbook_text as T
from award.results.workbook import ChainCheck, WorkbookInput, build_workbook, text_width
from benchmarks.bench_workbook import COUNTIES, synthetic_payload

EXPORTED = datetime(2026, 11, 20, 7, 30, 5, tzinfo=timezone.utc)  # 15:30:05 in Taipei
HASH = "ab" * 32
EVIL_TITLE = '=HYPERLINK("http://evil.example","click")'
EVIL_AGENCY = "+886-2-1234 機關"
EVIL_JUDGE = "@SUM(1+1)委員"
EVIL_HEAD = "-2+3"


def make_input(payload, **kwargs) -> WorkbookInput:
    values = dict(payload=payload, exported_at=EXPORTED, snapshot_hash=HASH,
                  frozen_at=datetime(2026, 11, 19, 2, 0, tzinfo=timezone.utc), exported_by="廉政署承辦人 <o@x>",
                  audit_counts={"sheet_submitted": 40, "results_frozen": 1, "assignment_added": 40},
                  chain=ChainCheck(True, 120, "120 events, chain intact"), county_order=COUNTIES)
    values.update(kwargs)
    return WorkbookInput(**values)


def open_book(blob: bytes, **kwargs):
    return load_workbook(io.BytesIO(blob), **kwargs)


def rows(ws) -> list[tuple]:
    return list(ws.iter_rows(min_row=2, values_only=True))


def header(ws) -> list:
    return [c.value for c in ws[1]]


@pytest.fixture(scope="module")
def payload():
    config = scoring.AggregationConfig(method="trimmed", trim=1, trim_level="total", round_each_stage=True, decimals=2)
    p = synthetic_payload(12, 5, 4, config, seed=3)
    first = p["categories"][0]["entries"]
    first[0]["title"] = EVIL_TITLE
    first[1]["agency"] = dict(first[1]["agency"], name=EVIL_AGENCY, head_name=EVIL_HEAD)
    p["judges"][0]["name"] = EVIL_JUDGE
    return p


@pytest.fixture(scope="module")
def book(payload):
    return open_book(build_workbook(make_input(payload)))


def test_sheets_in_order_with_chinese_headers(book):
    assert book.sheetnames == list(T.SHEETS) == ["摘要", "各組排名", "評分明細", "評分一致性", "參獎機關分布",
                                                 "頒獎典禮名單", "稽核摘要"]
    assert header(book["摘要"]) == ["項目", "內容"]
    assert header(book["各組排名"])[:8] == ["組別", "名次", "參獎機關", "作品名稱", "總分", "獎項等第", "縣市", "地理區分"]
    assert header(book["評分明細"])[:10] == ["組別", "作品編號", "參獎機關", "作品名稱", "列別", "評審",
                                          "面向1", "面向2", "面向3", "面向4"]
    assert header(book["頒獎典禮名單"])[:8] == ["順序", "組別", "獎項等第", "名次", "參獎機關", "機關首長", "作品名稱",
                                             "獎座／獎狀文字"]
    assert header(book["稽核摘要"]) == list(T.AUDIT_HEADERS)


def test_every_sheet_is_set_up_for_screen_and_print(book):
    for ws in book.worksheets:
        head = header(ws)
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(head)).column_letter}{ws.max_row}", ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9, ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text, ws.title
        assert ws.cell(1, 1).font.b, ws.title
        assert ws.cell(2, 1).font.name == T.FONT_NAME, ws.title  # the workbook's default font renders CJK
        for index, name in enumerate(head, start=1):  # wide enough for the (CJK) header
            width = ws.column_dimensions[ws.cell(1, index).column_letter].width
            assert width >= min(text_width(name) + 2, 60), (ws.title, name, width)


def test_cjk_widths_fit_the_longest_title(payload, book):
    ws = book["各組排名"]
    longest = max(text_width(e["title"]) for c in payload["categories"] for e in c["entries"])
    assert ws.column_dimensions["D"].width >= min(longest, 60)
    assert text_width("廉能") == 4 and text_width("ab") == 2


def test_ranking_is_the_engines(payload, book):
    ws = book["各組排名"]
    expected = [(c["name"], e["rank"], e["agency"]["name"], e["title"], Decimal(e["total"]), e["tier"],
                 e["agency"]["county"], T.GEOGRAPHY[e["agency"]["geography"]])
                for c in payload["categories"] for e in c["entries"]]
    got = [(r[0], r[1], r[2], r[3], Decimal(str(r[4])), r[5], r[6], r[7]) for r in rows(ws)]
    assert got == expected
    for row in ws.iter_rows(min_row=2, min_col=5, max_col=5):
        assert row[0].number_format == "0.00"


def test_marks_sheet_has_a_row_per_entry_and_judge_with_the_marks(payload, book):
    ws = book["評分明細"]
    head = header(ws)
    total, exact, weight, engine = (head.index(h) for h in (T.H_TOTAL, T.H_EXACT, T.H_WEIGHT, T.H_ENGINE))
    names = {j["name"]: str(j["id"]) for j in payload["judges"]}
    judge_rows = [r for r in rows(ws) if r[4] == T.ROW_JUDGE]
    assert len(judge_rows) == sum(len(e["judge_totals"]) for c in payload["categories"] for e in c["entries"])
    marks = {(m["entry"], str(m["judge"]), str(m["criterion"])): Decimal(m["score"])
             for c in payload["categories"] for m in c["marks"]}
    entries = {e["id"]: (c, e) for c in payload["categories"] for e in c["entries"]}
    for r in judge_rows:
        category, entry = entries[r[1]]
        judge = names[r[5]]
        for i, criterion in enumerate(category["criteria"]):
            assert Decimal(str(r[6 + i])) == marks[(r[1], judge, str(criterion["id"]))]
        assert Decimal(str(r[engine])) == Decimal(entry["judge_totals"][judge])
        assert r[total].startswith("=ROUND(") and r[exact].startswith("=ROUND(SUMPRODUCT(")
        assert r[weight].startswith("=MAX(0,MIN(")
    panel_rows = [r for r in rows(ws) if r[4] == T.ROW_PANEL]
    assert [(r[1], Decimal(str(r[engine])), r[head.index(T.H_RANK)]) for r in panel_rows] == [
        (e["id"], Decimal(e["total"]), e["rank"]) for c in payload["categories"] for e in c["entries"]]
    assert all(r[total].startswith("=ROUND(ROUND(") for r in panel_rows)  # two-stage: a sum of rounded points


def test_trimmed_cells_are_filled_and_named(payload, book):
    ws = book["評分明細"]
    head = header(ws)
    marker = head.index(T.H_TRIMMED) + 1
    names = {j["name"]: str(j["id"]) for j in payload["judges"]}
    trimmed = {(e["id"], j, c) for cat in payload["categories"] for e in cat["entries"] for j, c in e["trimmed"]}
    keys = {e["id"]: [str(c["id"]) for c in cat["criteria"]] for cat in payload["categories"] for e in cat["entries"]}
    seen = 0
    for row in ws.iter_rows(min_row=2):
        if row[4].value != T.ROW_JUDGE:
            continue
        entry, judge = row[1].value, names[row[5].value]
        cut = [(entry, judge, k) in trimmed for k in keys[entry]]
        for i, is_cut in enumerate(cut):
            fill = row[6 + i].fill.fgColor.rgb
            assert (fill == "00F8CBAD") == is_cut, (entry, judge, i, fill)
        text = row[marker - 1].value
        assert (text == T.TRIMMED_ALL) == all(cut) and (text is None) == (not any(cut))
        seen += any(cut)
    assert seen == 2 * sum(len(c["entries"]) for c in payload["categories"])  # one highest, one lowest judge


def test_number_formats_follow_the_configured_decimals():
    config = scoring.AggregationConfig(method="mean", decimals=3)
    book = open_book(build_workbook(make_input(synthetic_payload(5, 3, 3, config, second_category=False))))
    ws = book["評分明細"]
    head = header(ws)
    panel = next(row for row in ws.iter_rows(min_row=2) if row[4].value == T.ROW_PANEL)
    assert panel[head.index(T.H_TOTAL)].number_format == "0.000"
    assert panel[head.index(T.H_ENGINE)].number_format == "0.000"
    assert panel[6].number_format == "0.000"
    assert book["各組排名"]["E2"].number_format == "0.000"
    config = scoring.AggregationConfig(method="mean", decimals=0)
    book = open_book(build_workbook(make_input(synthetic_payload(5, 3, 3, config, second_category=False))))
    assert book["各組排名"]["E2"].number_format == "0"


def test_user_text_is_never_a_formula(payload):
    blob = build_workbook(make_input(payload))
    book = open_book(blob)
    found = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in (EVIL_TITLE, EVIL_AGENCY, EVIL_JUDGE, EVIL_HEAD):
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    found.setdefault(cell.value, set()).add(ws.title)
                elif cell.data_type == "f":  # only the formulas the builder composed
                    assert "evil" not in cell.value and "HYPERLINK" not in cell.value
    assert found[EVIL_TITLE] >= {"各組排名", "評分明細", "頒獎典禮名單"}
    assert found[EVIL_AGENCY] >= {"各組排名", "評分明細"}
    assert found[EVIL_JUDGE] == {"評分明細"}
    assert "頒獎典禮名單" in found.get(EVIL_HEAD, set()) or not payload["categories"][0]["entries"][1]["tier"]
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = archive.read(name).decode()
                for formula in re.findall(r"<f>(.*?)</f>", xml):
                    assert "evil" not in formula


def test_control_characters_are_dropped_not_fatal():
    p = synthetic_payload(4, 3, 2, second_category=False)
    p["categories"][0]["entries"][0]["title"] = "廉能\x0b計畫\x00"
    book = open_book(build_workbook(make_input(p)))
    assert "廉能計畫" in [r[3] for r in rows(book["各組排名"])]


def test_summary_states_method_hash_and_times(payload, book):
    summary = {r[0]: r[1] for r in rows(book["摘要"]) if r[0]}
    assert summary[T.STATUS_LABEL] == T.STATUS_FROZEN
    assert summary[T.LABEL_HASH] == HASH
    assert summary[T.LABEL_EXPORTED_AT] == "2026-11-20 15:30:05（臺北時間）"
    assert summary[T.LABEL_FROZEN_AT] == "2026-11-19 10:00:00（臺北時間）"
    assert "截尾平均" in summary[T.LABEL_METHOD] and "1 位評審" in summary[T.LABEL_METHOD]
    assert summary[T.LABEL_ROUNDING].startswith("兩階段四捨五入") and "2 位" in summary[T.LABEL_ROUNDING]
    assert summary[T.LABEL_TIE_BREAK] == T.TIE_BREAK_NONE
    assert "特優：總分 85 分以上、名額" in summary[T.LABEL_TIERS]
    assert summary[T.LABEL_CHAIN].startswith("通過：共 120 筆")
    assert summary[T.LABEL_EXPORTED_BY] == "廉政署承辦人 <o@x>"
    check = next(c for c in book["摘要"]["B"] if isinstance(c.value, str) and c.value.startswith("=SUMPRODUCT"))
    assert check.data_type == "f" and "'評分明細'!" in check.value


def test_provisional_results_say_so_prominently(payload):
    book = open_book(build_workbook(make_input(payload, snapshot_hash=None, frozen_at=None)))
    ws = book["摘要"]
    assert ws["B2"].value == "暫定結果（未凍結）" and ws["B2"].font.b and ws["B2"].font.color.rgb == "00C00000"
    summary = {r[0]: r[1] for r in rows(ws)}
    assert summary[T.LABEL_HASH] == T.NO_HASH
    for sheet in book.worksheets:  # and in the printed header of every sheet
        assert sheet.oddHeader.right.text == "暫定結果（未凍結）"


def test_tie_break_and_methods_in_words():
    config = scoring.AggregationConfig(method="median", trim_level="criterion", tie_break=("median", "spread"),
                                       decimals=2)
    book = open_book(build_workbook(make_input(synthetic_payload(5, 3, 2, config, second_category=False))))
    summary = {r[0]: r[1] for r in rows(book["摘要"])}
    assert summary[T.LABEL_METHOD].startswith("中位數：")
    assert "1. 評審加權總分之中位數較高者優先；2. 評審加權總分最高最低差較小者優先" in summary[T.LABEL_TIE_BREAK]
    assert summary[T.LABEL_ROUNDING].startswith("僅於最後總分四捨五入")


def test_zscore_writes_the_engines_panel_figures_with_a_note():
    config = scoring.AggregationConfig(method="zscore", decimals=2)
    p = synthetic_payload(6, 4, 3, config, second_category=False)
    book = open_book(build_workbook(make_input(p)))
    ws = book["評分明細"]
    head = header(ws)
    panels = [r for r in rows(ws) if r[4] == T.ROW_PANEL]
    entries = p["categories"][0]["entries"]
    for r, e in zip(panels, entries):
        assert Decimal(str(r[head.index(T.H_TOTAL)])) == Decimal(e["total"])  # a number, not a formula
        assert r[head.index(T.H_NOTE)] == T.NOTE_ENGINE_VALUE
        assert [Decimal(str(v)) for v in r[6:9]] == [Decimal(v) for v in e["panel_marks"].values()]
    assert all(r[head.index(T.H_TOTAL)].startswith("=ROUND(") for r in rows(ws) if r[4] == T.ROW_JUDGE)
    summary = {r[0]: r[1] for r in rows(book["摘要"])}
    assert "無法以 Excel 公式表示" in summary[T.LABEL_FORMULAS]


def test_a_category_that_cannot_be_ranked_is_explained():
    p = synthetic_payload(4, 3, 2, second_category=False)
    category = p["categories"][0]
    category["entries"], category["error"] = [], "entry '1' has 2 judge(s); trimming 1 highest and 1 lowest needs 3"
    book = open_book(build_workbook(make_input(p)))
    errors = [r for r in rows(book["評分明細"]) if r[4] == T.ROW_ERROR]
    assert len(errors) == 1 and "needs 3" in errors[0][-1]
    judge_rows = [r for r in rows(book["評分明細"]) if r[4] == T.ROW_JUDGE]
    assert len(judge_rows) == 4 * 3  # the marks are still shown, with each judge's total
    assert any("無法排名" in str(r[-1]) for r in rows(book["各組排名"]))


def test_ceremony_run_sheet_order_and_texts(payload):
    winners = [(c["name"], e) for c in payload["categories"] for e in c["entries"] if e["tier"]]
    assert len(winners) >= 3
    book = open_book(build_workbook(make_input(payload)))
    got = rows(book["頒獎典禮名單"])
    tier_order = {t["name"]: i for i, t in enumerate(payload["tiers"])}
    categories = [c["name"] for c in payload["categories"]]
    default = sorted(winners, key=lambda w: (categories.index(w[0]), tier_order[w[1]["tier"]], w[1]["rank"],
                                             w[1]["id"]))
    assert [r[9] for r in got] == [e["id"] for _c, e in default]
    assert [r[0] for r in got] == list(range(1, len(default) + 1))
    first_category, first = default[0]
    assert got[0][7] == f"{first_category} {first['tier']}"  # no text on the tier: category and tier
    assert got[0][5] == first["agency"]["head_name"]

    chosen = [default[-1][1]["id"], default[1][1]["id"], 999999]  # an unknown number is ignored
    texts = {"特優": "恭賀 {agency}（{head}）{tier} {unknown} {agency.__class__}"}
    book = open_book(build_workbook(make_input(payload, ceremony_order=chosen, award_texts=texts)))
    got = rows(book["頒獎典禮名單"])
    assert [r[9] for r in got][:2] == chosen[:2]
    assert sorted(r[9] for r in got) == sorted(e["id"] for _c, e in default)
    special = next(r for r in got if r[2] == "特優")
    assert "{unknown} {agency.__class__}" in special[7] and special[7].startswith("恭賀 ")


def test_distribution_by_county_and_geography_with_charts(payload, book):
    ws = book["參獎機關分布"]
    data = rows(ws)
    counties = {r[1]: r for r in data if r[0] == T.GROUP_COUNTY}
    assert list(counties)[:22] == list(COUNTIES)
    entries = [e for c in payload["categories"] for e in c["entries"]]
    for county in COUNTIES:
        mine = [e for e in entries if e["agency"]["county"] == county]
        assert counties[county][3] == len(mine)
        assert counties[county][4] == sum(1 for e in mine if e["tier"])
    geo = {r[1]: r for r in data if r[0] == T.GROUP_GEOGRAPHY}
    assert set(geo) == {"離島", "偏遠", "本島"}
    assert sum(r[3] for r in geo.values()) == len(entries)
    total = next(r for r in data if r[0] == T.GROUP_TOTAL)
    assert total[3] == len(entries) and total[4] == sum(1 for e in entries if e["tier"])
    assert len(ws._charts) == 2


def test_audit_sheet_counts_and_chain(book):
    data = rows(book["稽核摘要"])
    counts = {r[2]: r[3] for r in data if r[0] == T.AUDIT_EVENTS and r[2]}
    assert counts == {"sheet_submitted": 40, "results_frozen": 1, "assignment_added": 40}
    assert next(r for r in data if r[1] == T.AUDIT_TOTAL)[3] == 81
    chain = next(r for r in data if r[0] == T.AUDIT_CHAIN and r[1] == T.AUDIT_CHAIN_RESULT)
    assert chain[2] == "ok" and chain[3] == 120
    labels = {r[2]: r[1] for r in data if r[2]}
    assert labels["sheet_submitted"] == "送出評分表"


def test_a_broken_chain_is_shown(payload):
    book = open_book(build_workbook(make_input(payload, chain=ChainCheck(False, 7, "event #7 was altered"))))
    chain = next(r for r in rows(book["稽核摘要"]) if r[0] == T.AUDIT_CHAIN and r[1] == T.AUDIT_CHAIN_RESULT)
    assert chain[2] == "broken" and "event #7 was altered" in chain[4]


def test_agreement_sheet_from_diagnostics():
    config = scoring.AggregationConfig(method="mean", decimals=2)
    p = synthetic_payload(10, 5, 3, config, second_category=False)
    category = p["categories"][0]
    criteria = [scoring.Criterion(key=str(c["id"]), weight=Decimal(c["weight"]), max_score=Decimal(c["max_score"]))
                for c in category["criteria"]]
    marks = [scoring.Mark(str(m["entry"]), str(m["judge"]), str(m["criterion"]), Decimal(m["score"]))
             for m in category["marks"]]
    diagnostics = scoring.diagnose(criteria, marks, config, bootstrap=50, seed=0).to_dict()
    book = open_book(build_workbook(make_input(p, diagnostics={category["id"]: diagnostics})))
    data = rows(book["評分一致性"])
    w = next(r for r in data if r[1] == T.A_AGREEMENT and r[2] == T.SCOPE_TOTAL and r[3] == T.S_KENDALL_W)
    assert w[4] == pytest.approx(diagnostics["agreement"]["kendall_w"])
    leniency = {r[2]: r[4] for r in data if r[1] == T.A_JUDGE and r[3] == T.S_J_LENIENCY}
    names = {str(j["id"]): j["name"] for j in p["judges"]}
    assert leniency == {names[j["judge"]]: pytest.approx(j["leniency"]) for j in diagnostics["judges"]}
    assert any(r[1] == T.A_CONFIDENCE for r in data)
    flags = [r for r in data if r[1] == T.A_FLAG]
    assert len(flags) == max(1, len(diagnostics["favouritism"]))
    book = open_book(build_workbook(make_input(p, diagnostics={category["id"]: "too few judges"})))
    assert [r[5] for r in rows(book["評分一致性"])] == ["too few judges"]


def test_every_other_user_text_is_text_too():
    """Tier names, certificate texts, category, criterion, edition and stage names and an entry's own
    head of agency: each formula-looking, each arrives as a string cell; the page header keeps its
    "&" codes inert; only the builder's formulas are formulas."""
    import copy

    config = scoring.AggregationConfig(method="mean", decimals=2)
    p = copy.deepcopy(synthetic_payload(6, 3, 2, config, seed=5, second_category=False))
    evil = {"tier": "=1+1特優", "category": "+組別", "criterion": "@面向", "edition": "=第3屆&B",
            "stage": "-書面審查", "entry_head": "=CMD|' /C calc'!A0", "text": "=HYPERLINK(\"x\") {agency}"}
    old_tier = p["tiers"][0]["name"]
    p["tiers"][0]["name"] = evil["tier"]
    category = p["categories"][0]
    category["name"] = evil["category"]
    category["criteria"][0]["name"] = evil["criterion"]
    for entry in category["entries"]:
        if entry["tier"] == old_tier:
            entry["tier"] = evil["tier"]
    winner = next(e for e in category["entries"] if e["tier"] == evil["tier"])
    winner["head_name"] = evil["entry_head"]
    p["edition"]["name"], p["stage"]["name"] = evil["edition"], evil["stage"]
    blob = build_workbook(make_input(p, award_texts={evil["tier"]: evil["text"]}))
    book = open_book(blob)
    seen: dict[str, set[str]] = {}
    certificate = evil["text"].replace("{agency}", winner["agency"]["name"])
    for ws in book.worksheets:
        assert ws.oddHeader.left.text.startswith("=第3屆&&B -書面審查"), ws.title  # "&" doubled: no header code
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert "HYPERLINK" not in cell.value and "CMD" not in cell.value and "特優" not in cell.value
                elif isinstance(cell.value, str):
                    for key, value in {**evil, "text": certificate}.items():
                        if value in cell.value:
                            assert cell.data_type == "s"
                            seen.setdefault(key, set()).add(ws.title)
    assert {"各組排名", "評分明細", "頒獎典禮名單"} <= seen["tier"]
    assert {"各組排名", "評分明細", "頒獎典禮名單"} <= seen["category"]
    assert "評分明細" in seen["criterion"] and "摘要" in seen["edition"] and "摘要" in seen["stage"]
    assert seen["entry_head"] == {"頒獎典禮名單"} and seen["text"] == {"頒獎典禮名單"}
    run = {r[9]: r for r in rows(book["頒獎典禮名單"])}
    assert run[winner["id"]][5] == evil["entry_head"] and run[winner["id"]][7] == certificate
