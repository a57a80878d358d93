"""Completeness, frozen versions with their SHA-256, receipts, withdrawal, the deadline and extensions."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from award.audit import canonical_json, verify_chain
from award.extensions import db
from award.i18n import TAIPEI
from award.models import DeadlineExtension, EntryStatus, EntryVersion, OutgoingMail, utcnow
from entries_helpers import (actions, add_attachment, agency, complete_data, edition, entry, login_client,
                             pass_deadline, start)


def _missing(html: str) -> list[str]:
    return re.findall(r'data-missing="([^"]+)"', html)


def _versions(entry_id: int) -> list[EntryVersion]:
    db.session.expire_all()
    return list(db.session.scalars(select(EntryVersion).where(EntryVersion.entry_id == entry_id)
                                   .order_by(EntryVersion.number)))


def _submit_complete(app, client, entry_id: int, **overrides):
    """Save a complete entry with one attachment and submit it from the edit page."""
    with app.app_context():
        if not entry(entry_id).active_attachments:
            add_attachment(entry_id)
        data = complete_data(entry_id, **overrides)
    return client.post(f"/entries/{entry_id}/submit", data=data)


def test_completeness_lists_exactly_what_is_missing(app, penghu):
    entry_id = start(penghu)
    response = penghu.post(f"/entries/{entry_id}/submit", data={"draft_version": "1"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    with app.app_context():
        sections = [f"section_{c.id}" for c in entry(entry_id).category.criteria]
    # head of agency, contact name and e-mail are prefilled; everything else is listed, in form order
    assert _missing(html) == ["contact_phone", "title", "summary", *sections, "attachments", "head_declaration"]
    for anchor in _missing(html):
        assert f'href="#{anchor}"' in html
        assert f'id="{anchor}"' in html  # every link leads to its field
    with app.app_context():
        assert entry(entry_id).status is EntryStatus.DRAFT and _versions(entry_id) == []


def test_only_the_attachment_missing_is_named_alone(app, penghu):
    entry_id = start(penghu)
    with app.app_context():
        data = complete_data(entry_id)
    response = penghu.post(f"/entries/{entry_id}/submit", data=data)
    assert response.status_code == 422
    assert _missing(response.get_data(as_text=True)) == ["attachments"]
    with app.app_context():
        e = entry(entry_id)
        assert e.title == "離島廉能治理" and e.status is EntryStatus.DRAFT  # the typed text was saved first
    # the page shown again carries the new version, so the next save is not a conflict
    assert f'name="draft_version" value="{e.draft_version}"' in response.get_data(as_text=True)


def test_whitespace_only_sections_do_not_count_as_written(app, penghu):
    entry_id = start(penghu)
    with app.app_context():
        add_attachment(entry_id)
        first = entry(entry_id).category.criteria[0]
        data = complete_data(entry_id, **{f"section_{first.id}": " \r\n  "})
    response = penghu.post(f"/entries/{entry_id}/submit", data=data)
    assert _missing(response.get_data(as_text=True)) == [f"section_{first.id}"]


def test_submission_freezes_a_hashed_version_with_a_receipt_and_mail(app, penghu):
    entry_id = start(penghu)
    response = _submit_complete(app, penghu, entry_id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/entries/{entry_id}/receipt/1")
    with app.app_context():
        e = entry(entry_id)
        [version] = _versions(entry_id)
        assert e.status is EntryStatus.SUBMITTED and e.submitted_at == version.submitted_at
        assert version.receipt_no == f"TCA-3-{entry_id}-v1"
        assert version.sha256 == hashlib.sha256(version.content.encode("utf-8")).hexdigest()
        content = json.loads(version.content)
        assert canonical_json(content) == version.content  # sorted keys, no ASCII escaping
        assert "離島廉能治理" in version.content
        assert content["agency"]["code"] == "DEMO-C1000" and content["title"] == "離島廉能治理"
        assert content["head"] == {"name": "陳縣長", "declaration": True}
        assert [s["criterion_id"] for s in content["sections"]] == [c.id for c in e.category.criteria]
        attachment = e.active_attachments[0]
        assert content["attachments"] == [{"id": attachment.id, "name": "成果報告.pdf", "size": attachment.size,
                                           "kind": "pdf", "sha256": attachment.sha256}]
        assert actions("entry")[-1] == "entry_submitted"
        mails = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
        assert sorted(m.recipient for m in mails) == ["ethics@penghu.example", "penghu@award.example"]
        for mail in mails:
            assert version.receipt_no in mail.subject and version.sha256 in mail.body
            assert f"/entries/{entry_id}/receipt/1" in mail.body
        taipei_time = version.submitted_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M:%S")
        sha = version.sha256
    receipt = penghu.get(f"/entries/{entry_id}/receipt/1").get_data(as_text=True)
    assert re.search(rf'id="receipt-no">TCA-3-{entry_id}-v1<', receipt)
    assert f'id="receipt-hash">{sha}<' in receipt
    assert taipei_time in receipt and "Asia/Taipei" in receipt
    assert "<script" not in receipt
    download = penghu.get(f"/entries/{entry_id}/versions/1/content.json")
    assert download.mimetype == "application/json"
    assert hashlib.sha256(download.data).hexdigest() == sha  # anyone can check the receipt's hash


def test_a_submitted_entry_cannot_be_changed_until_withdrawn(app, penghu):
    entry_id = start(penghu)
    _submit_complete(app, penghu, entry_id)
    with app.app_context():
        version = entry(entry_id).draft_version
    assert penghu.get(f"/entries/{entry_id}/edit").status_code == 302
    refused = penghu.post(f"/entries/{entry_id}/edit", data={"draft_version": str(version), "title": "改過的標題"})
    assert refused.status_code == 403 and "改過的標題" in refused.get_data(as_text=True)
    autosave = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": str(version), "title": "改"})
    assert autosave.status_code == 403 and autosave.get_json()["ok"] is False
    with app.app_context():
        assert entry(entry_id).title == "離島廉能治理" and len(_versions(entry_id)) == 1


def test_submitting_a_version_the_user_has_not_seen_is_refused(app, penghu):
    entry_id = start(penghu)
    with app.app_context():
        add_attachment(entry_id)
        data = complete_data(entry_id)
    penghu.post(f"/entries/{entry_id}/edit", data=data)  # now version 2
    response = penghu.post(f"/entries/{entry_id}/submit", data={"draft_version": "1"})
    assert response.status_code == 302
    with app.app_context():
        assert _versions(entry_id) == [] and entry(entry_id).status is EntryStatus.DRAFT
    assert penghu.post(f"/entries/{entry_id}/submit", data={"draft_version": "2"}).status_code == 302
    with app.app_context():
        assert len(_versions(entry_id)) == 1


def test_withdraw_and_resubmit_keeps_every_version(app, penghu):
    entry_id = start(penghu)
    _submit_complete(app, penghu, entry_id)
    with app.app_context():
        [first] = _versions(entry_id)
        first_content, first_hash = first.content, first.sha256
    assert penghu.post(f"/entries/{entry_id}/withdraw").status_code == 302
    with app.app_context():
        e = entry(entry_id)
        assert e.status is EntryStatus.WITHDRAWN
        [first] = _versions(entry_id)
        assert first.withdrawn_at is not None
        assert actions("entry")[-1] == "entry_withdrawn"
    assert penghu.get(f"/entries/{entry_id}/edit").status_code == 200  # editable again
    response = _submit_complete(app, penghu, entry_id, title="離島廉能治理（修正版）")
    assert response.headers["Location"].endswith(f"/entries/{entry_id}/receipt/2")
    with app.app_context():
        first, second = _versions(entry_id)
        assert (first.content, first.sha256) == (first_content, first_hash)  # the first is unchanged
        assert second.receipt_no == f"TCA-3-{entry_id}-v2" and second.withdrawn_at is None
        assert json.loads(second.content)["title"] == "離島廉能治理（修正版）"
        assert entry(entry_id).status is EntryStatus.SUBMITTED
        assert [a for a in actions("entry") if a != "entry_draft_saved"] == [
            "entry_created", "entry_submitted", "entry_withdrawn", "entry_submitted"]
        assert verify_chain().ok
    page = penghu.get(f"/entries/{entry_id}").get_data(as_text=True)
    assert 'id="version-1"' in page and 'id="version-2"' in page and first_hash in page
    # the first receipt stays available and says it was withdrawn
    assert 'id="withdrawn-at"' in penghu.get(f"/entries/{entry_id}/receipt/1").get_data(as_text=True)


def test_withdrawing_a_draft_is_refused(app, penghu):
    entry_id = start(penghu)
    penghu.post(f"/entries/{entry_id}/withdraw")
    with app.app_context():
        assert entry(entry_id).status is EntryStatus.DRAFT and "entry_withdrawn" not in actions()


def test_after_the_deadline_nothing_changes_until_an_extension(app, demo, penghu, organizer):
    entry_id = start(penghu)
    green = login_client(app, "greenisland")
    green_entry = start(green)
    with app.app_context():
        add_attachment(entry_id)
        add_attachment(green_entry)
        data, green_data = complete_data(entry_id), complete_data(green_entry)
        pass_deadline()
    # edits, autosaves and submissions are refused with the text kept on the page
    assert penghu.get(f"/entries/{entry_id}/edit").status_code == 302
    refused = penghu.post(f"/entries/{entry_id}/edit", data=data)
    assert refused.status_code == 403 and "離島廉能治理" in refused.get_data(as_text=True)
    assert penghu.post(f"/entries/{entry_id}/autosave", data=data).status_code == 403
    assert penghu.post(f"/entries/{entry_id}/submit", data=data).status_code == 403
    with app.app_context():
        e = entry(entry_id)
        assert e.title == "" and e.draft_version == 1 and _versions(entry_id) == []
        edition_id, agency_id = e.category.edition_id, e.agency_id
    # the organiser extends the deadline for Penghu only (the ferries stopped)
    until = (utcnow() + timedelta(days=2)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    granted = organizer.post("/entries/admin/extensions", data={
        "edition_id": edition_id, "agency_id": agency_id, "until": until, "reason": "颱風停航，澎湖交通中斷"})
    assert granted.status_code == 302
    with app.app_context():
        [extension] = db.session.scalars(select(DeadlineExtension)).all()
        assert extension.agency_id == agency("DEMO-C1000").id and extension.reason == "颱風停航，澎湖交通中斷"
        assert extension.until.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M") == until
        assert actions("deadline_extension") == ["deadline_extended"]
        assert db.session.scalar(select(func.count(OutgoingMail.id)).where(
            OutgoingMail.recipient == "penghu@award.example")) == 1
    listing = organizer.get("/entries/admin/extensions").get_data(as_text=True)
    assert f'id="extension-{extension.id}"' in listing and "颱風停航" in listing
    assert penghu.post(f"/entries/{entry_id}/submit", data=data).status_code == 302
    with app.app_context():
        assert entry(entry_id).status is EntryStatus.SUBMITTED
    # Green Island got no extension: it can neither submit nor start another entry
    assert green.post(f"/entries/{green_entry}/submit", data=green_data).status_code == 403
    with app.app_context():
        assert entry(green_entry).status is EntryStatus.DRAFT
        second_category = edition().categories[1].id
    green.post(f"/entries/start/{second_category}")
    with app.app_context():
        assert db.session.scalar(select(func.count(EntryVersion.id))) == 1
        assert actions("entry").count("entry_created") == 2
    # once the extension has run out too, even withdrawing is refused
    with app.app_context():
        extension = db.session.get(DeadlineExtension, extension.id)
        extension.until = utcnow() - timedelta(minutes=1)
        db.session.commit()
    penghu.post(f"/entries/{entry_id}/withdraw")
    with app.app_context():
        assert entry(entry_id).status is EntryStatus.SUBMITTED


def test_an_extension_needs_a_reason_and_a_later_deadline(app, demo, organizer):
    with app.app_context():
        edition_id, agency_id = edition().id, agency("DEMO-C1000").id
        deadline = edition().submission_deadline
    later = (deadline + timedelta(days=1)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    earlier = (deadline - timedelta(days=1)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    no_reason = organizer.post("/entries/admin/extensions", data={
        "edition_id": edition_id, "agency_id": agency_id, "until": later, "reason": "  "})
    assert no_reason.status_code == 400
    too_early = organizer.post("/entries/admin/extensions", data={
        "edition_id": edition_id, "agency_id": agency_id, "until": earlier, "reason": "颱風"})
    assert too_early.status_code == 400 and 'id="until-error"' in too_early.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(DeadlineExtension.id))) == 0
        assert "deadline_extended" not in actions()
