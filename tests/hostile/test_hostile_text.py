"""Hostile text in every text field: stored verbatim (control characters removed), shown escaped,
exported as string cells, 1 MB refused with nothing saved lost."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from demo_clients import demo_client as client_as
from hostile_corpus import HOSTILE_TEXT, ONE_MB_TEXT
from award.entries import operations as entry_ops
from award.extensions import db
from award.input_text import clean_text
from award.models import Category, Criterion, Edition, Entry, Mark, ScoreSheet, SheetStatus

# Markup that must never reach a page as markup (it may appear escaped).
LIVE_MARKUP = ('<script>alert', "<img src=x onerror", "<svg/onload")
FORMULA_PAYLOADS = ("cmd|", "HYPERLINK(", "SUM(1+1)")


def assert_escaped(html: str, secret_key: str) -> None:
    for markup in LIVE_MARKUP:
        assert markup not in html
    assert secret_key not in html  # "{{ config.SECRET_KEY }}" is text, never a template


def _entry(entry_id: int) -> Entry:
    db.session.expire_all()
    return db.session.get(Entry, entry_id)


def _form(entry: Entry, text: str) -> dict[str, str]:
    data = {"draft_version": str(entry.draft_version), "title": text[:200], "head_name": text[:100],
            "contact_name": text[:100], "contact_title": text[:100], "summary": text}
    for criterion in entry.category.criteria:
        data[entry_ops.section_name(criterion.id)] = text
    return data


def _content(entry: Entry) -> dict:
    return entry_ops.content_fields(entry)


def test_hostile_text_in_the_entry_form_is_stored_verbatim_and_shown_escaped(app, demo):
    penghu = client_as(app, "penghu")
    with app.app_context():
        category_id = db.session.scalar(select(Edition).where(Edition.number == 3)).categories[0].id
    response = penghu.post(f"/entries/start/{category_id}")
    assert response.status_code == 302
    entry_id = int(response.headers["Location"].rstrip("/").split("/")[-2])
    for name, text in HOSTILE_TEXT.items():
        with app.app_context():
            data = _form(_entry(entry_id), text)
        response = penghu.post(f"/entries/{entry_id}/edit", data=data)
        assert response.status_code == 302, (name, response.status_code)
        with app.app_context():
            entry = _entry(entry_id)
            cleaned = clean_text(text)
            assert entry.title == cleaned[:200].strip() or entry.title == clean_text(text[:200]).strip(), name
            assert entry.summary == entry_ops.normalise_text(cleaned), name
            assert "\x00" not in entry.summary and "\x01" not in entry.summary
            for section in entry.sections:
                assert section.text == entry_ops.normalise_text(cleaned), name
        for url in (f"/entries/{entry_id}/edit", f"/entries/{entry_id}"):
            page = penghu.get(url)
            assert page.status_code == 200, (name, url)
            assert_escaped(page.get_data(as_text=True), app.config["SECRET_KEY"])


def test_a_1_mb_field_is_refused_and_the_saved_draft_stays(app, demo):
    penghu = client_as(app, "penghu")
    with app.app_context():
        category_id = db.session.scalar(select(Edition).where(Edition.number == 3)).categories[0].id
    entry_id = int(penghu.post(f"/entries/start/{category_id}").headers["Location"].rstrip("/").split("/")[-2])
    with app.app_context():
        data = _form(_entry(entry_id), "已儲存的內容")
    assert penghu.post(f"/entries/{entry_id}/edit", data=data).status_code == 302
    with app.app_context():
        saved = _content(_entry(entry_id))
        base = _entry(entry_id).draft_version
        field_names = [n for n in _form(_entry(entry_id), "") if n != "draft_version"]
    for field in ("summary",):
        response = penghu.post(f"/entries/{entry_id}/edit",
                               data={"draft_version": str(base), "title": "已儲存的內容", field: ONE_MB_TEXT})
        assert response.status_code in (400, 413), (field, response.status_code)
        with app.app_context():
            assert _content(_entry(entry_id)) == saved
            assert _entry(entry_id).draft_version == base
    response = penghu.post(f"/entries/{entry_id}/autosave", data={"draft_version": str(base), field_names[-1]: ONE_MB_TEXT})
    assert response.status_code in (400, 413)
    with app.app_context():
        assert _content(_entry(entry_id)) == saved


def _plant_hostile_text(world) -> dict[str, str]:
    """Hostile text in the stored titles, agency names, category and criterion names and comments, as
    data saved before this check (or by another path) would hold it; NUL cannot be stored in PostgreSQL."""
    texts = [t.replace("\x00", "") for t in HOSTILE_TEXT.values()]
    entries = db.session.scalars(select(Entry).order_by(Entry.id)).all()
    for index, entry in enumerate(entries):
        entry.title = texts[index % len(texts)]
        entry.agency.name = texts[(index + 1) % len(texts)][:100]
    for index, sheet in enumerate(db.session.scalars(select(ScoreSheet).order_by(ScoreSheet.id))):
        sheet.comment = texts[index % len(texts)]
        if sheet.judge.email.startswith("judge1@"):
            sheet.status, sheet.submitted_at = SheetStatus.DRAFT, None  # still to fill in: offline sheets
    for index, mark in enumerate(db.session.scalars(select(Mark).order_by(Mark.id))):
        mark.comment = texts[index % len(texts)]
    for index, category in enumerate(db.session.scalars(select(Category).order_by(Category.id))):
        category.name = texts[index][:100]
    for index, criterion in enumerate(db.session.scalars(select(Criterion).order_by(Criterion.id))):
        criterion.name = texts[(index + 3) % len(texts)][:100]
    db.session.commit()
    return dict(zip(HOSTILE_TEXT, texts))


def _formula_cells(blob: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(blob))
    found = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" and any(p in str(cell.value) for p in FORMULA_PAYLOADS):
                    found.append(f"{sheet.title}!{cell.coordinate}")
    return found


def _strings(blob: bytes) -> set[str]:
    book = load_workbook(io.BytesIO(blob))
    return {cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str)}


def test_hostile_text_is_shown_escaped_and_exported_as_text(app, scored_stage):
    with app.app_context():
        _plant_hostile_text(scored_stage)
    stage_id = scored_stage.stage_id
    organizer = client_as(app, "organizer")
    for url in (f"/results/stages/{stage_id}", f"/judging/stages/{stage_id}/sheets", "/entries/admin",
                f"/results/export/stages/{stage_id}"):
        page = organizer.get(url)
        assert page.status_code < 500, url
        if page.status_code == 200:
            assert_escaped(page.get_data(as_text=True), app.config["SECRET_KEY"])
    workbook = organizer.get(f"/results/export/stages/{stage_id}.xlsx")
    assert workbook.status_code == 200
    assert _formula_cells(workbook.data) == []
    assert HOSTILE_TEXT["dde_formula"] in _strings(workbook.data)

    judge = client_as(app, "judge1")
    offline = judge.get(f"/judging/offline/stages/{stage_id}.xlsx")
    assert offline.status_code == 200, offline.status_code
    assert _formula_cells(offline.data) == []
    assert any(HOSTILE_TEXT["dde_formula"] in s for s in _strings(offline.data))
    for url in ("/judging/", "/judging/dashboard"):
        page = judge.get(url)
        if page.status_code == 200:
            assert_escaped(page.get_data(as_text=True), app.config["SECRET_KEY"])
