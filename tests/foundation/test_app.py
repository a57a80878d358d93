"""The app factory, configuration, CLI, languages and error pages."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import select

from award import create_app
from award.extensions import db
from award.models import AuditEvent, Edition, User


def test_secret_key_is_generated_once_with_owner_only_permissions(tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key_file = tmp_path / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(first.config["SECRET_KEY"]) >= 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_environment_configures_database_and_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.internal/award")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.internal/award"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.instance_path == str(tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path))
    for name in ("DATABASE_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config.py").write_text("LOGIN_MAX_FAILURES = 3\nSQLALCHEMY_DATABASE_URI = 'sqlite://'\n")
    assert create_app().config["LOGIN_MAX_FAILURES"] == 3


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("AWARD_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/award.sqlite"


def test_templates_come_from_the_project_folder(app):
    assert app.jinja_loader.searchpath[0].endswith("/templates")


def test_demo_command_prints_every_account_and_is_idempotent(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    for email in ("organizer@award.example", "judge1@award.example", "penghu@award.example"):
        assert email in result.output
    assert "Demo-organizer-2026" in result.output
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    with app.app_context():
        assert len(db.session.scalars(select(Edition)).all()) == 1
        edition = db.session.scalar(select(Edition))
        names = [c.name for c in edition.categories]
        assert names == ["整體廉能作為類", "創新廉能措施類"]
        assert all(c.weight_sum == 100 for c in edition.categories)
        assert [s.name for s in edition.stages] == ["書面審查", "實地訪視"]


def test_demo_reset_starts_afresh(app, runner):
    runner.invoke(args=["demo"])
    runner.invoke(args=["user", "add", "extra@award.example", "--role", "judge"], input="An extra judge pass 26\n")
    result = runner.invoke(args=["demo", "--reset"])
    assert result.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "extra@award.example")) is None


def test_user_add_reads_password_from_stdin(app, runner, demo):
    result = runner.invoke(args=["user", "add", "new.judge@award.example", "--role", "judge", "--name", "新委員"],
                           input="A long enough password 2026\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new.judge@award.example"))
        assert user.name == "新委員" and user.role.value == "judge"
        assert db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc())).action == "user_created"


def test_user_add_refuses_bad_input_with_a_message(runner, demo):
    weak = runner.invoke(args=["user", "add", "w@award.example", "--role", "judge"], input="short\n")
    assert weak.exit_code != 0 and "12" in weak.output
    no_agency = runner.invoke(args=["user", "add", "a@award.example", "--role", "agency", "--agency", "NOPE"],
                              input="A long enough password 2026\n")
    assert no_agency.exit_code != 0 and "NOPE" in no_agency.output
    dup = runner.invoke(args=["user", "add", "judge1@award.example", "--role", "judge"],
                        input="A long enough password 2026\n")
    assert dup.exit_code != 0


def test_language_switch_is_remembered(client, demo, login):
    assert 'lang="zh-Hant-TW"' in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/login"})
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    login.as_demo("judge1")  # the choice survives the fresh session at login
    assert 'lang="en"' in client.get("/", follow_redirects=True).get_data(as_text=True)


def test_language_switch_ignores_unknown_languages_and_foreign_redirects(client):
    response = client.post("/language", data={"lang": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert 'lang="zh-Hant-TW"' in client.get("/login").get_data(as_text=True)


def test_the_login_prompt_is_in_the_users_language(client):
    """Opening a page that needs a login flashes our translated prompt, not Flask-Login's English one."""
    response = client.get("/judging/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "/login" in response.request.path
    assert "請先登入" in page and "Please log in" not in page
    client.post("/language", data={"lang": "en", "next": "/login"})
    assert "Please log in to open this page." in client.get("/judging/", follow_redirects=True).get_data(as_text=True)


def test_not_found_page_is_in_the_users_language(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert 'lang="zh-Hant-TW"' in response.get_data(as_text=True)


def _translated(app, message: str, locale: str) -> str:
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale(locale):
        return gettext(message)


@pytest.mark.parametrize("locale", ["zh_Hant_TW", "en"])
def test_error_pages_speak_the_users_language(app, client, demo, login, locale):
    """403, 404 and 500 pages carry their title in the language the user chose."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("internals")

    if locale == "en":
        client.post("/language", data={"lang": "en", "next": "/login"})
    login.as_demo("penghu")
    pages = {403: client.get("/users"), 404: client.get("/no/such/page"), 500: client.get("/boom")}
    titles = {403: "Not allowed", 404: "Page not found", 500: "Something went wrong"}
    for status, response in pages.items():
        assert response.status_code == status
        title = _translated(app, titles[status], locale)
        assert (title != titles[status]) == (locale != "en"), "the Chinese catalogue lacks " + titles[status]
        assert title in response.get_data(as_text=True), (status, locale)


def test_unexpected_error_shows_a_reference_and_no_internals(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "hunter2" not in page and "Traceback" not in page and "RuntimeError" not in page
    assert 'class="mono"' in page  # the reference number


def test_form_validation_messages_are_in_traditional_chinese(client, demo, login):
    login.as_demo("organizer")
    page = client.post("/users/invite", data={"email": "", "name": "", "role": "judge"}).get_data(as_text=True)
    assert "此欄位是必需的" in page
    assert "该字段" not in page  # never Simplified Chinese
