"""Organiser pages of the judging area: each stage's entry × judge matrix with manual assignment,
the automatic assignment (preview, then apply), filling the first stage, and a judge's withdrawal."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..audit import personal_data
from ..auth.access import organizer_required
from ..extensions import db
from ..models import Assignment, AssignmentStatus, Edition, Entry, Stage, User
from . import assign_ops as ops
from .forms_admin import AutoForm, WithdrawForm

bp = Blueprint("judging_admin", __name__, url_prefix="/judging/admin")


@bp.app_template_global("shortfall_text")
def _shortfall_text(shortfall) -> str:
    return ops.shortfall_text(shortfall)


def _stage(stage_id: int) -> Stage:
    return db.session.get(Stage, stage_id) or abort(404)


def _judge(judge_id: int) -> User:
    judge = db.session.get(User, judge_id)
    if judge is None or not judge.is_judge:
        abort(404)
    return judge


def _organizer() -> User:
    return current_user._get_current_object()


def _to_stage(stage: Stage, anchor: str | None = None):
    return redirect(url_for("judging_admin.stage", stage_id=stage.id, category=request.args.get("category", type=int),
                            _anchor=anchor))


@bp.get("/")
@organizer_required
def index():
    editions = db.session.scalars(select(Edition).order_by(Edition.number.desc())).all()
    return render_template("judging/admin/index.html", editions=editions)


@bp.get("/stages/<int:stage_id>")
@organizer_required
def stage(stage_id: int):
    stage = _stage(stage_id)
    category_id = request.args.get("category", type=int)
    if category_id is not None and category_id not in {c.id for c in stage.edition.categories}:
        abort(404)
    matrix = ops.stage_matrix(stage, category_id)
    personal_data.viewed({"stage": stage.id, "judges": [judge.id for judge in matrix.judges]})
    return render_template("judging/admin/stage.html", stage=stage, matrix=matrix, category_id=category_id,
                           first_stage=ops.is_first_stage(stage), statuses=AssignmentStatus)


@bp.post("/stages/<int:stage_id>/populate")
@organizer_required
def populate(stage_id: int):
    stage = _stage(stage_id)
    try:
        added = ops.populate_first_stage(stage, _organizer())
    except ops.AssignmentError as error:
        flash(error.message, "error")
    else:
        if added:
            flash(_("%(n)d eligible entries added to the stage.", n=added), "success")
        elif waiting := ops.awaiting_screening(stage):
            flash(_("No entry was added: %(n)d submitted entries have not been screened yet. Screen them on the "
                    "entries page; only eligible entries enter the stage.", n=waiting), "warning")
        else:
            flash(_("Every eligible entry is already in the stage."), "success")
    return _to_stage(stage)


def _parse_cell(value: str) -> tuple[str, int, int] | None:
    """``assign-<entry>-<judge>`` or ``unassign-<entry>-<judge>`` from the clicked cell button."""
    parts = (value or "").split("-")
    if len(parts) != 3 or parts[0] not in ("assign", "unassign") or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return parts[0], int(parts[1]), int(parts[2])


@bp.post("/stages/<int:stage_id>/cell")
@organizer_required
def cell(stage_id: int):
    stage = _stage(stage_id)
    parsed = _parse_cell(request.form.get("cell", ""))
    if parsed is None:
        flash(_("Choose a cell of the matrix."), "error")
        return _to_stage(stage)
    action, entry_id, judge_id = parsed
    try:
        if action == "assign":
            ops.assign(stage, db.session.get(Entry, entry_id), db.session.get(User, judge_id), _organizer())
            flash(_("Assigned."), "success")
        else:
            assignment = db.session.scalar(select(Assignment).where(
                Assignment.stage_id == stage.id, Assignment.entry_id == entry_id, Assignment.judge_id == judge_id))
            if assignment is None:
                raise ops.AssignmentError(_("There is no such assignment."))
            ops.unassign(assignment, _organizer(), request.form.get("reason", ""))
            flash(_("Assignment removed."), "success")
    except ops.AssignmentError as error:
        flash(error.message, "error")
    return _to_stage(stage, f"entry-{entry_id}")


# --- automatic assignment -----------------------------------------------------------------------

def _auto_form(stage: Stage) -> tuple[AutoForm, list[User]]:
    form = AutoForm()
    panel = ops.panel_judges(stage)
    form.set_judges(panel)
    if request.method == "GET":
        form.judges.data = [j.id for j in panel]
    return form, panel


def _render_auto(stage: Stage, form: AutoForm, panel: list[User], preview=None, status: int = 200):
    return render_template("judging/admin/auto.html", stage=stage, form=form, panel=panel, preview=preview,
                           withdrawn=ops.withdrawn_judge_ids(stage.id)), status


def _preview_or_refusal(stage: Stage, form: AutoForm):
    try:
        return ops.preview_automatic(stage, form.to_options())
    except ops.AssignmentError as error:
        for name, problems in error.fields.items():
            if name in form:
                form[name].errors = [*form[name].errors, *problems]
        form.refusals = error.messages
        return None


@bp.route("/stages/<int:stage_id>/auto", methods=["GET", "POST"])
@organizer_required
def auto(stage_id: int):
    """GET: the options (with ``?preview=1`` a preview with the defaults, as after a withdrawal);
    POST: the preview of the plan, with a form that applies exactly that plan."""
    stage = _stage(stage_id)
    form, panel = _auto_form(stage)
    preview = None
    if request.method == "POST":
        if form.validate_on_submit():
            preview = _preview_or_refusal(stage, form)
        return _render_auto(stage, form, panel, preview, 200 if preview else 422)
    if request.args.get("preview"):
        preview = _preview_or_refusal(stage, form)
    return _render_auto(stage, form, panel, preview)


@bp.post("/stages/<int:stage_id>/auto/apply")
@organizer_required
def auto_apply(stage_id: int):
    stage = _stage(stage_id)
    form, panel = _auto_form(stage)
    if not form.validate_on_submit():
        return _render_auto(stage, form, panel, None, 422)
    try:
        preview = ops.apply_automatic(stage, form.to_options(), request.form.get("fingerprint", ""), _organizer())
    except ops.AssignmentError as error:
        flash(error.message, "error")
        return _render_auto(stage, form, panel, _preview_or_refusal(stage, form), 409)
    flash(_("Automatic assignment applied: %(added)d assignments added, %(removed)d replaced, %(short)d entries "
            "not fully covered.", added=len(preview.added), removed=len(preview.removed),
            short=len(preview.plan.shortfalls)), "success")
    return _to_stage(stage)


# --- withdrawal ---------------------------------------------------------------------------------

def _decisions(sheets) -> dict[int, ops.SheetDecision]:
    decisions = {}
    for sheet in sheets:
        choice = request.form.get(f"sheet_{sheet.id}")
        if choice in ("keep", "exclude"):
            decisions[sheet.id] = ops.SheetDecision(choice == "exclude",
                                                    request.form.get(f"sheet_{sheet.id}_reason", "").strip())
    return decisions


@bp.route("/stages/<int:stage_id>/judges/<int:judge_id>/withdraw", methods=["GET", "POST"])
@organizer_required
def withdraw(stage_id: int, judge_id: int):
    stage, judge = _stage(stage_id), _judge(judge_id)
    form = WithdrawForm()
    sheets = ops.submitted_sheets_of(stage, judge)
    problems: dict[str, list[str]] = {}
    refusals: list[str] = []
    if form.validate_on_submit():
        try:
            assignments, excluded = ops.withdraw_judge(stage, judge, form.reason.data, _decisions(sheets), _organizer())
        except ops.AssignmentError as error:
            problems, refusals = error.fields, error.messages
            if "reason" in problems:
                form.reason.errors = [*form.reason.errors, *problems.pop("reason")]
        else:
            flash(_("%(name)s has withdrawn: %(n)d assignments ended, %(x)d sheets excluded. The preview below fills "
                    "only the places left open.", name=judge.name, n=len(assignments), x=len(excluded)), "success")
            return redirect(url_for("judging_admin.auto", stage_id=stage.id, preview=1))
    status = 422 if request.method == "POST" else 200
    if request.method == "GET":  # a refused form changes nothing, not even the audit trail
        personal_data.viewed({"stage": stage.id, "judge": judge.id})
    return render_template("judging/admin/withdraw.html", stage=stage, judge=judge, form=form, sheets=sheets,
                           assignments=ops.open_assignments_of(stage, judge), problems=problems, refusals=refusals,
                           withdrawn=judge.id in ops.withdrawn_judge_ids(stage.id)), status


@bp.post("/stages/<int:stage_id>/judges/<int:judge_id>/reinstate")
@organizer_required
def reinstate(stage_id: int, judge_id: int):
    stage, judge = _stage(stage_id), _judge(judge_id)
    try:
        ops.reinstate_judge(stage, judge, _organizer())
    except ops.AssignmentError as error:
        flash(error.message, "error")
    else:
        flash(_("%(name)s is back on the panel of this stage.", name=judge.name), "success")
    return _to_stage(stage, "judges")
