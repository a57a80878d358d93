"""Offline score sheets for site visits (離線評分表): download the signed workbook, upload it filled in,
check the preview of every change, confirm. Judges only; the rules live in ``offline_ops`` and,
for the marks themselves, in ``sheets.save_sheet``."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from ..auth.access import roles_required
from ..extensions import db
from ..models import Role, Stage, User
from . import offline_ops as ops
from . import sheets
from .offline import MAX_BYTES, OfflineSheetError, Problem

bp = Blueprint("offline", __name__, url_prefix="/judging/offline")
judge_required = roles_required(Role.JUDGE)
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(FlaskForm):
    workbook = FileField(_l("Filled-in offline score sheet (.xlsx)"), validators=[
        FileRequired(message=_l("Please choose the file.")),
        FileAllowed(["xlsx"], message=_l("Please choose the .xlsx file you downloaded.")),
    ])


def _user() -> User:
    return current_user._get_current_object()


def _stage(stage_id: int) -> Stage:
    return db.session.get(Stage, stage_id) or abort(404)


@bp.context_processor
def _helpers():
    return {"plain": sheets.plain, "max_mb": MAX_BYTES // (1024 * 1024),
            "has_endpoint": lambda name: name in current_app.view_functions}


def _render_upload(stage: Stage, form: UploadForm, problems: list[Problem] | None = None, status: int = 200):
    return render_template("judging/offline/upload.html", stage=stage, form=form, problems=problems or [],
                           open_sheets=ops.open_assignments(_user(), stage),
                           window_problem=sheets.window_problem(stage)), status


@bp.get("/stages/<int:stage_id>.xlsx")
@judge_required
def download(stage_id: int):
    stage = _stage(stage_id)
    try:
        result = ops.download_workbook(_user(), stage)
    except OfflineSheetError as error:
        flash(error.message, "error")
        return redirect(url_for("offline.upload", stage_id=stage.id))
    response = send_file(io.BytesIO(result.data), mimetype=XLSX_MIMETYPE, as_attachment=True,
                         download_name=result.filename, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/stages/<int:stage_id>/upload", methods=["GET", "POST"])
@judge_required
def upload(stage_id: int):
    stage = _stage(stage_id)
    form = UploadForm()
    if request.method == "GET":
        return _render_upload(stage, form)
    if not form.validate_on_submit():
        return _render_upload(stage, form, status=400)
    data = form.workbook.data.read(MAX_BYTES + 1)
    try:
        preview = ops.check_upload(_user(), stage, data)
    except OfflineSheetError as error:
        ops.record_refusal(_user(), stage, data, error)
        return _render_upload(stage, form, error.problems, 422)
    token = ops.stash_upload(_user(), stage, data) if preview.has_changes else ""
    return render_template("judging/offline/preview.html", stage=stage, preview=preview, token=token,
                           lifetime_minutes=int(ops.STASH_LIFETIME.total_seconds() // 60))


@bp.post("/stages/<int:stage_id>/confirm")
@judge_required
def confirm(stage_id: int):
    stage = _stage(stage_id)
    token = request.form.get("token", "")
    if request.form.get("action") == "cancel":
        ops.drop_stash(_user(), stage, token)
        flash(_("The upload was discarded; nothing was imported."), "success")
        return redirect(url_for("offline.upload", stage_id=stage.id), 303)
    data = ops.claim_stash(_user(), stage, token)  # the stored upload is used once, whatever happens next
    if data is None:
        flash(_("This upload has expired or was already imported. Please upload the file again."), "error")
        return redirect(url_for("offline.upload", stage_id=stage.id), 303)
    try:
        result = ops.apply_upload(_user(), stage, data)
    except OfflineSheetError as error:
        return _render_upload(stage, UploadForm(), error.problems, 409)
    flash(ngettext("%(num)d score sheet was saved as a draft from the offline workbook. Check it and submit it "
                   "on the website when you are ready.",
                   "%(num)d score sheets were saved as drafts from the offline workbook. Check them and submit each "
                   "one on the website when you are ready.", len(result.saved)), "success")
    if "judging.dashboard" in current_app.view_functions:
        return redirect(url_for("judging.dashboard"), 303)
    return redirect(url_for("offline.upload", stage_id=stage.id), 303)
