"""Judging pages: the judge's dashboard and score sheets, the organiser's sheet list and reopening,
the panel's discussion view and advancing entries to the next stage.

Access is checked by role, then by object: a judge reaches a sheet (and the entry's files) only
through their own confirmed, tie-free assignment; anything else is "not found", so a page never
confirms that an entry exists.
"""

from __future__ import annotations

import logging

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.access import organizer_required, roles_required
from ..entries import storage
from ..entries.attachments import content_disposition, filesize, neutral_name, record_download
from ..extensions import db
from ..models import Assignment, AssignmentStatus, Attachment, Role, ScoreSheet, SheetStatus, Stage, User
from . import sheets as ops
from . import stages as stage_ops
from .forms import CONFIRM_FIELD, SheetInput, read_advance, read_sheet, read_toggle
from .rules import judge_may_view

log = logging.getLogger(__name__)

bp = Blueprint("judging", __name__, url_prefix="/judging")
judge_required = roles_required(Role.JUDGE)

CONFIRM_ENDPOINT = "ties.confirm"  # the tie check before a sheet opens (award/judging/tie_views.py)
DOWNLOAD_ENDPOINT = "attachments.download_attachment"
AUTOSAVE_HEADER = "X-Award-Autosave"  # score-sheet.js saving a draft as the judge leaves the page


@bp.context_processor
def _helpers():
    return {
        "plain": ops.plain,
        "score_field": ops.score_field,
        "comment_field": ops.comment_field,
        "has_endpoint": lambda name: name in current_app.view_functions,
        "sheet_state_label": lambda state: str(_state_labels().get(state, state)),
        "size_text": filesize,
        "neutral_name": neutral_name,
    }


def _state_labels() -> dict[str, str]:
    return {ops.PENDING: _("Tie check pending"), ops.NOT_STARTED: _("Not started"), ops.DRAFT: _("Draft"),
            ops.REOPENED: _("Reopened by the organiser"), ops.SUBMITTED: _("Submitted"),
            ops.EXCLUDED: _("Excluded by the organiser")}


def _user() -> User:
    return current_user._get_current_object()


# --- the judge's pages ----------------------------------------------------------------------------

@bp.get("/")
@judge_required
def dashboard():
    return render_template("judging/sheets/dashboard.html", groups=ops.judge_dashboard(_user()),
                           confirm_endpoint=CONFIRM_ENDPOINT)


def _own_assignment(assignment_id: int) -> Assignment:
    """The current judge's confirmed assignment with no tie to the entry's agency; else 404."""
    assignment = db.session.get(Assignment, assignment_id)
    if (assignment is None or assignment.judge_id != current_user.id
            or not judge_may_view(_user(), assignment.entry, assignment.stage_id)):
        abort(404)
    return assignment


def _render_sheet(assignment: Assignment, status: int = 200, *, posted: SheetInput | None = None,
                  errors: dict[str, list[str]] | None = None, message: str | None = None,
                  conflict: ops.SavedSheet | None = None):
    stage, entry = assignment.stage, assignment.entry
    criteria = ops.criteria_of(entry, stage)
    sheet = ops.sheet_for(assignment.judge_id, entry.id, stage.id)
    saved = ops.marks_of(sheet)
    locked = sheet is not None and (sheet.status is SheetStatus.SUBMITTED or sheet.excluded)
    if posted is not None and not locked:  # a locked sheet shows what is saved, never what was sent
        values = posted.values()
    else:
        values = {ops.OVERALL_FIELD: sheet.comment if sheet else ""}
        for c in criteria:
            score, comment = saved.get(c.id, (None, ""))
            values[ops.score_field(c.id)], values[ops.comment_field(c.id)] = ops.plain(score), comment
    version = conflict.version if conflict is not None else (sheet.version if sheet else 0)
    context = dict(
        assignment=assignment, stage=stage, entry=entry, criteria=criteria, sheet=sheet, values=values,
        errors=errors or {}, message=message, conflict=conflict, version=version,
        total=ops.sheet_total(criteria, sheet), weight_sum=sum((c.weight for c in criteria), 0),
        locked=sheet is not None and sheet.status is SheetStatus.SUBMITTED,
        excluded=sheet is not None and sheet.excluded, window_problem=ops.sheet_window_problem(stage, sheet),
        texts={s.criterion_id: s.text for s in entry.sections}, sections=list(entry.category.criteria),
        attachments=entry.active_attachments,
        needs_comment=[c.id for c in ops.extremes_without_comment(criteria, saved)] if posted is None else [],
        confirm_field=CONFIRM_FIELD, download_endpoint=DOWNLOAD_ENDPOINT,
    )
    return render_template("judging/sheets/sheet.html", **context), status


@bp.route("/sheets/<int:assignment_id>", methods=["GET", "POST"])
@judge_required
def sheet(assignment_id: int):
    assignment = _own_assignment(assignment_id)
    if request.method == "GET":
        return _render_sheet(assignment)
    criteria = ops.criteria_of(assignment.entry, assignment.stage)
    posted = read_sheet(request.form, criteria)
    if request.headers.get(AUTOSAVE_HEADER) == "1":
        return _autosave(assignment, criteria, posted)
    problem = posted.confirmation_problem()
    if problem:
        return _render_sheet(assignment, 400, posted=posted, errors=problem, message=problem[CONFIRM_FIELD][0])
    try:
        saved = ops.save_sheet(_user(), assignment, posted.marks, posted.comment, posted.version,
                               submit=posted.submit)
    except ops.SheetConflict as conflict:
        return _render_sheet(assignment, 409, posted=posted, message=conflict.message, conflict=conflict.current)
    except ops.SheetError as error:
        return _render_sheet(assignment, 400, posted=posted, errors=error.fields, message=error.message)
    _flash_saved(saved, criteria, posted.submit)
    return redirect(url_for("judging.sheet", assignment_id=assignment.id), 303)


def _autosave(assignment: Assignment, criteria, posted: SheetInput):
    """The score sheet's script saving a draft as the judge leaves the page (score-sheet.js): the same
    checks as "Save draft", answered in JSON. Never a submission, whatever was posted."""
    try:
        saved = ops.save_sheet(_user(), assignment, posted.marks, posted.comment, posted.version)
    except ops.SheetConflict as conflict:
        return jsonify(ok=False, conflict=True, message=conflict.message), 409
    except ops.SheetError as error:
        return jsonify(ok=False, message=error.message, errors=error.fields), 400
    return jsonify(ok=True, version=saved.version, total=ops.plain(ops.sheet_total(criteria, saved)))


def _flash_saved(sheet: ScoreSheet, criteria, submitted: bool) -> None:
    if submitted:
        flash(_("Your score sheet was submitted. It is now locked; only the organiser can reopen it."), "success")
        return
    flash(_("Draft saved. You can change it until you submit."), "success")
    missing = ops.extremes_without_comment(criteria, ops.marks_of(sheet))
    if missing:
        flash(_("Before you submit, add a comment to the lowest or highest marks on: %(names)s.",
                names="、".join(c.name for c in missing)), "warning")


@bp.get("/sheets/<int:assignment_id>/attachments/<int:attachment_id>/view")
@judge_required
def view_pdf(assignment_id: int, attachment_id: int):
    """A PDF attachment shown inline beside the score sheet (the download endpoint forces a save).

    Chromium's PDF viewer does not run in a sandboxed document, and ``default-src 'none'`` breaks
    its layout; so this response has no ``sandbox`` and instead may only ever be a PDF: the kind
    sniffed at upload, the bytes checked to start with ``%PDF-``, the type fixed and ``nosniff``."""
    assignment = _own_assignment(assignment_id)
    attachment = db.session.get(Attachment, attachment_id)
    if (attachment is None or attachment.entry_id != assignment.entry_id or attachment.removed_at is not None
            or attachment.kind != "pdf"):
        abort(404)
    path = storage.blob_path(attachment.storage_key)
    if not path.is_file() or not _is_pdf(path):
        log.error("attachment %s: blob %s is missing or not a PDF", attachment.id, attachment.storage_key)
        abort(404)
    if _starts_reading():
        record_download(attachment, _user())
    response = send_file(path, mimetype="application/pdf", conditional=True, etag=attachment.sha256,
                         last_modified=attachment.uploaded_at, max_age=None)
    response.headers["Content-Disposition"] = _inline_disposition(attachment, assignment.stage.blind)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _is_pdf(path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(5) == b"%PDF-"


def _starts_reading() -> bool:
    """The viewer fetches a large PDF in ranges: one reading is logged once, at its first byte."""
    ranges = request.range.ranges if request.range else None
    return not ranges or ranges[0][0] == 0


def _inline_disposition(attachment: Attachment, blind: bool) -> str:
    """``inline`` with the file's name; in a blind stage a neutral name (file names often name the agency)."""
    return content_disposition(attachment, neutral_name(attachment) if blind else None, "inline")


# --- the organiser's pages -------------------------------------------------------------------------

def _stage(stage_id: int) -> Stage:
    return db.session.get(Stage, stage_id) or abort(404)


def _render_stage_sheets(stage: Stage, status: int = 200, **context):
    rows = list(db.session.scalars(
        select(ScoreSheet).where(ScoreSheet.stage_id == stage.id).order_by(ScoreSheet.entry_id, ScoreSheet.judge_id)))
    totals = {s.id: ops.sheet_total(ops.criteria_of(s.entry, stage), s) for s in rows}
    return render_template("judging/stages/sheets.html", stage=stage, sheets=rows, totals=totals,
                           not_started=_not_started(stage, rows), reopen_errors=context.pop("reopen_errors", {}),
                           reasons=context.pop("reasons", {}), **context), status


def _not_started(stage: Stage, sheets: list[ScoreSheet]) -> list[Assignment]:
    started = {(s.entry_id, s.judge_id) for s in sheets}
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.stage_id == stage.id, Assignment.status == AssignmentStatus.CONFIRMED)
        .order_by(Assignment.entry_id, Assignment.judge_id))
    return [a for a in assignments if (a.entry_id, a.judge_id) not in started]


@bp.get("/stages/<int:stage_id>/sheets")
@organizer_required
def stage_sheets(stage_id: int):
    return _render_stage_sheets(_stage(stage_id))


@bp.post("/sheets/<int:sheet_id>/reopen")
@organizer_required
def reopen(sheet_id: int):
    sheet = db.session.get(ScoreSheet, sheet_id) or abort(404)
    reason = request.form.get("reason", "")
    stage = sheet.stage
    try:
        ops.reopen_sheet(_user(), sheet, reason)
    except ops.SheetError as error:
        db.session.rollback()
        return _render_stage_sheets(stage, 400, message=error.message,
                                    reopen_errors={sheet_id: error.fields.get("reason") or [error.message]},
                                    reasons={sheet_id: reason})
    flash(_("The score sheet of %(judge)s on entry %(entry)s was reopened. The judge sees your reason.",
            judge=sheet.judge.name, entry=sheet.entry_id), "success")
    return redirect(url_for("judging.stage_sheets", stage_id=stage.id, _anchor=f"sheet-{sheet.id}"), 303)


# --- discussion ---------------------------------------------------------------------------------------

@bp.get("/stages/<int:stage_id>/discussion")
@login_required
def discussion(stage_id: int):
    stage = _stage(stage_id)
    viewer = _user()
    if viewer.is_organizer:
        return render_template("judging/stages/discussion.html", stage=stage,
                               panels=stage_ops.discussion(stage, viewer))
    if not viewer.is_judge or not stage_ops.judge_has_confirmed(viewer, stage):
        abort(404)
    if not stage.discussion_open:
        return render_template("judging/stages/discussion.html", stage=stage, panels=None)
    return render_template("judging/stages/discussion.html", stage=stage, panels=stage_ops.discussion(stage, viewer))


@bp.post("/stages/<int:stage_id>/discussion")
@organizer_required
def toggle_discussion(stage_id: int):
    stage = _stage(stage_id)
    wanted = read_toggle(request.form)
    if wanted is None:
        abort(400)
    if stage_ops.set_discussion(_user(), stage, wanted):
        flash(_("The discussion of %(stage)s is open: the panel now sees each other's marks.", stage=stage.name)
              if wanted else _("The discussion of %(stage)s is closed.", stage=stage.name), "success")
    return redirect(url_for("judging.discussion", stage_id=stage.id), 303)


# --- advancing entries ------------------------------------------------------------------------------

@bp.route("/stages/<int:stage_id>/advance", methods=["GET", "POST"])
@organizer_required
def advance(stage_id: int):
    stage = _stage(stage_id)
    if request.method == "GET":
        return _render_advance(stage)
    req, problems = read_advance(request.form)
    if problems:
        return _render_advance(stage, 400, req=req, errors=problems,
                               message=_("Nothing was decided. Please correct the marked fields."))
    try:
        done = stage_ops.advance_entries(_user(), stage, req)
    except stage_ops.StageError as error:
        return _render_advance(stage, 400, req=req, errors=error.fields, message=error.message)
    flash(_("%(count)d entries advanced to %(stage)s. The decision and its basis are recorded.",
            count=len(done.entries), stage=done.to_stage.name), "success")
    return redirect(url_for("judging.advance", stage_id=stage.id), 303)


def _render_advance(stage: Stage, status: int = 200, **context):
    following = stage_ops.next_stage(stage)
    return render_template(
        "judging/stages/advance.html", stage=stage, next_stage=following, rankings=stage_ops.ranking(stage),
        unsubmitted=stage_ops.unsubmitted_count(stage), req=context.pop("req", None),
        errors=context.pop("errors", {}), message=context.pop("message", None), **context), status
