"""Login, logout, password reset, invitations, accounts and the mail outbox."""

from __future__ import annotations

import hashlib
import hmac
import time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..audit import personal_data
from ..extensions import db, limiter
from ..models import AccountToken, Agency, OutgoingMail, Role, TokenPurpose, User, utcnow
from ..urls import safe_next
from . import operations as ops
from .access import organizer_required
from .forms import AcceptInvitationForm, ChangePasswordForm, ForgotPasswordForm, InviteForm, LoginForm, NewPasswordForm

bp = Blueprint("auth", __name__)

# One budget per client address for every attempt at a password or a token: login, reset request,
# reset and invitation acceptance (POST only; showing the forms is free). Over it: 429, a translated page.
# The limiter is one object for the process; ``exempt_when`` reads this app's own switch, so an app
# made with RATELIMIT_ENABLED False (the test fixture) stays unlimited whatever other app shares it.
attempts_limit = limiter.shared_limit(lambda: current_app.config["RATELIMIT_LOGIN"], scope="account-attempts",
                                      methods=["POST"],
                                      exempt_when=lambda: not current_app.config.get("RATELIMIT_ENABLED", True))

# Pages a user who must change their password may still reach.
_ALLOWED_WHILE_CHANGE_REQUIRED = {"auth.change_password", "auth.logout", "static", "main.set_language",
                                  "main.privacy", "main.healthz"}


def _now() -> float:
    return time.time()


def _password_stamp(user: User) -> str:
    """A keyed digest of the account's password hash, kept in the session: a password changed or reset
    elsewhere ends every other session at its next request (ASVS 7.4.3)."""
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    return hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:32]


@bp.before_app_request
def _session_rules():
    """Before every request of a logged-in user: log an organiser out after ORGANIZER_IDLE_TIMEOUT
    without a request (the last one's time is kept in the signed session), and send a user who must
    change their password to /password/change from every other page."""
    if current_user.is_anonymous:
        return None
    if not current_user.active:  # disabled since this session began: the session ends now
        return _end_session(_("This account is disabled. Please contact the organiser."))
    if session.get("password_stamp") != _password_stamp(current_user):
        return _end_session(_("Your password was changed. Please log in again."))
    now = _now()
    last_seen = session.get("last_seen")
    timeout = current_app.config.get("ORGANIZER_IDLE_TIMEOUT")
    if current_user.is_organizer and timeout and (
            not isinstance(last_seen, (int, float)) or now - last_seen > timeout.total_seconds()):
        ops.idle_logout_event(current_user._get_current_object())
        return _end_session(_("You were logged out after a period of inactivity. Please log in again."),
                            next_url=request.full_path if request.method == "GET" else None)
    if not isinstance(last_seen, (int, float)) or now - last_seen >= 15:
        session["last_seen"] = int(now)  # rewritten at most every 15 s, not on every request
    if request.endpoint not in _ALLOWED_WHILE_CHANGE_REQUIRED and ops.must_change_password(current_user):
        if request.method != "GET":
            abort(403)
        return redirect(url_for("auth.change_password"))
    return None


def _end_session(message: str, next_url: str | None = None):
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(message, "info")
    return redirect(url_for("auth.login", next=next_url))


@bp.route("/login", methods=["GET", "POST"])
@attempts_limit
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = ops.authenticate(form.email.data, form.password.data)
        except ops.AccountError as error:
            flash(error.message, "error")
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session at login: no fixation
            if lang:
                session["lang"] = lang
            login_user(user)
            session["last_seen"] = int(_now())
            session["password_stamp"] = _password_stamp(user)
            if ops.must_change_password(user):
                flash(_("Please choose a new password before you continue."), "info")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    ops.logout_event(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password/change", methods=["GET", "POST"])
@login_required
@attempts_limit  # a wrong current password is a guess like any other
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ops.change_password(user, form.current.data, form.password.data)
        except ops.AccountError as error:
            form.password.errors.append(error.message)
        else:
            session["password_stamp"] = _password_stamp(user)  # this session goes on; the others end
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change.html", form=form, required=ops.must_change_password(user),
                           expired=ops.password_expired(user))


@bp.route("/password/forgot", methods=["GET", "POST"])
@attempts_limit
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        ops.request_password_reset(form.email.data, _link("auth.reset_password"))
        flash(_("If an account exists for this address, a link to reset the password is on its way."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@attempts_limit
def reset_password(token: str):
    try:
        ops.peek_token(token, TokenPurpose.RESET)
    except ops.AccountError as error:
        return render_template("auth/token_invalid.html", message=error.message), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            ops.reset_password(token, form.password.data)
        except ops.AccountError as error:
            form.password.errors.append(error.message)
        else:
            flash(_("Your password has been changed. Please log in."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@attempts_limit
def accept_invitation(token: str):
    try:
        invitation = ops.peek_token(token, TokenPurpose.INVITATION)
    except ops.AccountError as error:
        return render_template("auth/token_invalid.html", message=error.message), 410
    form = AcceptInvitationForm(name=invitation.name)
    if form.validate_on_submit():
        try:
            ops.accept_invitation(token, form.name.data, form.password.data)
        except ops.AccountError as error:
            form.password.errors.append(error.message)
        else:
            flash(_("Your account is ready. Please log in."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/accept.html", form=form, invitation=invitation,
                           role_label=ops.role_label(invitation.role))


@bp.get("/users")
@organizer_required
def users():
    accounts = db.session.scalars(select(User).order_by(User.role, User.email)).all()
    pending = db.session.scalars(
        select(AccountToken).where(AccountToken.purpose == TokenPurpose.INVITATION, AccountToken.used_at.is_(None))
        .order_by(AccountToken.created_at.desc())
    ).all()
    personal_data.viewed({"accounts": len(accounts), "invitations": len(pending)})
    return render_template("auth/users.html", users=accounts, pending=pending, now=utcnow(),
                           must_change=ops.must_change_password)


@bp.route("/users/invite", methods=["GET", "POST"])
@organizer_required
def invite():
    form = InviteForm()
    agencies = db.session.scalars(select(Agency).order_by(Agency.code)).all()
    form.agency_id.choices = [(0, "—")] + [(a.id, f"{a.code} {a.name}") for a in agencies]
    if form.validate_on_submit():
        role = Role(form.role.data)
        agency = db.session.get(Agency, form.agency_id.data) if form.agency_id.data else None
        try:
            ops.invite(form.email.data, form.name.data, role, agency=agency,
                       actor=current_user._get_current_object(), link_for=_link("auth.accept_invitation"))
        except ops.AccountError as error:
            flash(error.message, "error")
        else:
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/invite.html", form=form)


@bp.post("/users/<int:user_id>/active")
@organizer_required
def set_active(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
    else:
        ops.set_active(user, request.form.get("active") == "1", actor=current_user._get_current_object())
    return redirect(url_for("auth.users"))


@bp.post("/users/<int:user_id>/unlock")
@organizer_required
def unlock(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    ops.unlock(user, actor=current_user._get_current_object())
    flash(_("%(email)s is unlocked.", email=user.email), "success")
    return redirect(url_for("auth.users"))


@bp.post("/users/<int:user_id>/require-password-change")
@organizer_required
def require_password_change(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    ops.require_password_change(user, actor=current_user._get_current_object())
    flash(_("%(email)s must choose a new password at the next page they open.", email=user.email), "success")
    return redirect(url_for("auth.users"))


@bp.get("/outbox")
@organizer_required
def outbox():
    messages = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc()).limit(200)).all()
    personal_data.viewed({"outgoing_mail": [message.id for message in messages]})
    return render_template("auth/outbox.html", messages=messages)


def _link(endpoint: str):
    return lambda token: url_for(endpoint, token=token, _external=True)
