"""Personal data requests: find a person, show and export their data, correct and erase (organisers)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import organizer_required
from . import operations as ops
from .forms import CorrectForm, EraseForm, RequestForm

bp = Blueprint("privacy_requests", __name__, url_prefix="/privacy/requests")


def _actor():
    return current_user._get_current_object()


def _records(holdings) -> list[dict]:
    """Each match described, with its data as readable JSON (Chinese kept as it is)."""
    if holdings is None:
        return []
    records = [ops.describe(m) for m in holdings.matches]
    for rec in records:
        rec["pretty"] = json.dumps(rec["data"], ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return records


def _results(form, status: int = 200):
    """Search again (the page always shows what is held now) and render the results."""
    holdings = None
    try:
        holdings = ops.find_person(form.q.data, form.reference.data, _actor())
    except ops.PrivacyError as error:
        flash(error.message, "error")
        status = 400
    return render_template("privacy/requests.html", form=RequestForm(formdata=None, q=form.q.data,
                                                                       reference=form.reference.data),
                           holdings=holdings, records=_records(holdings),
                           fields=ops.FIELDS), status


@bp.route("/", methods=["GET", "POST"])
@organizer_required
def search():
    form = RequestForm()
    if form.validate_on_submit():
        return _results(form)
    status = 400 if form.is_submitted() else 200
    return render_template("privacy/requests.html", form=form, holdings=None, records=[], fields=ops.FIELDS), status


@bp.post("/export")
@organizer_required
def export():
    form = RequestForm()
    if not form.validate_on_submit():
        flash(_("Give the person's e-mail address or name and the request's reference."), "error")
        return render_template("privacy/requests.html", form=form, holdings=None, records=[],
                               fields=ops.FIELDS), 400
    try:
        holdings = ops.find_person(form.q.data, form.reference.data, _actor())
        body = ops.export_json(holdings, form.reference.data, _actor())
    except ops.PrivacyError as error:
        flash(error.message, "error")
        return _results(form, 400)
    return Response(body, mimetype="application/json; charset=utf-8", headers={
        "Content-Disposition": "attachment; filename=personal-data.json", "Cache-Control": "no-store"})


@bp.post("/correct")
@organizer_required
def correct():
    form = CorrectForm()
    if not form.validate_on_submit():
        flash(_("The correction could not be made: some of its details are missing."), "error")
        return render_template("privacy/requests.html", form=RequestForm(formdata=None), holdings=None,
                               records=[], fields=ops.FIELDS), 400
    try:
        ops.correct(form.kind.data, form.object_id.data, form.field.data, form.value.data or "",
                    form.reference.data, _actor())
    except ops.PrivacyError as error:
        flash(error.message, "error")
        return _results(form, 400)
    flash(_("Corrected. The change is recorded in the audit trail."), "success")
    if form.field.data in ("email", "contact_email", "recipient", "name", "contact_name", "head_name"):
        form.q.data = form.value.data or form.q.data  # look the person up under the corrected value
    return _results(form)


@bp.post("/erase")
@organizer_required
def erase():
    form = EraseForm()
    if not form.validate_on_submit():
        flash(_("Tick the confirmation to erase the data."), "error")
        if form.q.data and form.reference.data:
            return _results(form, 400)
        return render_template("privacy/requests.html", form=RequestForm(formdata=None), holdings=None,
                               records=[], fields=ops.FIELDS), 400
    names = [f for f in (form.fields.data or "").split(",") if f] or None
    try:
        result = ops.erase(form.kind.data, form.object_id.data, form.reference.data, _actor(), names)
    except ops.PrivacyError as error:
        flash(error.message, "error")
        return _results(form, 400)
    if result.outcome == "anonymised":
        flash(_("The account is referred to by other records (marks, ties, the audit trail), so it was "
                "anonymised instead of deleted: it is now known only by its number."), "success")
    elif result.outcome == "deleted":
        flash(_("Deleted. The deletion is recorded in the audit trail."), "success")
    else:
        flash(_("The personal data in this record were erased."), "success")
    return _results(form)
