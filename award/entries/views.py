"""Entries (參獎案): the agency's form, drafts, submission, receipts and withdrawal; the organiser's
lists, screening, deadline extensions and participation figures."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from wtforms.fields.choices import SelectChoice

from ..audit import personal_data
from ..auth.access import organizer_required, roles_required
from ..errors import render_error
from ..extensions import db
from ..labels import GEOGRAPHY
from ..models import COUNTIES, Agency, Category, Edition, Entry, EntryStatus, Geography, Role, Screening, User
from . import operations as ops
from .forms import EntryFilterForm, ExtensionForm, ScreeningForm, draft_from_form, entry_form_class
from .rules import EntryError, can_view_entry, deadline_for, ensure_editable, submissions_open

bp = Blueprint("entries", __name__, url_prefix="/entries")
agency_required = roles_required(Role.AGENCY)


@bp.context_processor
def _entry_labels():
    return {
        "entry_status_label": lambda s: str(ops.STATUS_LABELS.get(s, s)),
        "screening_label": lambda s: str(ops.SCREENING_LABELS.get(s, s)),
        "char_count": ops.char_count,
        "section_name": ops.section_name,
        "summary_limit": ops.SUMMARY_CHAR_LIMIT,
    }


def _http_error(error: HTTPException):
    """The autosave endpoint answers in JSON, even for an expired CSRF token; other pages as usual."""
    status = error.code or 500
    if request.endpoint == "entries.autosave":
        message = _("Your session expired. Reload the page to continue; copy your text first.") \
            if isinstance(error, CSRFError) else _("The draft could not be saved.")
        return jsonify(ok=False, message=message), status
    if isinstance(error, CSRFError):
        return render_error(400, _("Your form expired or came from elsewhere. Please reload the page and submit "
                                   "again."))
    return render_error(status)


# By code: the app's own handlers are registered by code (CSRFError under 400) and Flask prefers a
# code-specific handler of the app to a class-based one of the blueprint.
for _code in (400, 403, 404, 405, 413, 429):
    bp.register_error_handler(_code, _http_error)


# --- helpers ------------------------------------------------------------------------------------

def _user():
    return current_user._get_current_object()


def _visible_entry(entry_id: int) -> Entry:
    """An entry the user may see; anything else is "not found" (its existence is not confirmed).

    These pages are the agency's and the organiser's: they name the agency and its contacts. A judge
    reads an assigned entry on the score sheet (which hides the agency in a blind stage) and fetches
    its files through the attachment endpoints, never here."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or current_user.is_judge or not can_view_entry(current_user, entry):
        abort(404)
    return entry


def _own_entry(entry_id: int) -> Entry:
    entry = _visible_entry(entry_id)
    if entry.agency_id != current_user.agency_id:
        abort(404)
    return entry


def _attach_errors(form, fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """Put an operation's field problems on the form's fields; return them for the summary."""
    for name, messages in fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, *messages]
    form._errors = None  # WTForms caches .errors
    return fields


def _conflict_fields(conflict: ops.DraftConflict, posted: dict) -> dict:
    """The saved values of the fields where the user's text differs from what is now saved."""
    return {name: saved for name, saved in conflict.current.items() if name in posted and posted[name] != saved}


def _edit_form(entry: Entry):
    return entry_form_class(entry.category.criteria)


def _render_edit(entry: Entry, form, status: int = 200, **context):
    form.draft_version.data = str(entry.draft_version)  # what is saved now: the next save builds on it
    return render_template(
        "entries/edit.html", entry=entry, form=form, can_edit=True,
        deadline=deadline_for(entry.category.edition, entry.agency_id), **context,
    ), status


def _receipt_link(entry: Entry):
    return lambda version: url_for("entries.receipt", entry_id=entry.id, number=version.number, _external=True)


# --- the agency's pages -------------------------------------------------------------------------

@bp.get("/")
@login_required
def my_entries():
    if current_user.is_organizer:
        return redirect(url_for("entries.admin_entries"))
    if not current_user.is_agency:
        abort(403)
    agency_id = current_user.agency_id
    entries = ops.entries_of_agency(agency_id)
    editions = ops.open_editions()
    return render_template(
        "entries/mine.html", entries=entries, editions=editions,
        by_category={e.category_id: e for e in entries},
        deadlines={e.id: deadline_for(e, agency_id) for e in editions},
        open_now={e.id: submissions_open(e, agency_id) for e in editions},
        entry_deadlines={e.id: deadline_for(e.category.edition, agency_id) for e in entries},
    )


@bp.post("/start/<int:category_id>")
@agency_required
def start_entry(category_id: int):
    category = db.session.get(Category, category_id) or abort(404)
    try:
        entry, created = ops.start_entry(category, _user())
    except EntryError as error:
        flash(error.message, "error")
        return redirect(url_for("entries.my_entries"))
    if created:
        flash(_("Your draft entry has been created. It is saved as you go; nothing is sent until you submit."),
              "success")
    return redirect(url_for("entries.edit_entry", entry_id=entry.id))


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
@agency_required
def edit_entry(entry_id: int):
    entry = _own_entry(entry_id)
    form_class = _edit_form(entry)
    if request.method == "GET":
        try:
            ensure_editable(entry)
        except EntryError as error:
            flash(error.message, "error")
            return redirect(url_for("entries.show_entry", entry_id=entry.id))
        return _render_edit(entry, form_class(formdata=None, data=ops.content_fields(entry)))
    form = form_class()
    data = draft_from_form(request.form, entry.category.criteria)
    refused = _save(entry, form, data)
    if refused:
        return refused
    flash(_("Draft saved."), "success")
    return redirect(url_for("entries.edit_entry", entry_id=entry.id))


def _save(entry: Entry, form, data: ops.DraftData):
    """Save the posted draft; on a refusal, the edit page to show again with everything typed."""
    try:
        ops.save_draft(entry, data, _user())
    except ops.DraftConflict as conflict:
        return _render_edit(entry, form, 409, conflict=conflict, message=conflict.message,
                            saved=_conflict_fields(conflict, data.values()), last_change=ops.last_change(entry))
    except ops.InvalidInput as error:
        return _render_edit(entry, form, 400, message=error.message, problems=_attach_errors(form, error.fields))
    except EntryError as error:  # submitted meanwhile, or closed
        return _render_edit(entry, form, 403, message=error.message, locked=True)
    return None


@bp.post("/<int:entry_id>/autosave")
def autosave(entry_id: int):
    if not current_user.is_authenticated:
        return jsonify(ok=False, message=_("Your session has ended. Log in again in another tab, then save; "
                                           "your text is still on this page.")), 401
    if not current_user.is_agency:
        return jsonify(ok=False, message=_("You do not have permission to see this page.")), 403
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.agency_id != current_user.agency_id:
        return jsonify(ok=False, message=_("The page does not exist, or you may not see it.")), 404
    data = draft_from_form(request.form, entry.category.criteria)
    try:
        ops.save_draft(entry, data, _user())
    except ops.DraftConflict as conflict:
        return jsonify(ok=False, conflict=True, draft_version=conflict.draft_version, server=conflict.current,
                       message=conflict.message), 409
    except ops.InvalidInput as error:
        return jsonify(ok=False, errors=error.fields, message=error.message), 400
    except EntryError as error:
        return jsonify(ok=False, message=error.message), 403
    return jsonify(ok=True, draft_version=entry.draft_version, saved_at=entry.updated_at.isoformat())


@bp.post("/<int:entry_id>/submit")
@agency_required
def submit_entry(entry_id: int):
    """Submit. From the edit page ("save and submit") the posted text is saved first, so nothing typed
    is lost; from the entry page only the version the user saw is submitted."""
    entry = _own_entry(entry_id)
    form = _edit_form(entry)()
    from_edit_page = "title" in request.form
    if from_edit_page:
        refused = _save(entry, form, draft_from_form(request.form, entry.category.criteria))
        if refused:
            return refused
        expected = entry.draft_version
    else:
        raw = request.form.get("draft_version", "")
        expected = int(raw) if raw.isdigit() else None
        form = _edit_form(entry)(formdata=None, data=ops.content_fields(entry))
    try:
        version = ops.submit_entry(entry, _user(), expected, receipt_link=_receipt_link(entry))
    except ops.Incomplete as incomplete:
        return _render_edit(entry, form, 422, missing=incomplete.missing, message=incomplete.message)
    except ops.DraftConflict:
        flash(_("The entry changed since you opened the page. Please review it before you submit."), "error")
        return redirect(url_for("entries.show_entry", entry_id=entry.id))
    except EntryError as error:
        flash(error.message, "error")
        return redirect(url_for("entries.show_entry", entry_id=entry.id))
    flash(_("Your entry has been submitted. Keep the receipt below; a copy has been sent by e-mail."), "success")
    return redirect(url_for("entries.receipt", entry_id=entry.id, number=version.number))


@bp.post("/<int:entry_id>/withdraw")
@agency_required
def withdraw_entry(entry_id: int):
    entry = _own_entry(entry_id)
    try:
        version = ops.withdraw_entry(entry, _user())
    except EntryError as error:
        flash(error.message, "error")
    else:
        flash(_("Version %(number)d has been withdrawn and kept on record. You may edit the entry and submit it "
                "again before the deadline.", number=version.number), "success")
    return redirect(url_for("entries.show_entry", entry_id=entry.id))


# --- pages for the agency and the organiser -----------------------------------------------------

@bp.get("/<int:entry_id>")
@login_required
def show_entry(entry_id: int):
    entry = _visible_entry(entry_id)
    if current_user.is_organizer:  # another agency's contact person and head (an agency sees its own)
        personal_data.viewed({"entry": entry.id, "agency": entry.agency_id})
    return _render_show(entry, ScreeningForm(formdata=None))


def _render_show(entry: Entry, screening_form: ScreeningForm, status: int = 200, **context):
    edition = entry.category.edition
    editable = entry.status is not EntryStatus.SUBMITTED and submissions_open(edition, entry.agency_id)
    return render_template(
        "entries/show.html", entry=entry, screening_form=screening_form, editable=editable,
        can_withdraw=(entry.status is EntryStatus.SUBMITTED and submissions_open(edition, entry.agency_id)
                      and not ops.in_judging(entry)),
        missing=ops.missing_items(entry) if editable else [],
        deadline=deadline_for(edition, entry.agency_id),
        texts={s.criterion_id: s.text for s in entry.sections}, **context,
    ), status


@bp.get("/<int:entry_id>/receipt/<int:number>")
@login_required
def receipt(entry_id: int, number: int):
    entry = _visible_entry(entry_id)
    version = next((v for v in entry.versions if v.number == number), None) or abort(404)
    return render_template("entries/receipt.html", entry=entry, version=version,
                           content=json.loads(version.content))


@bp.get("/<int:entry_id>/versions/<int:number>/content.json")
@login_required
def version_content(entry_id: int, number: int):
    """The frozen content byte for byte, so anyone can recompute the SHA-256 on the receipt."""
    entry = _visible_entry(entry_id)
    version = next((v for v in entry.versions if v.number == number), None) or abort(404)
    return Response(version.content.encode("utf-8"), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{version.receipt_no}.json"'})


# --- the organiser's pages ----------------------------------------------------------------------

@bp.post("/<int:entry_id>/screening")
@organizer_required
def screen_entry(entry_id: int):
    entry = db.session.get(Entry, entry_id) or abort(404)
    form = ScreeningForm()
    if not form.validate_on_submit():
        return _render_show(entry, form, 400)
    try:
        ops.screen_entry(entry, Screening(form.decision.data), form.reason.data or "", _user(),
                         correct_until=form.correct_until_utc())
    except ops.InvalidInput as error:
        _attach_errors(form, error.fields)
        return _render_show(entry, form, 400)
    except EntryError as error:
        flash(error.message, "error")
    else:
        flash(_("The screening decision has been recorded and the agency informed."), "success")
    return redirect(url_for("entries.show_entry", entry_id=entry.id))


def _editions() -> list[Edition]:
    return list(db.session.scalars(select(Edition).order_by(Edition.number.desc())))


@bp.get("/admin")
@organizer_required
def admin_entries():
    form = EntryFilterForm(request.args)
    editions = _editions()
    categories = db.session.scalars(select(Category).join(Category.edition)
                                    .order_by(Edition.number.desc(), Category.position, Category.id)).all()
    every = [SelectChoice("", _("All"))]
    form.edition.choices = every + [SelectChoice(str(e.id), e.name) for e in editions]
    form.category.choices = every + [SelectChoice(str(c.id), f"{c.edition.number} · {c.name}") for c in categories]
    form.county.choices = every + [SelectChoice(c) for c in COUNTIES]
    form.geography.choices = every + [SelectChoice(g.value, str(GEOGRAPHY[g])) for g in Geography]
    entries = ops.find_entries(form.to_filter())
    status_counts = {s: sum(1 for e in entries if e.status is s) for s in EntryStatus}
    screening_counts = {s: sum(1 for e in entries if e.screening is s) for s in Screening}
    return render_template("entries/admin_list.html", form=form, entries=entries, status_counts=status_counts,
                           screening_counts=screening_counts)


@bp.get("/admin/participation")
@organizer_required
def participation():
    editions = _editions()
    chosen = request.args.get("edition", "")
    edition = next((e for e in editions if str(e.id) == chosen), editions[0] if editions else None)
    counties, geography = ops.participation(edition) if edition else ([], {})
    return render_template("entries/participation.html", editions=editions, edition=edition, counties=counties,
                           geography=geography)


@bp.route("/admin/extensions", methods=["GET", "POST"])
@organizer_required
def extensions():
    form = ExtensionForm(edition_id=request.args.get("edition", type=int),
                         agency_id=request.args.get("agency", type=int))
    form.edition_id.choices = [SelectChoice(e.id, e.name) for e in _editions()]
    agencies = db.session.scalars(select(Agency).order_by(Agency.code)).all()
    form.agency_id.choices = [SelectChoice(a.id, f"{a.code} {a.name}") for a in agencies]
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            edition = db.session.get(Edition, form.edition_id.data) or abort(404)
            agency = db.session.get(Agency, form.agency_id.data) or abort(404)
            try:
                ops.grant_extension(edition, agency, form.until_utc(), form.reason.data, _user())
            except ops.InvalidInput as error:
                _attach_errors(form, error.fields)
            else:
                flash(_("The deadline of %(agency)s has been extended.", agency=agency.name), "success")
                return redirect(url_for("entries.extensions"))
    granted = ops.extensions_list()
    granters = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({x.granted_by_id for x in granted if x.granted_by_id})))}
    return render_template("entries/extensions.html", form=form, extensions=granted, users=granters,
                           agencies={a.id: a for a in agencies}, editions={e.id: e for e in _editions()}), status
