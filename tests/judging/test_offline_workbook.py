"""The pure half of the offline sheets (award/judging/offline.py): build, sign, read back."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from award.judging import offline

KEY = offline.derive_key("test-secret-key")


def spec(*criteria: offline.CriterionRow, judge: int = 7, stage: int = 3) -> offline.WorkbookSpec:
    block = offline.EntryBlock(entry_id=42, title="=1+1", agency="連江縣政府", category="創新廉能措施類",
                               sheet_id=9, sheet_version=4, criteria=criteria, overall_comment="")
    return offline.WorkbookSpec(judge_id=judge, judge_name="林評審委員", stage_id=stage, stage_name="實地訪視",
                                edition_name="第3屆", entries=(block,), issued_at=datetime.now(timezone.utc))


ROWS = (
    offline.CriterionRow(1, "首長決心", Decimal(60), Decimal(1), Decimal(5), Decimal(1), Decimal(3), "尚可"),
    offline.CriterionRow(2, "資訊透明", Decimal(40), Decimal(0), Decimal(10), None),
)


def read(data: bytes, key: bytes = KEY):
    signed = offline.open_signed(data, key)
    signed.check_owner(7, 3)
    return signed.read_entries(offline.criteria_signature(ROWS))


def refill(data: bytes, cells: dict[str, object]) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    for cell, value in cells.items():
        workbook["參獎案42"][cell] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_the_key_is_derived_for_this_purpose_only():
    assert offline.derive_key("test-secret-key") == KEY != b"test-secret-key"
    assert offline.derive_key("another-secret") != KEY


def test_the_signature_round_trips_and_records_the_versions():
    data, signature = offline.build_workbook(spec(*ROWS), KEY)
    (entry,) = signature.entries
    assert (signature.judge_id, signature.stage_id, entry.entry_id, entry.sheet_id, entry.version) == (7, 3, 42, 9, 4)
    filled, problems = read(data)
    assert problems == []
    assert [(r.criterion_id, r.score, r.comment) for r in filled[0].rows] == [(1, 3, "尚可"), (2, None, "")]


def test_validation_formulas_follow_each_criterion():
    data, _signature = offline.build_workbook(spec(*ROWS), KEY)
    ws = load_workbook(io.BytesIO(data))["參獎案42"]
    rules = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert rules == {"F10": "AND(ISNUMBER(F10),F10>=1,F10<=5,MOD(ROUND((F10-1)/1,6),1)=0)",
                     "F11": "AND(ISNUMBER(F11),F11>=0,F11<=10)"}


def test_a_workbook_signed_with_another_key_is_tampered():
    data, _signature = offline.build_workbook(spec(*ROWS), offline.derive_key("someone else's server"))
    with pytest.raises(offline.OfflineSheetError) as refused:
        read(data)
    assert refused.value.codes == {"tampered"}


@pytest.mark.parametrize("judge, stage, code", [(8, 3, "other_judge"), (7, 4, "other_stage")])
def test_owner_checks(judge, stage, code):
    data, _signature = offline.build_workbook(spec(*ROWS, judge=judge, stage=stage), KEY)
    with pytest.raises(offline.OfflineSheetError) as refused:
        read(data)
    assert refused.value.codes == {code}


@pytest.mark.parametrize("value, expected", [
    (4, Decimal(4)), ("５", Decimal(5)), (" 2 ", Decimal(2)), (None, None), ("", None),
])
def test_marks_as_typed(value, expected):
    data, _signature = offline.build_workbook(spec(*ROWS), KEY)
    filled, problems = read(refill(data, {"F10": value}))
    assert problems == [] and filled[0].rows[0].score == expected


@pytest.mark.parametrize("value, code", [
    (4.5, "off_step"), (0, "out_of_range"), ("=2+2", "not_a_number"), (True, "not_a_number"),
    (datetime(2026, 1, 2), "not_a_number"), ("1e1", "not_a_number"), (3.12345, "off_step"),
])
def test_bad_marks_name_their_cell(value, code):
    data, _signature = offline.build_workbook(spec(*ROWS), KEY)
    _filled, problems = read(refill(data, {"F10": value}))
    assert [(p.code, p.worksheet, p.cell) for p in problems] == [(code, "參獎案42", "F10")]
    assert problems[0].message.startswith("參獎案42!F10: ")


def _recalculated_by_libreoffice(data: bytes, tmp_path) -> bytes:
    """The workbook opened, recalculated and saved by LibreOffice, as a judge without Excel would."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (scripts/install-system-test-deps)")
    source = tmp_path / "filled.xlsx"
    source.write_bytes(data)
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "out"), str(source)],
                   check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    return (tmp_path / "out" / "filled.xlsx").read_bytes()


def test_the_total_formula_works_offline_and_a_libreoffice_copy_imports(tmp_path):
    rows = (
        offline.CriterionRow(1, "首長決心", Decimal(20), Decimal(0), Decimal(100), Decimal("0.5")),
        offline.CriterionRow(2, "資訊透明", Decimal(35), Decimal(0), Decimal(100), Decimal("0.5")),
        offline.CriterionRow(3, "風險防制", Decimal(45), Decimal(0), Decimal(50), Decimal(1)),
    )
    data, _signature = offline.build_workbook(spec(*rows), KEY)
    saved = _recalculated_by_libreoffice(refill(data, {"F10": 85.5, "F11": 90, "F12": 40}), tmp_path)
    values = load_workbook(io.BytesIO(saved), data_only=True)
    # 20 × 85.5/100 + 35 × 90/100 + 45 × 40/50 = 17.1 + 31.5 + 36
    assert values["參獎案42"]["F13"].value == pytest.approx(84.6)
    assert values["總覽"]["F12"].value == pytest.approx(84.6)
    signed = offline.open_signed(saved, KEY)
    signed.check_owner(7, 3)
    filled, problems = signed.read_entries(offline.criteria_signature(rows))
    assert problems == []
    assert [r.score for r in filled[0].rows] == [Decimal("85.5"), Decimal(90), Decimal(40)]
