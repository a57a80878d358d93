"""Automatic Merkle checkpoints (and the personal-data export record): judging opens or the edition closes, a stage advances, results are frozen,
a workbook is exported; the workbook's 稽核摘要 sheet and the results page print the latest one."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from award.audit.checkpoints import inclusion_proof, verify_checkpoints
from award.audit.proofcheck import check
from award.editions.operations import change_status
from award.extensions import db
from award.models import AuditCheckpoint, AuditEvent, Edition, EditionStatus
from award.results import operations as ops
from award.results import workbook_text as T

ORGANIZER = "organizer@award.example"


@pytest.fixture
def app(app):
    from award.results import export_views

    if export_views.bp.name not in app.blueprints:
        app.register_blueprint(export_views.bp)
    return app


def _checkpoints() -> list[AuditCheckpoint]:
    return list(db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)))


def _last_seq() -> int:
    return db.session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))


def test_freezing_takes_a_checkpoint_after_the_freeze_event(app, scored_stage):
    with app.app_context():
        before = len(_checkpoints())
        ops.freeze(scored_stage.stage(), scored_stage.user(ORGANIZER))
        [*_, checkpoint] = _checkpoints()
        assert len(_checkpoints()) == before + 1
        assert checkpoint.reason.startswith("results frozen: 3 ")
        assert checkpoint.recorded_by.startswith(ORGANIZER)
        frozen = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "results_frozen"))
        assert checkpoint.event_count == frozen.seq  # the freeze is the last event it covers
        assert _last_seq() == frozen.seq + 1  # then the checkpoint's own event
        assert check(inclusion_proof(frozen.seq)).startswith(f"OK: event #{frozen.seq} (results_frozen)")
        assert verify_checkpoints().ok


def test_the_workbook_and_the_results_page_print_the_latest_checkpoint(app, scored_stage, client, login):
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    assert response.status_code == 200
    with app.app_context():
        checkpoint = _checkpoints()[-1]
        assert checkpoint.reason.startswith("workbook export: 3 ")
        exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "results_exported"))
        # every event before the export; then the checkpoint's event, the personal-data export, results_exported
        assert checkpoint.event_count == exported.seq - 3
    rows = [r for r in load_workbook(io.BytesIO(response.data))[T.SHEET_AUDIT].iter_rows(min_row=2, values_only=True)
            if r[0] == T.AUDIT_CHECKPOINT]
    assert rows[0] == (T.AUDIT_CHECKPOINT, T.AUDIT_CHECKPOINT_ROOT, f"#{checkpoint.id}", checkpoint.event_count,
                       checkpoint.root_hash)
    assert rows[1][4].endswith(f"（{checkpoint.reason}）")
    page = client.get(f"/results/stages/{scored_stage.stage_id}").get_data(as_text=True)
    assert f'<span class="mono" id="checkpoint-root">{checkpoint.root_hash}</span>' in page
    assert f"#{checkpoint.id}" in page
    csv = client.get(f"/results/export/stages/{scored_stage.stage_id}.csv")
    assert csv.status_code == 200
    with app.app_context():
        latest = _checkpoints()[-1]  # a CSV export takes its own, and prints it on every row
        assert latest.id == checkpoint.id + 1 and latest.reason.startswith("ranking CSV export: 3 ")
    rows = csv.data[3:].decode("utf-8").splitlines()[1:]
    assert rows and all(row.endswith(f",{latest.event_count},{latest.root_hash}") for row in rows)


def test_a_workbook_without_any_checkpoint_says_so():
    from datetime import datetime, timezone

    from award.results.workbook import _checkpoint_rows

    assert _checkpoint_rows(None)[0][4] == T.CHECKPOINT_NONE
    from award.results.workbook import CheckpointInfo

    rows = _checkpoint_rows(CheckpointInfo(7, 12, "ab" * 32, datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc), "why"))
    assert rows[0][2:] == ["#7", 12, "ab" * 32] and rows[1][4] == "2026-01-02 11:04:00（臺北時間）（why）"


def test_judging_opening_and_the_edition_closing_take_checkpoints(app, demo):
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        assert edition.status is EditionStatus.OPEN and _checkpoints() == []
        change_status(edition, EditionStatus.JUDGING)
        [opened] = _checkpoints()
        assert opened.reason == f"edition {edition.number} status: judging"
        change_status(edition, EditionStatus.OPEN)
        assert len(_checkpoints()) == 1  # reopening entries takes none
        change_status(edition, EditionStatus.JUDGING)
        change_status(edition, EditionStatus.CLOSED)
        *_, closed = _checkpoints()
        assert len(_checkpoints()) == 3 and closed.reason == f"edition {edition.number} status: closed"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.checkpoint")
                                  .order_by(AuditEvent.seq.desc()))
        assert json.loads(event.after)["event_count"] == closed.event_count == event.seq - 1
        assert verify_checkpoints().ok


def test_exporting_the_workbook_records_a_personal_data_export(app, scored_stage, client, login):
    login.as_demo("organizer")
    response = client.get(f"/results/export/stages/{scored_stage.stage_id}.xlsx")
    assert response.status_code == 200
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.exported"))
        after = json.loads(event.after)
        assert event.actor_id == scored_stage.organizer_id and "heads of agencies" in after["what"]
        assert after["whose"]["stage"] == scored_stage.stage_id and len(after["whose"]["agencies"]) == 9
    assert load_workbook(io.BytesIO(response.data))  # the file itself is unchanged by the record
    assert client.get(f"/results/export/stages/{scored_stage.stage_id}.csv").status_code == 200
    with app.app_context():
        assert len(list(db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "personal_data.exported")))) == 1  # the CSV names no person
