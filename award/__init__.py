"""The Transparency Crystal Award (透明晶質獎) judging system."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask

from .config import Defaults

# The project's own folders, for an editable install or a source checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _instance_path() -> str:
    """``AWARD_INSTANCE_PATH`` wins; otherwise the project's ``instance/`` folder.

    Flask would put the instance folder under the virtualenv for a non-editable install, where
    nobody would find the database or the secret key; so we always say where it is.
    """
    configured = os.environ.get("AWARD_INSTANCE_PATH")
    return str(Path(configured).resolve()) if configured else str(PROJECT_ROOT / "instance")


def _template_folder() -> str:
    configured = os.environ.get("AWARD_TEMPLATE_PATH")
    return configured or str(PROJECT_ROOT / "templates")


def _secret_key(instance_path: str) -> str:
    """Read the instance's secret key, generating it once with owner-only permissions.

    Several gunicorn workers start at once: the key is written whole to a temporary file and
    hard-linked into place, so exactly one worker's key wins and no worker ever reads a half-written
    (or empty) file; every worker then signs sessions with the same key."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        fd, temp_name = tempfile.mkstemp(dir=instance_path, prefix=".secret_key-")  # mode 0o600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp_name, path)
            except FileExistsError:
                pass  # another worker's key won; use it
        finally:
            os.unlink(temp_name)
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=_instance_path(),
        instance_relative_config=True,
        template_folder=_template_folder(),
    )
    from .input_text import CleanRequest

    app.request_class = CleanRequest  # control characters never reach a form (docs/security.md)
    app.config.from_object(Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("AWARD")
        for name in ("DATABASE_URL", "SECRET_KEY"):
            if os.environ.get(name):
                app.config["SQLALCHEMY_DATABASE_URI" if name == "DATABASE_URL" else name] = os.environ[name]
    else:
        app.config.update(test_config)

    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "award.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)
    app.config.setdefault("UPLOAD_FOLDER", os.path.join(app.instance_path, "uploads"))
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = app.config.get("PREFERRED_URL_SCHEME") == "https"
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config["SESSION_COOKIE_SECURE"])

    _init_extensions(app)
    _register_blueprints(app)
    _trust_proxies(app)

    from . import cli, errors, i18n, labels, security_headers

    security_headers.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind a reverse proxy (nginx), take the client's address, scheme and host from the
    ``X-Forwarded-*`` headers set by that many proxies (``TRUSTED_PROXIES``; 0, the default, trusts none)."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _init_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (registers the tables)
    from flask_babel import lazy_gettext as _l

    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login's own "Please log in to access this page." would reach users in English: ours is
    # translated when it is flashed (str() of the lazy text, so the session holds a plain string).
    login_manager.login_message = _l("Please log in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.localize_callback = str
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        from .models import User

        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)


def _sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    from .extensions import db

    with app.app_context():
        @event.listens_for(db.engine, "connect")
        def _on_connect(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()


def _register_blueprints(app: Flask) -> None:
    from .agencies.views import bp as agencies_bp
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .editions.views import bp as editions_bp
    from .entries.attachments import bp as attachments_bp
    from .entries.tus import bp as uploads_bp
    from .entries.views import bp as entries_bp
    from .judging.admin_views import bp as judging_admin_bp
    from .judging.offline_views import bp as offline_bp
    from .judging.tie_views import bp as ties_bp
    from .judging.views import bp as judging_bp
    from .main.views import bp as main_bp
    from .privacy.views import bp as privacy_requests_bp
    from .results.export_views import bp as exports_bp
    from .results.views import bp as results_bp

    for bp in (main_bp, auth_bp, agencies_bp, editions_bp, entries_bp, attachments_bp, uploads_bp, ties_bp,
               judging_bp, judging_admin_bp, offline_bp, results_bp, exports_bp, audit_bp):
        app.register_blueprint(bp)
    app.register_blueprint(privacy_requests_bp)
