"""Starting an entry, the edit page's contract, and drafts that are never lost or silently overwritten."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import unescape

from sqlalchemy import func, select

from award.auth.operations import create_user
from award.extensions import db
from award.models import Entry, EntryStatus, Role
from entries_helpers import (actions, agency, audit_count, category, complete_data, entry, login_client, start,
                             user)


def _textarea(html: str, element_id: str) -> str:
    match = re.search(rf'<textarea[^>]*id="{element_id}"[^>]*>\r?\n?(.*?)</textarea>', html, re.S)
    assert match, f"no textarea #{element_id}"
    return unescape(match.group(1))


def _input_value(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no input {name}"
    return unescape(match.group(1))


def test_start_prefills_from_the_register_and_the_user_and_opens_the_existing_entry_again(app, penghu):
    entry_id = start(penghu)
    with app.app_context():
        e = entry(entry_id)
        assert e.status is EntryStatus.DRAFT and e.draft_version == 1
        assert e.head_name == agency("DEMO-C1000").head_name == "陳縣長"
        assert (e.contact_name, e.contact_email) == ("澎湖縣政府政風處聯絡人", "penghu@award.example")
        assert sorted(s.criterion_id for s in e.sections) == sorted(c.id for c in e.category.criteria)
        assert actions("entry") == ["entry_created"]
    assert start(penghu) == entry_id  # the second start opens the same entry
    with app.app_context():
        assert db.session.scalar(select(func.count(Entry.id))) == 1
        assert actions("entry") == ["entry_created"]


def test_my_entries_lists_open_categories_and_own_entries_only(app, demo, penghu):
    penghu_entry = start(penghu)
    green = login_client(app, "greenisland")
    green_entry = start(green)
    page = penghu.get("/entries/").get_data(as_text=True)
    assert f'id="entry-{penghu_entry}"' in page and f'id="entry-{green_entry}"' not in page
    with app.app_context():
        started, other = category(0).id, category(1).id
    # the category with an entry opens it; the other offers to start one
    assert f'href="/entries/{penghu_entry}/edit"' in page and f'action="/entries/start/{started}"' not in page
    assert f'action="/entries/start/{other}"' in page


def test_edit_page_follows_the_js_contract(app, penghu):
    entry_id = start(penghu)
    html = penghu.get(f"/entries/{entry_id}/edit").get_data(as_text=True)
    form_tag = re.search(r'<form id="entry-form"[^>]*>', html, re.S).group(0)
    assert 'method="post"' in form_tag
    assert f'data-autosave-url="/entries/{entry_id}/autosave"' in form_tag
    assert f'data-entry-id="{entry_id}"' in form_tag
    assert _input_value(html, "draft_version") == "1"
    assert 'name="csrf_token"' in html
    with app.app_context():
        criteria = entry(entry_id).category.criteria
        assert len(criteria) == 5
        for criterion in criteria:
            name = f"section_{criterion.id}"
            textarea = re.search(rf'<textarea[^>]*id="{name}"[^>]*>', html).group(0)
            assert f'data-char-limit="{criterion.section_char_limit}"' in textarea
            assert f'<label for="{name}">{criterion.name}</label>' in html
            counter = re.search(rf'</textarea>\s*<p class="char-count"[^>]*data-for="{name}"[^>]*>([^<]*)</p>', html)
            assert counter, f"no counter right after #{name}"
            assert counter.group(1).strip() == f"0 / {criterion.section_char_limit}"
            assert 'aria-live="polite"' in counter.group(0)
    # the attachments area and the declaration are there (the declaration belongs to the form)
    assert 'id="attachments"' in html
    assert re.search(r'<input type="checkbox" id="head_declaration" name="head_declaration"[^>]*form="entry-form"', html)


def test_saving_without_javascript_keeps_a_partial_draft_and_records_it(app, penghu):
    entry_id = start(penghu)
    with app.app_context():
        first = entry(entry_id).category.criteria[0]
        before = audit_count()
    response = penghu.post(f"/entries/{entry_id}/edit", data={
        "draft_version": "1", "title": "  離島廉能  ", f"section_{first.id}": "第一段\r\n第二段",
        "contact_phone": "06-9274400"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/entries/{entry_id}/edit")
    with app.app_context():
        e = entry(entry_id)
        assert e.title == "離島廉能" and e.contact_phone == "06-9274400"
        assert next(s.text for s in e.sections if s.criterion_id == first.id) == "第一段\n第二段"
        assert e.summary == "" and e.draft_version == 2  # incomplete is fine for a draft
        assert e.contact_name == "澎湖縣政府政風處聯絡人"  # fields not sent are left as they were
        assert audit_count() == before + 1 and actions("entry")[-1] == "entry_draft_saved"
    html = penghu.get(f"/entries/{entry_id}/edit").get_data(as_text=True)
    assert _input_value(html, "draft_version") == "2"
    assert f'data-for="section_{first.id}" aria-live="polite">7 / 3000<' in html  # "\r\n" counted once


def test_saving_an_unchanged_form_writes_nothing(app, penghu):
    entry_id = start(penghu)
    with app.app_context():
        data = complete_data(entry_id)
    assert penghu.post(f"/entries/{entry_id}/edit", data=data).status_code == 302
    with app.app_context():
        count, version = audit_count(), entry(entry_id).draft_version
    data["draft_version"] = str(version)
    assert penghu.post(f"/entries/{entry_id}/autosave", data=data).get_json()["draft_version"] == version
    with app.app_context():
        assert audit_count() == count


def test_autosave_answers_json_with_the_new_version(app, penghu):
    entry_id = start(penghu)
    response = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "1", "summary": "草稿摘要"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["draft_version"] == 2
    saved_at = datetime.fromisoformat(body["saved_at"])
    assert saved_at.utcoffset() == timezone.utc.utcoffset(None)
    with app.app_context():
        e = entry(entry_id)
        assert e.summary == "草稿摘要" and e.draft_version == 2 and e.updated_at == saved_at
    # a second autosave builds on the version it was given
    again = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "2", "summary": "草稿摘要二"})
    assert again.get_json()["draft_version"] == 3


def test_stale_autosave_is_refused_with_the_saved_texts(app, penghu):
    entry_id = start(penghu)
    assert penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "1", "title": "第一個分頁"}).status_code == 200
    with app.app_context():
        count = audit_count()
    stale = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "1", "title": "第二個分頁"})
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["ok"] is False and body["conflict"] is True and body["draft_version"] == 2
    assert body["server"]["title"] == "第一個分頁" and body["message"]
    with app.app_context():
        section_names = {f"section_{c.id}" for c in entry(entry_id).category.criteria}
        assert section_names <= set(body["server"])
        assert entry(entry_id).title == "第一個分頁" and audit_count() == count
    # a form that lost its version number is treated as stale, never as a blind overwrite
    assert penghu.post(f"/entries/{entry_id}/autosave", data={"title": "無版本"}).status_code == 409


def test_two_contacts_never_overwrite_each_other_silently(app, penghu):
    with app.app_context():
        create_user("second@penghu.example", "澎湖第二聯絡人", Role.AGENCY, "Second-contact-2026",
                    agency=agency("DEMO-C1000"))
    other = app.test_client()
    assert other.post("/login", data={"email": "second@penghu.example", "password": "Second-contact-2026"}).status_code == 302
    entry_id = start(penghu)
    with app.app_context():
        section = f"section_{entry(entry_id).category.criteria[2].id}"
    # both open the form at version 1
    assert _input_value(penghu.get(f"/entries/{entry_id}/edit").get_data(as_text=True), "draft_version") == "1"
    assert _input_value(other.get(f"/entries/{entry_id}/edit").get_data(as_text=True), "draft_version") == "1"
    assert penghu.post(f"/entries/{entry_id}/edit", data={"draft_version": "1", section: "甲的內容",
                                                          "title": "相同標題"}).status_code == 302
    refused = other.post(f"/entries/{entry_id}/edit", data={"draft_version": "1", section: "乙的內容",
                                                            "title": "相同標題"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert 'id="conflict"' in html
    assert _textarea(html, section) == "乙的內容"  # the later writer's text is still in the form
    assert _textarea(html, f"{section}-saved-text") == "甲的內容"  # and the saved text is shown beside it
    assert 'id="title-saved"' not in html  # only fields that differ are compared
    assert _input_value(html, "draft_version") == "2"  # saving again now means "keep mine"
    with app.app_context():
        assert next(s.text for s in entry(entry_id).sections if f"section_{s.criterion_id}" == section) == "甲的內容"
    # the second contact chooses to keep their text
    assert other.post(f"/entries/{entry_id}/edit", data={"draft_version": "2", section: "乙的內容"}).status_code == 302
    with app.app_context():
        e = entry(entry_id)
        assert next(s.text for s in e.sections if f"section_{s.criterion_id}" == section) == "乙的內容"
        assert e.draft_version == 3
        assert actions("entry").count("entry_draft_saved") == 2


def test_over_limit_text_is_refused_with_the_counts_and_kept_on_the_page(app, penghu):
    entry_id = start(penghu)
    with app.app_context():
        criterion = entry(entry_id).category.criteria[1]
        criterion.section_char_limit = 10
        db.session.commit()
        name, count = f"section_{criterion.id}", audit_count()
    exactly = "一二三四\r\n五六七八九"  # 10 characters as the browser counts them
    assert penghu.post(f"/entries/{entry_id}/edit", data={"draft_version": "1", name: exactly}).status_code == 302
    too_long = "一二三四五\r\n六七八九十"  # 11
    response = penghu.post(f"/entries/{entry_id}/edit", data={"draft_version": "2", name: too_long, "title": "新標題"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert _textarea(html, name) == "一二三四五\n六七八九十"  # nothing typed is lost
    error = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', html).group(1)
    assert "11" in error and "10" in error
    assert re.search(rf'class="char-count over-limit"[^>]*data-for="{name}"[^>]*>11 / 10<', html)
    assert _input_value(html, "title") == "新標題"
    with app.app_context():
        e = entry(entry_id)
        assert e.title == "" and e.draft_version == 2  # a refusal changes nothing, not even other fields
        assert next(s.text for s in e.sections if s.criterion_id == criterion.id) == "一二三四\n五六七八九"
        assert audit_count() == count + 1
    autosave = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "2", name: too_long})
    assert autosave.status_code == 400
    assert autosave.get_json()["ok"] is False and list(autosave.get_json()["errors"]) == [name]


def test_malformed_contact_email_and_overlong_title_are_refused(app, penghu):
    entry_id = start(penghu)
    response = penghu.post(f"/entries/{entry_id}/autosave",
                           data={"draft_version": "1", "contact_email": "not-an-address", "title": "題" * 201})
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"contact_email", "title"}
    with app.app_context():
        assert entry(entry_id).contact_email == "penghu@award.example"


def test_the_edit_page_shows_the_saved_text_after_reload(app, penghu):
    entry_id = start(penghu)
    penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "1", "summary": "<b>不會被當成標記</b>"})
    html = penghu.get(f"/entries/{entry_id}/edit").get_data(as_text=True)
    assert "&lt;b&gt;不會被當成標記&lt;/b&gt;" in html
    assert _textarea(html, "summary") == "<b>不會被當成標記</b>"


def test_a_judge_or_organiser_cannot_start_an_entry(app, demo, organizer):
    with app.app_context():
        category_id = category().id
    assert organizer.post(f"/entries/start/{category_id}").status_code == 403
    judge = login_client(app, "judge1")
    assert judge.post(f"/entries/start/{category_id}").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count(Entry.id))) == 0
        assert user("organizer") is not None


def test_a_save_racing_another_is_refused_by_the_guarded_update(app, penghu):
    """Two requests that both read version 1 before either wrote: the database decides, once."""
    import pytest
    from sqlalchemy import update
    from sqlalchemy.orm.attributes import set_committed_value

    from award.entries import operations as ops

    entry_id = start(penghu)
    with app.test_request_context():
        e = entry(entry_id)
        db.session.execute(update(Entry).where(Entry.id == entry_id).values(draft_version=2, title="另一個請求"))
        db.session.commit()
        set_committed_value(e, "draft_version", 1)  # this request still believes it holds version 1
        set_committed_value(e, "title", "")
        count = audit_count()
        with pytest.raises(ops.DraftConflict) as refused:
            ops.save_draft(e, ops.DraftData(base_version=1, title="這個請求"), user("penghu"))
        assert refused.value.current["title"] == "另一個請求" and refused.value.draft_version == 2
        e = entry(entry_id)
        assert (e.title, e.draft_version) == ("另一個請求", 2) and audit_count() == count


def test_long_texts_are_audited_by_length_and_hash(app, penghu):
    import hashlib
    import json

    from award.models import AuditEvent

    entry_id = start(penghu)
    with app.app_context():
        name = f"section_{entry(entry_id).category.criteria[0].id}"
    text = "廉" * 1500
    assert penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": "1", name: text,
                                                              "title": "短標題"}).status_code == 200
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        after = json.loads(event.after)
        assert event.action == "entry_draft_saved" and event.object_id == str(entry_id)
        assert after["title"] == "短標題" and after["draft_version"] == 2
        assert after[name] == {"chars": 1500, "sha256": hashlib.sha256(text.encode()).hexdigest()}
        assert json.loads(event.before) == {"title": "", name: ""}
