"""Organisers browse and filter the audit trail, and check its chain."""

from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, render_template, request
from sqlalchemy import select

from ..auth.access import organizer_required
from ..extensions import db
from ..i18n import TAIPEI
from ..models import AuditEvent
from .checkpoints import recent_checkpoints, verify_checkpoints
from .labels import action_label
from .operations import verify_chain

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 100


@bp.context_processor
def _labels() -> dict:
    return {"action_label": action_label}


def _day(value: str | None, end: bool = False) -> datetime | None:
    """A yyyy-mm-dd date from the filter form, as the start (or end) of that day in Taipei."""
    try:
        day = datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time.max if end else time.min, tzinfo=TAIPEI)


@bp.get("/")
@organizer_required
def events():
    args = request.args
    query = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if args.get("action"):
        query = query.where(AuditEvent.action == args["action"])
    if args.get("object_type"):
        query = query.where(AuditEvent.object_type == args["object_type"])
    if args.get("object_id"):
        query = query.where(AuditEvent.object_id == args["object_id"])
    if args.get("actor"):
        query = query.where(AuditEvent.actor_label.contains(args["actor"].strip()))
    if since := _day(args.get("since")):
        query = query.where(AuditEvent.occurred_at >= since)
    if until := _day(args.get("until"), end=True):
        query = query.where(AuditEvent.occurred_at <= until)
    if before := args.get("before", type=int):
        query = query.where(AuditEvent.seq < before)
    rows = db.session.scalars(query.limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    actions = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    object_types = db.session.scalars(select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)).all()
    next_args = {**args.to_dict(), "before": rows[-1].seq} if more and rows else None
    return render_template("audit/events.html", events=rows, actions=actions, object_types=object_types,
                           args=args, next_args=next_args)


@bp.get("/verify")
@organizer_required
def verify():
    """The hash chain and every Merkle checkpoint, recomputed from the events as they are now."""
    return render_template("audit/verify.html", result=verify_chain(), checkpoints=verify_checkpoints(),
                           recent=recent_checkpoints())
