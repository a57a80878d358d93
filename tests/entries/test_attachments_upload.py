"""The multipart fallback: adding, refusing, removing and downloading attachments; limits; access."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from attachments_support import (  # noqa: F401  (fixtures)
    attachments, attachments_app, audit_actions, audit_count, big_pdf, blob_files, client_as, corpus, csrf_token_from,
    draft_entry, flashes, mode, penghu_client, set_limits, stored_files, upload, upload_root, zip_bomb,
)
from award.entries import storage
from award.extensions import db
from award.models import AuditEvent, Edition, Entry, EntryStatus, utcnow

MIB = 1024 * 1024


def _add(client, entry_id, sample="pdf"):
    name, data = corpus.GOOD[sample]()
    response = upload(client, entry_id, name, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return data


# --- accepted files -----------------------------------------------------------------------------

@pytest.mark.parametrize("sample", sorted(corpus.GOOD))
def test_every_allowed_type_is_stored_by_hash_under_a_random_private_name(attachments_app, penghu_client,
                                                                           draft_entry, sample):
    name, data = corpus.GOOD[sample]()
    response = upload(penghu_client, draft_entry, name, data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/entries/{draft_entry}/edit#attachments")
    assert [category for category, _ in flashes(penghu_client)] == ["success"]
    [row] = attachments(attachments_app, draft_entry)
    assert (row.original_name, row.kind, row.size) == (name, sample.split("_")[0], len(data))
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}", row.storage_key)
    with attachments_app.app_context():
        path = storage.blob_path(row.storage_key)
    assert path.read_bytes() == data
    assert path.parent.parent.name == "blobs" and path.parent.name == row.storage_key[:2]
    assert mode(path) == 0o600 and mode(path.parent) == 0o700 and mode(upload_root(attachments_app)) == 0o700
    assert "static" not in path.parts and name not in str(path)
    assert blob_files(attachments_app) == [path]  # no temporary file left behind


def test_the_addition_is_audited_with_name_size_and_hash(attachments_app, penghu_client, draft_entry):
    data = _add(penghu_client, draft_entry)
    with attachments_app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment_added"))
        assert event.actor_label.startswith("penghu@")
        assert hashlib.sha256(data).hexdigest() in event.after and "成果報告.pdf" in event.after


def test_a_file_larger_than_the_app_form_limit_is_accepted_up_to_the_editions_limit(attachments_app, penghu_client,
                                                                                    draft_entry):
    attachments_app.config["MAX_CONTENT_LENGTH"] = 1 * MIB  # ordinary forms
    set_limits(attachments_app, file_mb=3)
    data = big_pdf(2 * MIB)
    assert upload(penghu_client, draft_entry, "大檔.pdf", data).status_code == 302
    [row] = attachments(attachments_app, draft_entry)
    assert row.size == len(data)


def test_the_path_in_a_name_is_dropped_and_long_names_are_cut(attachments_app, penghu_client, draft_entry):
    upload(penghu_client, draft_entry, "../../../etc/cron.d/報告.pdf", corpus.pdf_bytes())
    upload(penghu_client, draft_entry, "長" * 300 + ".pdf", corpus.pdf_bytes())
    names = [a.original_name for a in attachments(attachments_app, draft_entry)]
    assert names[0] == "報告.pdf"
    assert len(names[1]) == 255 and names[1].endswith(".pdf")


# --- refused files ------------------------------------------------------------------------------

@pytest.mark.parametrize("sample", sorted(corpus.HOSTILE))
def test_every_hostile_file_is_refused_and_nothing_is_kept(attachments_app, penghu_client, draft_entry, sample):
    name, data, _reason = corpus.HOSTILE[sample]()
    before = audit_count(attachments_app)
    response = upload(penghu_client, draft_entry, name, data)
    assert response.status_code == 302
    assert [category for category, _ in flashes(penghu_client)] == ["error"]
    assert attachments(attachments_app, draft_entry) == []
    assert blob_files(attachments_app) == []
    assert audit_count(attachments_app) == before


def test_the_refusal_message_is_the_reason(attachments_app, penghu_client, draft_entry):
    name, data, _reason = corpus.HOSTILE["docm_macro"]()
    upload(penghu_client, draft_entry, name, data)
    with attachments_app.test_request_context():
        from award.entries.filetypes import refused

        expected = refused("macro").message
    assert flashes(penghu_client) == [("error", expected)]


def test_a_zip_bomb_is_refused(attachments_app, penghu_client, draft_entry, zip_bomb):  # noqa: F811
    upload(penghu_client, draft_entry, "bomb.docx", zip_bomb)
    assert attachments(attachments_app, draft_entry) == [] and blob_files(attachments_app) == []
    assert [c for c, _ in flashes(penghu_client)] == ["error"]


def test_a_request_without_a_file_is_answered_with_a_message(attachments_app, penghu_client, draft_entry):
    response = penghu_client.post(f"/entries/{draft_entry}/attachments", data={})
    assert response.status_code == 302 and [c for c, _ in flashes(penghu_client)] == ["error"]


def test_a_file_over_the_per_file_limit_is_refused(attachments_app, penghu_client, draft_entry):
    set_limits(attachments_app, file_mb=1)
    # just over the limit (inside the form margin): refused by the operation
    upload(penghu_client, draft_entry, "稍大.pdf", big_pdf(MIB + 1000))
    # far over it: refused before the body is read
    upload(penghu_client, draft_entry, "太大.pdf", big_pdf(3 * MIB))
    assert [c for c, _ in flashes(penghu_client)] == ["error", "error"]
    assert attachments(attachments_app, draft_entry) == [] and blob_files(attachments_app) == []


def test_the_entry_total_counts_only_active_attachments(attachments_app, penghu_client, draft_entry):
    set_limits(attachments_app, file_mb=1, entry_mb=1)
    assert upload(penghu_client, draft_entry, "一.pdf", big_pdf(600 * 1024)).status_code == 302
    upload(penghu_client, draft_entry, "二.pdf", big_pdf(600 * 1024))
    assert [c for c, _ in flashes(penghu_client)] == ["success", "error"]
    [first] = attachments(attachments_app, draft_entry)
    assert len(blob_files(attachments_app)) == 1
    penghu_client.post(f"/entries/{draft_entry}/attachments/{first.id}/remove")
    assert upload(penghu_client, draft_entry, "二.pdf", big_pdf(600 * 1024)).status_code == 302
    assert [a.original_name for a in attachments(attachments_app, draft_entry) if a.removed_at is None] == ["二.pdf"]


def _pass_deadline(app):
    with app.app_context():
        edition = db.session.scalar(select(Edition))
        edition.submission_opens_at = utcnow() - timedelta(days=20)
        edition.submission_deadline = utcnow() - timedelta(minutes=1)
        db.session.commit()


def test_nothing_is_added_after_the_deadline_or_to_a_submitted_entry(attachments_app, penghu_client, draft_entry):
    with attachments_app.app_context():
        db.session.get(Entry, draft_entry).status = EntryStatus.SUBMITTED
        db.session.commit()
    _add_refused = lambda: upload(penghu_client, draft_entry, "a.pdf", corpus.pdf_bytes())  # noqa: E731
    _add_refused()
    with attachments_app.app_context():
        db.session.get(Entry, draft_entry).status = EntryStatus.DRAFT
        db.session.commit()
    _pass_deadline(attachments_app)
    _add_refused()
    assert [c for c, _ in flashes(penghu_client)] == ["error", "error"]
    assert attachments(attachments_app, draft_entry) == [] and stored_files(attachments_app) == []


def test_the_csrf_token_is_required_even_though_the_view_checks_it_itself(attachments_app, penghu_client,
                                                                          draft_entry):
    attachments_app.config["WTF_CSRF_ENABLED"] = True
    refused = upload(penghu_client, draft_entry, "a.pdf", corpus.pdf_bytes())
    assert refused.status_code == 400
    assert attachments(attachments_app, draft_entry) == []
    token = csrf_token_from(penghu_client.get("/").get_data(as_text=True))
    accepted = upload(penghu_client, draft_entry, "a.pdf", corpus.pdf_bytes(), csrf_token=token)
    assert accepted.status_code == 302 and len(attachments(attachments_app, draft_entry)) == 1


# --- removal ------------------------------------------------------------------------------------

def test_removal_keeps_the_row_and_the_bytes_for_frozen_versions(attachments_app, penghu_client, draft_entry):
    _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    response = penghu_client.post(f"/entries/{draft_entry}/attachments/{row.id}/remove")
    assert response.status_code == 302 and response.headers["Location"].endswith("/edit#attachments")
    [row] = attachments(attachments_app, draft_entry)
    assert row.removed_at is not None
    assert len(blob_files(attachments_app)) == 1
    assert audit_actions(attachments_app)[-1] == "attachment_removed"
    before = audit_count(attachments_app)
    penghu_client.post(f"/entries/{draft_entry}/attachments/{row.id}/remove")  # already removed
    assert audit_count(attachments_app) == before
    assert [c for c, _ in flashes(penghu_client)] == ["success", "success", "error"]


def test_removal_after_the_deadline_is_refused(attachments_app, penghu_client, draft_entry):
    _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    _pass_deadline(attachments_app)
    penghu_client.post(f"/entries/{draft_entry}/attachments/{row.id}/remove")
    assert attachments(attachments_app, draft_entry)[0].removed_at is None


def test_an_attachment_of_another_entry_cannot_be_removed_through_this_one(attachments_app, penghu_client,
                                                                           draft_entry):
    _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    with attachments_app.app_context():
        entry = db.session.get(Entry, draft_entry)
        other = Entry(category=entry.category.edition.categories[1], agency_id=entry.agency_id, title="另一案")
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    assert penghu_client.post(f"/entries/{other_id}/attachments/{row.id}/remove").status_code == 404
    assert penghu_client.get(f"/entries/{other_id}/attachments/{row.id}").status_code == 404
    assert attachments(attachments_app, draft_entry)[0].removed_at is None


# --- download -----------------------------------------------------------------------------------

def test_download_sends_the_bytes_as_an_attachment_never_to_be_sniffed(attachments_app, penghu_client, draft_entry):
    data = _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    response = penghu_client.get(f"/entries/{draft_entry}/attachments/{row.id}")
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('成果報告.pdf', safe='')}" in disposition
    assert re.search(r'filename="[\x20-\x7e]+"', disposition)  # an ASCII fallback for old clients
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert audit_actions(attachments_app)[-1] == "attachment_downloaded"


def test_a_resumed_download_gets_the_rest_and_is_logged_once(attachments_app, penghu_client, draft_entry):
    data = _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    before = audit_count(attachments_app)
    response = penghu_client.get(f"/entries/{draft_entry}/attachments/{row.id}", headers={"Range": "bytes=100-"})
    assert response.status_code == 206 and response.data == data[100:]
    assert audit_count(attachments_app) == before


def test_a_removed_attachment_stays_downloadable_by_organisers_only(attachments_app, penghu_client, draft_entry):
    data = _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    url = f"/entries/{draft_entry}/attachments/{row.id}"
    assert client_as(attachments_app, "organizer").get(url).data == data
    penghu_client.post(f"{url}/remove")
    assert penghu_client.get(url).status_code == 404
    assert client_as(attachments_app, "organizer").get(url).data == data


def test_a_missing_blob_is_not_found_not_a_crash(attachments_app, penghu_client, draft_entry):
    _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    for path in blob_files(attachments_app):
        path.unlink()
    assert penghu_client.get(f"/entries/{draft_entry}/attachments/{row.id}").status_code == 404


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["greenisland", "moj", "judge1", "organizer", None])
def test_only_the_agencys_contact_may_add_or_remove(attachments_app, penghu_client, draft_entry, who):
    data = _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    stranger = client_as(attachments_app, who)
    before = audit_count(attachments_app)  # after the login, which is audited
    added = upload(stranger, draft_entry, "惡意.pdf", corpus.pdf_bytes())
    removed = stranger.post(f"/entries/{draft_entry}/attachments/{row.id}/remove")
    for response in (added, removed):
        assert response.status_code in (403, 404) or (
            who is None and response.status_code == 302 and "/login" in response.headers["Location"])
    assert [a.removed_at for a in attachments(attachments_app, draft_entry)] == [None]
    assert audit_count(attachments_app) == before
    assert [p.read_bytes() for p in blob_files(attachments_app)] == [data]


@pytest.mark.parametrize("who", ["greenisland", "moj", "judge1", None])
def test_no_other_agency_no_unassigned_judge_and_nobody_anonymous_can_download(attachments_app, penghu_client,
                                                                               draft_entry, who):
    data = _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    response = client_as(attachments_app, who).get(f"/entries/{draft_entry}/attachments/{row.id}")
    assert response.status_code in (403, 404) or (
        who is None and response.status_code == 302 and "/login" in response.headers["Location"])
    assert data not in response.data
    assert "attachment_downloaded" not in audit_actions(attachments_app)


# --- the partial on the entry page --------------------------------------------------------------

def _render(app, entry_id, can_edit):
    from flask import render_template

    with app.test_request_context():
        entry = db.session.get(Entry, entry_id)
        return render_template("entries/_attachments.html", entry=entry, can_edit=can_edit)


def test_the_partial_offers_the_multipart_form_and_the_resumable_upload(attachments_app, penghu_client, draft_entry):
    _add(penghu_client, draft_entry)
    [row] = attachments(attachments_app, draft_entry)
    html = _render(attachments_app, draft_entry, True)
    assert f'action="/entries/{draft_entry}/attachments"' in html
    assert re.search(r'<form id="attachment-form"[^>]*method="post"[^>]*enctype="multipart/form-data"', html)
    assert 'name="csrf_token"' in html and '<label for="attachment-file">' in html
    assert 'id="attachment-hint"' in html
    tus = re.search(r'<div id="tus-upload"[^>]*>', html).group(0)
    assert 'data-endpoint="/uploads/tus/"' in tus and f'data-entry-id="{draft_entry}"' in tus
    assert f'data-max-bytes="{100 * MIB}"' in tus and " hidden" in tus
    assert '<label for="tus-file">' in html and '<input type="file" id="tus-file"' in html
    assert '<progress id="tus-progress" max="100" value="0"' in html
    assert '<p id="tus-status" aria-live="polite"></p>' in html
    assert f'href="/entries/{draft_entry}/attachments/{row.id}"' in html
    assert f'action="/entries/{draft_entry}/attachments/{row.id}/remove"' in html
    assert row.sha256[:12] in html and "成果報告.pdf" in html


def test_the_partial_without_editing_only_lists(attachments_app, penghu_client, draft_entry):
    _add(penghu_client, draft_entry)
    html = _render(attachments_app, draft_entry, False)
    assert "attachment-form" not in html and "tus-upload" not in html and "/remove" not in html
    assert "成果報告.pdf" in html
