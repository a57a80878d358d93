"""Exports of a stage's results in the browser (organisers only): a page with the links, the
workbook (.xlsx) and the ranking (.csv). Every download is recorded in the audit trail
(``results_exported``); the work is done by ``export_ops``."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import organizer_required
from ..extensions import db
from ..models import Stage
from . import export_ops as ops
from . import operations as results_ops

bp = Blueprint("exports", __name__, url_prefix="/results/export")


def _stage(stage_id: int) -> Stage:
    return db.session.get(Stage, stage_id) or abort(404)


@bp.get("/stages/<int:stage_id>")
@organizer_required
def page(stage_id: int):
    stage = _stage(stage_id)
    official = results_ops.official_results(stage)
    order = request.args.get("order", "")
    try:
        ops.parse_order(order)
    except ops.ExportError:
        flash(_("The presentation order must be entry numbers separated by commas, e.g. 12, 5, 7."), "error")
        order = ""
    payload = official.payload
    counts = {"categories": len(payload["categories"]),
              "entries": sum(len(c["entries"]) for c in payload["categories"]),
              "marks": sum(len(c["marks"]) for c in payload["categories"])}
    return render_template("results/export.html", stage=stage, official=official, counts=counts, order=order,
                           names={fmt: ops.filename(stage, fmt, official.snapshot is None)[0] for fmt in ops.FORMATS},
                           csv_headers=ops.CSV_HEADERS)


def _download(stage_id: int, fmt: str):
    stage = _stage(stage_id)
    try:
        order = ops.parse_order(request.args.get("order"))
    except ops.ExportError:
        flash(_("The presentation order must be entry numbers separated by commas, e.g. 12, 5, 7."), "error")
        return redirect(url_for("exports.page", stage_id=stage.id))
    result = ops.export(stage, fmt, current_user._get_current_object(), ceremony_order=order)
    response = Response(result.data, mimetype=result.mimetype)
    response.headers["Content-Disposition"] = ops.content_disposition(result.filename, result.ascii_filename)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Results-Status"] = "provisional" if result.provisional else "frozen"
    if result.snapshot_sha256:
        response.headers["X-Results-SHA256"] = result.snapshot_sha256
    return response


@bp.get("/stages/<int:stage_id>.xlsx")
@organizer_required
def workbook(stage_id: int):
    return _download(stage_id, "xlsx")


@bp.get("/stages/<int:stage_id>.csv")
@organizer_required
def ranking_csv(stage_id: int):
    return _download(stage_id, "csv")
