"""The agency register (機關名冊): list, detail, create, edit and import from a sheet. Organisers only."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from ..audit import personal_data
from ..auth.access import organizer_required
from ..extensions import db
from ..models import COUNTIES, Agency, AgencyLevel, Geography, User
from . import operations as ops
from .forms import UPDATE_EXISTING, AgencyForm, ImportForm
from .importer import (CHINESE_GEOGRAPHY, CHINESE_HEADERS, CHINESE_LEVELS, FIELDS, MAX_BYTES, MAX_ROWS, REQUIRED,
                       template_csv, template_xlsx)

bp = Blueprint("agencies", __name__, url_prefix="/agencies")
PAGE_SIZE = 100
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/")
@organizer_required
def list_agencies():
    search = ops.AgencySearch.from_args(request.args)
    page = db.paginate(ops.search_statement(search), page=request.args.get("page", 1, type=int),
                       per_page=PAGE_SIZE, error_out=False, count=True)
    return render_template("agencies/list.html", page=page, search=search, args=search.to_args(),
                           counts=ops.geography_counts(search), counties=COUNTIES, levels=AgencyLevel,
                           geographies=Geography)


@bp.get("/<int:agency_id>")
@organizer_required
def show_agency(agency_id: int):
    agency = db.session.get(Agency, agency_id) or abort(404)
    subordinates = db.session.scalars(
        select(Agency).where(Agency.supervisor_id == agency.id).order_by(Agency.code, Agency.id)).all()
    contacts = db.session.scalars(
        select(User).where(User.agency_id == agency.id).order_by(User.name, User.email)).all()
    personal_data.viewed({"agency": agency.code, "head_of_agency": bool(agency.head_name),
                          "contacts": [user.id for user in contacts]})
    return render_template("agencies/detail.html", agency=agency, subordinates=subordinates, contacts=contacts,
                           ancestors=agency.ancestors())


@bp.route("/new", methods=["GET", "POST"])
@organizer_required
def new_agency():
    form = AgencyForm()
    _supervisor_choices(form, None)
    if form.validate_on_submit() and (data := _agency_data(form)) is not None:
        try:
            agency = ops.create_agency(data, actor=current_user._get_current_object())
        except ops.AgencyError as error:
            _form_error(form, error)
        else:
            flash(_("The agency %(name)s has been added to the register.", name=agency.name), "success")
            return redirect(url_for("agencies.show_agency", agency_id=agency.id))
    return render_template("agencies/form.html", form=form, agency=None)


@bp.route("/<int:agency_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_agency(agency_id: int):
    agency = db.session.get(Agency, agency_id) or abort(404)
    form = AgencyForm(data={name: getattr(agency, name) for name in ("code", "name", "county", "head_name",
                                                                     "address", "phone")}
                      | {"level": agency.level.value, "geography": agency.geography.value,
                         "supervisor_id": agency.supervisor_id or 0})
    _supervisor_choices(form, agency)
    if form.validate_on_submit() and (data := _agency_data(form)) is not None:
        try:
            ops.update_agency(agency, data, actor=current_user._get_current_object())
        except ops.AgencyError as error:
            _form_error(form, error)
        else:
            flash(_("The changes to %(name)s have been saved.", name=agency.name), "success")
            return redirect(url_for("agencies.show_agency", agency_id=agency.id))
    return render_template("agencies/form.html", form=form, agency=agency)


def _supervisor_choices(form: AgencyForm, agency: Agency | None) -> None:
    """Every registered agency except this one and those below it (which would close a loop)."""
    excluded = ops.subordinate_ids(agency) | {agency.id} if agency is not None else set()
    rows = db.session.execute(select(Agency.id, Agency.code, Agency.name).order_by(Agency.code, Agency.id))
    form.supervisor_id.choices = [SelectChoice(0, _("(none)"))] + [
        SelectChoice(row.id, f"{row.code} {row.name}") for row in rows if row.id not in excluded]


def _agency_data(form: AgencyForm) -> ops.AgencyData | None:
    supervisor = None
    if form.supervisor_id.data:
        supervisor = db.session.get(Agency, form.supervisor_id.data)
        if supervisor is None:
            form.supervisor_id.errors.append(_("This agency is no longer in the register. Please choose again."))
            return None
    return ops.AgencyData(
        code=form.code.data, name=form.name.data, level=AgencyLevel(form.level.data), county=form.county.data,
        geography=Geography(form.geography.data), supervisor=supervisor, head_name=form.head_name.data,
        address=form.address.data, phone=form.phone.data,
    )


def _form_error(form: AgencyForm, error: ops.AgencyError) -> None:
    target = form[error.field] if error.field in form else None
    if target is not None:
        target.errors = [*target.errors, error.message]
    else:
        flash(error.message, "error")


@bp.route("/import", methods=["GET", "POST"])
@organizer_required
def import_agencies():
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.sheet.data
        filename = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        report = ops.import_agencies(filename, upload.read(MAX_BYTES + 1),
                                     update_existing=form.mode.data == UPDATE_EXISTING,
                                     actor=current_user._get_current_object())
        if report.ok:
            return render_template("agencies/import_done.html", report=report, filename=filename)
    return render_template("agencies/import.html", form=form, report=report, fields=FIELDS, required=REQUIRED,
                           headers=CHINESE_HEADERS, levels=CHINESE_LEVELS, geographies=CHINESE_GEOGRAPHY,
                           counties=COUNTIES, max_rows=MAX_ROWS, max_mb=MAX_BYTES // (1024 * 1024)
                           ), 200 if report is None else 422


@bp.get("/import/template.<any(xlsx, csv):file_format>")
@organizer_required
def import_template(file_format: str):
    if file_format == "xlsx":
        data, mimetype = template_xlsx(), XLSX_MIMETYPE
    else:
        data, mimetype = template_csv(), "text/csv"  # Werkzeug adds "; charset=utf-8"
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                     download_name=f"agency-import-template.{file_format}", max_age=0)
