"""Ties (利益迴避): the judge's own ties, the organiser's register, and the judge's per-entry
confirmation that no tie exists, which comes before anything of the entry is shown.

At the confirmation step the judge sees the agency (name, code, county, supervising authorities)
and the category, never the entry's content. This holds in blind stages too: nobody can recognise
a tie without knowing the agency, and a judge who has a tie must be able to say so before seeing
the content. The agency's name is the least that makes the confirmation honest.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from ..audit import personal_data
from ..auth.access import organizer_required, roles_required
from ..extensions import db
from ..models import Agency, Assignment, AssignmentStatus, Role, Tie, User
from . import assign_ops, conflicts
from .forms_admin import OrganizerTieForm, RetractForm, TieForm
from .rules import is_conflicted

bp = Blueprint("ties", __name__, url_prefix="/judging/ties")
judge_required = roles_required(Role.JUDGE)
AGENCY_CHOICES_MAX = 300


@bp.app_template_global("tie_kind_label")
def _tie_kind_label(kind) -> str:
    return conflicts.tie_kind_label(kind)


@bp.app_template_global("assignment_status_label")
def _assignment_status_label(status) -> str:
    return conflicts.assignment_status_label(status)


def _user() -> User:
    return current_user._get_current_object()


def _refused(form, error: conflicts.TieError) -> None:
    """Show a refusal on the form: each problem by its field, the rest above the form."""
    messages = list(error.messages)
    for name, problems in error.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, *problems]
        else:
            messages.extend(problems)
    form.refusals = messages


def _agencies_for(form: TieForm, query: str) -> list[Agency]:
    """The agencies offered by the select: those matching the search, and the one already chosen."""
    agencies = conflicts.search_agencies(query, AGENCY_CHOICES_MAX)
    chosen = form.agency_id.data
    if chosen and chosen not in {a.id for a in agencies}:
        agency = db.session.get(Agency, chosen)
        if agency is not None:
            agencies.insert(0, agency)
    form.set_choices(agencies)
    return agencies


def _effects_message(effects: conflicts.TieEffects) -> str:
    message = _("The tie has been recorded.")
    if effects.ended:
        message += " " + _("%(n)d assignments ended because of it.", n=len(effects.ended))
    if effects.excluded:
        message += " " + _("%(n)d submitted score sheets were excluded.", n=len(effects.excluded))
    if effects.deferred:
        message += " " + _("%(n)d submitted score sheets are counted in frozen results: they are excluded when an "
                           "organiser unfreezes them.", n=len(effects.deferred))
    return message


# --- the judge's own ties -----------------------------------------------------------------------

@bp.route("/", methods=["GET", "POST"])
@judge_required
def mine():
    query = request.args.get("q", "").strip()
    form = TieForm()
    _agencies_for(form, query)
    if form.validate_on_submit():
        try:
            effects = conflicts.declare_tie(_user(), form.to_data())
        except conflicts.TieError as error:
            _refused(form, error)
        else:
            flash(_effects_message(effects), "success")
            return redirect(url_for("ties.mine"))
    status = 422 if request.method == "POST" else 200
    return render_template("judging/ties/mine.html", form=form, query=query, ties=conflicts.ties_of(current_user.id),
                           choices_max=AGENCY_CHOICES_MAX), status


# --- the organiser's register -------------------------------------------------------------------

@bp.route("/register", methods=["GET", "POST"])
@organizer_required
def register():
    query = request.args.get("q", "").strip()
    judge_filter = request.args.get("judge", type=int)
    form = OrganizerTieForm()
    judges = conflicts.judges()
    form.set_judges(judges)
    _agencies_for(form, query)
    if form.validate_on_submit():
        judge = db.session.get(User, form.judge_id.data) if form.judge_id.data else None
        try:
            if judge is None or not judge.is_judge:
                raise conflicts.TieError(fields={"judge_id": [_("Choose a judge.")]})
            effects = conflicts.add_tie(judge, form.to_data(), _user())
        except conflicts.TieError as error:
            _refused(form, error)
        else:
            flash(_effects_message(effects), "success")
            return redirect(url_for("ties.register", judge=judge_filter))
    status = 422 if request.method == "POST" else 200
    ties = conflicts.all_ties(judge_filter)
    personal_data.viewed({"ties": [tie.id for tie in ties]})  # judges' employment and family ties
    return render_template("judging/ties/register.html", form=form, query=query, judges=judges,
                           judge_filter=judge_filter, ties=ties, choices_max=AGENCY_CHOICES_MAX), status


@bp.route("/<int:tie_id>/retract", methods=["GET", "POST"])
@organizer_required
def retract(tie_id: int):
    tie = db.session.get(Tie, tie_id) or abort(404)
    form = RetractForm()
    if form.validate_on_submit():
        try:
            conflicts.retract_tie(tie, form.reason.data, _user())
        except conflicts.TieError as error:
            _refused(form, error)
        else:
            flash(_("The tie has been retracted. Ended assignments stay ended; assign again by hand if right."),
                  "success")
            return redirect(url_for("ties.register"))
    status = 422 if request.method == "POST" else 200
    return render_template("judging/ties/retract.html", form=form, tie=tie), status


# --- the per-entry confirmation -----------------------------------------------------------------

def _own_assignment(assignment_id: int) -> Assignment:
    """The judge's own assignment that is still open and that the register does not forbid; else 404,
    so that nobody learns which entries exist or who judges them."""
    assignment = db.session.get(Assignment, assignment_id)
    if (assignment is None or assignment.judge_id != current_user.id
            or assignment.status not in (AssignmentStatus.ASSIGNED, AssignmentStatus.CONFIRMED)
            or is_conflicted(current_user.id, assignment.entry.agency_id)):
        abort(404)
    return assignment


def _after_confirmation(assignment: Assignment):
    """The score sheet of the entry if the sheets area offers one; the judge's home otherwise."""
    for values in ({"assignment_id": assignment.id},
                   {"stage_id": assignment.stage_id, "entry_id": assignment.entry_id},
                   {"entry_id": assignment.entry_id}):
        try:
            return url_for("judging.sheet", **values)
        except BuildError:
            continue
    return url_for("main.index")


def _declare_form(assignment: Assignment) -> TieForm:
    form = TieForm(prefix="tie")
    agency = assignment.entry.agency
    form.set_choices([agency, *agency.ancestors()])
    if request.method == "GET":
        form.agency_id.data = agency.id
    return form


def _render_confirm(assignment: Assignment, form: TieForm, status: int = 200):
    agency = assignment.entry.agency
    return render_template("judging/ties/confirm.html", assignment=assignment, agency=agency,
                           ancestors=agency.ancestors(), form=form), status


@bp.route("/confirm/<int:assignment_id>", methods=["GET", "POST"])
@judge_required
def confirm(assignment_id: int):
    assignment = _own_assignment(assignment_id)
    if assignment.status is AssignmentStatus.CONFIRMED:
        return redirect(_after_confirmation(assignment))
    if request.method == "POST":
        try:
            assign_ops.confirm_assignment(assignment, _user())
        except assign_ops.AssignmentError as error:
            flash(error.message, "error")
            return redirect(url_for("ties.confirm", assignment_id=assignment.id))
        flash(_("Thank you: you confirmed you have no tie with this agency."), "success")
        return redirect(_after_confirmation(assignment))
    return _render_confirm(assignment, _declare_form(assignment))


@bp.post("/confirm/<int:assignment_id>/tie")
@judge_required
def declare_on_assignment(assignment_id: int):
    assignment = _own_assignment(assignment_id)
    if assignment.status is AssignmentStatus.CONFIRMED:
        flash(_("You already confirmed this entry. To declare a tie found since, use “My ties”."), "error")
        return redirect(url_for("ties.mine"))
    form = _declare_form(assignment)
    if form.validate_on_submit():
        try:
            conflicts.declare_tie_on_assignment(assignment, _user(), form.to_data())
        except conflicts.TieError as error:
            _refused(form, error)
        else:
            flash(_("Your tie has been recorded and this entry has been removed from your assignments. "
                    "Thank you for declaring it."), "success")
            return redirect(url_for("main.index"))
    return _render_confirm(assignment, form, 422)
