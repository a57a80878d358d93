"""Submission journeys in a real browser, over links like the outlying islands' (issue 4, browser side).

The island agency's whole journey (draft over two sessions, a 20 MB resumable upload through two
network cuts, submission, receipt, the organiser's screening); drafting offline and a copy restored
from the device; two people saving the same entry; a refused field that does not hold back the
others; an upload resumed after a reload; the scripts under a strict CSP with a refused file; the
entry form on a slow link. Screenshots go to test-artifacts/screenshots/.

Messages are read from the form's data-msg-* attributes (translated by the template) when the page
has them, so the tests do not depend on the catalogue's state; the scripts fall back to Chinese.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from sqlalchemy import select

from award.extensions import db
from award.models import Attachment, Entry, EntryVersion, Screening
from browser_helpers import DESKTOP, PHONE, SCREENSHOTS, foreign_requests, has_horizontal_overflow, login

pytestmark = pytest.mark.browser

AGENCY = "greenisland@award.example"  # 臺東縣綠島鄉公所: an outlying island, a link that drops
ORGANISER = "organizer@award.example"
MIB = 1024 * 1024
SAVE_TIMEOUT = 15_000  # the autosave waits ~3 s after the last keystroke


# --- fixtures and helpers ----------------------------------------------------------------------

@pytest.fixture
def new_context(browser, live_server):
    """``new_context(viewport=DESKTOP)``: another browser context (a second session or person), with
    the same checks as the ``page`` fixture: no request off the live server, no 5xx."""
    made = []

    def make(viewport=DESKTOP):
        requests: list[str] = []
        errors: list[str] = []
        context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei", viewport=viewport)
        context.set_default_timeout(10_000)
        context.on("request", lambda request: requests.append(request.url))
        context.on("response", lambda response: errors.append(f"{response.status} {response.url}")
                   if response.status >= 500 else None)
        made.append((context, requests, errors))
        return context

    yield make
    for context, _requests, _errors in made:
        try:
            context.close()
        except Exception:  # already closed by the test
            pass
    for _context, requests, errors in made:
        foreign = foreign_requests(requests, live_server)
        assert not foreign, f"the pages made requests off the live server {live_server}: {foreign}"
        assert not errors, f"server errors: {errors}"


@pytest.fixture
def element_shot(request):
    """``element_shot(locator, name)``: a PNG of one element (readable where a full page at 375 px is not)."""
    test_name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")

    def take(locator, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test_name}-{name}.png"
        locator.screenshot(path=str(path))
        return path

    return take


def in_db(app, fn):
    """Run ``fn()`` in an app context of the live app and return its result (fresh session)."""
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def entry_row(app, entry_id: int) -> dict:
    def read():
        entry = db.session.get(Entry, entry_id)
        return {"draft_version": entry.draft_version, "title": entry.title, "summary": entry.summary,
                "contact_email": entry.contact_email,
                "status": entry.status.value, "screening": entry.screening.value,
                "sections": {s.criterion_id: s.text for s in entry.sections}}
    return in_db(app, read)


def start_entry(page, base_url: str) -> int:
    """From "my entries", start an entry in the first category; return its id (on its edit page)."""
    page.goto(base_url + "/entries/")
    first = page.locator("main li[id^='category-']").first
    with page.expect_navigation():
        first.get_by_role("button").click()
    form = page.locator("#entry-form")
    expect(form).to_be_visible()
    return int(form.get_attribute("data-entry-id"))


def open_edit(page, base_url: str, entry_id: int) -> None:
    page.goto(f"{base_url}/entries/{entry_id}/edit")
    expect(page.locator("#entry-form")).to_be_visible()


def draft_version(page) -> int:
    return int(page.locator("#entry-form input[name=draft_version]").input_value())


def wait_saved(page, after: int, timeout: int = SAVE_TIMEOUT) -> int:
    """Wait until an autosave has moved the page's draft_version past ``after``; return the new one."""
    page.wait_for_function(
        "v => Number(document.querySelector('#entry-form input[name=draft_version]').value) > v",
        arg=after, timeout=timeout)
    expect(page.locator("#autosave-status")).to_have_attribute("data-state", "saved")
    return draft_version(page)


def sections(page):
    return page.locator("#entry-form textarea[name^='section_']")


def message(page, name: str, default: str) -> str:
    """The form's data-msg-<name> text with its placeholders cut off, else the scripts' default."""
    text = page.locator("#entry-form").get_attribute(f"data-msg-{name}") or default
    return re.split(r"\{\w+\}", text)[0].strip() or text


def make_pdf(path, size: int, seed: int = 4) -> bytes:
    """A file the server's sniffing accepts as PDF: a real header, random bytes, %%EOF at the end."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length " + str(size).encode() + b" >>\nstream\n"
    tail = b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    data = head + random.Random(seed).randbytes(size - len(head) - len(tail)) + tail
    path.write_bytes(data)
    return data


# Layout problems of pages this module does not own, already reported to whoever owns the file:
# page label -> where and how to fix it. While one is still seen the test ends as an xfail naming it;
# once it is gone the test fails until its entry is removed here, so the list cannot go stale.
KNOWN_OVERFLOW: dict[str, str] = {}


class Overflow:
    """Sideways scrolling at 375 px: a failure, or an xfail for a known issue (see KNOWN_OVERFLOW)."""

    def __init__(self):
        self.known: list[str] = []

    def check(self, page, label: str) -> None:
        overflow = has_horizontal_overflow(page)
        if label in KNOWN_OVERFLOW:
            assert overflow, f"{label} no longer scrolls sideways: remove it from KNOWN_OVERFLOW"
            self.known.append(f"{label}: {KNOWN_OVERFLOW[label]}")
        else:
            assert not overflow, f"{label}: the page scrolls sideways at 375 px"

    def settle(self) -> None:
        if self.known:
            pytest.xfail("known layout issue(s): " + "; ".join(self.known))


def throttle(page, context, down: int, up: int, latency: int):
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency, "downloadThroughput": down, "uploadThroughput": up,
    })
    return cdp


def progress(page) -> float:
    return float(page.locator("#tus-progress").evaluate("p => p.value"))


# --- the island agency's journey -----------------------------------------------------------------

def test_island_agency_drafts_over_two_sessions_uploads_through_cuts_and_submits(
        fresh_demo, live_app, page, new_context, screenshot, element_shot, tmp_path):
    base = fresh_demo
    started = time.monotonic()
    overflow = Overflow()

    # First session: 綠島鄉公所's contact starts an entry and fills part of it.
    login(page, base, AGENCY)
    entry_id = start_entry(page, base)
    version = draft_version(page)
    expect(page.locator("#tus-upload")).to_be_visible()  # the script took over from the plain form
    expect(page.locator("#attachment-form")).to_be_hidden()
    page.locator("#title").fill("綠島鄉公所公開透明治理計畫")
    page.locator("#contact_name").fill("林承辦")
    first_section = sections(page).nth(0)
    first_section.fill("一、首長親自主持廉政會報，每季檢討。\n二、綠島🐢海龜保育經費公開。")
    counter = page.locator(f".char-count[data-for='{first_section.get_attribute('id')}']")
    expect(counter).to_have_text(re.compile(r"^33 / 3000"))  # code points (🐢 is one), the newline counts once
    saved_version = wait_saved(page, version)
    assert saved_version > version
    screenshot("entry-form-desktop")
    page.set_viewport_size(PHONE)
    screenshot("entry-form-phone")
    element_shot(page.locator("#sections"), "entry-form-phone-sections")
    overflow.check(page, "entry-form-phone")
    page.set_viewport_size(DESKTOP)

    # A second page load shows what the autosave stored, and the database has it.
    page.reload()
    expect(page.locator("#title")).to_have_value("綠島鄉公所公開透明治理計畫")
    assert draft_version(page) == saved_version
    row = entry_row(live_app, entry_id)
    assert row["draft_version"] == saved_version and row["title"] == "綠島鄉公所公開透明治理計畫"
    page.context.close()  # the contact closes the browser

    # Second session, another day: the text is there; the rest is filled in.
    context = new_context()
    page2 = context.new_page()
    login(page2, base, AGENCY)
    page2.goto(base + "/entries/")
    with page2.expect_navigation():
        page2.locator(f"main li[id^='category-'] a[href$='/entries/{entry_id}/edit']").click()
    expect(page2.locator("#title")).to_have_value("綠島鄉公所公開透明治理計畫")
    expect(sections(page2).nth(0)).to_have_value(re.compile("海龜保育"))
    page2.locator("#head_name").fill("綠島鄉長")
    page2.locator("#contact_phone").fill("089-672-510")
    page2.locator("#contact_email").fill("greenisland@award.example")
    page2.locator("#summary").fill("綠島鄉公所推動資訊公開與廉政風險控管之成果。")
    for i in range(1, sections(page2).count()):
        sections(page2).nth(i).fill(f"第{i + 1}面向：具體作法與成效說明。")
    page2.locator("#head_declaration").check()
    wait_saved(page2, draft_version(page2))

    # A 20 MB attachment through tus while the link drops twice.
    pdf = tmp_path / "綠島鄉公所-佐證資料.pdf"
    data = make_pdf(pdf, 20 * MIB)
    tus_requests: list[str] = []
    page2.on("request", lambda r: tus_requests.append(r.method) if "/uploads/tus/" in r.url else None)
    # The island link of the budget: 400 kbit/s down, 400 ms round trip (the issue names no
    # uplink; 4 MiB/s keeps the test short while each 1 MiB chunk still takes a visible while).
    island_link = {"down": 50_000, "up": 4 * MIB, "latency": 400}
    throttle(page2, context, **island_link)
    page2.locator("#tus-file").set_input_files(str(pdf))
    cuts = []
    for threshold in (15, 55):
        page2.wait_for_function("t => document.getElementById('tus-progress').value >= t", arg=threshold,
                                timeout=30_000)
        at = progress(page2)
        context.set_offline(True)
        expect(page2.locator("#tus-status")).to_have_attribute("data-state", "offline")
        if not cuts:
            element_shot(page2.locator("#tus-upload"), "upload-offline")
        page2.wait_for_timeout(1500)
        context.set_offline(False)
        throttle(page2, context, **island_link)
        cuts.append(at)
    page2.wait_for_url(re.compile(r"uploaded="), timeout=60_000)  # reloaded to list the new file
    print(f"\nupload cut at {cuts} %; tus requests: {len(tus_requests)} "
          f"({', '.join(f'{m} ×{tus_requests.count(m)}' for m in sorted(set(tus_requests)))})")
    # Resumed, not restarted: one creation, and at most a few 1 MiB chunks sent twice.
    assert tus_requests.count("POST") == 1, tus_requests
    assert tus_requests.count("PATCH") <= 20 + 2 * len(cuts) + 2, tus_requests
    row_link = page2.locator("#attachment-list").get_by_role("link", name="綠島鄉公所-佐證資料.pdf")
    expect(row_link).to_be_visible()
    stored = in_db(live_app, lambda: [(a.sha256, a.size) for a in db.session.scalars(
        select(Attachment).where(Attachment.entry_id == entry_id))])
    assert stored == [(hashlib.sha256(data).hexdigest(), len(data))]
    assert not page2.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::'))"), \
        "the finished upload's resume record was not removed"

    # Submit; the receipt shows the hash of the frozen content and the attachment's.
    with page2.expect_navigation():
        page2.locator("#save-and-submit").click()
    expect(page2).to_have_url(re.compile(rf"/entries/{entry_id}/receipt/1$"))
    version_hash = in_db(live_app, lambda: db.session.scalar(
        select(EntryVersion.sha256).where(EntryVersion.entry_id == entry_id)))
    expect(page2.locator("#receipt-hash")).to_have_text(version_hash)
    expect(page2.locator("#receipt-attachments")).to_contain_text(hashlib.sha256(data).hexdigest())
    screenshot("receipt-desktop", page2)
    page2.set_viewport_size(PHONE)
    screenshot("receipt-phone", page2)
    overflow.check(page2, "receipt-phone")
    assert not page2.evaluate(f"localStorage.getItem('award-entry-draft-{entry_id}')"), \
        "an unsent copy of the draft stayed on the device after submission"

    # The organiser finds it in the list and marks it eligible.
    organiser = new_context().new_page()
    login(organiser, base, ORGANISER)
    organiser.goto(base + "/entries/admin")
    row = organiser.locator(f"#entries tr#entry-{entry_id}")
    expect(row).to_have_attribute("data-status", "submitted")
    expect(row).to_contain_text("臺東縣綠島鄉公所")
    with organiser.expect_navigation():
        row.get_by_role("link").click()
    screening = organiser.locator("#screening form")
    screening.locator("select[name=decision]").select_option(Screening.ELIGIBLE.value)
    with organiser.expect_navigation():
        screening.get_by_role("button").click()
    expect(organiser.locator("#entry-status")).to_have_attribute("data-screening", "eligible")
    assert entry_row(live_app, entry_id)["screening"] == "eligible"
    print(f"island journey: {time.monotonic() - started:.1f} s")
    overflow.settle()


# --- drafting offline ------------------------------------------------------------------------------

def test_offline_drafting_is_kept_on_the_device_and_sent_when_the_link_returns(fresh_demo, live_app, page):
    base = fresh_demo
    login(page, base, AGENCY)
    entry_id = start_entry(page, base)
    version = draft_version(page)
    area = sections(page).nth(0)

    page.context.set_offline(True)
    area.fill("颱風天斷線時寫的草稿：澎湖、綠島的網路常中斷。")
    status = page.locator("#autosave-status")
    expect(status).to_have_attribute("data-state", "offline")
    expect(status).to_contain_text(message(page, "offline", "離線"))
    page.wait_for_timeout(3500)  # the debounce passes: nothing can be sent
    kept = page.evaluate(f"JSON.parse(localStorage.getItem('award-entry-draft-{entry_id}'))")
    assert kept["base"] == version and "颱風天" in kept["values"][area.get_attribute("name")]
    assert entry_row(live_app, entry_id)["draft_version"] == version  # nothing reached the server

    page.context.set_offline(False)  # the link returns: the "online" event sends it
    new_version = wait_saved(page, version)
    row = entry_row(live_app, entry_id)
    assert row["draft_version"] == new_version and any("颱風天" in t for t in row["sections"].values())
    assert page.evaluate(f"localStorage.getItem('award-entry-draft-{entry_id}')") is None  # cleared after the 200

    # The laptop's battery dies during an outage, before anything could be sent: on the next visit the
    # copy on the device is put back into the form and sent. The page is crashed rather than closed:
    # leaving a page detaches the browser's offline emulation first, so the leaving page saw an "online"
    # event and its save reached the server after all (a CI failure of 2026-12-03), which no real
    # outage allows.
    context = page.context
    context.set_offline(True)
    area.fill("第二段草稿：斷線時筆電就闔上了。")
    expect(status).to_have_attribute("data-state", "offline")
    with contextlib.suppress(PlaywrightError):
        page.goto("chrome://crash")  # Chromium kills the page's renderer: no leave handlers run
    page.close()
    context.set_offline(False)
    assert not any("第二段草稿" in t for t in entry_row(live_app, entry_id)["sections"].values())
    again = context.new_page()
    open_edit(again, base, entry_id)
    expect(sections(again).nth(0)).to_have_value("第二段草稿：斷線時筆電就闔上了。")
    expect(again.locator("#draft-restored")).to_contain_text(message(again, "restored", "已還原"))
    wait_saved(again, new_version)
    assert any("第二段草稿" in t for t in entry_row(live_app, entry_id)["sections"].values())
    assert again.evaluate(f"localStorage.getItem('award-entry-draft-{entry_id}')") is None


# --- two people save the same entry ----------------------------------------------------------------

def test_a_conflicting_save_shows_both_texts_and_overwrites_nothing(
        fresh_demo, live_app, page, new_context, screenshot, element_shot):
    base = fresh_demo
    overflow = Overflow()
    login(page, base, AGENCY)
    entry_id = start_entry(page, base)
    other = new_context().new_page()  # a colleague, at another desk
    login(other, base, AGENCY)
    open_edit(other, base, entry_id)

    name = sections(page).nth(0).get_attribute("name")
    sections(page).nth(0).fill("甲：首長每月主持廉政會報。")
    first_version = wait_saved(page, draft_version(page))

    sections(other).nth(0).fill("乙：由政風室每季彙整報告。")
    panel = other.locator("#conflict-panel")
    expect(panel).to_be_visible(timeout=SAVE_TIMEOUT)
    expect(panel).to_be_focused()
    expect(panel.get_by_role("alert")).to_contain_text(message(other, "conflict", "此表單已被他人更新"))
    expect(other.locator(f"#conflict-mine-{name}")).to_have_value("乙：由政風室每季彙整報告。")
    expect(other.locator(f"#conflict-theirs-{name}")).to_have_value("甲：首長每月主持廉政會報。")
    row = entry_row(live_app, entry_id)
    assert row["draft_version"] == first_version
    assert "甲：首長每月主持廉政會報。" in row["sections"].values()  # nothing overwritten
    screenshot("conflict-panel-desktop", other)
    other.set_viewport_size(PHONE)
    screenshot("conflict-panel-phone", other)
    element_shot(panel, "conflict-panel-phone-panel")
    overflow.check(other, "conflict-panel-phone")
    other.set_viewport_size(DESKTOP)

    # The colleague keeps theirs: it is saved on top of the current version.
    other.locator("#conflict-keep-mine").click()
    expect(panel).to_have_count(0)
    second_version = wait_saved(other, first_version)
    assert "乙：由政風室每季彙整報告。" in entry_row(live_app, entry_id)["sections"].values()

    # The first person types on and now meets the conflict; they take the other text.
    sections(page).nth(0).fill("甲：首長每月主持廉政會報（修訂）。")
    expect(page.locator("#conflict-panel")).to_be_visible(timeout=SAVE_TIMEOUT)
    page.locator("#conflict-take-theirs").click()
    expect(sections(page).nth(0)).to_have_value("乙：由政風室每季彙整報告。")
    assert draft_version(page) == second_version
    assert entry_row(live_app, entry_id)["draft_version"] == second_version
    overflow.settle()


def test_a_field_the_server_refuses_does_not_hold_back_the_others(fresh_demo, live_app, page):
    base = fresh_demo
    login(page, base, AGENCY)
    entry_id = start_entry(page, base)
    version = draft_version(page)
    summary = page.locator("#summary")
    summary.fill("摘" * 1001)  # over the 1000 limit: kept here, not sent
    counter = page.locator(".char-count[data-for='summary']")
    expect(counter).to_have_class(re.compile("over-limit"))
    expect(summary).to_have_attribute("aria-invalid", "true")
    page.locator("#contact_email").fill("greenisland@")  # half typed: the server refuses it
    page.locator("#title").fill("綠島鄉公所公開透明治理計畫")
    page.wait_for_function(
        "v => Number(document.querySelector('#entry-form input[name=draft_version]').value) > v",
        arg=version, timeout=SAVE_TIMEOUT)
    status = page.locator("#autosave-status")
    expect(status).to_have_attribute("data-state", "partial")
    expect(status).to_contain_text(page.locator("label[for=summary]").inner_text().strip())
    expect(status).to_contain_text(page.locator("label[for=contact_email]").inner_text().strip())
    expect(page.locator("#contact_email")).to_have_attribute("aria-invalid", "true")
    row = entry_row(live_app, entry_id)
    assert row["title"] == "綠島鄉公所公開透明治理計畫" and row["summary"] == ""

    summary.fill("摘" * 1000)
    page.locator("#contact_email").fill("office@greenisland.example")
    wait_saved(page, row["draft_version"])
    expect(page.locator("#contact_email")).not_to_have_attribute("aria-invalid", "true")
    expect(summary).not_to_have_attribute("aria-invalid", "true")
    row = entry_row(live_app, entry_id)
    assert row["summary"] == "摘" * 1000 and row["contact_email"] == "office@greenisland.example"


def test_a_reloaded_page_resumes_the_upload_from_the_last_byte(fresh_demo, live_app, page, tmp_path):
    base = fresh_demo
    login(page, base, AGENCY)
    entry_id = start_entry(page, base)
    pdf = tmp_path / "會議紀錄.pdf"
    data = make_pdf(pdf, 8 * MIB, seed=7)
    methods: list[str] = []
    page.on("request", lambda r: methods.append(r.method) if "/uploads/tus/" in r.url else None)
    throttle(page, page.context, down=20 * MIB, up=2 * MIB, latency=20)
    page.locator("#tus-file").set_input_files(str(pdf))
    page.wait_for_function("() => document.getElementById('tus-progress').value >= 30", timeout=30_000)

    page.reload()  # the tab is reloaded (or the laptop sleeps) mid-upload
    status = page.locator("#tus-status")
    expect(status).to_have_attribute("data-state", "pending")  # "choose the same file again"
    expect(status).to_contain_text("會議紀錄.pdf")
    before = len(methods)
    page.locator("#tus-file").set_input_files(str(pdf))
    page.wait_for_url(re.compile(r"uploaded="), timeout=60_000)
    after_reload = methods[before:]
    assert after_reload[0] == "HEAD" and "POST" not in after_reload, after_reload  # resumed, not restarted
    assert after_reload.count("PATCH") <= 6, after_reload  # ~70 % of 8 × 1 MiB chunks, not all 8
    stored = in_db(live_app, lambda: [a.sha256 for a in db.session.scalars(
        select(Attachment).where(Attachment.entry_id == entry_id))])
    assert stored == [hashlib.sha256(data).hexdigest()]


STRICT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
              "base-uri 'none'; frame-ancestors 'none'")


def test_under_a_strict_csp_the_scripts_work_and_a_refused_file_shows_the_servers_reason(
        fresh_demo, page, tmp_path):
    base = fresh_demo
    login(page, base, AGENCY)
    entry_id = start_entry(page, base)
    # Serve the entry form with the policy the lead will enforce; record any violation.
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "(window.cspViolations = window.cspViolations || []).push(e.violatedDirective + ' ' + "
                         "e.blockedURI))")

    def with_csp(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route(f"**/entries/{entry_id}/edit", with_csp)
    open_edit(page, base, entry_id)
    expect(page.locator("#tus-upload")).to_be_visible()  # uploads.js ran (tus itself loads on demand)
    area = sections(page).nth(0)
    area.fill("一二三")
    expect(page.locator(f".char-count[data-for='{area.get_attribute('id')}']")).to_have_text(re.compile("^3 / "))
    area.fill("")  # back to the saved text: no save left to send when the page closes (and the demo resets)

    fake = tmp_path / "報告.pdf"
    fake.write_bytes(b"<html><script>alert(1)</script></html>" * 10)
    page.locator("#tus-file").set_input_files(str(fake))
    status = page.locator("#tus-status")
    expect(status).to_have_attribute("data-state", "error")
    expect(status).not_to_contain_text("%")  # the URL-quoted header was decoded
    expect(status).to_contain_text(re.compile(r"\w{4,}"))
    expect(page.locator("#tus-file")).to_be_enabled()  # ready for another file
    assert page.evaluate("window.cspViolations || []") == []


# --- a slow link -----------------------------------------------------------------------------------

def test_the_entry_form_is_usable_within_3_seconds_on_a_slow_link(fresh_demo, page):
    base = fresh_demo
    login(page, base, AGENCY)
    entry_id = start_entry(page, base)
    page.goto(base + "/")
    cdp = throttle(page, page.context, down=50_000, up=50_000, latency=400)  # 400 kbit/s, 400 ms
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # a first visit: nothing cached
    t0 = time.monotonic()
    page.goto(f"{base}/entries/{entry_id}/edit", wait_until="commit")
    area = sections(page).nth(0)
    expect(page.locator("#entry-form")).to_be_visible(timeout=10_000)
    area.click(timeout=10_000)
    page.keyboard.type("快")
    expect(area).to_have_value("快", timeout=10_000)
    usable = time.monotonic() - t0
    page.keyboard.press("Backspace")  # nothing left to autosave as the page closes
    page.wait_for_load_state("load", timeout=30_000)
    loaded = time.monotonic() - t0
    print(f"\nslow link (400 kbit/s, 400 ms): entry form usable after {usable:.2f} s, page fully loaded "
          f"after {loaded:.2f} s")
    assert usable < 3.0, f"the entry form took {usable:.2f} s to become usable on a slow link"
