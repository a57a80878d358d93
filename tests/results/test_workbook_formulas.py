"""The workbook's formulas, recomputed by a real spreadsheet: LibreOffice headless converts the
workbook (openpyxl writes no cached values, so LibreOffice computes every formula on loading) and
every judge total, panel mark and panel total it computed must equal the scoring engine's figure.

Each method the formulas express is covered — mean, trimmed per criterion (N = 1 and 2, with the
fall-back to the mean), trimmed per total (with judges tied at the cut), median per criterion and
per total — under both rounding policies and 0 to 3 decimals, on marks chosen to hit the hard
cases: 0.25 steps, maxima of 3 and 7 (weights like 30/7 that never end in decimal), many exact
half-way totals such as 12.825 that binary floating point holds as 12.8249999…

Skipped only when LibreOffice is missing and the CI environment variable is unset; in CI a missing
``soffice`` fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

import scoring
from award.results import workbook_text as T
from award.results.workbook import ChainCheck, WorkbookInput, build_workbook
from benchmarks.bench_workbook import synthetic_category

C = scoring.AggregationConfig
SQUARE = dict(n_entries=20, n_judges=5, n_criteria=5)  # weights 15/15/10/10/50 out of 100, 0.5 steps
ODD = dict(n_entries=15, n_judges=5, n_criteria=3, max_score=7, step="0.25", weights=(30, 25, 45))
TIES = dict(n_entries=24, n_judges=6, n_criteria=2, max_score=10, step="1", weights=(40, 60))  # many equal totals
CASES = {
    "mean_final": (C(method="mean"), [SQUARE, dict(ODD, missing=0.2)]),
    "mean_each_stage": (C(method="mean", round_each_stage=True), [SQUARE, dict(ODD, missing=0.2)]),
    "trimmed_criterion_final": (C(method="trimmed", trim=1, trim_level="criterion"), [SQUARE, TIES]),
    "trimmed_criterion_each_stage": (C(method="trimmed", trim=1, trim_level="criterion", round_each_stage=True),
                                     [ODD, TIES]),
    "trimmed_criterion_2_d3": (C(method="trimmed", trim=2, trim_level="criterion", decimals=3,
                                 round_each_stage=True),
                               [dict(n_entries=20, n_judges=7, n_criteria=4, max_score=3, weights=(35, 15, 20, 30))]),
    "trimmed_criterion_fallback": (C(method="trimmed", trim=1, trim_level="criterion", too_few_judges="mean"),
                                   [dict(n_entries=20, n_judges=4, n_criteria=4, missing=0.35)]),
    "trimmed_total_final": (C(method="trimmed", trim=1, trim_level="total"), [SQUARE, TIES]),
    "trimmed_total_each_stage": (C(method="trimmed", trim=1, trim_level="total", round_each_stage=True),
                                 [SQUARE, TIES, ODD]),
    "trimmed_total_2_d1": (C(method="trimmed", trim=2, trim_level="total", decimals=1, round_each_stage=True),
                           [dict(TIES, n_judges=7)]),
    "trimmed_total_fallback": (C(method="trimmed", trim=1, trim_level="total", too_few_judges="mean",
                                 round_each_stage=True), [dict(SQUARE, judges_per_entry=2)]),
    "median_criterion": (C(method="median", trim_level="criterion"),
                         [dict(SQUARE, n_judges=6), dict(ODD, missing=0.2)]),
    "median_total_each_stage": (C(method="median", trim_level="total", round_each_stage=True),
                                [dict(TIES, n_judges=6), SQUARE]),
    "median_total_d0": (C(method="median", trim_level="total", decimals=0), [dict(TIES, n_judges=4, step="0.5")]),
}


def make_input(payload) -> WorkbookInput:
    return WorkbookInput(payload=payload, exported_at=datetime(2026, 11, 20, 7, 30, tzinfo=timezone.utc),
                         snapshot_hash="cd" * 32, frozen_at=datetime(2026, 11, 19, 2, 0, tzinfo=timezone.utc),
                         chain=ChainCheck(True, 1, "1 events, chain intact"))


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("LibreOffice (soffice) is required in CI to recompute the workbook's formulas: "
                    "apt-get install libreoffice-calc-nogui")
    pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui to recompute "
                "the workbook's formulas (this test is required in CI)")


def recalculate(files: list[Path], outdir: Path) -> dict[str, Path]:
    """Convert with LibreOffice headless (a fresh profile each time): it loads each workbook, computes
    every formula (there are no cached values) and saves the results."""
    executable = soffice()
    profile = (outdir.parent / f"lo-profile-{uuid.uuid4().hex}").as_uri()
    started = time.monotonic()
    completed = subprocess.run(
        [executable, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "xlsx",
         "--outdir", str(outdir), *map(str, files)], capture_output=True, text=True, timeout=600)
    converted = {f.name: outdir / f.name for f in files}
    missing = [name for name, path in converted.items() if not path.exists()]
    assert not missing, f"LibreOffice did not convert {missing}: {completed.stdout} {completed.stderr}"
    print(f"LibreOffice recalculated {len(files)} workbook(s) in {time.monotonic() - started:.1f} s")
    return converted


def rounded(value, decimals: int) -> Decimal:
    """A spreadsheet's float as the decimal it stands for, rounded half-up like the engine."""
    assert isinstance(value, (int, float)), value
    exact = Decimal(repr(float(value))).quantize(Decimal("1e-9"), ROUND_HALF_UP)
    return exact.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def make_payload(config, categories) -> dict:
    tiers = (scoring.Tier("特優", min_total=Decimal(85), quota=2), scoring.Tier("優選", min_total=Decimal(80)))
    payload = {"format": 1, "edition": {"id": 1, "number": 3, "name": "第3屆透明晶質獎", "year": 2026},
               "stage": {"id": 1, "name": "書面審查", "position": 0, "blind": False}, "config": config.to_dict(),
               "tiers": [{"name": t.name, "min_total": str(t.min_total), "quota": t.quota} for t in tiers],
               "judges": [{"id": j, "name": f"評審{j}"} for j in range(1, 10)], "categories": []}
    for index, spec in enumerate(categories):
        payload["categories"].append(synthetic_category(
            index + 1, f"組別{index + 1}", config=config, tiers=tiers, seed=11 * index + len(payload["judges"]),
            entry_base=1000 * (index + 1), criterion_base=100 * (index + 1), **spec))
    return payload


def check_against_engine(book, payload) -> int:
    """Every formula result in 評分明細 equals the payload's (engine's) figure; returns cells checked."""
    d = payload["config"]["decimals"]
    ws = book[T.SHEET_MARKS]
    head = [c.value for c in ws[1]]
    total = head.index(T.H_TOTAL)
    names = {j["name"]: str(j["id"]) for j in payload["judges"]}
    entries = {e["id"]: (c, e) for c in payload["categories"] for e in c["entries"]}
    checked = 0
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[4] == T.ROW_JUDGE:
            _category, entry = entries[row[1]]
            assert rounded(row[total], d) == Decimal(entry["judge_totals"][names[row[5]]]), row
            checked += 1
        elif row[4] == T.ROW_PANEL:
            category, entry = entries[row[1]]
            assert rounded(row[total], d) == Decimal(entry["total"]), (row[1], row[total], entry["total"])
            for i, criterion in enumerate(category["criteria"]):
                assert rounded(row[6 + i], d) == Decimal(entry["panel_marks"][str(criterion["id"])]), (row, i)
            checked += 1 + len(category["criteria"])
    summary = {r[0]: r[1] for r in book[T.SHEET_SUMMARY].iter_rows(min_row=2, values_only=True) if r[0]}
    assert summary[T.LABEL_CHECK] == 0  # the workbook's own check: no row where formula and engine differ
    return checked


@pytest.fixture(scope="module")
def recalculated_cases(tmp_path_factory):
    soffice()
    source = tmp_path_factory.mktemp("workbooks")
    payloads, files = {}, []
    for name, (config, categories) in CASES.items():
        payloads[name] = payload = make_payload(config, categories)
        assert all(c["error"] is None for c in payload["categories"]), name
        path = source / f"{name}.xlsx"
        path.write_bytes(build_workbook(make_input(payload)))
        files.append(path)
    converted = recalculate(files, tmp_path_factory.mktemp("recalculated"))
    return {name: (payloads[name], converted[f"{name}.xlsx"]) for name in CASES}


@pytest.mark.parametrize("case", list(CASES))
def test_spreadsheet_recomputes_the_engines_figures(recalculated_cases, case):
    payload, path = recalculated_cases[case]
    book = load_workbook(path, data_only=True)
    checked = check_against_engine(book, payload)
    expected = sum(len(e["judge_totals"]) + 1 + len(c["criteria"]) for c in payload["categories"] for e in c["entries"])
    assert checked == expected > 0


def test_ties_at_the_cut_are_exercised(recalculated_cases):
    """The total-level cases really have judges tied at the cut (fractional weights)."""
    _payload, path = recalculated_cases["trimmed_total_each_stage"]
    ws = load_workbook(path, data_only=True)[T.SHEET_MARKS]
    head = [c.value for c in ws[1]]
    weights = [r[head.index(T.H_WEIGHT)] for r in ws.iter_rows(min_row=2, values_only=True) if r[4] == T.ROW_JUDGE]
    assert any(0 < w < 1 for w in weights)
    assert all(0 <= w <= 1 for w in weights)


# --- the real export, from the database ----------------------------------------------------------

EVIL_TITLE = '=HYPERLINK("http://evil.example","click")'


def test_the_exported_workbook_recomputes_the_frozen_results(app, scored_stage, client, login, tmp_path):
    """scored_stage: trimmed mean at total level, two-stage rounding, 5 judges; with hostile names."""
    from sqlalchemy import select

    from award.extensions import db
    from award.models import Agency, Entry, User
    from award.results import operations as ops
    from award.results.export_views import bp
    from award.results.payload import build_payload

    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
    soffice()
    with app.app_context():
        entry = db.session.get(Entry, scored_stage.favoured_entry_id)
        entry.title = EVIL_TITLE
        agency = db.session.scalar(select(Agency).where(Agency.code == "DEMO-B0100"))
        agency.name, agency.head_name = "+886 臺北市政府", "-2+3"
        judge = db.session.get(User, scored_stage.judge_ids[0])
        judge.name = "@SUM(A1)委員"
        db.session.commit()
        stage = scored_stage.stage()
        ops.freeze(stage, scored_stage.user("organizer@award.example"))
        sha256 = ops.active_snapshot(stage).sha256
        payload = build_payload(stage)
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    assert response.status_code == 200
    path = tmp_path / "export.xlsx"
    path.write_bytes(response.data)
    converted = recalculate([path], tmp_path / "out")[path.name]
    book = load_workbook(converted, data_only=True)
    assert check_against_engine(book, payload) > 0
    summary = {r[0]: r[1] for r in book[T.SHEET_SUMMARY].iter_rows(min_row=2, values_only=True) if r[0]}
    assert summary[T.LABEL_HASH] == sha256 and summary[T.STATUS_LABEL] == T.STATUS_FROZEN
    ranking = list(book[T.SHEET_RANKING].iter_rows(min_row=2, values_only=True))
    assert [(r[1], Decimal(str(r[4])), r[5]) for r in ranking if r[1]] == [
        (e["rank"], Decimal(e["total"]), e["tier"]) for c in payload["categories"] for e in c["entries"]]
    # hostile texts are still plain text after a spreadsheet loaded and saved the file
    raw = load_workbook(converted)
    found = set()
    for ws in raw.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value in (EVIL_TITLE, "+886 臺北市政府", "-2+3", "@SUM(A1)委員"):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    found.add(cell.value)
    assert found == {EVIL_TITLE, "+886 臺北市政府", "-2+3", "@SUM(A1)委員"} - (
        set() if any(e["agency"]["code"] == "DEMO-B0100" and e["tier"] for c in payload["categories"]
                     for e in c["entries"]) else {"-2+3"})
