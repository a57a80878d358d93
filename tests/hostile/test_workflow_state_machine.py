"""A hypothesis state machine drives the judging workflow through the operations layer — assign,
confirm, declare a tie (also to a supervising authority), score, submit, reopen, freeze, unfreeze —
on the results tests' scored stage, and checks the invariants after every step:

* a judge tied to an entry's agency (directly or through the hierarchy) never has a counted score;
* a frozen snapshot never changes, and while frozen the official results are the snapshot;
* the ranking the results page uses equals a fresh recomputation by the scoring engine;
* the audit chain verifies.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from hostile_support import _results_fixtures
from award import scoring_adapter
from award.audit.operations import verify_chain
from award.extensions import db
from award.judging import assign_ops, conflicts, sheets
from award.judging.rules import tied_agency_ids
from award.models import (Assignment, Entry, ResultSnapshot, ScoreSheet, SheetStatus, Stage, TieKind, User)
from award.results import operations as results_ops
from award.results.payload import payload_hash

DOMAIN_ERRORS = (assign_ops.AssignmentError, conflicts.TieError, sheets.SheetError, results_ops.ResultsError)
INDEX = st.integers(min_value=0, max_value=1000)


def _reset_database():
    from award.demo import load_demo

    from audit_support import empty_all_tables

    empty_all_tables()
    load_demo()
    return _results_fixtures().build_scored_stage()


class Workflow(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.world = _reset_database()
        self.frozen: dict[int, tuple[str, str]] = {}  # snapshot id → (sha256, payload) when frozen

    # --- helpers ---------------------------------------------------------------------------------
    def stage(self) -> Stage:
        return db.session.get(Stage, self.world.stage_id)

    def organizer(self) -> User:
        return db.session.get(User, self.world.organizer_id)

    def pick(self, rows, index):
        rows = list(rows)
        return rows[index % len(rows)] if rows else None

    def attempt(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except DOMAIN_ERRORS:
            db.session.rollback()
            return None

    # --- rules -----------------------------------------------------------------------------------
    @rule(entry=INDEX, judge=INDEX)
    def assign(self, entry, judge):
        entry = self.pick(db.session.scalars(select(Entry).order_by(Entry.id)), entry)
        judge = db.session.get(User, self.pick(self.world.judge_ids, judge))
        self.attempt(assign_ops.assign, self.stage(), entry, judge, self.organizer())

    @rule(index=INDEX)
    def confirm(self, index):
        assignment = self.pick(db.session.scalars(select(Assignment).order_by(Assignment.id)), index)
        self.attempt(assign_ops.confirm_assignment, assignment, assignment.judge)

    @rule(entry=INDEX, judge=INDEX, supervisor=st.booleans())
    def declare_tie(self, entry, judge, supervisor):
        entry = self.pick(db.session.scalars(select(Entry).order_by(Entry.id)), entry)
        agency = entry.agency.supervisor if supervisor and entry.agency.supervisor else entry.agency
        judge = db.session.get(User, self.pick(self.world.judge_ids, judge))
        self.attempt(conflicts.declare_tie, judge, conflicts.TieData(agency.id, TieKind.OTHER, "", "state machine"))

    @rule(index=INDEX, mark=st.integers(min_value=0, max_value=100), submit=st.booleans(),
          comment=st.text(max_size=20))
    def score(self, index, mark, submit, comment):
        assignment = self.pick(db.session.scalars(select(Assignment).order_by(Assignment.id)), index)
        sheet = sheets.sheet_for(assignment.judge_id, assignment.entry_id, assignment.stage_id)
        criteria = sheets.criteria_of(assignment.entry, assignment.stage)
        marks = {c.id: (Decimal(mark), "極端分數說明") for c in criteria}
        self.attempt(sheets.save_sheet, assignment.judge, assignment, marks, comment,
                     sheet.version if sheet else 0, submit=submit)

    @rule(index=INDEX)
    def reopen(self, index):
        sheet = self.pick(db.session.scalars(select(ScoreSheet).order_by(ScoreSheet.id)), index)
        self.attempt(sheets.reopen_sheet, self.organizer(), sheet, "重新評分")

    @rule()
    def freeze(self):
        snapshot = self.attempt(results_ops.freeze, self.stage(), self.organizer())
        if snapshot is not None:
            self.frozen[snapshot.id] = (snapshot.sha256, snapshot.payload)

    @rule()
    def unfreeze(self):
        self.attempt(results_ops.unfreeze, self.stage(), self.organizer(), "更正評分")

    # --- invariants ------------------------------------------------------------------------------
    @invariant()
    def a_conflicted_judge_never_holds_a_counted_score(self):
        db.session.expire_all()
        frozen = results_ops.is_frozen(self.stage())
        for sheet in db.session.scalars(select(ScoreSheet)):
            if sheet.entry.agency_id in tied_agency_ids(sheet.judge_id) and sheet.marks:
                # a tie declared while frozen voids the sheet at the unfreeze, not behind the freeze
                assert sheet.excluded or sheet.status is not SheetStatus.SUBMITTED or frozen, sheet.id
        if frozen:
            return
        payload = results_ops.live_payload(self.stage())
        for category in payload["categories"]:
            entries = {e.id: e for e in db.session.scalars(select(Entry))}
            for mark in category["marks"]:
                assert entries[mark["entry"]].agency_id not in tied_agency_ids(mark["judge"])

    @invariant()
    def a_frozen_snapshot_never_changes(self):
        stage = self.stage()
        for snapshot_id, (sha, payload) in self.frozen.items():
            snapshot = db.session.get(ResultSnapshot, snapshot_id)
            assert (snapshot.sha256, snapshot.payload) == (sha, payload)
            assert results_ops.verify_snapshot(snapshot)
        active = results_ops.active_snapshot(stage)
        if active is not None:
            assert payload_hash(results_ops.official_results(stage).payload) == active.sha256
            assert results_ops.snapshot_matches_live(active)  # nothing changes the marks behind a freeze

    @invariant()
    def the_ranking_equals_a_fresh_recomputation(self):
        stage = self.stage()
        official = results_ops.official_results(stage)
        if official.snapshot is not None:
            return  # checked against the snapshot above
        shown = {c["id"]: [(e["id"], e["rank"], e["total"]) for e in c["entries"]]
                 for c in official.payload["categories"]}
        for category in stage.edition.categories:
            if not scoring_adapter.stage_marks(stage, category):
                assert shown[category.id] == []
                continue
            try:
                fresh = scoring_adapter.rank(stage, category)
            except Exception:  # noqa: BLE001 - an unrankable category shows no ranking
                assert shown[category.id] == []
                continue
            assert shown[category.id] == [(int(r.entry), r.rank, str(r.total)) for r in fresh.entries]

    @invariant()
    def the_audit_chain_verifies(self):
        result = verify_chain()
        assert result.ok, result.message


def test_the_workflow_keeps_its_invariants(app, demo):
    with app.app_context():
        run_state_machine_as_test(Workflow, settings=settings(
            max_examples=4, stateful_step_count=10, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
