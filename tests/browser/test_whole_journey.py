"""The whole journey in one browser test, from an empty database to the ceremony workbook.

The first organiser is made the way a real installation makes it (``award user add … --role
organizer``); everything after that is done in headless Chromium, as each role: the organiser sets
up an edition (two categories, five criteria, two stages, two tiers), imports the agency register
from a sheet and invites the judges and agency contacts (the invitations are read off the Outbox
page, since no mail server is configured); three agencies, one on an outlying island (蘭嶼), enter
with an attachment; the organiser screens and auto-assigns; a judge declares a tie and the others
confirm theirs and score; the organiser advances the entries above a threshold to the site visit;
the judges score it, one offline through the signed Excel sheet; the organiser freezes and exports.
The exported workbook is then checked against a fresh computation by the scoring engine from the
marks typed in this test, its hash against the frozen snapshot, and ``award audit verify`` must pass.

A screenshot of each step goes to test-artifacts/screenshots/test_whole_journey-NN-<step>.png.
Moving the clock (the submission deadline, the stage windows) is done through the organiser's own
edition and stage forms, as a real organiser would.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

import scoring
from award import scoring_adapter as adapter
from award.extensions import db
from award.i18n import TAIPEI
from award.judging import offline
from award.models import (Agency, Assignment, AssignmentStatus, Attachment, Edition, Entry, EntryStatus,
                          ResultSnapshot, Screening, ScoreSheet, SheetStatus, Stage, StageEntry, Tie, User)
from award.results import workbook_text as T
from browser_helpers import field, login, logout

pytestmark = pytest.mark.browser

ORGANISER = ("chief@aac.example", "廉政署承辦人", "Organiser-own-choice-2026!")
FIRST_PASSWORD = "Organiser-first-install-2026!"  # given on the command line; replaced at first login
JUDGES = [(f"judge{i}@panel.example", name, f"Judge-{i}-long-passphrase-2026")
          for i, name in enumerate(["林委員", "陳委員", "黃委員", "吳委員"], start=1)]
# code, name, level, supervisor, county, geography (the register's Chinese words, as a clerk types them)
REGISTER = [
    ("TW-0100", "臺東縣政府", "縣市", "", "臺東縣", "偏遠"),
    ("TW-0110", "臺東縣蘭嶼鄉公所", "鄉鎮市區", "TW-0100", "臺東縣", "離島"),
    ("TW-0200", "臺北市政府", "直轄市", "", "臺北市", "本島"),
    ("TW-0300", "屏東縣政府", "縣市", "", "屏東縣", "本島"),
]
# agency code -> (contact e-mail, name, password, category index, title)
CONTACTS = {
    "TW-0200": ("integrity@taipei.example", "臺北市政風處聯絡人", "Taipei-contact-passphrase-26", 0, "臺北市公開透明採購平臺"),
    "TW-0110": ("office@lanyu.example", "蘭嶼鄉公所聯絡人", "Lanyu-contact-passphrase-26", 0, "蘭嶼鄉公所廉能治理與資訊公開"),
    "TW-0300": ("ethics@pingtung.example", "屏東縣政風處聯絡人", "Pingtung-contact-passphrase-26", 1, "屏東縣廉政創新工作坊"),
}
# category: name, [(criterion, weight)] — five criteria in all
CATEGORIES = [
    ("整體廉能作為類", [("首長決心與持續作為", 40), ("資訊與行政透明", 35), ("風險防制與課責", 25)]),
    ("創新廉能措施類", [("廉政成效展現", 60), ("廉能創新與擴散", 40)]),
]
TIERS = [("特優", "85", "1"), ("優選", "75", "")]
# Each judge's mark = the entry's base in the stage + the judge's leaning + a step per criterion.
BASE = {1: {"TW-0200": 84, "TW-0110": 78, "TW-0300": 62}, 2: {"TW-0200": 80, "TW-0110": 88}}
LEANING = {0: 2, 1: -1, 2: 0, 3: 3}
THRESHOLD = "70"  # the first stage's total an entry needs to go on to the site visit


def mark_for(stage_no: int, code: str, judge_index: int, criterion_index: int) -> int:
    return BASE[stage_no][code] + LEANING[judge_index] + (criterion_index % 3) - 1


class Journey:
    """The live app, the page, the screenshots and what has been typed so far."""

    def __init__(self, app, base, page, screenshot):
        self.app, self.base, self.page, self._shot = app, base, page, screenshot
        self.step = 0
        self.marks: dict[int, list[scoring.Mark]] = {}  # stage id -> every mark typed in this test
        self.started = time.monotonic()

    def shot(self, name: str) -> None:
        self.step += 1
        self._shot(f"{self.step:02d}-{name}")

    def db(self, fn):
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    def go(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, f"{path}: {response and response.status}"

    def submit(self, locator) -> None:
        """Press a form's button and wait for the page it leads to."""
        with self.page.expect_navigation():
            locator.click()

    def save_form(self, button_text: str | None = None) -> None:
        form = self.page.locator("main form[method=post]").last
        self.submit(form.locator("button[type=submit]").last if button_text is None
                    else form.get_by_role("button", name=button_text))

    def login(self, email: str, password: str) -> None:
        login(self.page, self.base, email, password)
        expect(self.page).not_to_have_url(re.compile(r"/login"))

    def logout(self) -> None:
        logout(self.page)


def local(moment: datetime) -> str:
    """A datetime-local value in Taipei time."""
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")


def no_errors_shown(page) -> None:
    page.wait_for_load_state()
    errors = page.locator("main .error-summary, main p.error, main .flash-error, main [role=alert].error")
    assert errors.count() == 0, f"{page.url}: " + " | ".join(errors.all_inner_texts())


@pytest.fixture
def empty_app(live_app, live_server):
    """The live app with every table empty: a fresh installation (the module's server loaded the demo)."""
    from audit_support import empty_all_tables

    with live_app.app_context():
        empty_all_tables()
        db.session.remove()
    return live_server


def test_whole_journey_from_empty_database_to_ceremony_workbook(empty_app, live_app, page, screenshot, tmp_path):
    j = Journey(live_app, empty_app, page, screenshot)
    now = datetime.now(TAIPEI)

    # --- 1. The installation's first organiser, from the command line ---------------------------------
    email, name, password = ORGANISER
    result = live_app.test_cli_runner().invoke(
        args=["user", "add", email, "--role", "organizer", "--name", name], input=FIRST_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    j.login(email, FIRST_PASSWORD)
    # A password set on the command line must be replaced by the organiser's own at first login.
    expect(page).to_have_url(re.compile(r"/password/change$"))
    field(page, "current").fill(FIRST_PASSWORD)
    field(page, "password").fill(password)
    field(page, "confirm").fill(password)
    page.locator("main form[method=post] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/password/change"))
    j.shot("organiser-home")

    # --- 2. The edition, its categories, criteria, stages and tiers ----------------------------------
    j.go("/editions/new")
    field(page, "number").fill("27")
    field(page, "year").fill(str(now.year))
    field(page, "name").fill(f"第27屆透明晶質獎（{now.year}）")
    page.locator("#submission_opens_at").fill(local(now - timedelta(days=1)))
    page.locator("#submission_deadline").fill(local(now + timedelta(days=30)))
    j.save_form()
    no_errors_shown(page)
    edition_id = j.db(lambda: db.session.scalar(select(Edition.id).where(Edition.number == 27)))
    assert edition_id, "the edition was not created"

    for category_name, criteria in CATEGORIES:
        j.go(f"/editions/{edition_id}/categories/new")
        field(page, "name").fill(category_name)
        field(page, "description").fill(f"{category_name}：機關推動廉能治理之成果。")
        j.save_form()
        # Straight on to the criteria editor: every criterion in one save (the weights must make 100).
        expect(page).to_have_url(re.compile(r"/criteria$"))
        for row, (criterion, weight) in enumerate(criteria):
            page.locator(f"[name='criteria-{row}-name']").fill(criterion)
            page.locator(f"[name='criteria-{row}-weight']").fill(str(weight))
            page.locator(f"[name='criteria-{row}-max_score']").fill("100")
            page.locator(f"[name='criteria-{row}-step']").fill("1")
        j.save_form()
        no_errors_shown(page)
    j.shot("criteria-saved")

    stage_windows = [("書面審查", now + timedelta(days=33), now + timedelta(days=50), "mean", "0"),
                     ("實地訪視", now + timedelta(days=60), now + timedelta(days=80), "trimmed", "1")]
    for stage_name, opens, closes, aggregation, trim in stage_windows:
        j.go(f"/editions/{edition_id}/stages/new")
        field(page, "name").fill(stage_name)
        page.locator("#opens_at").fill(local(opens))
        page.locator("#closes_at").fill(local(closes))
        page.locator("#judges_per_entry").fill("3")
        page.locator("#aggregation").select_option(aggregation)
        page.locator("#trim").fill(trim)
        j.save_form()
        no_errors_shown(page)
    for tier_name, min_total, quota in TIERS:
        j.go(f"/editions/{edition_id}/tiers/new")
        field(page, "name").fill(tier_name)
        page.locator("#min_total").fill(min_total)
        page.locator("#quota").fill(quota)
        j.save_form()
        no_errors_shown(page)
    j.go(f"/editions/{edition_id}")
    j.submit(page.locator("form:has(input[name=status][value=open]) button"))
    expect(page.locator("#status-warnings")).to_have_count(0)
    j.submit(page.locator("#confirm-status button"))  # the page said what opening does
    no_errors_shown(page)
    j.shot("edition-open")

    def edition_facts():
        edition = db.session.get(Edition, edition_id)
        return (edition.status.value, [(c.name, [(k.name, int(k.weight)) for k in c.criteria]) for c in edition.categories],
                [s.name for s in edition.stages], [s.id for s in edition.stages],
                {c.name: c.id for c in edition.categories})
    status, categories, stage_names, stage_ids, category_ids = j.db(edition_facts)
    assert status == "open"
    assert categories == [(n, list(c)) for n, c in CATEGORIES]
    assert stage_names == ["書面審查", "實地訪視"]
    first_stage, site_visit = stage_ids

    # --- 3. The agency register, imported from a sheet ------------------------------------------------
    sheet = tmp_path / "機關名冊.csv"
    sheet.write_text("機關代碼,機關名稱,層級,上級機關代碼,縣市,地理分類,機關首長,地址,電話\n" + "".join(
        f"{code},{agency},{level},{supervisor},{county},{geography},,,\n"
        for code, agency, level, supervisor, county, geography in REGISTER), encoding="utf-8-sig")
    j.go("/agencies/import")
    page.locator("#import-form input[type=file]").set_input_files(str(sheet))
    j.submit(page.locator("#import-form button[type=submit]"))
    j.shot("agencies-imported")
    agencies = j.db(lambda: {a.code: (a.id, a.name, a.geography.value, a.supervisor.code if a.supervisor else None)
                             for a in db.session.scalars(select(Agency))})
    assert set(agencies) == {r[0] for r in REGISTER}
    assert agencies["TW-0110"][2:] == ("outlying_island", "TW-0100")

    # --- 4. Invitations, read off the Outbox, accepted by each person ---------------------------------
    people = [(e, n, p, "judge", None) for e, n, p in JUDGES] + \
             [(e, n, p, "agency", code) for code, (e, n, p, *_rest) in CONTACTS.items()]
    for invitee, invitee_name, _password, role, code in people:
        j.go("/users/invite")
        field(page, "email").fill(invitee)
        field(page, "name").fill(invitee_name)
        page.locator("#role").select_option(role)
        if code:
            page.locator("#agency_id").select_option(str(agencies[code][0]))
        j.save_form()
        no_errors_shown(page)
    j.go("/outbox")
    j.shot("outbox")
    links = {}
    for invitee, *_rest in people:
        card = page.locator("main article.card").filter(has_text=invitee).first
        body = card.locator("pre.mail-body").inner_text()
        match = re.search(r"https?://\S+/invitations/\S+", body)
        assert match, f"no invitation link for {invitee} in {body!r}"
        links[invitee] = match.group(0)
    j.logout()
    for invitee, _name, invitee_password, _role, _code in people:
        j.page.goto(links[invitee])
        page.locator("#password").fill(invitee_password)
        page.locator("#confirm").fill(invitee_password)
        j.save_form()
        expect(page).to_have_url(re.compile(r"/login"))
    j.shot("invitation-accepted")
    accounts = j.db(lambda: {u.email: (u.id, u.role.value, u.agency.code if u.agency else None)
                             for u in db.session.scalars(select(User))})
    assert len(accounts) == 1 + len(people)
    judge_ids = [accounts[e][0] for e, _n, _p in JUDGES]
    judge_index = {judge_id: i for i, judge_id in enumerate(judge_ids)}

    # --- 5. Three agencies enter, each with an attachment ---------------------------------------------
    entries: dict[str, int] = {}  # agency code -> entry id
    for code, (contact, contact_name, contact_password, category_index, title) in CONTACTS.items():
        j.login(contact, contact_password)
        j.go("/entries/")
        category_id = category_ids[CATEGORIES[category_index][0]]
        j.submit(page.locator(f"main li#category-{category_id}").get_by_role("button"))
        form = page.locator("#entry-form")
        expect(form).to_be_visible()
        entry_id = int(form.get_attribute("data-entry-id"))
        entries[code] = entry_id
        # The attachment first: when the resumable upload finishes the page reloads with it listed.
        pdf = tmp_path / f"{code}-佐證資料.pdf"
        pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 20 >>\nstream\n" + code.encode() * 400
                        + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
        if page.locator("#tus-upload").is_visible():
            with page.expect_navigation(timeout=30_000):
                page.locator("#tus-file").set_input_files(str(pdf))
        else:  # the plain form, without the script
            page.locator("#attachment-file").set_input_files(str(pdf))
            j.submit(page.locator("#attachment-form button[type=submit]"))
        expect(page.locator("#attachment-list").get_by_role("link", name=pdf.name)).to_be_visible()
        page.locator("#title").fill(title)
        page.locator("#head_name").fill(f"{agencies[code][1]}首長")
        page.locator("#contact_name").fill(contact_name)
        page.locator("#contact_phone").fill("089-732-001")
        page.locator("#contact_email").fill(contact)
        page.locator("#summary").fill(f"{title}：推動資訊公開、廉政風險控管與民眾參與之成果。")
        sections = page.locator("#entry-form textarea[name^='section_']")
        for i in range(sections.count()):
            sections.nth(i).fill(f"第{i + 1}面向：具體作法、量化成效與外部評價。")
        page.locator("#head_declaration").check()
        if code == "TW-0110":
            j.shot("island-entry-form")
        j.submit(page.locator("#save-and-submit"))
        expect(page).to_have_url(re.compile(rf"/entries/{entry_id}/receipt/\d+$"))
        if code == "TW-0110":
            j.shot("island-receipt")
        j.logout()
    submitted = j.db(lambda: {e.id: (e.status, len(e.attachments) if hasattr(e, "attachments") else None)
                              for e in db.session.scalars(select(Entry))})
    assert {e: s for e, (s, _n) in submitted.items()} == {e: EntryStatus.SUBMITTED for e in entries.values()}
    assert j.db(lambda: sorted(db.session.scalars(select(Attachment.entry_id)))) == sorted(entries.values())

    # --- 6. The organiser screens the entries, closes submissions and opens the first stage ------------
    j.login(*ORGANISER[::2])
    j.go("/entries/admin")
    j.shot("entries-admin")
    for entry_id in entries.values():
        j.go(f"/entries/{entry_id}")
        screening = page.locator("#screening form")
        screening.locator("select[name=decision]").select_option(Screening.ELIGIBLE.value)
        j.submit(screening.get_by_role("button"))
        expect(page.locator("#entry-status")).to_have_attribute("data-screening", "eligible")
    # The clock: the deadline has passed and the first stage's window is open (the organiser's forms).
    j.go(f"/editions/{edition_id}/edit")
    page.locator("#submission_deadline").fill(local(datetime.now(TAIPEI) - timedelta(minutes=2)))
    j.save_form()
    no_errors_shown(page)
    j.submit(page.locator("form:has(input[name=status][value=judging]) button"))
    expect(page.locator("#status-effects")).to_be_visible()
    expect(page.locator("#status-warnings")).to_have_count(0)  # the deadline has passed, every entry is in
    j.submit(page.locator("#confirm-status button"))
    no_errors_shown(page)
    j.go(f"/editions/{edition_id}/stages/{first_stage}/edit")
    page.locator("#opens_at").fill(local(datetime.now(TAIPEI) - timedelta(minutes=2)))
    page.locator("#closes_at").fill(local(datetime.now(TAIPEI) + timedelta(days=14)))
    j.save_form()
    no_errors_shown(page)
    j.shot("edition-judging")

    # --- 7. A judge declares a tie before the assignment -----------------------------------------------
    j.logout()
    tied_judge = JUDGES[3]
    j.login(tied_judge[0], tied_judge[2])
    j.go("/judging/ties/")
    declare = page.locator("#declare-form")
    declare.locator("#agency_id").select_option(str(agencies["TW-0100"][0]))
    declare.locator("#kind").select_option("advisory")
    declare.locator("#years").fill("2022–2024")
    declare.locator("#description").fill("曾任臺東縣政府廉政顧問。")
    j.submit(declare.get_by_role("button"))
    no_errors_shown(page)
    j.shot("judge-declares-tie")
    assert j.db(lambda: [(t.judge_id, t.agency.code) for t in db.session.scalars(select(Tie))]) == \
        [(judge_ids[3], "TW-0100")]
    j.logout()

    # --- 8. The organiser fills the first stage and assigns the judges automatically -------------------
    j.login(*ORGANISER[::2])
    assign(j, first_stage, populate=True)
    stage_one = stage_assignments(j, first_stage)
    assert sorted({e for e, _j in stage_one}) == sorted(entries.values())
    assert all(len([1 for e, _j in stage_one if e == entry_id]) == 3 for entry_id in entries.values())
    # The tie to 臺東縣政府 covers 蘭嶼鄉公所, which it supervises.
    assert (entries["TW-0110"], judge_ids[3]) not in stage_one
    j.logout()

    # --- 9. The judges confirm they have no tie and score ----------------------------------------------
    code_of = {entry_id: code for code, entry_id in entries.items()}
    for judge_email, _name, judge_password in JUDGES:
        judge_id = accounts[judge_email][0]
        mine = [e for e, jd in stage_one if jd == judge_id]
        if not mine:
            continue
        j.login(judge_email, judge_password)
        for entry_id in mine:
            score_online(j, first_stage, entry_id, judge_id,
                         lambda ci, e=entry_id, jd=judge_id: mark_for(1, code_of[e], judge_index[jd], ci),
                         shoot=(judge_id == judge_ids[0] and not j.marks.get(first_stage)))
        j.go("/judging/")
        j.shot(f"judge{judge_index[judge_id] + 1}-dashboard-stage1")
        j.logout()

    # --- 10. The organiser advances the entries above the threshold to the site visit -----------------
    j.login(*ORGANISER[::2])
    j.go(f"/judging/stages/{first_stage}/advance")
    form = page.locator("#advance-form")
    form.locator("#method-threshold").check()
    form.locator("#threshold").fill(THRESHOLD)
    j.submit(form.locator("button[type=submit]").last)
    no_errors_shown(page)
    j.shot("advanced")
    expected_stage_one = engine_ranking(j, first_stage)
    advancing = {int(e) for c in expected_stage_one.values() for e, (rank, total, tier) in c.items()
                 if total >= Decimal(THRESHOLD)}
    assert advancing == {entries["TW-0200"], entries["TW-0110"]}
    in_site_visit = j.db(lambda: set(db.session.scalars(
        select(StageEntry.entry_id).where(StageEntry.stage_id == site_visit))))
    assert in_site_visit == advancing

    # The site visit's window opens (the organiser's stage form), and its judges are assigned.
    j.go(f"/editions/{edition_id}/stages/{site_visit}/edit")
    page.locator("#opens_at").fill(local(datetime.now(TAIPEI) - timedelta(minutes=2)))
    page.locator("#closes_at").fill(local(datetime.now(TAIPEI) + timedelta(days=20)))
    j.save_form()
    no_errors_shown(page)
    assign(j, site_visit, populate=False)
    stage_two = stage_assignments(j, site_visit)
    assert {e for e, _j in stage_two} == advancing
    assert (entries["TW-0110"], judge_ids[3]) not in stage_two
    j.logout()

    # --- 11. The site visit: one judge offline through the Excel sheet, the others in the browser ------
    offline_judge = judge_ids[0]  # on every panel of 蘭嶼 (the tied judge is not), so never idle
    for judge_email, _name, judge_password in JUDGES:
        judge_id = accounts[judge_email][0]
        mine = [e for e, jd in stage_two if jd == judge_id]
        if not mine:
            continue
        j.login(judge_email, judge_password)
        marks = lambda ci, e, jd=judge_id: mark_for(2, code_of[e], judge_index[jd], ci)  # noqa: E731
        if judge_id == offline_judge:
            score_offline(j, site_visit, mine, judge_id, marks, tmp_path)
        else:
            for entry_id in mine:
                score_online(j, site_visit, entry_id, judge_id, lambda ci, e=entry_id: marks(ci, e))
        j.logout()
    assert j.db(lambda: {s.status for s in db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.stage_id == site_visit))}) == {SheetStatus.SUBMITTED}

    # --- 12. The organiser freezes the site visit's results and exports the workbook ------------------
    j.login(*ORGANISER[::2])
    j.go(f"/results/stages/{site_visit}")
    j.shot("results-before-freeze")
    expect(page.locator("#freeze-blockers")).to_have_count(0)
    j.submit(page.locator("#freeze-form button[type=submit]"))
    expect(page.locator("#freeze-status")).to_have_attribute("data-frozen", "1")
    frozen_hash = page.locator("#frozen-hash").inner_text().strip()
    j.shot("results-frozen")
    snapshot_hash = j.db(lambda: db.session.scalar(
        select(ResultSnapshot.sha256).where(ResultSnapshot.stage_id == site_visit,
                                            ResultSnapshot.unfrozen_at.is_(None))))
    assert frozen_hash == snapshot_hash
    j.go(f"/results/export/stages/{site_visit}")
    j.shot("export-page")
    with page.expect_download() as download_info:
        page.locator("#workbook-link").click()
    workbook_path = tmp_path / "results.xlsx"
    download_info.value.save_as(workbook_path)

    # --- 13. The workbook against the scoring engine, the snapshot and the audit chain ---------------
    book = load_workbook(workbook_path)
    assert book.sheetnames[:2] == [T.SHEETS[0], T.SHEETS[1]]
    summary = {row[0]: row[1] for row in book[T.SHEETS[0]].iter_rows(values_only=True) if row and row[0]}
    assert summary[T.STATUS_LABEL] == T.STATUS_FROZEN
    assert summary[T.LABEL_HASH] == snapshot_hash
    expected = engine_ranking(j, site_visit)
    names = j.db(lambda: {e.id: (e.category.name, e.agency.name, e.title) for e in db.session.scalars(select(Entry))})
    got = [(r[0], r[1], r[2], r[3], Decimal(str(r[4])), r[5])
           for r in book[T.SHEETS[1]].iter_rows(min_row=2, values_only=True) if r[0]]
    want = []
    for category_name, ranked in expected.items():
        for entry_key, (rank, total, tier) in sorted(ranked.items(), key=lambda kv: kv[1][0]):
            category, agency, title = names[int(entry_key)]
            want.append((category, rank, agency, title, total, tier))
    assert got == want, (got, want)
    # The marks of this test put 蘭嶼 first with 特優 (quota 1) and 臺北市 second with 優選.
    assert [(row[2], row[5]) for row in got] == [("臺東縣蘭嶼鄉公所", "特優"), ("臺北市政府", "優選")]

    verify = live_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert verify.output.startswith("OK")
    j.go("/audit/verify")
    j.shot("audit-verified")
    print(f"\nwhole journey: {time.monotonic() - j.started:.1f} s, {j.step} screenshots")


# --- steps used more than once ---------------------------------------------------------------------

def assign(j: Journey, stage_id: int, populate: bool) -> None:
    """The organiser's assignment page: (fill the first stage,) preview the automatic plan, apply it."""
    page = j.page
    j.go(f"/judging/admin/stages/{stage_id}")
    if populate:
        j.submit(page.locator(f"form[action$='/stages/{stage_id}/populate'] button"))
    j.submit(page.get_by_role("link", name=page.locator("main a[href$='/auto']").inner_text().strip()))
    j.submit(page.locator("#auto-form button[type=submit]"))
    expect(page.locator("#preview")).to_be_visible()
    j.shot(f"auto-plan-stage{stage_id}")
    j.submit(page.locator("#apply-form button[type=submit]"))
    no_errors_shown(page)
    expect(page.locator("#short-count")).to_have_text("0")
    j.shot(f"assigned-stage{stage_id}")


def stage_assignments(j: Journey, stage_id: int) -> set[tuple[int, int]]:
    return j.db(lambda: {(a.entry_id, a.judge_id) for a in db.session.scalars(
        select(Assignment).where(Assignment.stage_id == stage_id,
                                 Assignment.status.in_([AssignmentStatus.ASSIGNED, AssignmentStatus.CONFIRMED])))})


def confirm_no_tie(j: Journey, stage_id: int, entry_id: int, judge_id: int) -> None:
    assignment_id = j.db(lambda: db.session.scalar(select(Assignment.id).where(
        Assignment.stage_id == stage_id, Assignment.entry_id == entry_id, Assignment.judge_id == judge_id)))
    status = j.db(lambda: db.session.get(Assignment, assignment_id).status)
    if status is AssignmentStatus.ASSIGNED:
        j.go(f"/judging/ties/confirm/{assignment_id}")
        j.submit(j.page.locator("#confirm-form button[type=submit]"))
    return assignment_id


def criteria_of(j: Journey, entry_id: int) -> list[tuple[int, str]]:
    return j.db(lambda: [(c.id, c.name) for c in db.session.get(Entry, entry_id).category.criteria])


def score_online(j: Journey, stage_id: int, entry_id: int, judge_id: int, mark, shoot: bool = False) -> None:
    page = j.page
    assignment_id = confirm_no_tie(j, stage_id, entry_id, judge_id)
    j.go(f"/judging/sheets/{assignment_id}")
    form = page.locator("#score-form")
    for index, (criterion_id, _name) in enumerate(criteria_of(j, entry_id)):
        value = mark(index)
        form.locator(f"#criterion-{criterion_id} input.mark-input").fill(str(value))
        j.marks.setdefault(stage_id, []).append(
            scoring.Mark(entry=str(entry_id), judge=str(judge_id), criterion=str(criterion_id), score=Decimal(value)))
    form.locator("#comment").fill("書面資料完整，成效具體。")
    form.locator(".confirm-final input[type=checkbox]").check()
    if shoot:
        j.shot("score-sheet")
    j.submit(form.locator("#submit-sheet"))
    no_errors_shown(page)


def score_offline(j: Journey, stage_id: int, entry_ids: list[int], judge_id: int, mark, tmp_path) -> None:
    """Confirm the ties, download the signed sheet, fill it as in Excel, upload, confirm the preview,
    then submit each imported draft."""
    page = j.page
    assignments = {entry_id: confirm_no_tie(j, stage_id, entry_id, judge_id) for entry_id in entry_ids}
    j.go("/judging/")
    j.shot("offline-judge-dashboard")
    with page.expect_download() as download_info:
        page.locator(f"a[href$='/judging/offline/stages/{stage_id}.xlsx']").first.click()
    blank = tmp_path / "離線評分表.xlsx"
    download_info.value.save_as(blank)
    workbook = load_workbook(blank)
    for entry_id in entry_ids:
        ws = workbook[offline.worksheet_name(entry_id)]
        criteria = dict(criteria_of(j, entry_id))
        for offset in range(len(criteria)):
            row = offline.FIRST_CRITERION_ROW + offset
            criterion_id = int(ws[f"{offline.COL_ID}{row}"].value)
            index = list(criteria).index(criterion_id)
            ws[f"{offline.COL_MARK}{row}"] = mark(index, entry_id)
            ws[f"{offline.COL_COMMENT}{row}"] = "實地訪視：現場佐證與書面一致。"
            j.marks.setdefault(stage_id, []).append(scoring.Mark(
                entry=str(entry_id), judge=str(judge_id), criterion=str(criterion_id),
                score=Decimal(mark(index, entry_id))))
    filled = tmp_path / "離線評分表-已填.xlsx"
    workbook.save(filled)
    j.go(f"/judging/offline/stages/{stage_id}/upload")
    page.locator("#upload-form input[type=file]").set_input_files(str(filled))
    j.submit(page.locator("#upload-form button[type=submit]"))
    expect(page.locator("#confirm-import")).to_be_visible()
    j.shot("offline-preview")
    j.submit(page.locator("#confirm-import"))
    no_errors_shown(page)
    for entry_id, assignment_id in assignments.items():
        j.go(f"/judging/sheets/{assignment_id}")
        form = page.locator("#score-form")
        for criterion_id, _name in criteria_of(j, entry_id):
            assert form.locator(f"#criterion-{criterion_id} input.mark-input").input_value() != ""
        form.locator(".confirm-final input[type=checkbox]").check()
        j.submit(form.locator("#submit-sheet"))
        no_errors_shown(page)
    j.shot("offline-sheets-submitted")


def engine_ranking(j: Journey, stage_id: int) -> dict[str, dict[str, tuple[int, Decimal, str | None]]]:
    """A fresh ranking by the scoring engine from the marks typed in this test (not from the database's
    marks), with the stage's criteria, method and tiers: {category: {entry id: (rank, total, tier)}}."""
    typed = j.marks[stage_id]

    def compute():
        stage = db.session.get(Stage, stage_id)
        out = {}
        for category in stage.edition.categories:
            keys = {str(c.id) for c in category.criteria}
            marks = [m for m in typed if m.criterion in keys]
            if not marks:
                continue
            result = scoring.rank_category(adapter.to_criteria(adapter.criteria_for(category, stage)), marks,
                                           adapter.stage_config(stage, category), tiers=adapter.to_tiers(stage.edition))
            out[category.name] = {r.entry: (r.rank, r.total, r.tier) for r in result.entries}
        return out
    return j.db(compute)
