"""The organiser's side: screening with a reason the agency sees, filters and participation figures."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from award.extensions import db
from award.i18n import TAIPEI
from award.models import COUNTIES, DeadlineExtension, EntryStatus, OutgoingMail, Screening, StageEntry, utcnow
from entries_helpers import (actions, add_attachment, audit_count, category, complete_data, entry, login_client,
                             pass_deadline, start)


def _submitted(app, client, position: int = 0) -> int:
    entry_id = start(client, position)
    with app.app_context():
        add_attachment(entry_id)
        data = complete_data(entry_id)
    assert client.post(f"/entries/{entry_id}/submit", data=data).status_code == 302
    return entry_id


def _rows(html: str, table_id: str) -> list[str]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    return re.findall(r'<tr id="entry-(\d+)"', table)


def test_returning_an_entry_needs_a_reason_and_shows_it_to_the_agency(app, penghu, organizer):
    entry_id = _submitted(app, penghu)
    with app.app_context():
        count = audit_count()
    refused = organizer.post(f"/entries/{entry_id}/screening", data={"decision": "returned", "reason": " "})
    assert refused.status_code == 400 and 'id="reason-error"' in refused.get_data(as_text=True)
    with app.app_context():
        assert entry(entry_id).screening is Screening.PENDING and audit_count() == count
    reason = "佐證資料缺少首長簽章頁，請補正。"
    assert organizer.post(f"/entries/{entry_id}/screening",
                          data={"decision": "returned", "reason": reason}).status_code == 302
    with app.app_context():
        e = entry(entry_id)
        assert (e.screening, e.screening_reason, e.status) == (Screening.RETURNED, reason, EntryStatus.WITHDRAWN)
        assert e.latest_version.withdrawn_at is not None and e.screened_at is not None
        assert actions("entry")[-1] == "entry_screened"
        mail = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc())).first()
        assert mail.recipient == "ethics@penghu.example" and reason in mail.body
    mine = penghu.get("/entries/").get_data(as_text=True)
    row = re.search(rf'<tr id="entry-{entry_id}" data-status="withdrawn" data-screening="returned">.*?</tr>', mine, re.S)
    assert row and reason in row.group(0) and 'class="screening-reason"' in row.group(0)
    assert reason in penghu.get(f"/entries/{entry_id}/edit").get_data(as_text=True)
    # the agency corrects and submits again; screening starts afresh
    with app.app_context():
        data = complete_data(entry_id, summary="已補正首長簽章頁。")
    assert penghu.post(f"/entries/{entry_id}/submit", data=data).status_code == 302
    with app.app_context():
        e = entry(entry_id)
        assert e.status is EntryStatus.SUBMITTED and e.screening is Screening.PENDING
        assert [v.number for v in e.versions] == [1, 2]


def test_eligible_and_ineligible_decisions(app, penghu, organizer):
    entry_id = _submitted(app, penghu)
    assert organizer.post(f"/entries/{entry_id}/screening", data={"decision": "eligible"}).status_code == 302
    with app.app_context():
        e = entry(entry_id)
        assert e.screening is Screening.ELIGIBLE and e.status is EntryStatus.SUBMITTED
    assert organizer.post(f"/entries/{entry_id}/screening",
                          data={"decision": "ineligible", "reason": "非本屆參獎對象"}).status_code == 302
    with app.app_context():
        e = entry(entry_id)
        assert (e.screening, e.screening_reason, e.status) == (Screening.INELIGIBLE, "非本屆參獎對象",
                                                               EntryStatus.SUBMITTED)
        assert actions("entry").count("entry_screened") == 2
    assert "非本屆參獎對象" in penghu.get(f"/entries/{entry_id}").get_data(as_text=True)


def test_only_submitted_entries_are_screened(app, penghu, organizer):
    entry_id = start(penghu)
    organizer.post(f"/entries/{entry_id}/screening", data={"decision": "eligible"})
    with app.app_context():
        assert entry(entry_id).screening is Screening.PENDING and "entry_screened" not in actions()


def test_returning_after_the_deadline_with_a_correction_deadline(app, penghu, organizer):
    entry_id = _submitted(app, penghu)
    with app.app_context():
        pass_deadline()
    until = (utcnow() + timedelta(days=3)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    assert organizer.post(f"/entries/{entry_id}/screening", data={
        "decision": "returned", "reason": "請補附件", "correct_until": until}).status_code == 302
    with app.app_context():
        [extension] = db.session.scalars(select(DeadlineExtension)).all()
        assert extension.agency_id == entry(entry_id).agency_id and "請補附件" in extension.reason
        assert actions()[-2:] == ["entry_screened", "deadline_extended"]
    assert penghu.get(f"/entries/{entry_id}/edit").status_code == 200


def test_returning_after_the_deadline_needs_a_correction_deadline(app, penghu, organizer):
    """Without one the agency could neither correct nor submit again: the entry would drop out unseen."""
    entry_id = _submitted(app, penghu)
    with app.app_context():
        pass_deadline()
        count = audit_count()
    refused = organizer.post(f"/entries/{entry_id}/screening", data={"decision": "returned", "reason": "請補附件"})
    assert refused.status_code == 400 and 'id="correct_until-error"' in refused.get_data(as_text=True)
    with app.app_context():
        e = entry(entry_id)
        assert (e.status, e.screening) == (EntryStatus.SUBMITTED, Screening.PENDING) and audit_count() == count


def test_no_entry_is_returned_once_entries_have_closed(app, penghu, organizer):
    """In judging an agency cannot change or submit anything, even with a correction deadline."""
    from award.models import EditionStatus

    entry_id = _submitted(app, penghu)
    with app.app_context():
        entry(entry_id).category.edition.status = EditionStatus.JUDGING
        db.session.commit()
        count = audit_count()
    until = (utcnow() + timedelta(days=3)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    assert organizer.post(f"/entries/{entry_id}/screening", data={
        "decision": "returned", "reason": "請補附件", "correct_until": until}).status_code == 302
    with app.app_context():
        e = entry(entry_id)
        assert (e.status, e.screening) == (EntryStatus.SUBMITTED, Screening.PENDING) and audit_count() == count
        assert db.session.scalars(select(DeadlineExtension)).all() == []
    assert "開放收件期間才能退回補正" in organizer.get(f"/entries/{entry_id}").get_data(as_text=True)


def test_an_entry_being_judged_can_be_neither_withdrawn_nor_returned(app, penghu, organizer):
    """Judges score the submitted version: an extension granted later does not reopen it."""
    entry_id = _submitted(app, penghu)
    with app.app_context():
        e = entry(entry_id)
        db.session.add(StageEntry(stage_id=e.category.edition.stages[0].id, entry_id=entry_id))
        db.session.commit()
        count = audit_count()
    page = penghu.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert f'action="/entries/{entry_id}/withdraw"' not in page  # no button that cannot work
    refused = penghu.post(f"/entries/{entry_id}/withdraw", follow_redirects=True).get_data(as_text=True)
    assert "無法撤回或修改" in refused
    organizer.post(f"/entries/{entry_id}/screening", data={"decision": "returned", "reason": "請補附件"})
    with app.app_context():
        e = entry(entry_id)
        assert (e.status, e.screening) == (EntryStatus.SUBMITTED, Screening.PENDING) and audit_count() == count
        assert e.latest_version.withdrawn_at is None


def test_filters_and_counts(app, demo, penghu, organizer):
    penghu_entry = _submitted(app, penghu)  # 澎湖縣, outlying island, category 1
    green_entry = start(login_client(app, "greenisland"))  # 臺東縣, outlying island, draft
    moj_entry = start(login_client(app, "moj"), 1)  # 臺北市, main island, draft, category 2
    every = _rows(organizer.get("/entries/admin").get_data(as_text=True), "entries")
    assert sorted(map(int, every)) == sorted([penghu_entry, green_entry, moj_entry])

    def ids(**query):
        html = organizer.get("/entries/admin", query_string=query).get_data(as_text=True)
        found = sorted(int(i) for i in _rows(html, "entries")) if 'id="entries"' in html else []
        assert f'data-count="{len(found)}"' in html
        return found

    assert ids(county="澎湖縣") == [penghu_entry]
    assert ids(geography="outlying_island") == sorted([penghu_entry, green_entry])
    assert ids(geography="main_island") == [moj_entry]
    assert ids(status="submitted") == [penghu_entry]
    assert ids(status="draft") == sorted([green_entry, moj_entry])
    with app.app_context():
        second_category, edition_id = category(1).id, category(0).edition_id
    assert ids(category=second_category) == [moj_entry]
    assert ids(edition=edition_id, geography="outlying_island", status="draft") == [green_entry]
    assert ids(screening="eligible") == []
    assert ids(edition=999999) == []
    assert ids(status="nonsense") == sorted([penghu_entry, green_entry, moj_entry])  # unknown filter ignored
    html = organizer.get("/entries/admin").get_data(as_text=True)
    assert re.search(r'data-status="submitted"><strong>1</strong>', html)
    assert re.search(r'data-status="draft"><strong>2</strong>', html)


def test_participation_by_county_and_geography(app, demo, penghu, organizer):
    _submitted(app, penghu)
    start(login_client(app, "greenisland"))
    start(login_client(app, "moj"), 1)
    with app.app_context():
        edition_id = category(0).edition_id
    html = organizer.get("/entries/admin/participation", query_string={"edition": edition_id}).get_data(as_text=True)

    def cell(table: str, key: str, value: str, column: str) -> str:
        body = re.search(rf'<table[^>]*id="{table}".*?</table>', html, re.S).group(0)
        row = re.search(rf'<tr data-{key}="{value}".*?</tr>', body, re.S).group(0)
        return re.search(rf'data-col="{column}">([^<]*)<', row).group(1)

    county_table = re.search(r'<table[^>]*id="by-county".*?</table>', html, re.S).group(0)
    assert re.findall(r'<tr data-county="([^"]+)"', county_table) == list(COUNTIES)  # all 22, zeros shown
    assert cell("by-county", "county", "澎湖縣", "submitted") == "1"
    assert cell("by-county", "county", "澎湖縣", "participating") == "1"
    assert cell("by-county", "county", "臺東縣", "unsubmitted") == "1"  # Green Island township
    assert cell("by-county", "county", "臺東縣", "submitted") == "0"
    assert cell("by-county", "county", "連江縣", "submitted") == "0"
    assert cell("by-county", "county", "連江縣", "agencies") == "1"
    assert cell("by-geography", "geography", "outlying_island", "submitted") == "1"
    assert cell("by-geography", "geography", "outlying_island", "unsubmitted") == "1"
    assert cell("by-geography", "geography", "main_island", "unsubmitted") == "1"
    assert cell("by-geography", "geography", "remote", "submitted") == "0"
