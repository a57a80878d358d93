"""Offline score sheets for site visits: the signed Excel round-trip, and every refusal.

A judge downloads a workbook of their open sheets in a stage, fills it in with Excel (here with
openpyxl), uploads it, checks the preview and confirms; the marks land as drafts through
``save_sheet``. A tampered, foreign, stale or malformed workbook is refused with the cell or
reason, and nothing is written.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from award.demo import ACCOUNTS
from award.extensions import db
from award.judging import sheets
from award.models import (Agency, Assignment, AssignmentStatus, AuditEvent, Edition, Entry, EntryStatus, Mark,
                          ScoreSheet, Screening, SheetStatus, StageEntry, Tie, TieKind, User, utcnow)

EVIL_TITLE = '=HYPERLINK("http://evil.example","點我")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def app(app):
    """The root app with the offline blueprint registered (until create_app does it)."""
    from award.judging.offline_views import bp

    if bp.name not in app.blueprints:
        app.register_blueprint(bp)
    return app


@dataclass
class World:
    stage_id: int
    other_stage_id: int
    criteria: list[int]
    entries: dict[str, int]  # "penghu" (title starting with "="), "kinmen"
    judges: dict[str, int]

    def sheet_name(self, key: str) -> str:
        return f"參獎案{self.entries[key]}"


@pytest.fixture
def world(app, demo) -> World:
    """The demo's site-visit stage, open now, with two entries; judge1 is confirmed on both, judge2 on one."""
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        first, stage = edition.stages[0], edition.stages[1]
        now = utcnow()
        for s in (first, stage):
            s.opens_at, s.closes_at = now - timedelta(days=1), now + timedelta(days=1)
        category = edition.categories[0]
        judges = {who: db.session.scalar(select(User.id).where(User.email == f"{who}@award.example"))
                  for who in ("judge1", "judge2", "judge3")}
        entries = {}
        for key, code, title in (("penghu", "DEMO-C1000", EVIL_TITLE), ("kinmen", "DEMO-C2000", "採購透明化平台")):
            entry = Entry(category=category, agency=db.session.scalar(select(Agency).where(Agency.code == code)),
                          title=title, status=EntryStatus.SUBMITTED, screening=Screening.ELIGIBLE)
            db.session.add(entry)
            db.session.flush()
            entries[key] = entry.id
            for s in (first, stage):
                db.session.add(StageEntry(stage_id=s.id, entry_id=entry.id, basis="eligible"))
            db.session.add(Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=judges["judge1"],
                                      status=AssignmentStatus.CONFIRMED, confirmed_at=now))
        db.session.add(Assignment(stage_id=stage.id, entry_id=entries["penghu"], judge_id=judges["judge2"],
                                  status=AssignmentStatus.CONFIRMED, confirmed_at=now))
        # judge3 is assigned but has not confirmed the tie check: nothing for them to download.
        db.session.add(Assignment(stage_id=stage.id, entry_id=entries["kinmen"], judge_id=judges["judge3"]))
        db.session.commit()
        return World(stage.id, first.id, [c.id for c in category.criteria], entries, judges)


def browser(app, who: str | None):
    client = app.test_client()
    if who is not None:
        email, password = next((a[0], a[4]) for a in ACCOUNTS if a[0].startswith(who + "@"))
        assert client.post("/login", data={"email": email, "password": password}).status_code == 302
    return client


def download(client, stage_id: int) -> bytes:
    response = client.get(f"/judging/offline/stages/{stage_id}.xlsx")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    return response.data


def fill(data: bytes, values: dict[str, dict[str, object]]) -> bytes:
    """Set cells as a judge would in Excel: {worksheet: {cell: value}}."""
    workbook = load_workbook(io.BytesIO(data))
    for sheet, cells in values.items():
        for cell, value in cells.items():
            workbook[sheet][cell] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, stage_id: int, data: bytes, filename: str = "評分表.xlsx"):
    return client.post(f"/judging/offline/stages/{stage_id}/upload",
                       data={"workbook": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def problems(response) -> list[tuple[str, str, str]]:
    """(code, worksheet, cell) of every problem listed on the refusal page."""
    html = response.get_data(as_text=True)
    return re.findall(r'class="offline-problem" data-code="([^"]*)" data-worksheet="([^"]*)" data-cell="([^"]*)"',
                      html)


def token_of(response) -> str:
    match = re.search(r'name="token" value="([0-9a-f]{32})"', response.get_data(as_text=True))
    assert match, "no confirmation token on the preview page"
    return match.group(1)


def nothing_imported(app) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count(ScoreSheet.id))) == 0
        assert db.session.scalar(select(func.count(Mark.id))) == 0
        assert "offline_sheet_imported" not in actions(app)


def actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def save_in_browser(app, world: World, who: str, key: str, score: int) -> None:
    """The judge saves a draft on the website (the same operation the web sheet uses)."""
    with app.app_context():
        judge = db.session.get(User, world.judges[who])
        assignment = db.session.scalar(select(Assignment).where(
            Assignment.judge_id == judge.id, Assignment.entry_id == world.entries[key],
            Assignment.stage_id == world.stage_id))
        sheet = sheets.sheet_for(judge.id, world.entries[key], world.stage_id)
        sheets.save_sheet(judge, assignment, {world.criteria[0]: (score, "")}, "",
                          sheet.version if sheet else 0)


def stash_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "offline-sheets"
    return sorted(folder.glob("*.xlsx")) if folder.exists() else []


# --- the round trip --------------------------------------------------------------------------------

def test_offline_round_trip(app, world):
    judge1 = browser(app, "judge1")
    data = download(judge1, world.stage_id)

    workbook = load_workbook(io.BytesIO(data))
    penghu, kinmen = world.sheet_name("penghu"), world.sheet_name("kinmen")
    assert workbook.sheetnames == ["總覽", penghu, kinmen, "_signature"]
    assert workbook["_signature"].sheet_state == "veryHidden"
    assert workbook.security.lockStructure
    ws = workbook[penghu]
    assert ws.protection.sheet and ws.protection.password  # locked with a password nobody is told
    assert ws["B2"].value == world.entries["penghu"]
    assert ws["B4"].value == EVIL_TITLE and ws["B4"].data_type == "s"  # a title is text, never a formula
    assert workbook["總覽"]["D12"].value == EVIL_TITLE and workbook["總覽"]["D12"].data_type == "s"
    assert "實地訪視" in ws["A1"].value and int(ws.page_setup.paperSize) == 9  # A4
    rules = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    for offset, criterion_id in enumerate(world.criteria):
        row = 10 + offset
        assert ws[f"H{row}"].value == criterion_id
        assert ws[f"F{row}"].protection.locked is False and ws[f"G{row}"].protection.locked is False
        assert ws[f"A{row}"].protection.locked and ws[f"B{row}"].protection.locked
        rule = rules[f"F{row}"]  # each mark cell: a number from 0 to 100 in steps of 0.5
        assert rule.type == "custom" and rule.showErrorMessage and rule.error
        assert rule.formula1 == f"AND(ISNUMBER(F{row}),F{row}>=0,F{row}<=100,MOD(ROUND((F{row}-0)/0.5,6),1)=0)"
    assert ws["F15"].value == "=ROUND(SUMPRODUCT(B10:B14,F10:F14/D10:D14),2)"
    assert ws["B17"].protection.locked is False  # the overall comment

    filled = fill(data, {
        penghu: {"F10": 85.5, "F11": 90, "F12": 70, "F13": 100, "G13": "全國首創，值得推廣", "F14": None,
                 "B17": "=cmd|' /C calc'!A0 綜合評語"},
        kinmen: {"F10": 60, "F11": "６０", "F12": 60, "F13": 60, "F14": 60},
    })
    response = upload(judge1, world.stage_id, filled)
    assert response.status_code == 200, problems(response)
    html = response.get_data(as_text=True)
    assert re.search(rf'data-criterion="{world.criteria[0]}" data-changed="true" data-old="" data-new="85.5"', html)
    assert re.search(rf'data-criterion="{world.criteria[4]}" data-changed="false"', html)  # left blank: unchanged
    token = token_of(response)
    assert len(stash_files(app)) == 1
    nothing_imported(app)  # the preview writes nothing

    response = judge1.post(f"/judging/offline/stages/{world.stage_id}/confirm", data={"token": token,
                                                                                      "action": "confirm"})
    assert response.status_code == 303
    with app.app_context():
        saved = {s.entry_id: s for s in db.session.scalars(select(ScoreSheet))}
        assert set(saved) == set(world.entries.values())
        sheet = saved[world.entries["penghu"]]
        assert sheet.status is SheetStatus.DRAFT and sheet.version == 1 and sheet.judge_id == world.judges["judge1"]
        marks = {m.criterion_id: (m.score, m.comment) for m in sheet.marks}
        assert [marks[c][0] for c in world.criteria] == [Decimal("85.5"), 90, 70, 100, None]
        assert marks[world.criteria[3]][1] == "全國首創，值得推廣"
        assert sheet.comment == "=cmd|' /C calc'!A0 綜合評語"
        assert all(m.score == 60 for m in saved[world.entries["kinmen"]].marks)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "offline_sheet_imported"))
        assert event.actor_id == world.judges["judge1"] and '"85.5"' in event.after
    assert actions(app).count("sheet_saved") == 2  # each entry went through save_sheet
    assert "offline_sheet_downloaded" in actions(app)
    assert stash_files(app) == []
    again = judge1.post(f"/judging/offline/stages/{world.stage_id}/confirm", data={"token": token,
                                                                                   "action": "confirm"})
    assert again.status_code == 303  # a second click finds the upload already used: nothing more happens
    with app.app_context():
        assert [s.version for s in db.session.scalars(select(ScoreSheet))] == [1, 1]
    assert actions(app).count("offline_sheet_imported") == 1

    # The same workbook cannot be imported twice: the sheets it was made from have changed.
    again = upload(judge1, world.stage_id, filled)
    assert again.status_code == 422 and {p[0] for p in problems(again)} == {"stale"}


def test_drafts_are_prefilled_and_an_unchanged_workbook_imports_nothing(app, world):
    save_in_browser(app, world, "judge1", "kinmen", 75)
    judge1 = browser(app, "judge1")
    data = download(judge1, world.stage_id)
    ws = load_workbook(io.BytesIO(data))[world.sheet_name("kinmen")]
    assert ws["F10"].value == 75
    response = upload(judge1, world.stage_id, data)
    assert response.status_code == 200
    assert 'id="no-changes"' in response.get_data(as_text=True) and 'name="token"' not in response.get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(ScoreSheet.id))) == 1


def test_a_submitted_sheet_is_left_out_of_the_workbook(app, world):
    with app.app_context():
        db.session.add(ScoreSheet(entry_id=world.entries["kinmen"], judge_id=world.judges["judge1"],
                                  stage_id=world.stage_id, status=SheetStatus.SUBMITTED, submitted_at=utcnow()))
        db.session.commit()
    workbook = load_workbook(io.BytesIO(download(browser(app, "judge1"), world.stage_id)))
    assert workbook.sheetnames == ["總覽", world.sheet_name("penghu"), "_signature"]


def test_a_blind_stage_workbook_does_not_name_the_agency(app, world):
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        edition.stages[1].blind = True
        db.session.commit()
    workbook = load_workbook(io.BytesIO(download(browser(app, "judge1"), world.stage_id)))
    texts = [str(c.value) for ws in workbook.worksheets for row in ws.iter_rows() for c in row if c.value]
    assert not any("澎湖縣政府" in t or "金門縣政府" in t for t in texts)


def test_a_judge_with_nothing_open_gets_no_workbook(app, world):
    response = browser(app, "judge3").get(f"/judging/offline/stages/{world.stage_id}.xlsx")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/judging/offline/stages/{world.stage_id}/upload")
    assert "offline_sheet_downloaded" not in actions(app)


# --- refusals: each names the cell or the reason, and nothing is written -------------------------

def _signature_cell(data: bytes, change) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    change(workbook["_signature"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("how", ["json_byte", "criterion_id_in_json", "hmac"])
def test_a_tampered_workbook_is_refused(app, world, how):
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80}})

    def tamper(ws):
        if how == "json_byte":
            ws["A2"].value = ws["A2"].value.replace('"version":0', '"version":7', 1)
        elif how == "criterion_id_in_json":
            ws["A2"].value = ws["A2"].value.replace(f'"criterion":{world.criteria[0]}',
                                                    f'"criterion":{world.criteria[1]}', 1)
        else:
            ws["A1"].value = ("0" if ws["A1"].value[0] != "0" else "1") + ws["A1"].value[1:]

    response = upload(judge1, world.stage_id, _signature_cell(data, tamper))
    assert response.status_code == 422
    assert problems(response) == [("tampered", "_signature", "")]
    nothing_imported(app)
    assert "offline_sheet_refused" in actions(app)  # an altered workbook leaves a trace


def test_a_changed_criterion_code_in_the_sheet_is_refused_with_its_cell(app, world):
    judge1 = browser(app, "judge1")
    penghu = world.sheet_name("penghu")
    data = fill(download(judge1, world.stage_id), {penghu: {"F10": 80, "H11": world.criteria[0]}})
    response = upload(judge1, world.stage_id, data)
    assert response.status_code == 422 and problems(response) == [("layout", penghu, "H11")]
    nothing_imported(app)


def test_a_moved_row_is_refused_with_its_cell(app, world):
    judge1 = browser(app, "judge1")
    workbook = load_workbook(io.BytesIO(download(judge1, world.stage_id)))
    ws = workbook[world.sheet_name("kinmen")]
    ws["F12"] = 80
    ws.insert_rows(12)  # a row slipped in above the third criterion: every row below moves down
    out = io.BytesIO()
    workbook.save(out)
    response = upload(judge1, world.stage_id, out.getvalue())
    assert response.status_code == 422
    found = problems(response)
    assert ("layout", world.sheet_name("kinmen"), "H12") in found and {p[0] for p in found} == {"layout"}
    nothing_imported(app)


def test_another_judges_workbook_is_refused(app, world):
    data = fill(download(browser(app, "judge1"), world.stage_id), {world.sheet_name("penghu"): {"F10": 80}})
    response = upload(browser(app, "judge2"), world.stage_id, data)  # judge2 is assigned penghu too
    assert response.status_code == 422 and problems(response) == [("other_judge", "", "")]
    nothing_imported(app)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "offline_sheet_refused"))
        assert event.actor_id == world.judges["judge2"] and "other_judge" in event.after


def test_a_workbook_of_another_stage_is_refused(app, world):
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80}})
    response = upload(judge1, world.other_stage_id, data)
    assert response.status_code == 422 and problems(response) == [("other_stage", "", "")]
    nothing_imported(app)


def test_a_stale_workbook_is_refused_naming_the_worksheet(app, world):
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80},
                                                   world.sheet_name("kinmen"): {"F10": 80}})
    save_in_browser(app, world, "judge1", "kinmen", 55)  # saved on the website after the download
    response = upload(judge1, world.stage_id, data)
    assert response.status_code == 422 and problems(response) == [("stale", world.sheet_name("kinmen"), "")]
    with app.app_context():
        sheet = db.session.scalar(select(ScoreSheet))
        assert sheet.version == 1 and sheet.marks[0].score == 55  # the website's save stands
        assert db.session.scalar(select(func.count(ScoreSheet.id))) == 1
    assert "offline_sheet_imported" not in actions(app)


@pytest.mark.parametrize("value, code", [("abc", "not_a_number"), (105, "out_of_range"), (85.3, "off_step"),
                                         (-1, "out_of_range"), ("=80+5", "not_a_number")])
def test_a_bad_mark_is_refused_with_its_cell(app, world, value, code):
    judge1 = browser(app, "judge1")
    kinmen = world.sheet_name("kinmen")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80},
                                                   kinmen: {"F10": 80, "F12": value}})
    response = upload(judge1, world.stage_id, data)
    assert response.status_code == 422 and problems(response) == [(code, kinmen, "F12")]
    assert f"{kinmen}!F12" in response.get_data(as_text=True)
    nothing_imported(app)
    assert "offline_sheet_refused" not in actions(app)  # a judge's typing mistake is not an incident


def test_a_comment_too_long_is_refused_not_cut(app, world):
    judge1 = browser(app, "judge1")
    penghu = world.sheet_name("penghu")
    data = fill(download(judge1, world.stage_id), {penghu: {"F10": 80, "G10": "很" * (sheets.COMMENT_LIMIT + 1)}})
    response = upload(judge1, world.stage_id, data)
    assert response.status_code == 422 and problems(response) == [("too_long", penghu, "G10")]
    nothing_imported(app)


def test_files_that_are_not_our_workbook_are_refused(app, world):
    judge1 = browser(app, "judge1")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = upload(judge1, world.stage_id, png, filename="評分表.xlsx")  # a picture renamed .xlsx
    assert response.status_code == 422 and problems(response) == [("unreadable", "", "")]
    plain = io.BytesIO()
    Workbook().save(plain)
    response = upload(judge1, world.stage_id, plain.getvalue())
    assert response.status_code == 422 and problems(response) == [("no_signature", "", "")]
    response = upload(judge1, world.stage_id, b"a,b\n1,2\n", filename="marks.csv")
    assert response.status_code == 400  # the form accepts only .xlsx
    nothing_imported(app)


def test_a_tie_declared_after_download_refuses_that_entry(app, world):
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80},
                                                   world.sheet_name("kinmen"): {"F10": 80}})
    with app.app_context():
        kinmen = db.session.get(Entry, world.entries["kinmen"])
        db.session.add(Tie(judge_id=world.judges["judge1"], agency_id=kinmen.agency_id, kind=TieKind.FAMILY))
        db.session.commit()
    response = upload(judge1, world.stage_id, data)
    assert response.status_code == 422 and problems(response) == [("conflicted", world.sheet_name("kinmen"), "")]
    nothing_imported(app)


def test_confirmation_checks_everything_again(app, world):
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80},
                                                   world.sheet_name("kinmen"): {"F10": 80}})
    response = upload(judge1, world.stage_id, data)
    token = token_of(response)
    save_in_browser(app, world, "judge1", "penghu", 40)  # between the preview and the confirmation
    response = judge1.post(f"/judging/offline/stages/{world.stage_id}/confirm", data={"token": token,
                                                                                      "action": "confirm"})
    assert response.status_code == 409 and problems(response) == [("stale", world.sheet_name("penghu"), "")]
    with app.app_context():
        only = db.session.scalar(select(ScoreSheet))
        assert db.session.scalar(select(func.count(ScoreSheet.id))) == 1 and only.marks[0].score == 40
    assert "offline_sheet_imported" not in actions(app) and stash_files(app) == []


def test_an_upload_is_confirmed_only_by_its_judge_and_within_the_hour(app, world):
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80}})
    token = token_of(upload(judge1, world.stage_id, data))
    # judge2 cannot use judge1's token: the stored upload is tied to the judge and the stage.
    response = browser(app, "judge2").post(f"/judging/offline/stages/{world.stage_id}/confirm",
                                           data={"token": token, "action": "confirm"})
    assert response.status_code == 303
    nothing_imported(app)
    response = judge1.post(f"/judging/offline/stages/{world.other_stage_id}/confirm",
                           data={"token": token, "action": "confirm"})
    assert response.status_code == 303
    nothing_imported(app)
    (path,) = stash_files(app)
    old = path.stat().st_mtime - 2 * 3600
    import os

    os.utime(path, (old, old))
    response = judge1.post(f"/judging/offline/stages/{world.stage_id}/confirm",
                           data={"token": token, "action": "confirm"})
    assert response.status_code == 303
    nothing_imported(app)
    assert stash_files(app) == []


def test_discarding_an_upload_deletes_it(app, world):
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80}})
    token = token_of(upload(judge1, world.stage_id, data))
    response = judge1.post(f"/judging/offline/stages/{world.stage_id}/confirm",
                           data={"token": token, "action": "cancel"})
    assert response.status_code == 303 and stash_files(app) == []
    nothing_imported(app)


# --- access --------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["organizer", "penghu", "greenisland"])
def test_only_judges_reach_the_offline_sheets(app, world, who):
    client = browser(app, who)
    base = f"/judging/offline/stages/{world.stage_id}"
    assert client.get(f"{base}.xlsx").status_code == 403
    assert client.get(f"{base}/upload").status_code == 403
    assert client.post(f"{base}/upload", data={}).status_code == 403
    assert client.post(f"{base}/confirm", data={"token": "0" * 32}).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(app, world):
    client = browser(app, None)
    base = f"/judging/offline/stages/{world.stage_id}"
    for response in (client.get(f"{base}.xlsx"), client.get(f"{base}/upload"),
                     client.post(f"{base}/confirm", data={"token": "0" * 32})):
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_upload_page_lists_the_open_sheets(app, world):
    response = browser(app, "judge1").get(f"/judging/offline/stages/{world.stage_id}/upload")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for entry_id in world.entries.values():
        assert f'data-entry="{entry_id}"' in html
    assert "HYPERLINK" in html and "<a href=\"http://evil" not in html
    assert browser(app, "judge1").get("/judging/offline/stages/999999/upload").status_code == 404


def test_a_failure_while_saving_leaves_nothing_half_imported(app, world, monkeypatch):
    """A save refused after the checks (a race: another device saved in between) undoes the whole import."""
    judge1 = browser(app, "judge1")
    data = fill(download(judge1, world.stage_id), {world.sheet_name("penghu"): {"F10": 80},
                                                   world.sheet_name("kinmen"): {"F10": 80}})
    token = token_of(upload(judge1, world.stage_id, data))
    real, calls = sheets.save_sheet, []

    def second_one_loses_a_race(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise sheets.SheetError("another device saved this sheet a moment ago")
        return real(*args, **kwargs)

    monkeypatch.setattr(sheets, "save_sheet", second_one_loses_a_race)
    response = judge1.post(f"/judging/offline/stages/{world.stage_id}/confirm", data={"token": token,
                                                                                      "action": "confirm"})
    assert response.status_code == 409 and len(calls) == 2
    nothing_imported(app)
    assert "sheet_saved" not in actions(app)
