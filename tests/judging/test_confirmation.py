"""The judge's per-entry confirmation that no tie exists, before anything of the entry is shown;
the judge's dashboard rows; and that a conflicted or unassigned judge gets nothing at any
judging URL."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from award.extensions import db
from award.judging import assign_ops
from award.models import AssignmentStatus, AuditEvent, Tie, TieKind

TAITUNG, GREEN_ISLAND, PENGHU = "DEMO-C4000", "DEMO-C4010", "DEMO-C1000"
SECRET_TITLE, SECRET_SUMMARY = "SECRET-TITLE-4b1e", "SECRET-SUMMARY-90ac"


@pytest.fixture
def green(jw):
    entry = jw.entry(GREEN_ISLAND, title=SECRET_TITLE)
    entry.summary = SECRET_SUMMARY
    db.session.commit()
    return entry


def test_the_confirmation_page_shows_the_agency_and_nothing_of_the_entry(jw, green):
    assignment = jw.assign(green, "judge1")
    page = jw.client("judge1").get(f"/judging/ties/confirm/{assignment.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "臺東縣綠島鄉公所" in body and "DEMO-C4010" in body and "臺東縣政府" in body  # agency, code, supervisor
    assert SECRET_TITLE not in body and SECRET_SUMMARY not in body
    assert 'id="confirm-form"' in body and 'id="tie-form"' in body
    notice = body.split("data-pdpa-notice", 1)[1].split("</aside>", 1)[0]  # ties are personal data too
    assert 'href="/privacy"' in notice
    for url, client in (("/judging/ties/", jw.client("judge1")), ("/judging/ties/register", jw.client("organizer"))):
        assert "data-pdpa-notice" in client.get(url).get_data(as_text=True), url


def test_confirming_no_tie_opens_the_entry(jw, green):
    assignment = jw.assign(green, "judge1")
    judge1 = jw.client("judge1")
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}")
    assert response.status_code == 302
    assert f"/confirm/{assignment.id}" not in response.headers["Location"]
    assignment = jw.refresh(assignment)
    assert assignment.status is AssignmentStatus.CONFIRMED and assignment.confirmed_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assignment_confirmed"))
    assert event.object_id == str(assignment.id) and event.actor_id == jw.user("judge1").id
    # Confirmed: the page sends the judge on (to the score sheet), and confirming twice changes nothing.
    before = jw.audit_count()
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 302
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 302
    assert jw.audit_count() == before


def test_declaring_a_tie_at_confirmation_records_it_and_removes_the_entry(jw, green):
    assignment = jw.assign(green, "judge1")
    judge1 = jw.client("judge1")
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}/tie", data={
        "tie-agency_id": jw.agency(TAITUNG).id, "tie-kind": "former_employer", "tie-years": "2018–2022",
        "tie-description": ""})
    assert response.status_code == 302
    [tie] = db.session.scalars(select(Tie)).all()
    assert (tie.judge_id, tie.agency.code, tie.kind) == (jw.user("judge1").id, TAITUNG, TieKind.FORMER_EMPLOYER)
    assignment = jw.refresh(assignment)
    assert assignment.status is AssignmentStatus.CONFLICTED and assignment.ended_at is not None
    assert jw.actions() [-2:] == ["tie_declared", "assignment_conflicted"]
    # From now on the judge gets nothing for this assignment.
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404


def test_a_tie_at_confirmation_must_name_this_agency_or_an_authority_above_it(jw, green):
    assignment = jw.assign(green, "judge1")
    judge1 = jw.client("judge1")
    before = jw.audit_count()
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}/tie", data={
        "tie-agency_id": jw.agency(PENGHU).id, "tie-kind": "advisory"})
    assert response.status_code == 422
    response = judge1.post(f"/judging/ties/confirm/{assignment.id}/tie", data={
        "tie-agency_id": jw.agency(GREEN_ISLAND).id, "tie-kind": "other", "tie-description": ""})
    assert response.status_code == 422 and SECRET_TITLE not in response.get_data(as_text=True)
    assert db.session.scalar(select(Tie.id)) is None and jw.audit_count() == before
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED


def test_another_judges_assignment_is_not_found(jw, green):
    assignment = jw.assign(green, "judge1")
    judge2 = jw.client("judge2")
    assert judge2.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge2.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge2.post(f"/judging/ties/confirm/{assignment.id}/tie",
                       data={"tie-agency_id": jw.agency(GREEN_ISLAND).id, "tie-kind": "advisory"}).status_code == 404
    assert judge2.get("/judging/ties/confirm/999999").status_code == 404
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED
    assert db.session.scalar(select(Tie.id)) is None


@pytest.mark.parametrize("who", ["organizer", "greenisland"])
def test_only_judges_confirm(jw, green, who):
    assignment = jw.assign(green, "judge1")
    client = jw.client(who)
    assert client.get(f"/judging/ties/confirm/{assignment.id}").status_code == 403
    assert client.post(f"/judging/ties/confirm/{assignment.id}").status_code == 403
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED


@pytest.mark.parametrize("status", [AssignmentStatus.CONFLICTED, AssignmentStatus.WITHDRAWN])
def test_an_ended_assignment_is_not_found(jw, green, status):
    assignment = jw.assign(green, "judge1", status)
    judge1 = jw.client("judge1")
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert jw.refresh(assignment).status is status


def test_a_tie_in_the_register_wins_over_a_stale_assignment(jw, green):
    """Even if an assignment were still open, a judge tied (here through the supervisor) gets 404."""
    assignment = jw.assign(green, "judge1")
    jw.tie("judge1", TAITUNG)  # written straight to the table: the assignment is not ended
    judge1 = jw.client("judge1")
    assert judge1.get(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert judge1.post(f"/judging/ties/confirm/{assignment.id}").status_code == 404
    assert jw.refresh(assignment).status is AssignmentStatus.ASSIGNED
    with pytest.raises(assign_ops.AssignmentError):
        assign_ops.confirm_assignment(assignment, jw.user("judge1"))


def test_a_blind_stage_still_shows_the_agency_for_the_tie_check(jw, green):
    stage = jw.stage()
    stage.blind = True
    db.session.commit()
    assignment = jw.assign(green, "judge1")
    body = jw.client("judge1").get(f"/judging/ties/confirm/{assignment.id}").get_data(as_text=True)
    assert "臺東縣綠島鄉公所" in body and SECRET_TITLE not in body


def test_dashboard_rows_hide_the_title_until_confirmed(jw, green):
    penghu = jw.entry(PENGHU, category=1, title="澎湖案")
    pending = jw.assign(green, "judge1")
    confirmed = jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    jw.assign(jw.entry("DEMO-C2000"), "judge1", AssignmentStatus.WITHDRAWN)
    jw.sheet(penghu, "judge1", submitted=False)
    [stage] = assign_ops.judge_dashboard_rows(jw.user("judge1"))
    assert stage.stage_id == jw.stage().id and stage.pending == 1
    rows = {r.assignment_id: r for r in stage.rows}
    assert set(rows) == {pending.id, confirmed.id}
    assert rows[pending.id].confirmation_pending and rows[pending.id].title is None
    assert rows[confirmed.id].title == "澎湖案" and rows[confirmed.id].sheet_status == "draft"
    assert rows[pending.id].category == jw.edition().categories[0].name
    assert assign_ops.judge_dashboard_rows(jw.user("judge2")) == []
    # A tie in the register hides the entry from the rows at once.
    jw.tie("judge1", TAITUNG)
    [stage] = assign_ops.judge_dashboard_rows(jw.user("judge1"))
    assert [r.assignment_id for r in stage.rows] == [confirmed.id]


def test_dashboard_snippet_renders(jw, app, green):
    from flask import render_template_string

    assignment = jw.assign(green, "judge1")
    with app.test_request_context():
        html = render_template_string('{% include "judging/ties/_dashboard.html" %}',
                                      stages=assign_ops.judge_dashboard_rows(jw.user("judge1")))
    assert f"/judging/ties/confirm/{assignment.id}" in html and SECRET_TITLE not in html


# --- every URL: a conflicted or unassigned judge gets nothing of the entry ------------------------

SECRET_SECTION, SECRET_FILE = "SECRET-SECTION-77d2", "SECRET-FILE-NAME-5c3a.pdf"
SECRET_BYTES, SECRET_COMMENT, SECRET_OVERALL = "SECRET-FILE-BYTES-e09f", "SECRET-COMMENT-13f7", "SECRET-OVERALL-a4c8"
JUDGE1_MARKS = ("73.5", "61.5", "77.5", "59.5", "66.5")  # judge1's marks on the entry: nobody else's to see
SECRETS = (SECRET_TITLE, SECRET_SUMMARY, SECRET_SECTION, SECRET_FILE, SECRET_BYTES, SECRET_COMMENT, SECRET_OVERALL)
SKIPPED = {"static", "auth.logout", "main.set_language"}  # no entry data; they would end the visit
ENTRY_ENDPOINTS = ("ties.", "judging_admin.", "judging.", "offline.", "attachments.", "entries.", "results.",
                   "exports.", "uploads.")


def _fill(rule, values) -> str | None:
    url = rule.rule
    for argument in rule.arguments:
        if argument not in values:
            return None
        url = re.sub(r"<(?:[^:<>]+:)?" + argument + r">", str(values[argument]), url)
    return url


def _text_of(response) -> str:
    """What a response shows: the text of a page or JSON, every cell of a workbook, the bytes of a file."""
    import zipfile

    body = response.get_data()
    if body[:2] == b"PK":
        try:
            from openpyxl import load_workbook

            workbook = load_workbook(io.BytesIO(body))
            cells = [str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row
                     if c.value is not None]
            return "\n".join(cells) + "\n" + body.decode("latin-1")
        except (zipfile.BadZipFile, KeyError, ValueError):
            pass
    return body.decode("utf-8", errors="replace") + "\n" + str(response.headers)


@pytest.fixture
def secret_world(jw, green):
    """The entry of 綠島鄉公所 with secret texts and a file, judge1's submitted marks on it, judge1
    also on 澎湖's entry, the stage open with its discussion open (the panel sees each other's marks)."""
    from datetime import timedelta

    from award.entries import storage
    from award.judging.sheets import save_sheet
    from award.models import Attachment, EntrySection, utcnow

    stage = jw.stage()
    stage.opens_at, stage.closes_at = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
    stage.discussion_open = True
    criteria = list(green.category.criteria)
    green.sections = [EntrySection(criterion_id=c.id, text=f"{SECRET_SECTION}-{c.id}") for c in criteria]
    blob = storage.save_stream(io.BytesIO(b"%PDF-1.7\n% " + SECRET_BYTES.encode() + b"\n%%EOF\n"), 1024 * 1024)
    pdf = Attachment(entry_id=green.id, original_name=SECRET_FILE, kind="pdf", content_type="application/pdf",
                     size=blob.size, sha256=blob.sha256, storage_key=blob.key)
    db.session.add(pdf)
    db.session.commit()
    penghu = jw.entry(PENGHU, title="澎湖的參獎案")
    a1 = jw.assign(green, "judge1", AssignmentStatus.CONFIRMED)
    jw.assign(penghu, "judge1", AssignmentStatus.CONFIRMED)
    marks = {c.id: (score, f"{SECRET_COMMENT}-{c.id}") for c, score in zip(criteria, JUDGE1_MARKS)}
    save_sheet(jw.user("judge1"), a1, marks, SECRET_OVERALL, base_version=0, submit=True)
    return {"a1": a1, "pdf": pdf.id, "penghu": penghu, "stage": stage}


@pytest.mark.parametrize("who", ["judge2", "judge3", "judge3-confirmed"])
def test_every_url_gives_a_conflicted_or_unassigned_judge_nothing_of_the_entry(jw, app, green, secret_world, who):
    """judge1 is assigned, confirmed and has submitted marks. judge2 has no assignment to the entry;
    judge3's assignment ended when the organiser registered a tie to 臺東縣政府 (the supervisor);
    "judge3-confirmed" confirmed theirs before a tie to 綠島鄉公所 itself was entered straight into
    the register (the assignment still says confirmed: only the tie check stands between). Each also
    has a confirmed assignment to 澎湖's entry, so their dashboard, discussion and offline sheets are
    full pages. At no URL, with any id, does the visitor see the entry's texts, its file (name or
    bytes) or judge1's marks and comments."""
    from award.models import ScoreSheet

    visitor = who.split("-")[0]
    own = jw.assign(secret_world["penghu"], visitor, AssignmentStatus.CONFIRMED)
    mine = None
    if who == "judge3":
        mine = jw.assign(green, "judge3")
        jw.client("organizer").post("/judging/ties/register", data={
            "judge_id": jw.user("judge3").id, "agency_id": jw.agency(TAITUNG).id, "kind": "oversight"})
        assert jw.refresh(mine).status is AssignmentStatus.CONFLICTED
    elif who == "judge3-confirmed":
        mine = jw.assign(green, "judge3", AssignmentStatus.CONFIRMED)
        jw.tie("judge3", GREEN_ISLAND)
        assert jw.refresh(mine).status is AssignmentStatus.CONFIRMED
    a1 = secret_world["a1"]
    sheet_id = db.session.scalar(select(ScoreSheet.id).where(ScoreSheet.judge_id == jw.user("judge1").id,
                                                            ScoreSheet.entry_id == green.id))
    base = {"stage_id": jw.stage().id, "entry_id": green.id, "judge_id": jw.user("judge1").id,
            "category_id": green.category_id, "tie_id": db.session.scalar(select(Tie.id)) or 1, "sheet_id": sheet_id,
            "agency_id": green.agency_id, "attachment_id": secret_world["pdf"], "number": 1, "snapshot_id": 1,
            "edition_id": jw.edition().id, "tier_id": 1, "user_id": jw.user("judge1").id, "token": "x",
            "upload_id": "0" * 32, "file_format": "xlsx"}
    assignment_ids = [a1.id] + ([mine.id] if mine is not None else [])
    client = jw.client(visitor)
    before = jw.audit_count()
    seen: set[str] = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        for assignment_id in assignment_ids:
            url = _fill(rule, {**base, "assignment_id": assignment_id})
            if url is None:
                raise AssertionError(f"no value for an argument of {rule.rule}: add it to the walk")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data={})
                shown = _text_of(response)
                for secret in SECRETS:
                    assert secret not in shown, f"{method} {url} shows {secret}"
                if rule.endpoint.startswith(("judging.", "ties.", "offline.", "results.", "exports.")) \
                        and method == "GET" and response.status_code == 200:
                    for mark in JUDGE1_MARKS:
                        assert mark not in shown, f"{method} {url} shows judge1's mark {mark}"
                if rule.endpoint.startswith(ENTRY_ENDPOINTS) and {
                        "entry_id", "assignment_id", "attachment_id", "sheet_id"} & rule.arguments:
                    assert response.status_code in (302, 400, 403, 404, 405, 412), \
                        f"{method} {url} gave {response.status_code}"
                seen.add(rule.endpoint)
    for endpoint in ("judging.sheet", "judging.view_pdf", "attachments.download_attachment", "offline.download",
                     "judging.discussion", "judging.dashboard", "entries.show_entry", "entries.receipt",
                     "ties.confirm", "judging.reopen", "judging.stage_sheets", "results.stage"):
        assert endpoint in seen, endpoint
    # The visitor's own pages did open (so the checks above looked at real pages, not only refusals).
    dashboard = client.get("/judging/")
    assert dashboard.status_code == 200
    assert client.get(f"/judging/ties/confirm/{own.id}").status_code in (200, 302)
    workbook = client.get(f"/judging/offline/stages/{jw.stage().id}.xlsx")
    assert workbook.status_code == 200 and "澎湖的參獎案" in _text_of(workbook)
    assert SECRET_TITLE not in _text_of(workbook)
    discussion = client.get(f"/judging/stages/{jw.stage().id}/discussion")
    assert discussion.status_code == 200 and SECRET_TITLE not in _text_of(discussion)
    # Nothing of judge1's changed, and the visitor declared no tie.
    db.session.expire_all()
    assert jw.refresh(a1).status is AssignmentStatus.CONFIRMED
    sheet = db.session.get(ScoreSheet, sheet_id)
    assert sheet.status.value == "submitted" and not sheet.excluded
    assert jw.actions().count("tie_declared") == 0
    assert jw.audit_count() >= before
