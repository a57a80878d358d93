"""Page weight of the agency's pages, as an island office's first visit sees them (prints figures;
not a test).

    .venv/bin/python benchmarks/page_weight.py [--budget-kb 100] [--strict]

Starts the app on a fresh SQLite instance with the demo loaded (like the browser tests' live
server), logs in as 綠島鄉公所's contact in Debian's headless Chromium, makes an entry through the
real pages (form, autosave, a small resumable upload, submission) and then loads each agency page
with the browser cache disabled: login, home, my entries, the entry edit page, the entry page and
the receipt.

For each page it prints:
  - bytes transferred: the sum of CDP ``Network.loadingFinished`` encodedDataLength (body as sent,
    plus response headers) over every request the page made until the network was idle;
  - the uncompressed body bytes, and what gzip (level 6) would make of the text responses;
  - the number of requests and how many responses were compressed (Content-Encoding);
  - requests that left the host (there should be none: no CDN, no fonts, no analytics);
  - PASS/FAIL against the budget (default 100 KB = 102,400 bytes transferred per page), and in
    brackets the verdict had every text response been gzipped.

``--strict`` exits with status 1 when a page is over budget or a request left the host.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import sys
import tempfile
import threading
from base64 import b64decode
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
AGENCY = ("greenisland@award.example", "Demo-green-island-2026")
TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg")
LOCAL_SCHEMES = {"data", "blob", "about"}


# --- the app --------------------------------------------------------------------------------------

def start_server(instance: Path) -> tuple[str, object]:
    os.environ["AWARD_INSTANCE_PATH"] = str(instance)
    from flask_migrate import upgrade
    from werkzeug.serving import WSGIRequestHandler, make_server

    from award import create_app
    from award.demo import load_demo
    from award.extensions import db

    app = create_app({"SECRET_KEY": "page-weight", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/award.sqlite",
                      "WTF_CSRF_ENABLED": True})
    if "entries" not in app.blueprints:
        raise SystemExit("the entries pages are not registered in the app (award/__init__.py): nothing to measure")
    with app.app_context():
        upgrade()
        load_demo()
        db.session.remove()

    class Quiet(WSGIRequestHandler):
        def log_request(self, code="-", size="-"):
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


# --- measuring one page -----------------------------------------------------------------------------

class Recorder:
    """Collects CDP network events of one page load."""

    def __init__(self, cdp):
        self.cdp = cdp
        self.requests: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def reset(self):
        self.requests = {}

    def _sent(self, event):
        self.requests.setdefault(event["requestId"], {})["url"] = event["request"]["url"]

    def _response(self, event):
        response = event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.requests.setdefault(event["requestId"], {}).update(
            status=response.get("status"), mime=response.get("mimeType", ""),
            encoding=headers.get("content-encoding", ""), cached=response.get("fromDiskCache", False))

    def _finished(self, event):
        self.requests.setdefault(event["requestId"], {})["transferred"] = int(event.get("encodedDataLength", 0))

    def _failed(self, event):
        self.requests.setdefault(event["requestId"], {})["failed"] = event.get("errorText", "failed")

    def body(self, request_id: str) -> bytes | None:
        try:
            result = self.cdp.send("Network.getResponseBody", {"requestId": request_id})
        except Exception:
            return None
        return b64decode(result["body"]) if result.get("base64Encoded") else result["body"].encode("utf-8")


def measure(page, recorder: Recorder, url: str, origin: str) -> dict:
    recorder.reset()
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    rows = []
    for request_id, r in list(recorder.requests.items()):
        scheme = urlsplit(r.get("url", "")).scheme
        if scheme in LOCAL_SCHEMES:
            continue
        body = recorder.body(request_id) if "transferred" in r else None
        text = any(r.get("mime", "").startswith(t) for t in TEXT_TYPES)
        rows.append({
            "url": r.get("url", ""), "transferred": r.get("transferred", 0), "body": len(body) if body else 0,
            "gzip": len(gzip.compress(body, 6)) if body and text else (len(body) if body else 0),
            "encoding": r.get("encoding", ""), "failed": r.get("failed"),
        })
    origin_parts = urlsplit(origin)
    foreign = [r["url"] for r in rows if (urlsplit(r["url"]).scheme, urlsplit(r["url"]).netloc)
               != (origin_parts.scheme, origin_parts.netloc)]
    return {
        "url": url, "requests": len(rows), "transferred": sum(r["transferred"] for r in rows),
        "body": sum(r["body"] for r in rows), "gzip": sum(r["gzip"] for r in rows),
        "compressed": sum(1 for r in rows if r["encoding"]), "foreign": foreign, "rows": rows,
    }


# --- making an entry through the real pages ------------------------------------------------------------

def login(page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", AGENCY[0])
    page.fill("#password", AGENCY[1])
    with page.expect_navigation():
        page.locator("main form[method=post]").get_by_role("button").click()


def _fill_and_submit(page, workdir: Path) -> str:
    """Fill the whole entry form, attach a small PDF, submit; return the receipt's URL."""
    page.fill("#head_name", "綠島鄉長")
    page.fill("#contact_name", "林承辦")
    page.fill("#contact_phone", "089-672-510")
    page.fill("#contact_email", "greenisland@award.example")
    page.fill("#title", "綠島鄉公所公開透明治理計畫")
    page.fill("#summary", "綠島鄉公所推動資訊公開與廉政風險控管之成果。" * 10)
    areas = page.locator("#entry-form textarea[name^='section_']")
    for i in range(areas.count()):
        areas.nth(i).fill(f"第{i + 1}面向：具體作法與成效說明。" * 40)
    page.check("#head_declaration")
    pdf = workdir / "佐證資料.pdf"
    head, tail = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    pdf.write_bytes(head + random.Random(1).randbytes(200_000) + tail)
    if page.locator("#tus-upload").is_visible():
        page.set_input_files("#tus-file", str(pdf))
        page.wait_for_url(re.compile(r"uploaded="), timeout=60_000)
    else:  # no script: the plain form
        page.set_input_files("#attachment-file", str(pdf))
        with page.expect_navigation():
            page.locator("#attachment-form").get_by_role("button").click()
    with page.expect_navigation():
        page.click("#save-and-submit")
    if "/receipt/" not in page.url:
        raise SystemExit(f"the submission did not reach a receipt (now at {page.url})")
    return page.url


# --- report ------------------------------------------------------------------------------------------

def kb(n: int) -> str:
    return f"{n / 1024:7.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-kb", type=float, default=100.0)
    parser.add_argument("--strict", action="store_true", help="exit 1 on a page over budget or an off-host request")
    parser.add_argument("--verbose", action="store_true", help="list every request of every page")
    args = parser.parse_args()
    budget = int(args.budget_kb * 1024)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="award-weight-") as tmp:
        base, server = start_server(Path(tmp))
        results = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(locale="zh-TW", timezone_id="Asia/Taipei",
                                              viewport={"width": 1280, "height": 800})
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})  # every page as a first visit
                recorder = Recorder(cdp)

                results.append(("login", measure(page, recorder, base + "/login", base)))
                login(page, base)
                results.append(("home", measure(page, recorder, base + "/", base)))
                results.append(("my entries", measure(page, recorder, base + "/entries/", base)))
                page.goto(base + "/entries/")  # start an entry in the first category
                with page.expect_navigation():
                    page.locator("main li[id^='category-']").first.get_by_role("button").click()
                entry_id = page.locator("#entry-form").get_attribute("data-entry-id")
                edit_url, show_url = f"{base}/entries/{entry_id}/edit", f"{base}/entries/{entry_id}"
                results.append(("entry edit (empty)", measure(page, recorder, edit_url, base)))
                receipt_url = _fill_and_submit(page, Path(tmp))
                page.goto(base + "/")
                results.append(("entry page (submitted)", measure(page, recorder, show_url, base)))
                results.append(("receipt", measure(page, recorder, receipt_url, base)))
                results.append(("my entries (1 entry)", measure(page, recorder, base + "/entries/", base)))
                browser.close()
        finally:
            server.shutdown()

    print(f"\nPage weight, cache disabled (first visit); budget {args.budget_kb:.0f} KB transferred per page\n")
    print(f"{'page':<24} {'reqs':>4} {'sent KB':>8} {'body KB':>8} {'gzip KB':>8} {'compressed':>10} "
          f"{'off-host':>8}  result  (with gzip)")
    failed = False
    for name, r in results:
        ok = r["transferred"] <= budget and not r["foreign"]
        failed |= not ok
        print(f"{name:<24} {r['requests']:>4} {kb(r['transferred']):>8} {kb(r['body']):>8} {kb(r['gzip']):>8} "
              f"{r['compressed']:>4} of {r['requests']:<3} {len(r['foreign']):>8}  {'PASS' if ok else 'FAIL'}  "
              f"({'PASS' if r['gzip'] <= budget and not r['foreign'] else 'FAIL'})")
        for url in r["foreign"]:
            print(f"    off-host request: {url}")
        if args.verbose:
            for row in r["rows"]:
                print(f"    {kb(row['transferred'])} KB sent, {kb(row['body'])} KB body, gzip {kb(row['gzip'])} KB "
                      f"{row['encoding'] or '-':>5}  {row['url'].replace(base, '')}")
    uncompressed = sum(1 for _n, r in results for row in r["rows"] if not row["encoding"] and row["body"] > 1024)
    if uncompressed:
        print(f"\n{uncompressed} responses over 1 KB were sent without compression (no Content-Encoding): the "
              "'gzip KB' column shows what gzip would send instead.")
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
