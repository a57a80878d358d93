"""Browser journeys: the real app on a real port, driven by Debian's headless Chromium.

Fixtures for writing a journey (all of them need ``@pytest.mark.browser`` on the test;
put ``pytestmark = pytest.mark.browser`` at the top of the module):

``live_app`` (module)       the Flask app served, with CSRF on and the demo loaded.
``live_server`` (module)    its base URL, e.g. ``http://127.0.0.1:40123`` (no trailing slash).
``fresh_demo`` (function)   empties the tables and reloads the demo before a test that needs a
                            pristine state within a module (costs ~0.5 s: seven password hashes).
``browser`` (session)       a Playwright ``Browser`` (headless Debian Chromium, no outside calls).
``page`` (function)         a ``Page`` in a fresh context: locale zh-TW, Asia/Taipei, 1280×800.
                            Every request it makes is recorded; at teardown the test errors if
                            any went to another host or any response was a 5xx.
``page_requests`` (function) the list of request URLs made so far by ``page``'s context.
``screenshot`` (function)   ``screenshot(name, target=None)`` saves (``target``: another page or a locator) a full-page PNG to
                            ``test-artifacts/screenshots/<test>-<name>.png`` and returns its path.

Helpers live in browser_helpers.py (``from browser_helpers import login, logout, ...``):
``login(page, base_url, email, password=None)``, ``logout(page)``, ``switch_language(page, code)``,
``demo_password(email)``, ``demo_name(email)``, ``DESKTOP``/``PHONE`` viewport sizes,
``foreign_requests(urls, base_url)``.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from award import create_app
from award.extensions import db
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, DESKTOP, SCREENSHOTS, foreign_requests


# --- the live server ---------------------------------------------------------------------------

def empty_tables() -> None:
    """Empty every table (tests/audit_support.py, as tests/conftest.py does); needs an app context."""
    from audit_support import empty_all_tables

    empty_all_tables()


def reset_demo(app) -> None:
    from award.demo import load_demo

    with app.app_context():
        empty_tables()
        load_demo()
        db.session.remove()


class _QuietHandler(WSGIRequestHandler):
    """No access log per request; errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


@pytest.fixture(scope="module")
def live_app(database_url, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWARD_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
        app = create_app({
            "TESTING": True,
            "SECRET_KEY": "browser-test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": True,  # a real browser posts real tokens
            "RATELIMIT_ENABLED": False,  # the journeys log in more often than a person would
        })
        reset_demo(app)
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def live_server(live_app):
    server = make_server("127.0.0.1", 0, live_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def fresh_demo(live_app, live_server):
    reset_demo(live_app)
    return live_server


# --- the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: the browser journeys need Debian's Chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run them, not skip them.", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page_requests() -> list[str]:
    return []


@pytest.fixture
def page(browser, live_server, page_requests):
    context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei", viewport=DESKTOP)
    context.set_default_timeout(10_000)
    server_errors: list[str] = []
    context.on("request", lambda request: page_requests.append(request.url))
    context.on("response", lambda response: server_errors.append(f"{response.status} {response.url}")
               if response.status >= 500 else None)
    page = context.new_page()
    yield page
    context.close()
    foreign = foreign_requests(page_requests, live_server)
    assert not foreign, f"the pages made requests off the live server {live_server}: {foreign}"
    assert not server_errors, f"server errors: {server_errors}"


@pytest.fixture
def screenshot(request, page):
    test_name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")

    def take(name: str, target=None) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test_name}-{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take
