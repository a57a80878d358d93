"""Default configuration. ``instance/config.py`` and environment variables override it."""

from datetime import timedelta


class Defaults:
    # The SQLite database lives in the instance folder unless DATABASE_URL says otherwise;
    # create_app fills in the absolute path.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    BABEL_DEFAULT_LOCALE = "zh_Hant_TW"
    BABEL_DEFAULT_TIMEZONE = "Asia/Taipei"
    LANGUAGES = {"zh_Hant_TW": "繁體中文", "en": "English"}

    # Accounts
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT = timedelta(minutes=15)
    PASSWORD_MIN_CLASSES = 3  # of lower-case, upper-case, digit, symbol (資通安全責任等級分級辦法 附表十)
    PASSWORD_HISTORY = 3  # a new password may not be one of the account's last 3
    PASSWORD_MIN_AGE = timedelta(days=1)  # between two changes of one's own password (no cycling the history)
    PASSWORD_MAX_AGE_DAYS = 180  # organisers must change a password this old; 0 = never
    ORGANIZER_IDLE_TIMEOUT = timedelta(minutes=30)  # an organiser idle this long is logged out
    ACCOUNT_IDLE_DAYS = 90  # `award accounts disable-idle` disables accounts with no login for this long; 0 = off
    # Login, password reset and invitation attempts per client address (Flask-Limiter). Storage is
    # per process with memory://; give redis://host:6379 (the `redis` extra) to share it between servers.
    RATELIMIT_ENABLED = True
    RATELIMIT_LOGIN = "10 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RESET_TOKEN_LIFETIME = timedelta(hours=1)
    INVITATION_LIFETIME = timedelta(days=14)

    # Outgoing mail: with no MAIL_SERVER the message is kept in the outbox table
    # and shown to organisers, never dropped.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_SENDER = "noreply@transparency-award.local"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # None: Secure exactly when PREFERRED_URL_SCHEME is https (create_app); True/False force it.
    SESSION_COOKIE_SECURE: bool | None = None
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    # Werkzeug's form parser (Flask 3.1): at most 1 MiB of non-file fields held in memory and
    # 5,000 fields and files in one request; beyond that 413.
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    MAX_FORM_PARTS = 5000
    WTF_CSRF_TIME_LIMIT = None  # a judge may keep a sheet open all afternoon

    # Public base URL used in e-mailed links when no request is active (CLI).
    PUBLIC_BASE_URL = "http://localhost:5000"

    # `award uploads purge` removes a resumable (tus) upload left unfinished with no chunk for this long.
    TUS_EXPIRY = timedelta(days=7)

    # Personal data (個人資料保護法): days after an edition's results are final (its closing date)
    # before `award retention run` removes the personal data no longer needed for the record.
    PERSONAL_DATA_RETENTION_DAYS = 365
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Port/-Prefix headers
    # are trusted (werkzeug's ProxyFix); 0 trusts none. Behind one nginx: AWARD_TRUSTED_PROXIES=1.
    TRUSTED_PROXIES = 0
