"""Error pages in the user's language: a short message and a reference number, never internals."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood. Please go back and try again.")),
        403: (_("Not allowed"), _("You do not have permission to see this page.")),
        404: (_("Page not found"), _("The page does not exist, or you may not see it.")),
        405: (_("Not allowed"), _("This action is not available here.")),
        413: (_("File too large"), _("The file or form is larger than allowed. Nothing was saved from this request.")),
        429: (_("Too many attempts"), _("Please wait a moment before trying again.")),
        500: (_("Something went wrong"), _("An unexpected error occurred. Nothing you saved before was lost.")),
    }


def render_error(status: int, message: str | None = None, reference: str | None = None):
    title, default = _messages().get(status, (_("Error"), _("The request could not be completed.")))
    return (
        render_template("errors/error.html", status=status, title=title, message=message or default,
                        reference=reference),
        status,
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_error(400, _("Your form expired or came from elsewhere. Please reload the page and submit again."))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        return render_error(error.code or 500)

    @app.errorhandler(500)
    def _unexpected(error):
        # Flask routes an unhandled exception here (tests see it raised instead).
        reference = secrets.token_hex(4).upper()
        log.error("unhandled error, reference %s", reference, exc_info=getattr(error, "original_exception", error))
        from .extensions import db

        db.session.rollback()
        return render_error(500, reference=reference)
