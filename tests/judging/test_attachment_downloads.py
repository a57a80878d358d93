"""A judge in a blind stage never learns the agency from an attachment's file name: the score sheet
lists neutral names and both downloads (the saved file and the inline PDF) carry them in
Content-Disposition. Organisers and the agency keep the real name. The contents are not redacted."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote

import pytest

from award.extensions import db
from test_sheets_support import (add_pdf, judging_app, last_event, login_client, stage, world)  # noqa: F401

REAL = "澎湖縣政府成果報告.pdf"
PHOTO = "澎湖縣政府活動照片.PNG"
PDF = "%PDF-1.7\n% 澎湖縣政府 is written inside: contents are not redacted\n".encode()


@pytest.fixture
def files(judging_app, world):
    """Two attachments of entry 甲 (澎湖縣政府) whose names give the agency away: (pdf id, png id)."""
    with judging_app.app_context():
        pdf = add_pdf(world.entries["甲"], content=PDF, name=REAL)
        png = add_pdf(world.entries["甲"], content=b"\x89PNG\r\n\x1a\n", name=PHOTO, kind="png")
    return pdf, png


def _blind(app, world, value=True):
    with app.app_context():
        stage(world.stage_id).blind = value
        db.session.commit()


def _filenames(response) -> tuple[str, str]:
    """(the ASCII fallback, the decoded filename*) of a Content-Disposition."""
    header = response.headers["Content-Disposition"]
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    star = unquote(re.search(r"filename\*=UTF-8''(\S+)", header).group(1))
    return fallback, star


def _download(client, world, attachment_id):
    return client.get(f"/entries/{world.entries['甲']}/attachments/{attachment_id}")


def _view(client, world, attachment_id, judge="judge1"):
    return client.get(f"/judging/sheets/{world.assignment(judge, '甲')}/attachments/{attachment_id}/view")


def test_a_blind_judge_downloads_under_neutral_names(judging_app, world, files):
    pdf, png = files
    _blind(judging_app, world)
    entry_id = world.entries["甲"]
    judge1 = login_client(judging_app, "judge1")
    response = _download(judge1, world, pdf)
    assert response.status_code == 200 and response.data == PDF  # the bytes as uploaded
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert _filenames(response) == (f"entry-{entry_id}-attachment-1.pdf", f"entry-{entry_id}-attachment-1.pdf")
    photo = _download(judge1, world, png)
    assert _filenames(photo) == (f"entry-{entry_id}-attachment-2.png",) * 2
    inline = _view(judge1, world, pdf)
    assert inline.status_code == 200 and inline.data == PDF
    assert inline.headers["Content-Disposition"].startswith("inline;")
    assert _filenames(inline) == (f"entry-{entry_id}-attachment-1.pdf",) * 2
    for r in (response, photo, inline):
        header = r.headers["Content-Disposition"]
        assert "澎湖" not in unquote(header) and quote("澎湖") not in header and "Penghu" not in header


def test_the_blind_score_sheet_lists_the_neutral_names(judging_app, world, files):
    _blind(judging_app, world)
    entry_id = world.entries["甲"]
    html = login_client(judging_app, "judge1").get(
        f"/judging/sheets/{world.assignment('judge1', '甲')}").get_data(as_text=True)
    assert f"entry-{entry_id}-attachment-1.pdf" in html and f"entry-{entry_id}-attachment-2.png" in html
    assert REAL not in html and PHOTO not in html and "澎湖縣政府" not in html
    assert quote(REAL) not in html


def test_outside_a_blind_stage_the_judge_sees_the_real_names(judging_app, world, files):
    pdf, _png = files
    judge1 = login_client(judging_app, "judge1")
    html = judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}").get_data(as_text=True)
    assert REAL in html and PHOTO in html
    assert _filenames(_download(judge1, world, pdf))[1] == REAL
    assert _filenames(_view(judge1, world, pdf))[1] == REAL


@pytest.mark.parametrize("who", ["organizer", "penghu"])
def test_organisers_and_the_agency_keep_the_real_name_in_a_blind_stage(judging_app, world, files, who):
    pdf, png = files
    _blind(judging_app, world)
    client = login_client(judging_app, who)
    assert _filenames(_download(client, world, pdf))[1] == REAL
    assert _filenames(_download(client, world, png))[1] == PHOTO
    html = client.get(f"/entries/{world.entries['甲']}").get_data(as_text=True)
    assert REAL in html and PHOTO in html


def test_the_audit_trail_keeps_the_real_name_of_what_a_blind_judge_read(judging_app, world, files):
    pdf, _png = files
    _blind(judging_app, world)
    assert _download(login_client(judging_app, "judge1"), world, pdf).status_code == 200
    with judging_app.app_context():
        event = last_event("attachment_downloaded")
        assert event.actor_id == world.judges["judge1"] and json.loads(event.after)["name"] == REAL


def test_a_removed_file_does_not_shift_the_numbers_the_judge_sees(judging_app, world, files):
    from award.models import Attachment, utcnow

    pdf, png = files
    _blind(judging_app, world)
    with judging_app.app_context():
        third = add_pdf(world.entries["甲"], content=PDF, name="第三份.pdf")
        db.session.get(Attachment, pdf).removed_at = utcnow()
        db.session.commit()
    judge1 = login_client(judging_app, "judge1")
    entry_id = world.entries["甲"]
    assert _download(judge1, world, pdf).status_code == 404  # removed: not for judges
    # the sheet and the downloads agree on the numbering of the files the judge is shown
    html = judge1.get(f"/judging/sheets/{world.assignment('judge1', '甲')}").get_data(as_text=True)
    assert f"entry-{entry_id}-attachment-1.png" in html and f"entry-{entry_id}-attachment-2.pdf" in html
    assert _filenames(_download(judge1, world, png))[1] == f"entry-{entry_id}-attachment-1.png"
    assert _filenames(_download(judge1, world, third))[1] == f"entry-{entry_id}-attachment-2.pdf"


def test_a_judge_never_opens_the_agencys_entry_pages(judging_app, world, files):
    """Those pages name the agency and its contacts: a judge reads the entry on the score sheet."""
    entry_id = world.entries["甲"]
    for blind in (False, True):
        _blind(judging_app, world, blind)
        judge1 = login_client(judging_app, "judge1")
        assert judge1.get(f"/entries/{entry_id}").status_code == 404
        assert judge1.get(f"/entries/{entry_id}/receipt/1").status_code == 404
        assert judge1.get(f"/entries/{entry_id}/versions/1/content.json").status_code == 404


def test_a_judge_of_another_stage_or_entry_gets_nothing(judging_app, world, files):
    pdf, _png = files
    _blind(judging_app, world)
    judge2 = login_client(judging_app, "judge2")
    assert _download(judge2, world, pdf).status_code == 200  # judge2 is assigned too, and blind as well
    assert _filenames(_download(judge2, world, pdf))[1].startswith(f"entry-{world.entries['甲']}-attachment-")
    from award.models import Assignment, AssignmentStatus

    with judging_app.app_context():
        db.session.get(Assignment, world.assignment("judge2", "甲")).status = AssignmentStatus.WITHDRAWN
        db.session.commit()
    assert _download(judge2, world, pdf).status_code == 404
