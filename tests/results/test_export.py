"""Exports from the browser and from ``award export``: the source (frozen snapshot or provisional),
file names, the audit record, the CSV and its injection rule, access, the command line."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from urllib.parse import quote

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from openpyxl import load_workbook
from sqlalchemy import select

from award.extensions import db
from award.models import Agency, AuditEvent, Entry, Stage, User
from award.results import export_ops
from award.results import operations as ops
from award.results import workbook_text as T
from award.results.export_cli import export_command
from award.results.payload import build_payload

ORGANIZER = "organizer@award.example"
EVIL_TITLE = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def app(app):
    from award.results import export_views

    if export_views.bp.name not in app.blueprints:
        app.register_blueprint(export_views.bp)
    return app


def exports() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "results_exported")
                                   .order_by(AuditEvent.seq)))


def summary_of(data: bytes) -> dict:
    book = load_workbook(io.BytesIO(data))
    return {r[0]: r[1] for r in book[T.SHEET_SUMMARY].iter_rows(min_row=2, values_only=True) if r[0]}


def freeze(scored_stage):
    stage = scored_stage.stage()
    return ops.freeze(stage, scored_stage.user(ORGANIZER))


def test_the_page_links_the_files_and_says_provisional(app, scored_stage, client, login):
    login.as_demo("organizer")
    browser = client
    with app.app_context():
        response = browser.get(f"/results/export/stages/{scored_stage.stage_id}")
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert 'data-status="provisional"' in html and 'id="export-hash"' not in html
        assert f'href="/results/export/stages/{scored_stage.stage_id}.xlsx"' in html
        assert f'href="/results/export/stages/{scored_stage.stage_id}.csv"' in html
        assert "第3屆透明晶質獎_書面審查_暫定成績.xlsx" in html
        snapshot = freeze(scored_stage)
        html = browser.get(f"/results/export/stages/{scored_stage.stage_id}").get_data(as_text=True)
        assert 'data-status="frozen"' in html and snapshot.sha256 in html
        assert "第3屆透明晶質獎_書面審查_成績.xlsx" in html
        html = browser.get(f"/results/export/stages/{scored_stage.stage_id}?order=12,+x").get_data(as_text=True)
        # flashed (in the page's language, Chinese by default), and the order is dropped
        with app.test_request_context(), force_locale("zh_Hant_TW"):
            refusal = gettext("The presentation order must be entry numbers separated by commas, e.g. 12, 5, 7.")
        assert str(escape(refusal)) in html


def test_provisional_workbook_download_is_logged(app, scored_stage, client, login):
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="award-3-stage-')
    assert "-results-provisional.xlsx\"" in disposition
    assert "filename*=UTF-8''" + quote("第3屆透明晶質獎_書面審查_暫定成績.xlsx", safe="") in disposition
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Results-Status"] == "provisional" and "X-Results-SHA256" not in response.headers
    summary = summary_of(response.data)
    assert summary[T.STATUS_LABEL] == T.STATUS_PROVISIONAL and summary[T.LABEL_HASH] == T.NO_HASH
    assert summary[T.LABEL_EXPORTED_BY] == "廉政署承辦人 <organizer@award.example>"
    with app.app_context():
        [event] = exports()
        after = json.loads(event.after)
        assert event.object_type == "stage" and event.object_id == str(scored_stage.stage_id)
        assert event.actor_id == scored_stage.organizer_id
        assert after["format"] == "xlsx" and after["sha256"] is None and after["provisional"] is True
        assert after["file_sha256"] == hashlib.sha256(response.data).hexdigest()


def test_frozen_workbook_carries_the_snapshot_and_the_engines_ranking(app, scored_stage, client, login):
    with app.app_context():
        sha256 = freeze(scored_stage).sha256
        payload = build_payload(scored_stage.stage())
        favouring = db.session.get(User, scored_stage.favouring_judge_id).name
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    assert response.headers["X-Results-SHA256"] == sha256
    assert "filename*=UTF-8''" + quote("第3屆透明晶質獎_書面審查_成績.xlsx", safe="") in \
        response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    summary = {r[0]: r[1] for r in book[T.SHEET_SUMMARY].iter_rows(min_row=2, values_only=True) if r[0]}
    assert summary[T.STATUS_LABEL] == T.STATUS_FROZEN and summary[T.LABEL_HASH] == sha256
    assert summary[T.LABEL_CHAIN].startswith("通過")
    ranking = [r for r in book[T.SHEET_RANKING].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[1], r[3], Decimal(str(r[4])), r[5]) for r in ranking] == [
        (c["name"], e["rank"], e["title"], Decimal(e["total"]), e["tier"])
        for c in payload["categories"] for e in c["entries"]]
    marks = [r for r in book[T.SHEET_MARKS].iter_rows(min_row=2, values_only=True) if r[4] == T.ROW_JUDGE]
    assert len(marks) == len(scored_stage.sheets)  # one row per entry and judge
    # the diagnostics find the planted favour: the fifth judge on the favoured entry, and nothing else
    flags = [r for r in book[T.SHEET_AGREEMENT].iter_rows(min_row=2, values_only=True) if r[1] == T.A_FLAG and r[3]]
    assert len(flags) == 1 and flags[0][2].startswith(favouring + " → ")
    assert f"#{scored_stage.favoured_entry_id}" in flags[0][2]
    audit = {r[2]: r[3] for r in book[T.SHEET_AUDIT].iter_rows(min_row=2, values_only=True) if r[0] == T.AUDIT_EVENTS}
    assert audit.get("results_frozen") == 1
    with app.app_context():
        [event] = exports()
        assert json.loads(event.after)["sha256"] == sha256
    second = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    audit = {r[2]: r[3] for r in load_workbook(io.BytesIO(second.data))[T.SHEET_AUDIT].iter_rows(
        min_row=2, values_only=True) if r[0] == T.AUDIT_EVENTS}
    assert audit.get("results_exported") == 1  # the first export is now one of the stage's events


def test_csv_has_bom_crlf_and_the_injection_rule(app, scored_stage, client, login):
    with app.app_context():
        entry = db.session.get(Entry, scored_stage.favoured_entry_id)
        entry.title = EVIL_TITLE
        agency = db.session.scalar(select(Agency).where(Agency.code == "DEMO-B0100"))
        agency.name = "+886 臺北市政府"
        db.session.commit()
        payload = build_payload(scored_stage.stage())
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once, not "charset=utf-8; charset=utf-8"
    assert "filename*=UTF-8''" + quote("第3屆透明晶質獎_書面審查_暫定成績.csv", safe="") in \
        response.headers["Content-Disposition"]
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode("utf-8")
    assert text.count("\r\n") == text.count("\n") == 1 + sum(len(c["entries"]) for c in payload["categories"])
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["組別", "名次", "機關代碼", "參獎機關", "作品名稱", "總分", "獎項等第", "縣市", "地理區分",
                        "snapshot_sha256", "audit_checkpoint_events", "audit_checkpoint_root"]
    with app.app_context():  # the export took a checkpoint first: its root is on every row
        from award.audit.checkpoints import inclusion_proof, latest_checkpoint

        checkpoint = latest_checkpoint()
        assert checkpoint.reason.startswith("ranking CSV export")
        last_covered = inclusion_proof(checkpoint.event_count, checkpoint.id)  # provable from the CSV's root
        assert last_covered["checkpoint"]["root_hash"] == checkpoint.root_hash
        mark = (str(checkpoint.event_count), checkpoint.root_hash)
    expected = [[c["name"], str(e["rank"]), e["agency"]["code"], e["agency"]["name"], e["title"], e["total"],
                 e["tier"] or "", e["agency"]["county"], T.GEOGRAPHY[e["agency"]["geography"]], "", *mark]
                for c in payload["categories"] for e in c["entries"]]
    for row in expected:
        row[3] = "'" + row[3] if row[3].startswith("+") else row[3]
        row[4] = "'" + row[4] if row[4].startswith("=") else row[4]
    assert table[1:] == expected
    assert any(row[4] == "'" + EVIL_TITLE for row in table) and any(row[3] == "'+886 臺北市政府" for row in table)
    with app.app_context():
        [event] = exports()
        assert json.loads(event.after)["format"] == "csv"


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("廉能", "廉能"), ("a=1", "a=1"), ("", ""), (None, "")])
def test_csv_text_rule(value, expected):
    assert export_ops.csv_text(value) == expected


def test_ceremony_order_from_the_query(app, scored_stage, client, login):
    with app.app_context():
        payload = build_payload(scored_stage.stage())
    winners = [e["id"] for c in payload["categories"] for e in c["entries"] if e["tier"]]
    assert len(winners) >= 2
    login.as_demo("organizer")
    order = [winners[-1], winners[0]]
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx?order={order[0]},{order[1]}")
    run = list(load_workbook(io.BytesIO(response.data))[T.SHEET_CEREMONY].iter_rows(min_row=2, values_only=True))
    assert [r[9] for r in run][:2] == order and sorted(r[9] for r in run) == sorted(winners)
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx?order=1;drop")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/results/export/stages/{scored_stage.stage_id}")


def test_a_stage_without_marks_still_exports(app, scored_stage, client, login):
    with app.app_context():
        second = scored_stage.stage().edition.stages[1].id
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{second}.xlsx")
    assert response.status_code == 200
    assert summary_of(response.data)[T.STATUS_LABEL] == T.STATUS_PROVISIONAL
    assert client.get(f"/results/export/stages/{second}").status_code == 200
    assert client.get("/results/export/stages/999999.xlsx").status_code == 404


@pytest.mark.parametrize("who", ["judge1", "penghu"])
def test_judges_and_agency_contacts_are_refused(app, scored_stage, client, login, who):
    login.as_demo(who)
    for suffix in ("", ".xlsx", ".csv"):
        assert client.get(f"/results/export/stages/{scored_stage.stage_id}{suffix}").status_code == 403
    with app.app_context():
        assert exports() == []


def test_anonymous_visitors_are_sent_to_log_in(app, scored_stage, client):
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- award export --------------------------------------------------------------------------------

def test_cli_writes_the_workbook_and_csv(app, scored_stage, runner, tmp_path):
    out, table = tmp_path / "results.xlsx", tmp_path / "ranking.csv"
    result = runner.invoke(export_command, ["3", "-o", str(out), "--csv", str(table)])
    assert result.exit_code == 0, result.output
    assert "stage '書面審查'" in result.output and "the last stage with submitted marks" in result.output
    assert "provisional" in result.output
    assert summary_of(out.read_bytes())[T.STATUS_LABEL] == T.STATUS_PROVISIONAL
    assert table.read_bytes().startswith(b"\xef\xbb\xbf")
    with app.app_context():
        events = exports()
        assert [json.loads(e.after)["format"] for e in events] == ["xlsx", "csv"]
        assert all(e.actor_id is None and e.actor_label == "system" for e in events)
        sha256 = freeze(scored_stage).sha256
    result = runner.invoke(export_command, ["3", "-o", str(out), "--order", "5, 3"])
    assert result.exit_code == 0, result.output
    assert "the last frozen stage" in result.output and sha256 in result.output
    assert summary_of(out.read_bytes())[T.LABEL_HASH] == sha256


def test_cli_names_a_stage_by_name_or_id(app, scored_stage, runner, tmp_path):
    out = tmp_path / "x.xlsx"
    with app.app_context():
        second = db.session.scalar(select(Stage).where(Stage.name == "實地訪視"))
        second_id, edition_id = second.id, second.edition_id
    result = runner.invoke(export_command, [str(3), "-o", str(out), "--stage", "實地訪視"])
    assert result.exit_code == 0 and "'實地訪視'" in result.output and "as asked" in result.output
    result = runner.invoke(export_command, [str(3), "-o", str(out), "--stage", str(second_id)])
    assert result.exit_code == 0 and "'實地訪視'" in result.output
    result = runner.invoke(export_command, [str(3), "-o", str(out), "--stage", "決選"])
    assert result.exit_code != 0 and "has no stage '決選'" in result.output
    assert edition_id  # the edition can also be named by its id when no edition has that number


def test_cli_refuses_an_unknown_edition(app, scored_stage, runner, tmp_path):
    out = tmp_path / "x.xlsx"
    for edition in ("99", "third"):
        result = runner.invoke(export_command, [edition, "-o", str(out)])
        assert result.exit_code != 0
        assert "no edition" in result.output
    assert not out.exists()
    result = runner.invoke(export_command, ["3", "-o", str(out), "--order", "5;x"])
    assert result.exit_code != 0 and "not entry numbers" in result.output
    result = runner.invoke(export_command, ["3", "-o", str(tmp_path / "missing" / "x.xlsx")])
    assert result.exit_code != 0 and "no such directory" in result.output


def test_audit_counts_cover_the_stages_events(app, scored_stage):
    from award.audit import record

    with app.app_context():
        stage = scored_stage.stage()
        other = stage.edition.stages[1]
        record("stage_updated", stage)
        record("stage_updated", other)
        record("judge_withdrawn", object_type="stage_panel", object_id=f"{stage.id}/{scored_stage.judge_ids[0]}")
        record("judge_withdrawn", object_type="stage_panel", object_id=f"{other.id}/{scored_stage.judge_ids[0]}")
        from award.models import ScoreSheet

        sheet = db.session.get(ScoreSheet, scored_stage.sheets[0])
        record("sheet_submitted", sheet)
        db.session.commit()
        freeze(scored_stage)
        counts = export_ops.stage_audit_counts(stage)
        assert counts == {"stage_updated": 1, "judge_withdrawn": 1, "sheet_submitted": 1, "results_frozen": 1}


def test_a_change_behind_the_freeze_is_flagged_and_the_snapshot_exported(app, scored_stage, client, login):
    with app.app_context():
        sha256 = freeze(scored_stage).sha256
        entry = db.session.get(Entry, scored_stage.favoured_entry_id)
        frozen_title, entry.title = entry.title, "改過的標題"  # changed behind the freeze
        db.session.commit()
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    book = load_workbook(io.BytesIO(response.data))
    summary = {r[0]: r[1] for r in book[T.SHEET_SUMMARY].iter_rows(min_row=2, values_only=True) if r[0]}
    assert summary[T.LABEL_HASH] == sha256 and summary[T.LABEL_WARNING] == T.LIVE_DIFFERS
    titles = {r[3] for r in book[T.SHEET_RANKING].iter_rows(min_row=2, values_only=True)}
    assert frozen_title in titles and "改過的標題" not in titles
    html = client.get(f"/results/export/stages/{scored_stage.stage_id}").get_data(as_text=True)
    assert 'id="live-differs"' in html


def test_every_results_page_of_the_stage_links_to_the_export_page(app, scored_stage, client, login):
    login.as_demo("organizer")
    stage_id = scored_stage.stage_id
    export_link = f'href="/results/export/stages/{stage_id}"'
    for path in (f"/results/stages/{stage_id}", f"/results/stages/{stage_id}/diagnostics",
                 f"/results/stages/{stage_id}/whatif"):
        assert export_link in client.get(path).get_data(as_text=True), path
