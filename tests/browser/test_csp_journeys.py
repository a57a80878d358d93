"""The Content-Security-Policy holds in a real browser: each role's pages, with their scripts and
styles, run in Chromium without a single CSP violation ("Refused to ..." in the console, or a
``securitypolicyviolation`` event).

Each role logs in, opens every page of its navigation and every same-site page linked from those
(downloads aside), with the demo edition in judging and three entries assigned to judge1 so the score
sheets and entry pages have content.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from browser_helpers import login
from test_judging_journeys import ready_written_review

pytestmark = pytest.mark.browser

MAX_PAGES = 40
SKIP = re.compile(r"(\.xlsx|\.csv|\.pdf|/export|/download|/attachments/|/files/|/logout|/offline/)", re.I)

# A listener in every document, before the page's own scripts (Playwright's init scripts are not
# subject to the page's CSP): each violation is also written to the console.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline")
                + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""


def _links(page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    found = []
    for href in hrefs:
        if not href or href.startswith(("#", "mailto:", "tel:")):
            continue
        url = urljoin(page.url, href).split("#", 1)[0]
        if urlsplit(url).netloc == urlsplit(base).netloc and not SKIP.search(url):
            found.append(url)
    return found


@pytest.mark.parametrize("email", ["organizer@award.example", "judge1@award.example", "penghu@award.example"])
def test_pages_of_each_role_run_without_csp_violations(page, live_app, fresh_demo, email):
    base = fresh_demo
    ready_written_review(live_app)
    violations: list[str] = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text or "Refused to" in message.text
            or message.text.startswith("CSP violation") else None)
    login(page, base, email)
    assert "/login" not in page.url
    queue, seen = [page.url, *_links(page, base)], set()
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = page.goto(url)
        assert response is not None and response.status < 500, url
        page.wait_for_load_state("load")
        if len(seen) <= 12:  # the navigation and what it leads to, one level deeper
            queue.extend(link for link in _links(page, base) if link not in seen)
    assert len(seen) >= 4, seen  # the crawl reached the role's pages
    assert violations == []
