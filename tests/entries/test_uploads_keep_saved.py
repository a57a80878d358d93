"""A refused upload, through the plain form or tus, never loses what was saved before it: the
draft's texts (and their version, so the next save is no conflict) and the files already accepted."""

from __future__ import annotations

import hashlib

import pytest
from attachments_support import (  # noqa: F401  (fixtures)
    attachments, attachments_app, big_pdf, blob_files, corpus, penghu_client, set_limits, stored_files, tus_uploads,
    upload,
)
from attachments_support import tus_create, tus_patch
from award.extensions import db
from award.models import Entry
from entries_helpers import start

HOSTILE = ["exe_as_pdf", "docm_macro", "docx_hiding_vba", "svg_script", "html_as_docx", "pdf_html_polyglot",
           "ratio_bomb", "truncated_pdf", "empty"]


def _snapshot(app, entry_id):
    """What the contact saved: texts, version, and each accepted file with its bytes on disk."""
    from award.entries import storage

    with app.app_context():
        db.session.expire_all()
        entry = db.session.get(Entry, entry_id)
        texts = {s.criterion_id: s.text for s in entry.sections}
        files = []
        for a in attachments(app, entry_id):
            files.append((a.id, a.original_name, a.sha256, a.removed_at,
                          hashlib.sha256(storage.blob_path(a.storage_key).read_bytes()).hexdigest()))
        return {"title": entry.title, "summary": entry.summary, "texts": texts, "version": entry.draft_version,
                "updated_at": entry.updated_at, "status": entry.status, "files": files}


@pytest.fixture
def saved(attachments_app, penghu_client):
    """An entry with a saved draft and two accepted files: (entry id, snapshot)."""
    entry_id = start(penghu_client)
    with attachments_app.app_context():
        criteria = db.session.get(Entry, entry_id).category.criteria
        fields = {f"section_{c.id}": f"{c.name}：澎湖跨島協作，已存的第{i}段。" for i, c in enumerate(criteria, 1)}
    response = penghu_client.post(f"/entries/{entry_id}/edit", data={
        "draft_version": "1", "title": "離島廉能治理", "summary": "已儲存的摘要。", **fields})
    assert response.status_code == 302
    for name, data in (corpus.GOOD["pdf"](), corpus.GOOD["docx"]()):
        assert upload(penghu_client, entry_id, name, data).status_code == 302
    assert penghu_client.get(f"/entries/{entry_id}/edit").status_code == 200  # the messages so far are shown
    snapshot = _snapshot(attachments_app, entry_id)
    assert snapshot["title"] == "離島廉能治理" and len(snapshot["files"]) == 2
    assert all(f[2] == f[4] for f in snapshot["files"])  # the bytes on disk are the ones accepted
    return entry_id, snapshot


def _edit_page_shows_it(client, entry_id, snapshot):
    html = client.get(f"/entries/{entry_id}/edit").get_data(as_text=True)
    assert "已儲存的摘要。" in html and "離島廉能治理" in html
    for text in snapshot["texts"].values():
        assert text in html
    for _id, name, *_rest in snapshot["files"]:
        assert name in html
    assert f'value="{snapshot["version"]}"' in html


def _next_save_is_no_conflict(client, entry_id, snapshot):
    response = client.post(f"/entries/{entry_id}/edit", data={
        "draft_version": str(snapshot["version"]), "summary": "之後再改的摘要。"})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("sample", HOSTILE)
def test_a_refused_form_upload_keeps_the_draft_and_the_files(attachments_app, penghu_client, saved, sample):
    entry_id, before = saved
    name, data, _reason = corpus.HOSTILE[sample]()
    blobs = blob_files(attachments_app)
    response = upload(penghu_client, entry_id, name, data)
    assert response.status_code == 302  # back to the form, with the reason
    with penghu_client.session_transaction() as session:
        assert [c for c, _m in session.get("_flashes", [])] == ["error"]
    assert _snapshot(attachments_app, entry_id) == before
    assert blob_files(attachments_app) == blobs  # no new file, none lost
    _edit_page_shows_it(penghu_client, entry_id, before)
    _next_save_is_no_conflict(penghu_client, entry_id, before)


def test_a_file_over_the_limits_keeps_the_draft_and_the_files(attachments_app, penghu_client, saved):
    entry_id, before = saved
    set_limits(attachments_app, file_mb=1)
    assert upload(penghu_client, entry_id, "大.pdf", big_pdf(1024 * 1024 + 10)).status_code == 302
    set_limits(attachments_app, file_mb=1, entry_mb=1)  # the entry's total is nearly used up
    assert upload(penghu_client, entry_id, "中.pdf", big_pdf(1024 * 1024 - 100)).status_code == 302
    assert _snapshot(attachments_app, entry_id) == before
    _edit_page_shows_it(penghu_client, entry_id, before)
    _next_save_is_no_conflict(penghu_client, entry_id, before)


def test_a_form_upload_with_no_file_or_a_bad_token_keeps_everything(attachments_app, penghu_client, saved):
    entry_id, before = saved
    assert penghu_client.post(f"/entries/{entry_id}/attachments", data={},
                              content_type="multipart/form-data").status_code == 302
    attachments_app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = upload(penghu_client, entry_id, *corpus.GOOD["png"](), csrf_token="forged")
        assert refused.status_code in (302, 400)
    finally:
        attachments_app.config["WTF_CSRF_ENABLED"] = False
    assert _snapshot(attachments_app, entry_id) == before


# --- tus -----------------------------------------------------------------------------------------------

def _tus_upload(client, entry_id, name, data, chunk=4096):
    created = tus_create(client, entry_id, len(data), filename=name)
    if created.status_code != 201:
        return created
    url, offset, response = created.headers["Location"], 0, None
    while offset < len(data):
        response = tus_patch(client, url, data[offset:offset + chunk], offset)
        if response.status_code != 204:
            return response
        offset = int(response.headers["Upload-Offset"])
    return response


@pytest.mark.parametrize("sample", HOSTILE[:-1] + ["pdf_named_exe", "legacy_doc"])
def test_a_refused_tus_upload_keeps_the_draft_and_the_files(attachments_app, penghu_client, saved, sample):
    entry_id, before = saved
    name, data, _reason = corpus.HOSTILE[sample]()
    blobs = blob_files(attachments_app)
    response = _tus_upload(penghu_client, entry_id, name, data)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.json["ok"] is False and response.json["message"]
    assert _snapshot(attachments_app, entry_id) == before
    assert blob_files(attachments_app) == blobs
    assert [p for p in stored_files(attachments_app) if p.suffix == ".part"] == []
    assert tus_uploads(attachments_app) == []  # a refused upload is forgotten, with its bytes
    _edit_page_shows_it(penghu_client, entry_id, before)
    _next_save_is_no_conflict(penghu_client, entry_id, before)


def test_a_tus_upload_over_the_entrys_total_keeps_everything(attachments_app, penghu_client, saved):
    entry_id, before = saved
    set_limits(attachments_app, entry_mb=1)
    response = _tus_upload(penghu_client, entry_id, "大.pdf", big_pdf(1024 * 1024 - 100))
    assert response.status_code == 413
    assert _snapshot(attachments_app, entry_id) == before


def test_a_tus_upload_refused_after_a_good_one_keeps_the_good_one(attachments_app, penghu_client, saved):
    entry_id, before = saved
    good_name, good = corpus.GOOD["png"]()
    assert _tus_upload(penghu_client, entry_id, good_name, good).status_code == 204
    middle = _snapshot(attachments_app, entry_id)
    assert len(middle["files"]) == 3 and middle["texts"] == before["texts"] and middle["title"] == before["title"]
    name, data, _reason = corpus.HOSTILE["exe_as_pdf"]()
    assert _tus_upload(penghu_client, entry_id, name, data).status_code == 422
    assert _snapshot(attachments_app, entry_id) == middle
    assert [u.attachment_id is not None for u in tus_uploads(attachments_app)] == [True]
