"""Helpers for browser journeys: ``from browser_helpers import login, logout, ...``.

(pytest puts tests/browser/ on ``sys.path``; a module named ``conftest`` cannot be imported
from, since tests/conftest.py has the same name.)
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

# Debian's Chromium; AWARD_TEST_CHROMIUM may point elsewhere (never a downloaded browser).
CHROMIUM = Path(os.environ.get("AWARD_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in the container
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
ROOT = Path(__file__).resolve().parent.parent.parent
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Schemes that never reach the network (the favicon is ``data:,``).
LOCAL_SCHEMES = {"data", "blob", "about"}


def foreign_requests(urls: list[str], base_url: str) -> list[str]:
    """The URLs among ``urls`` that are not on the live server (same scheme, host and port)."""
    origin = urlsplit(base_url)
    foreign = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in LOCAL_SCHEMES and (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            foreign.append(url)
    return foreign


def demo_password(email: str) -> str:
    from award.demo import ACCOUNTS

    for account_email, _name, _role, _agency, password in ACCOUNTS:
        if account_email == email:
            return password
    raise KeyError(email)


def demo_name(email: str) -> str:
    from award.demo import ACCOUNTS

    for account_email, name, _role, _agency, _password in ACCOUNTS:
        if account_email == email:
            return name
    raise KeyError(email)


def login(page, base_url: str, email: str, password: str | None = None) -> None:
    """Fill in and submit the real login form, finding the inputs by their visible labels.

    ``password`` defaults to the demo account's. Waits for the next page to load; the caller
    asserts where it landed (a wrong password stays on /login with an alert).
    """
    page.goto(base_url + "/login")
    field(page, "email").fill(email)
    field(page, "password").fill(password or demo_password(email))
    with page.expect_navigation():
        page.locator("main form[method=post]").get_by_role("button").click()


def logout(page) -> None:
    """Press the "log out" button in the header's navigation."""
    with page.expect_navigation():
        page.locator("header nav .user-box").get_by_role("button").click()


def switch_language(page, code: str) -> None:
    """Use the header's language switch: ``code`` is ``"en"`` or ``"zh_Hant_TW"``."""
    switch = page.locator("header form.lang-switch")
    switch.get_by_role("combobox").select_option(code)
    with page.expect_navigation():
        switch.get_by_role("button").click()


def field(page, field_id: str):
    """The form control whose ``<label for=field_id>`` names it, found through that label's text
    (so a broken label association fails the test)."""
    label = page.locator(f'label[for="{field_id}"]').inner_text().strip()
    return page.locator("main").get_by_label(label, exact=True)


def has_horizontal_overflow(page) -> bool:
    """True when the page is wider than the viewport (sideways scrolling on a phone)."""
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
