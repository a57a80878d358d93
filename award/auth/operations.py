"""Accounts: passwords, login with lockout, reset and invitation tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ..audit import record
from ..extensions import db
from ..mail import send_mail
from ..models import AccountToken, Agency, PasswordHistory, Role, TokenPurpose, User, utcnow
from .passwords import password_problems

# argon2id with the library's recommended parameters (RFC 9106 low-memory profile).
_STRONG = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
# The test suite may ask for the cheapest parameters: hashing dominates its run time otherwise.
_CHEAP = PasswordHasher.from_parameters(profiles.CHEAPEST)


def _hasher() -> PasswordHasher:
    return _CHEAP if current_app.config.get("PASSWORD_HASHING") == "cheapest" else _STRONG


def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a failed login takes the same time either way."""
    key = "_award_dummy_hash"
    if key not in current_app.extensions:
        current_app.extensions[key] = _hasher().hash(secrets.token_hex(16))
    return current_app.extensions[key]


class AccountError(Exception):
    """A refusal to show the user, already in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    problems = password_problems(password)
    if problems:
        raise AccountError(" ".join(problems))
    return _hasher().hash(password)


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def authenticate(email: str, password: str) -> User:
    """Return the user whose password this is, or raise ``AccountError``.

    After ``LOGIN_MAX_FAILURES`` wrong passwords in a row the account is locked for
    ``LOGIN_LOCKOUT``; while locked even the right password is refused.
    """
    user = find_user(email)
    if user is None or user.password_hash is None:
        _verify(_dummy_hash(), password)
        raise AccountError(_("Wrong e-mail address or password."))
    now = utcnow()
    if user.locked_until and user.locked_until > now:
        raise AccountError(_("This account is locked after repeated failed logins. Try again after %(time)s.",
                             time=_minutes_left(user.locked_until - now)))
    if not _verify(user.password_hash, password):
        _count_failure(user, now)
        raise AccountError(_("Wrong e-mail address or password."))
    if user.active and _disable_if_idle(user, now):
        db.session.commit()
        raise AccountError(_("This account has not been used for %(days)d days and is now disabled. Please "
                             "contact the organiser.", days=_idle_days()))
    if not user.active:
        raise AccountError(_("This account is disabled. Please contact the organiser."))
    if not _clear_failures_unless_locked(user, now):
        db.session.rollback()  # the 5th wrong guess of a concurrent request locked it while this one was checked
        raise AccountError(_("This account is locked after repeated failed logins. Try again after %(time)s.",
                             time=_minutes_left(current_app.config["LOGIN_LOCKOUT"])))
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    record("login", user, actor=user)
    db.session.commit()
    return user


def _clear_failures_unless_locked(user: User, now) -> bool:
    """Reset the failure count and record the login, in one conditional UPDATE: False when a concurrent
    wrong guess has locked the account since it was read (PostgreSQL re-reads the row it waited for)."""
    cleared = db.session.execute(
        update(User).where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=0, locked_until=None, last_login_at=now)
        .returning(User.id).execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if cleared is None:
        return False
    set_committed_value(user, "failed_logins", 0)
    set_committed_value(user, "locked_until", None)
    set_committed_value(user, "last_login_at", now)
    return True


def _minutes_left(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60) + 1)
    return _("%(n)d minutes", n=minutes)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(user: User, now) -> None:
    """Count a wrong password in the database itself (``failed_logins = failed_logins + 1 ... RETURNING``),
    so concurrent wrong passwords cannot read the same count and undercount; the request whose count
    reaches the limit locks the account."""
    failures = db.session.execute(
        update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins).execution_options(synchronize_session=False)
    ).scalar_one()
    record("login_failed", user, after={"failed_logins": failures}, actor=user)
    if failures >= current_app.config["LOGIN_MAX_FAILURES"]:
        locked_until = now + current_app.config["LOGIN_LOCKOUT"]
        db.session.execute(
            update(User).where(User.id == user.id).values(locked_until=locked_until, failed_logins=0)
            .execution_options(synchronize_session=False)
        )
        record("account_locked", user, after={"locked_until": locked_until}, actor=user)
    db.session.commit()


def logout_event(user: User) -> None:
    record("logout", user, actor=user)
    db.session.commit()


def idle_logout_event(user: User) -> None:
    record("logout_idle", user, actor=user)
    db.session.commit()


def create_user(email: str, name: str, role: Role, password: str, *, agency: Agency | None = None,
                actor: User | None = None, must_change: bool = False) -> User:
    """Create an account with a password. ``must_change``: the password was chosen by someone else
    (``award user add``), so the user must choose their own at first login."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError(_("An account with this e-mail address already exists."))
    if (role is Role.AGENCY) != (agency is not None):
        raise AccountError(_("An agency contact must belong to exactly one agency; other roles to none."))
    user = User(email=email, name=name, role=role, agency=agency, must_change_password=must_change)
    db.session.add(user)
    _store_password(user, hash_password(password))
    record("user_created", user, after=_user_view(user), actor=actor)
    db.session.commit()
    return user


def set_active(user: User, active: bool, *, actor: User | None) -> None:
    before = _user_view(user)
    user.active = active
    if active:
        user.enabled_at = utcnow()
    record("user_enabled" if active else "user_disabled", user, before=before, after=_user_view(user), actor=actor)
    db.session.commit()


def _user_view(user: User) -> dict:
    return {"email": user.email, "name": user.name, "role": user.role,
            "agency": user.agency.code if user.agency else None, "active": user.active,
            "must_change_password": bool(user.must_change_password)}


# --- password changes, history and ages --------------------------------------------------------

def _store_password(user: User, new_hash: str) -> None:
    """Make ``new_hash`` the account's password and remember it; only the last PASSWORD_HISTORY stay."""
    now = utcnow()
    user.password_hash, user.password_changed_at = new_hash, now
    if user.id is None:
        db.session.flush()
    db.session.add(PasswordHistory(user_id=user.id, password_hash=new_hash, created_at=now))
    db.session.flush()
    keep = max(1, int(current_app.config["PASSWORD_HISTORY"]))
    old = db.session.scalars(
        select(PasswordHistory).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc()).offset(keep)
    ).all()
    for row in old:
        db.session.delete(row)


def _check_history(user: User, password: str) -> None:
    keep = int(current_app.config["PASSWORD_HISTORY"])
    recent = db.session.scalars(
        select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
        .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc()).limit(keep)
    ).all()
    if user.password_hash and user.password_hash not in recent:
        recent = [user.password_hash, *recent][:keep]  # accounts from before the history was kept
    if any(_verify(old, password) for old in recent):
        raise AccountError(_("This password is one of your last %(n)d passwords. Please choose a new one.", n=keep))


def password_expired(user: User) -> bool:
    """An organiser's password older than PASSWORD_MAX_AGE_DAYS (0: never) must be changed."""
    days = int(current_app.config.get("PASSWORD_MAX_AGE_DAYS") or 0)
    if days <= 0 or not user.is_organizer:
        return False
    changed = user.password_changed_at or user.created_at
    return changed is not None and changed + timedelta(days=days) <= utcnow()


def must_change_password(user: User) -> bool:
    return bool(user.must_change_password) or password_expired(user)


def change_password(user: User, current: str, new: str) -> None:
    """The user changes their own password: the current one proves it is them; the new one must pass
    the policy, differ from the last PASSWORD_HISTORY, and (unless a change is required) the last change
    must be PASSWORD_MIN_AGE ago, so nobody cycles through the history to get an old password back."""
    if not user.password_hash or not _verify(user.password_hash, current):
        raise AccountError(_("The current password is not correct."))
    required = must_change_password(user)
    changed = user.password_changed_at
    allowed_from = changed + current_app.config["PASSWORD_MIN_AGE"] if changed is not None else None
    if not required and allowed_from is not None and allowed_from > utcnow():
        raise AccountError(_("You changed your password recently. You may change it again from %(time)s.",
                             time=format_datetime(allowed_from, "short")))
    new_hash = hash_password(new)
    _check_history(user, new)
    _store_password(user, new_hash)
    user.must_change_password = False
    record("password_changed", user, actor=user)
    db.session.commit()


def require_password_change(user: User, *, actor: User) -> None:
    before = _user_view(user)
    user.must_change_password = True
    record("password_change_required", user, before=before, after=_user_view(user), actor=actor)
    db.session.commit()


def unlock(user: User, *, actor: User) -> None:
    before = {"locked_until": user.locked_until, "failed_logins": user.failed_logins}
    user.locked_until, user.failed_logins = None, 0
    record("account_unlocked", user, before=before, after={"locked_until": None, "failed_logins": 0}, actor=actor)
    db.session.commit()


def active_organizers() -> int:
    """How many organisers can log in, row-locked until the commit: two transactions that each
    disable one cannot both count the other as still there (PostgreSQL)."""
    return len(db.session.scalars(select(User.id).where(User.role == Role.ORGANIZER, User.active.is_(True))
                                  .order_by(User.id).with_for_update()).all())


def _idle_days() -> int:
    return int(current_app.config.get("ACCOUNT_IDLE_DAYS") or 0)


def _is_idle(user: User, now) -> bool:
    """No login for ACCOUNT_IDLE_DAYS (0: never idle), counting from the last login, the account's
    creation or an organiser enabling it again, whichever is latest."""
    days = _idle_days()
    last_use = user.last_login_at or user.created_at
    if user.enabled_at is not None:
        last_use = max(last_use, user.enabled_at)
    return days > 0 and last_use <= now - timedelta(days=days)


def _disable_idle(user: User) -> None:
    before = _user_view(user)
    user.active = False
    record("user_disabled_idle", user, before=before,
           after={**_user_view(user), "last_login_at": user.last_login_at, "idle_days": _idle_days()}, actor=None)


def _disable_if_idle(user: User, now) -> bool:
    """At login: an idle account is disabled then, even if nobody ran ``award accounts disable-idle``
    (never the last active organiser). The caller commits."""
    if not _is_idle(user, now) or (user.is_organizer and active_organizers() <= 1):
        return False
    _disable_idle(user)
    return True


def disable_idle_accounts(*, now=None) -> list[User]:
    """Disable every active account with no login for ACCOUNT_IDLE_DAYS (0: off), counting from its
    creation when it never logged in; one audit event each. The last active organiser is never disabled,
    so someone can always log in to re-enable the others."""
    now = now or utcnow()
    candidates = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    idle = [u for u in candidates if _is_idle(u, now)]
    organizers_left = active_organizers()
    disabled = []
    for user in idle:
        if user.is_organizer:
            if organizers_left <= 1:
                continue
            organizers_left -= 1
        _disable_idle(user)
        disabled.append(user)
    db.session.commit()
    return disabled


# --- single-use tokens -------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token(purpose: TokenPurpose, email: str, lifetime: timedelta, **fields) -> tuple[str, AccountToken]:
    token = secrets.token_urlsafe(32)
    row = AccountToken(purpose=purpose, token_hash=_token_hash(token), email=email,
                       expires_at=utcnow() + lifetime, **fields)
    db.session.add(row)
    return token, row


def _redeem(token: str, purpose: TokenPurpose) -> AccountToken:
    """The token's row, marked used; or ``AccountError`` saying why it cannot be used."""
    row = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == _token_hash(token), AccountToken.purpose == purpose)
        .with_for_update()
    )
    if row is None:
        raise AccountError(_("This link is not valid. Please ask for a new one."))
    if row.used_at is not None:
        raise AccountError(_("This link has already been used. Please ask for a new one."))
    if row.expires_at <= utcnow():
        raise AccountError(_("This link has expired. Please ask for a new one."))
    row.used_at = utcnow()
    return row


def peek_token(token: str, purpose: TokenPurpose) -> AccountToken:
    """Check a token without using it (to show the form); raises like ``_redeem``."""
    row = _redeem(token, purpose)
    db.session.rollback()
    return row


def request_password_reset(email: str, link_for) -> None:
    """Mail a reset link if the account exists. Says nothing either way, so the form cannot be
    used to find out who has an account."""
    user = find_user(email)
    if user is None or not user.active:
        return
    token, _row = _new_token(TokenPurpose.RESET, user.email, current_app.config["RESET_TOKEN_LIFETIME"], user=user)
    minutes = int(current_app.config["RESET_TOKEN_LIFETIME"].total_seconds() // 60)
    send_mail(user.email, _("Reset your password: Transparency Crystal Award"),
              _("Someone asked to reset the password of your account. To choose a new password, open this "
                "link within %(minutes)d minutes:\n\n%(link)s\n\nIf it was not you, ignore this message.",
                minutes=minutes, link=link_for(token)))
    record("password_reset_requested", user, actor=user)
    db.session.commit()


def reset_password(token: str, password: str) -> User:
    new_hash = hash_password(password)  # refuse a weak password before using up the token
    row = _redeem(token, TokenPurpose.RESET)
    user = row.user
    try:
        _check_history(user, password)
    except AccountError:
        db.session.rollback()  # the token stays usable
        raise
    _store_password(user, new_hash)
    user.failed_logins, user.locked_until, user.must_change_password = 0, None, False
    record("password_reset", user, actor=user)
    db.session.commit()
    return user


def invite(email: str, name: str, role: Role, *, agency: Agency | None, actor: User, link_for) -> AccountToken:
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError(_("An account with this e-mail address already exists."))
    if (role is Role.AGENCY) != (agency is not None):
        raise AccountError(_("An agency contact must belong to exactly one agency; other roles to none."))
    token, row = _new_token(TokenPurpose.INVITATION, email, current_app.config["INVITATION_LIFETIME"],
                            role=role, agency=agency, name=name, created_by_id=actor.id)
    send_mail(email, _("Invitation: Transparency Crystal Award"),
              _("%(inviter)s invites you to the Transparency Crystal Award system as %(role)s.\n\n"
                "Open this link to choose your password:\n\n%(link)s",
                inviter=actor.name, role=role_label(role), link=link_for(token)))
    record("invitation_sent", row, after={"email": email, "role": role, "agency": agency.code if agency else None},
           actor=actor)
    db.session.commit()
    return row


def accept_invitation(token: str, name: str, password: str) -> User:
    new_hash = hash_password(password)
    row = _redeem(token, TokenPurpose.INVITATION)
    if find_user(row.email) is not None:
        raise AccountError(_("An account with this e-mail address already exists."))
    user = User(email=row.email, name=name.strip() or row.name or row.email, role=row.role,
                agency_id=row.agency_id)
    db.session.add(user)
    _store_password(user, new_hash)  # chosen by the user: no forced change
    record("invitation_accepted", user, after=_user_view(user), actor=user)
    db.session.commit()
    return user


def role_label(role: Role) -> str:
    return {Role.ORGANIZER: _("organiser"), Role.JUDGE: _("judge"), Role.AGENCY: _("agency contact")}[role]
