"""Languages and times: Traditional Chinese first, English on request; times in Asia/Taipei."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.support import Translations
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_datetime, gettext
from flask_login import current_user
from markupsafe import Markup, escape

from .extensions import babel

TAIPEI = ZoneInfo("Asia/Taipei")


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # the CLI speaks the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang(locale: str) -> str:
    """BCP 47 tag for the ``lang`` attribute (screen readers pick their voice from it)."""
    return "zh-Hant-TW" if locale.startswith("zh") else locale.replace("_", "-")


def local_time(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC datetime shown in Asia/Taipei, with the zone spelled out where it matters."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def colon(label: str) -> Markup:
    """A label followed by the language's colon: "Score sheet: " in English, "評分表：" in Chinese
    (a full-width colon, and no space after it)."""
    # TRANSLATORS: the colon after a label, with the space that follows it in this language
    return escape(label) + escape(gettext(": "))


def to_taipei(value: datetime) -> datetime:
    return value.astimezone(TAIPEI)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Taipei")
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["colon"] = colon

    @app.context_processor
    def _language_context():
        from flask_babel import get_locale

        locale = str(get_locale())
        return {"current_locale": locale, "html_lang": html_lang(locale), "languages": app.config["LANGUAGES"]}

    @app.before_request
    def _wtforms_messages_in_traditional_chinese():
        # WTForms' own messages (e.g. "This field is required.") come from its catalogues; for
        # zh_Hant_TW the lookup would fall back to Simplified "zh", so name zh_TW explicitly.
        from flask_babel import get_locale
        from wtforms.i18n import messages_path

        if str(get_locale()).startswith("zh"):
            request.wtforms_translations = Translations.load(messages_path(), ["zh_TW"], domain="wtforms")

    @app.after_request
    def _vary_on_cookie(response):
        response.headers.add("Vary", "Cookie")
        return response

