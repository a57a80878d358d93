"""Home pages per role, the language switch and the privacy notice."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ..extensions import db
from ..models import Agency, Edition, EditionStatus, OutgoingMail, User
from ..urls import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    if current_user.is_organizer:
        editions = db.session.scalars(select(Edition).order_by(Edition.number.desc())).all()
        counts = {
            "agencies": db.session.scalar(select(func.count(Agency.id))),
            "users": db.session.scalar(select(func.count(User.id))),
            "unsent_mail": db.session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.sent_at.is_(None))),
        }
        return render_template("main/organizer_home.html", editions=editions, counts=counts)
    if current_user.is_judge:
        return redirect(url_for("judging.dashboard"))
    open_editions = db.session.scalars(
        select(Edition).where(Edition.status == EditionStatus.OPEN).order_by(Edition.number.desc())
    ).all()
    return render_template("main/agency_home.html", agency=current_user.agency, editions=open_editions)


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.get("/healthz")
def healthz():
    """Liveness for load balancers and the service manager: the worker answers. Touches no database,
    no session and no template, so it is also the floor the load benchmarks compare against."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.get("/privacy")
def privacy():
    return render_template("main/privacy.html")
