"""Who may see an entry: confirmed assignments, and never an agency the judge is tied to."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from award import scoring_adapter
from award.entries.rules import can_view_entry
from award.extensions import db
from award.judging.rules import is_conflicted, judge_may_view, tied_agency_ids
from award.models import (Agency, Assignment, AssignmentStatus, Edition, Entry, Mark, ScoreSheet, SheetStatus,
                          StageEntry, Tie, TieKind, User, utcnow)


def _agency(code):
    return db.session.scalar(select(Agency).where(Agency.code == code))


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


def test_a_tie_to_a_supervising_authority_covers_its_subordinates(app, demo):
    with app.app_context():
        judge = _user("judge1@award.example")
        taitung, green_island = _agency("DEMO-C4000"), _agency("DEMO-C4010")
        db.session.add(Tie(judge_id=judge.id, agency_id=taitung.id, kind=TieKind.FORMER_EMPLOYER, years="2015-2019"))
        db.session.commit()
        assert is_conflicted(judge.id, green_island.id)  # 綠島鄉公所 is under 臺東縣政府
        assert is_conflicted(judge.id, taitung.id)
        assert not is_conflicted(judge.id, _agency("DEMO-C1000").id)
        assert not is_conflicted(_user("judge2@award.example").id, green_island.id)


def test_a_retracted_tie_no_longer_counts(app, demo):
    with app.app_context():
        judge = _user("judge1@award.example")
        db.session.add(Tie(judge_id=judge.id, agency_id=_agency("DEMO-C1000").id, kind=TieKind.OTHER,
                           description="誤植", retracted_at=utcnow(), retraction_reason="entered in error"))
        db.session.commit()
        assert tied_agency_ids(judge.id) == set()


def test_judge_sees_an_entry_only_through_a_confirmed_tie_free_assignment(app, demo):
    with app.app_context():
        judge = _user("judge1@award.example")
        edition = db.session.scalar(select(Edition))
        penghu = _agency("DEMO-C1000")
        entry = Entry(category=edition.categories[0], agency=penghu, title="澎湖縣廉能計畫")
        db.session.add(entry)
        db.session.flush()
        assignment = Assignment(stage_id=edition.stages[0].id, entry_id=entry.id, judge_id=judge.id)
        db.session.add(assignment)
        db.session.commit()
        assert not judge_may_view(judge, entry) and not can_view_entry(judge, entry)  # not yet confirmed
        assignment.status = AssignmentStatus.CONFIRMED
        db.session.commit()
        assert judge_may_view(judge, entry) and can_view_entry(judge, entry)
        db.session.add(Tie(judge_id=judge.id, agency_id=penghu.id, kind=TieKind.ADVISORY))
        db.session.commit()
        assert not can_view_entry(judge, entry)  # a tie declared later wins over the assignment
        assert not can_view_entry(_user("judge2@award.example"), entry)


def test_adapter_ranks_a_stage_from_submitted_sheets_only(app, demo):
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        stage, category = edition.stages[0], edition.categories[0]
        judges = [_user(f"judge{n}@award.example") for n in (1, 2, 3)]
        entries = []
        for code, title in (("DEMO-C1000", "甲"), ("DEMO-C2000", "乙")):
            entry = Entry(category=category, agency=_agency(code), title=title)
            db.session.add(entry)
            db.session.flush()
            db.session.add(StageEntry(stage_id=stage.id, entry_id=entry.id))
            entries.append(entry)
        # Entry 甲 gets 90 on every criterion from every judge, 乙 gets 80; judge3's sheet on 乙 is a draft.
        for entry, score in ((entries[0], 90), (entries[1], 80)):
            for judge in judges:
                draft = judge is judges[2] and entry is entries[1]
                sheet = ScoreSheet(entry_id=entry.id, judge_id=judge.id, stage_id=stage.id,
                                   status=SheetStatus.DRAFT if draft else SheetStatus.SUBMITTED)
                sheet.marks = [Mark(criterion_id=c.id, score=Decimal(score if not draft else 10))
                               for c in category.criteria]
                db.session.add(sheet)
        db.session.commit()
        result = scoring_adapter.rank(stage, category)
        by_entry = {r.entry: r for r in result.entries}
        assert by_entry[str(entries[0].id)].total == Decimal("90.00") and by_entry[str(entries[0].id)].rank == 1
        assert by_entry[str(entries[1].id)].total == Decimal("80.00")  # the draft's 10s are not counted
        assert by_entry[str(entries[1].id)].n_judges == 2
        assert by_entry[str(entries[0].id)].tier == "特優"
        live = scoring_adapter.live_total(category.criteria, {category.criteria[0].id: Decimal(50)})
        assert live == Decimal("10.00")  # 20 points × 50/100
