"""Requests and pages (docs/security.md): security headers, no inline script or style in the
templates, CSRF on every state-changing route, form size limits, and 500 pages with a reference."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from award.extensions import db
from award.models import AuditEvent
from award.security_headers import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)

# Views that raise the body limit first and then run the CSRF check themselves, after the access check:
# a stranger is refused by that (403/404); the token check for the owner has its own test.
CHECKED_IN_VIEW = {
    "attachments.upload_attachment":
        "tests/entries/test_attachments_upload.py::test_the_csrf_token_is_required_even_though_the_view_checks_it_itself",
}


# --- headers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/no/such/page", "/static/css/app.css", "/healthz"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp == {"default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
                   "img-src": "'self' data:", "object-src": "'none'", "frame-ancestors": "'none'",
                   "base-uri": "'none'", "form-action": "'self'"}
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be ignored, and wrong


def _core_headers_present(response) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"], response.status_code
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff", response.status_code
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "same-origin"


def test_error_answers_and_files_carry_the_headers_too(app, client, demo, login):
    """Not only pages: refusals (413, 404, 403, 500), the tus protocol's answers and the exports."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-headers")
    def boom_headers():
        raise RuntimeError("boom")

    answers = {
        413: client.post("/login", data={"email": "x" * (1024 * 1024 + 1), "password": "y"},
                         content_type="multipart/form-data"),
        500: client.get("/boom-headers"),
        404: client.get("/no/such/page"),
    }
    tus = client.options("/uploads/tus/")
    login.as_demo("organizer")
    with app.app_context():
        from award.models import Stage

        stage_id = db.session.scalar(select(Stage.id).order_by(Stage.id))
    exports = [client.get(f"/results/export/stages/{stage_id}.xlsx"), client.get(f"/results/export/stages/{stage_id}.csv"),
               client.get("/agencies/import/template.csv")]
    judge = app.test_client()
    judge.post("/login", data={"email": "judge1@award.example", "password": "Demo-judge-one-2026"})
    answers[403] = judge.get("/users")
    for status, response in answers.items():
        assert response.status_code == status
        _core_headers_present(response)
    assert tus.status_code in (200, 204) and "Tus-Version" in tus.headers
    _core_headers_present(tus)
    for response in exports:
        assert response.status_code == 200, response.status_code
        _core_headers_present(response)
        assert response.headers["Content-Disposition"].startswith("attachment")


def test_hsts_only_over_https(client):
    headers = client.get("/login", base_url="https://award.test").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_a_view_may_set_its_own_stricter_policy(app, client):
    """The attachment downloads set ``sandbox``; the app-wide header must not overwrite it."""

    @app.get("/own-policy")
    def own_policy():
        return "x", 200, {"Content-Security-Policy": "sandbox"}

    assert client.get("/own-policy").headers["Content-Security-Policy"] == "sandbox"
    assert CONTENT_SECURITY_POLICY.startswith("default-src 'self'")


def _template_files():
    return sorted((ROOT / "templates").rglob("*.html"))


def test_templates_have_no_inline_script_handler_or_style():
    problems = []
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            where = f"{path.relative_to(ROOT)}:{number}"
            if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", line):
                problems.append(f"{where}: inline <script>")
            if re.search(r"\son[a-z]+\s*=", line):
                problems.append(f"{where}: inline event handler")
            if re.search(r"\sstyle\s*=", line) or "<style" in line:
                problems.append(f"{where}: inline style")
            if re.search(r"javascript:", line, re.IGNORECASE):
                problems.append(f"{where}: javascript: URL")
    assert problems == []


def test_scripts_do_not_write_inline_styles_or_evaluate_strings():
    problems = []
    for path in sorted((ROOT / "award" / "static" / "js").rglob("*.js")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"setAttribute\(\s*[\"']style", r"\beval\(", r"new Function\(", r"\.innerHTML\s*=",
                        r"setTimeout\(\s*[\"']"):
            if re.search(pattern, text):
                problems.append(f"{path.name}: {pattern}")
    assert problems == []


# --- CSRF on every state-changing route ------------------------------------------------------------

def _sample_url(rule) -> str:
    url = rule.rule
    for argument in rule.arguments:
        url = re.sub(r"<(?:[^:<>]+:)?" + argument + r">", "0" * 32 if argument == "upload_id" else "1", url)
    return url


def _state_changing_routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & STATE_CHANGING):
            yield rule, method


def _log_in_with_token(client, email, password):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize("who", [None, ("organizer@award.example", "Demo-organizer-2026"),
                                 ("penghu@award.example", "Demo-penghu-2026")])
def test_every_state_changing_route_refuses_a_request_without_a_token(app, demo, who):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    client.post("/language", data={"lang": "en"})  # refused too (no token), so the page stays Chinese
    if who:
        _log_in_with_token(client, *who)
    with app.app_context():
        events = db.session.scalar(select(func.count(AuditEvent.seq)))
    routes = list(_state_changing_routes(app))
    assert len(routes) > 40  # the walk found the app's routes
    assert any(rule.endpoint.startswith("uploads.") for rule, _m in routes)  # tus: POST, PATCH, DELETE
    problems = []
    for rule, method in routes:
        url = _sample_url(rule)
        response = client.open(url, method=method, data={"x": "1"},
                               headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"})
        if rule.endpoint.startswith("uploads."):
            expected = {403}  # tus: JSON refusal, the token is a header (X-CSRFToken)
        elif rule.endpoint in CHECKED_IN_VIEW:
            expected = {400, 403, 404}
        else:
            expected = {400}  # the CSRF error page
        to_login = response.status_code == 302 and "/login" in response.headers.get("Location", "")
        if response.status_code not in expected and not (who is None and rule.endpoint in CHECKED_IN_VIEW
                                                         and to_login):
            problems.append(f"{method} {url} ({rule.endpoint}) answered {response.status_code}, not {expected}")
    assert problems == []
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.seq))) == events  # nothing was done


def test_a_request_with_the_token_is_accepted(app, demo):
    """The walk above would pass if everything were refused: the same route works with the token."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    _log_in_with_token(client, "organizer@award.example", "Demo-organizer-2026")
    token = csrf_token_from(client.get("/users").get_data(as_text=True))
    with app.app_context():
        from award.models import User

        judge_id = db.session.scalar(select(User.id).where(User.email == "judge1@award.example"))
    assert client.post(f"/users/{judge_id}/unlock", data={"csrf_token": token}).status_code == 302


# --- request size -----------------------------------------------------------------------------------

def test_config_limits_the_form_parser(app):
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 1024 * 1024
    assert app.config["MAX_FORM_PARTS"] == 5000
    assert app.config["MAX_CONTENT_LENGTH"] == 32 * 1024 * 1024


def test_a_form_field_over_the_memory_limit_is_refused(client, demo):
    response = client.post("/login", data={"email": "x" * (1024 * 1024 + 1), "password": "y"},
                           content_type="multipart/form-data")
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_form_with_too_many_fields_is_refused(client, demo):
    fields = {f"f{i}": "1" for i in range(5001)}
    response = client.post("/login", data={"email": "judge1@award.example", "password": "y", **fields},
                           content_type="multipart/form-data")
    assert response.status_code == 413


def test_a_large_but_allowed_form_is_parsed(client, demo):
    fields = {f"f{i}": "1" for i in range(1000)}
    response = client.post("/login", data={"email": "judge1@award.example", "password": "Demo-judge-one-2026",
                                           "note": "x" * 900_000, **fields}, content_type="multipart/form-data")
    assert response.status_code == 302


# --- error pages ----------------------------------------------------------------------------------

def test_500_page_shows_a_reference_that_the_log_holds_with_the_traceback(app, client, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: db password=hunter2")

    with caplog.at_level(logging.ERROR, logger="award.errors"):
        response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    match = re.search(r'class="mono"[^>]*>\s*([0-9A-F]{8})\s*<', page)
    assert match, page
    reference = match.group(1)
    assert "hunter2" not in page and "Traceback" not in page and "RuntimeError" not in page
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info and logged[0].exc_info[0] is RuntimeError
    assert "hunter2" in str(logged[0].exc_info[1])  # the log keeps what the page hides
