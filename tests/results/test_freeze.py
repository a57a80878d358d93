"""Freeze (成績凍結): the snapshot and its hash, what a freeze closes, unfreezing with a reason."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from award.extensions import db
from award.models import (Agency, Assignment, AssignmentStatus, AuditEvent, Entry, EntryStatus, Mark, ResultSnapshot,
                          ScoreSheet, Screening, SheetStatus, StageEntry, utcnow)
from award.results import operations as ops
from award.results.payload import build_payload, payload_hash, payload_json

ORGANIZER = "organizer@award.example"


def audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def snapshot_count() -> int:
    return db.session.scalar(select(func.count(ResultSnapshot.id)))


def test_freeze_stores_the_payload_and_its_sha256(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        expected = build_payload(stage)
        response = client.post(f"/results/stages/{stage.id}/freeze")
        assert response.status_code == 302
        snapshot = ops.active_snapshot(stage)
        assert snapshot is not None and ops.is_frozen(stage)
        assert snapshot.payload == payload_json(expected)
        assert snapshot.sha256 == hashlib.sha256(snapshot.payload.encode()).hexdigest() == payload_hash(expected)
        assert snapshot.frozen_by_id == scored_stage.organizer_id and snapshot.unfrozen_at is None
        stored = json.loads(snapshot.payload)
        assert stored["config"]["method"] == "trimmed" and stored["config"]["round_each_stage"] is True
        assert sum(len(c["marks"]) for c in stored["categories"]) == scored_stage.marks
        assert ops.verify_snapshot(snapshot) and ops.snapshot_matches_live(snapshot)
        [event] = audit("results_frozen")
        assert event.object_type == "result_snapshot" and event.object_id == str(snapshot.id)
        assert json.loads(event.after)["sha256"] == snapshot.sha256
        assert event.actor_id == scored_stage.organizer_id
        html = client.get(f"/results/stages/{stage.id}").get_data(as_text=True)
        assert 'id="freeze-status" data-frozen="1"' in html
        assert f'<span class="mono" id="frozen-hash">{snapshot.sha256}</span>' in html
        assert 'id="unfreeze-form"' in html and 'id="freeze-form"' not in html


def test_ensure_not_frozen_refuses_while_frozen(app, scored_stage):
    with app.app_context():
        stage, organizer = scored_stage.stage(), scored_stage.user(ORGANIZER)
        ops.ensure_not_frozen(stage)  # not frozen: no objection
        ops.freeze(stage, organizer)
        with pytest.raises(ops.ResultsError) as refused:
            ops.ensure_not_frozen(stage)
        assert refused.value.message == ops.frozen_message()
        ops.unfreeze(stage, organizer, "A judge's mark was entered on the wrong criterion.")
        ops.ensure_not_frozen(stage)


def _late_assignment(scored_stage) -> Assignment:
    """An entry added to the stage, with judge1 assigned and confirmed (made directly, as a setup)."""
    stage = scored_stage.stage()
    agency = db.session.scalar(select(Agency).where(Agency.code == "DEMO-C5000"))
    entry = Entry(category_id=scored_stage.category_ids[0], agency=agency, title="屏東縣政府廉能治理",
                  status=EntryStatus.SUBMITTED, screening=Screening.ELIGIBLE)
    db.session.add(entry)
    db.session.flush()
    db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id, basis="late"))
    assignment = Assignment(stage_id=stage.id, entry_id=entry.id, judge_id=scored_stage.judge_ids[0],
                            status=AssignmentStatus.CONFIRMED, confirmed_at=utcnow())
    db.session.add(assignment)
    db.session.commit()
    return assignment


def test_a_score_save_after_freezing_is_refused(app, scored_stage):
    from award.judging.sheets import SheetError, reopen_sheet, save_sheet, sheet_for

    with app.app_context():
        stage, organizer = scored_stage.stage(), scored_stage.user(ORGANIZER)
        ops.freeze(stage, organizer)
        assignment = _late_assignment(scored_stage)
        judge = assignment.judge
        criteria = assignment.entry.category.criteria
        marks = {c.id: (Decimal(80), "") for c in criteria}
        with pytest.raises(SheetError) as refused:
            save_sheet(judge, assignment, marks, "", 0)
        assert refused.value.message == ops.frozen_message()
        assert sheet_for(judge.id, assignment.entry_id, stage.id) is None
        # nor can an organiser reopen a submitted sheet of the frozen stage
        sheet = db.session.get(ScoreSheet, scored_stage.sheets[0])
        with pytest.raises(SheetError):
            reopen_sheet(organizer, sheet, "The judge asked to correct a mark.")
        db.session.refresh(sheet)
        assert sheet.status is SheetStatus.SUBMITTED
        # unfrozen with a reason, the save goes through
        ops.unfreeze(stage, organizer, "A late entry was admitted on appeal.")
        saved = save_sheet(judge, db.session.get(Assignment, assignment.id), marks, "", 0)
        assert saved.id is not None and len(saved.marks) == len(criteria)


def test_freeze_is_refused_while_sheets_are_not_submitted(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        sheet = db.session.get(ScoreSheet, scored_stage.sheets[0])
        sheet.status, sheet.submitted_at = SheetStatus.DRAFT, None  # reopened, not yet submitted again
        db.session.commit()
        _late_assignment(scored_stage)  # assigned, no sheet at all
        events = db.session.scalar(select(func.count(AuditEvent.id)))
        response = client.post(f"/results/stages/{stage.id}/freeze")
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert 'id="freeze-refused"' in html and "屏東縣政府廉能治理" in html
        assert snapshot_count() == 0 and db.session.scalar(select(func.count(AuditEvent.id))) == events
        with pytest.raises(ops.ResultsError) as refused:
            ops.freeze(stage, scored_stage.user(ORGANIZER))
        assert len(ops.outstanding_sheets(stage)) == 2
        assert any("2" in p for p in refused.value.problems)
        assert snapshot_count() == 0


def test_a_withdrawn_judges_draft_does_not_block_the_freeze(app, scored_stage):
    with app.app_context():
        stage = scored_stage.stage()
        sheet = db.session.get(ScoreSheet, scored_stage.sheets[0])
        sheet.status, sheet.submitted_at = SheetStatus.DRAFT, None
        assignment = db.session.scalar(select(Assignment).where(Assignment.entry_id == sheet.entry_id,
                                                                Assignment.judge_id == sheet.judge_id))
        assignment.status = AssignmentStatus.WITHDRAWN
        db.session.commit()
        assert ops.outstanding_sheets(stage) == []
        snapshot = ops.freeze(stage, scored_stage.user(ORGANIZER))
        stored = json.loads(snapshot.payload)
        assert sum(len(c["marks"]) for c in stored["categories"]) == scored_stage.marks - 5


def test_freeze_is_refused_when_a_category_cannot_be_ranked(app, scored_stage):
    with app.app_context():
        stage = scored_stage.stage()
        stage.trim = 3
        db.session.commit()
        with pytest.raises(ops.ResultsError) as refused:
            ops.freeze(stage, scored_stage.user(ORGANIZER))
        assert len(refused.value.problems) == 2  # both categories, each with the engine's reason
        assert snapshot_count() == 0 and audit("results_frozen") == []


def test_freeze_is_refused_twice_and_to_non_organisers(app, scored_stage):
    with app.app_context():
        stage = scored_stage.stage()
        ops.freeze(stage, scored_stage.user(ORGANIZER))
        with pytest.raises(ops.ResultsError):
            ops.freeze(stage, scored_stage.user(ORGANIZER))
        with pytest.raises(ops.ResultsError):
            ops.unfreeze(stage, scored_stage.user("judge1@award.example"), "I would like to change my marks.")
        assert snapshot_count() == 1 and len(audit("results_frozen")) == 1 and ops.is_frozen(stage)


def test_nothing_to_freeze_in_a_stage_without_marks(app, scored_stage):
    with app.app_context():
        second = scored_stage.stage().edition.stages[1]
        with pytest.raises(ops.ResultsError):
            ops.freeze(second, scored_stage.user(ORGANIZER))
        assert snapshot_count() == 0


@pytest.mark.parametrize("reason", ["", "   \n  ", "x" * (ops.REASON_LIMIT + 1)])
def test_unfreeze_requires_a_reason(app, scored_stage, client, login, reason):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        snapshot = ops.freeze(stage, scored_stage.user(ORGANIZER))
        response = client.post(f"/results/stages/{stage.id}/unfreeze", data={"reason": reason})
        assert response.status_code in (400, 409)
        assert 'id="reason-error"' in response.get_data(as_text=True)
        with pytest.raises(ops.ResultsError):
            ops.unfreeze(stage, scored_stage.user(ORGANIZER), reason)
        db.session.refresh(snapshot)
        assert snapshot.unfrozen_at is None and ops.is_frozen(stage) and audit("results_unfrozen") == []


def test_unfreeze_keeps_the_snapshot_and_records_the_reason(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        snapshot = ops.freeze(stage, scored_stage.user(ORGANIZER))
        sha, payload = snapshot.sha256, snapshot.payload
        reason = "評審委員三號第二項評分誤植，經評審會議決議更正。"
        response = client.post(f"/results/stages/{stage.id}/unfreeze", data={"reason": reason})
        assert response.status_code == 302
        db.session.expire_all()
        kept = db.session.get(ResultSnapshot, snapshot.id)
        assert kept.unfrozen_at is not None and kept.unfrozen_by_id == scored_stage.organizer_id
        assert kept.unfreeze_reason == reason and kept.sha256 == sha and kept.payload == payload
        assert not ops.is_frozen(stage) and ops.verify_snapshot(kept)
        [event] = audit("results_unfrozen")
        after = json.loads(event.after)
        assert after["reason"] == reason and after["sha256"] == sha and event.object_id == str(snapshot.id)
        html = client.get(f"/results/stages/{stage.id}").get_data(as_text=True)
        assert 'id="freeze-status" data-frozen="0"' in html
        assert f'<tr id="snapshot-{snapshot.id}" data-active="0">' in html and reason in html


def test_a_second_freeze_makes_a_second_snapshot(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage, organizer = scored_stage.stage(), scored_stage.user(ORGANIZER)
        first = ops.freeze(stage, organizer)
        ops.unfreeze(stage, organizer, "A mark was corrected after the panel met.")
        mark = db.session.scalar(select(Mark).join(ScoreSheet).where(ScoreSheet.id == scored_stage.sheets[0])
                                 .order_by(Mark.id).limit(1))
        mark.score = mark.score - 5  # the corrected mark (the sheet's own operations are tested elsewhere)
        db.session.commit()
        second = ops.freeze(stage, organizer)
        assert second.id != first.id and second.sha256 != first.sha256
        assert ops.active_snapshot(stage).id == second.id and snapshot_count() == 2
        assert ops.verify_snapshot(first) and not ops.snapshot_matches_live(first)
        assert ops.verify_snapshot(second) and ops.snapshot_matches_live(second)
        assert [s.id for s in ops.snapshots(stage)] == [second.id, first.id]
        assert len(audit("results_frozen")) == 2
        html = client.get(f"/results/stages/{stage.id}").get_data(as_text=True)
        assert f'<tr id="snapshot-{first.id}" data-active="0">' in html
        assert f'<tr id="snapshot-{second.id}" data-active="1">' in html
        old = client.get(f"/results/snapshots/{first.id}").get_data(as_text=True)
        assert 'id="snapshot-live" data-matches="0"' in old and 'id="snapshot-verified" data-ok="1"' in old


def test_the_snapshot_download_hashes_to_the_snapshot(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        snapshot = ops.freeze(scored_stage.stage(), scored_stage.user(ORGANIZER))
        response = client.get(f"/results/snapshots/{snapshot.id}.json")
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert hashlib.sha256(response.data).hexdigest() == snapshot.sha256
        assert "attachment" in response.headers["Content-Disposition"]
        assert json.loads(response.data)["stage"]["id"] == scored_stage.stage_id
        page = client.get(f"/results/snapshots/{snapshot.id}").get_data(as_text=True)
        assert snapshot.sha256 in page and 'id="snapshot-verified" data-ok="1"' in page
        assert 'id="snapshot-live" data-matches="1"' in page


def test_an_altered_snapshot_fails_verification(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        snapshot = ops.freeze(scored_stage.stage(), scored_stage.user(ORGANIZER))
        snapshot.payload = snapshot.payload.replace('"rank":1,', '"rank":2,', 1)  # tampering behind the app's back
        db.session.commit()
        assert not ops.verify_snapshot(snapshot)
        page = client.get(f"/results/snapshots/{snapshot.id}").get_data(as_text=True)
        assert 'id="snapshot-verified" data-ok="0"' in page


def test_a_change_behind_a_freeze_shows_and_the_snapshot_stays_official(app, scored_stage, client, login):
    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        snapshot = ops.freeze(stage, scored_stage.user(ORGANIZER))
        frozen = {e["id"]: e["total"] for c in json.loads(snapshot.payload)["categories"] for e in c["entries"]}
        for mark in db.session.scalars(select(Mark).join(ScoreSheet)
                                       .where(ScoreSheet.entry_id == scored_stage.favoured_entry_id)):
            mark.score = Decimal(60)  # written directly, past every check
        db.session.commit()
        html = client.get(f"/results/stages/{stage.id}").get_data(as_text=True)
        assert 'id="live-differs"' in html
        shown = {int(e): t for e, t in re.findall(r'<tr id="entry-(\d+)"[^>]*data-total="([^"]+)"', html)}
        assert shown == frozen


def test_withdrawing_a_judge_cannot_exclude_sheets_of_a_frozen_stage(app, scored_stage):
    from award.judging.assign_ops import AssignmentError, SheetDecision, submitted_sheets_of, withdraw_judge

    with app.app_context():
        stage, organizer = scored_stage.stage(), scored_stage.user(ORGANIZER)
        sheet = db.session.get(ScoreSheet, scored_stage.sheets[0])
        judge = sheet.judge
        ops.freeze(stage, organizer)
        exclude = {s.id: SheetDecision(exclude=True, reason="Tied to the agency.")
                   for s in submitted_sheets_of(stage, judge)}
        with pytest.raises(AssignmentError) as refused:
            withdraw_judge(stage, judge, "Declared a tie late.", exclude, organizer)
        assert refused.value.message == ops.frozen_message()
        db.session.refresh(sheet)
        assert sheet.excluded is False and not audit("judge_withdrawn")


def test_a_tie_declared_while_frozen_leaves_the_result_and_voids_the_sheet_at_the_unfreeze(app, scored_stage, client,
                                                                                          login):
    """The tie is recorded at once, but the marks a frozen result was made of stay as they were (the
    page says a sheet it counts is void); unfreezing excludes it, and a new freeze no longer counts it."""
    from award.judging import conflicts
    from award.models import Tie, TieKind, User

    login.as_demo("organizer")
    with app.app_context():
        stage = scored_stage.stage()
        first = ops.freeze(stage, scored_stage.user(ORGANIZER))
        judge = db.session.get(User, scored_stage.judge_ids[0])
        entry = db.session.get(Entry, scored_stage.entry_ids[scored_stage.category_ids[0]][0])
        sheet_id = db.session.scalar(select(ScoreSheet.id).where(ScoreSheet.judge_id == judge.id,
                                                                 ScoreSheet.entry_id == entry.id))
        effects = conflicts.declare_tie(judge, conflicts.TieData(entry.agency_id, TieKind.ADVISORY))
        assert [s.id for s in effects.deferred] == [sheet_id] and effects.excluded == []
        assert db.session.get(ScoreSheet, sheet_id).excluded is False
        assert ops.snapshot_matches_live(first) and ops.is_frozen(stage)
        assert [a.object_id for a in audit("sheet_exclusion_deferred")] == [str(sheet_id)]
        tie_id = db.session.scalar(select(Tie.id).where(Tie.judge_id == judge.id))
    page = client.get(f"/results/stages/{scored_stage.stage_id}").get_data(as_text=True)
    warning = page.split('id="tied-after-freeze"', 1)[1].split("</div>", 1)[0]
    assert f'data-sheet="{sheet_id}"' in warning and f"#{tie_id}" in warning
    with app.app_context():
        stage = scored_stage.stage()
        ops.unfreeze(stage, scored_stage.user(ORGANIZER), "委員事後申報利益迴避")
        sheet = db.session.get(ScoreSheet, sheet_id)
        assert sheet.excluded and f"#{tie_id}" in sheet.excluded_reason
        assert str(sheet_id) in [a.object_id for a in audit("sheet_excluded")]
        assert conflicts.tied_sheets(stage.id) == []
        second = ops.freeze(stage, scored_stage.user(ORGANIZER))
        assert second.sha256 != first.sha256
    assert 'id="tied-after-freeze"' not in client.get(f"/results/stages/{scored_stage.stage_id}").get_data(as_text=True)


def test_downloading_a_snapshots_json_is_recorded_as_an_export(app, client, login, scored_stage):
    import json

    from award.audit import verify_chain

    with app.app_context():
        snapshot_id = ops.freeze(scored_stage.stage(), scored_stage.user(ORGANIZER)).id
    login.as_demo("organizer")
    for _ in range(2):  # every download, not once per quarter hour
        assert client.get(f"/results/snapshots/{snapshot_id}.json").status_code == 200
    with app.app_context():
        exports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "personal_data.exported")).all()
        assert len(exports) == 2 and all(json.loads(e.after)["whose"]["snapshot"] == snapshot_id for e in exports)
        assert exports[0].actor_label.startswith("organizer@award.example") and verify_chain().ok
