"""Results in the browser (organisers only): rankings, diagnostics, what-ifs, freezing and snapshots."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import scoring

from ..audit import personal_data
from ..audit.checkpoints import latest_checkpoint
from ..auth.access import organizer_required
from ..judging import conflicts
from ..extensions import db
from ..models import ResultSnapshot, Stage, User
from . import charts
from . import operations as ops
from .forms import FreezeForm, UnfreezeForm, WhatIfForm

bp = Blueprint("results", __name__, url_prefix="/results")


@bp.context_processor
def _engine_error_text() -> dict[str, Any]:
    return {"engine_error": ops.error_text}


def _stage(stage_id: int) -> Stage:
    return db.session.get(Stage, stage_id) or abort(404)


def _snapshot(snapshot_id: int) -> ResultSnapshot:
    return db.session.get(ResultSnapshot, snapshot_id) or abort(404)


def _user_names(snapshots: list[ResultSnapshot]) -> dict[int, str]:
    ids = {i for s in snapshots for i in (s.frozen_by_id, s.unfrozen_by_id) if i}
    return {u.id: u.name for u in db.session.scalars(db.select(User).where(User.id.in_(ids)))} if ids else {}


# --- the ranking page's tables and charts -----------------------------------------------------------

def _dropped_judges(entry: dict[str, Any], n_criteria: int) -> set[str]:
    """Judges the method left out on every criterion of the entry (trimmed at total level)."""
    counts: dict[str, int] = {}
    for judge, _criterion in entry["trimmed"]:
        counts[judge] = counts.get(judge, 0) + 1
    return {j for j, n in counts.items() if n_criteria and n >= n_criteria}


def _category_view(payload: dict[str, Any], category: dict[str, Any]) -> dict[str, Any]:
    names = {str(j["id"]): j["name"] for j in payload["judges"]}
    judge_ids = sorted({str(m["judge"]) for m in category["marks"]}, key=int)
    n_criteria = len(category["criteria"])
    rows = []
    for entry in category["entries"]:
        dropped = _dropped_judges(entry, n_criteria)
        rows.append({"entry": entry, "dropped": dropped,
                     "cells": [(j, entry["judge_totals"].get(j), j in dropped) for j in judge_ids]})
    return {"category": category, "judges": [(j, names.get(j, j)) for j in judge_ids], "rows": rows,
            "dot_plot": _dot_plot(category, rows)}


def _entry_label(entry: dict[str, Any]) -> str:
    return f"{entry['rank']}. {entry['title']}"


def _dot_plot(category: dict[str, Any], rows: list[dict[str, Any]]):
    if not rows:
        return None
    dots = [charts.DotRow(label=_entry_label(r["entry"]),
                          values=[float(t) for _j, t, _d in r["cells"] if t is not None],
                          marker=float(r["entry"]["total"]),
                          dropped=[d for _j, t, d in r["cells"] if t is not None]) for r in rows]
    return charts.dot_plot(
        dots, chart_id=f"dots-{category['id']}",
        title=_("Judges' totals for each entry of %(category)s", category=category["name"]),
        desc=_("One row per entry in rank order: a dot for each judge's weighted total, a bar at the official "
               "total; a wide row means the judges disagree. The figures are in the ranking table."),
        legend=(_("judge's total"), _("dropped by the method"), _("official total")))


def _render_stage(stage: Stage, *, refusal: ops.ResultsError | None = None,
                  unfreeze_form: UnfreezeForm | None = None, status: int = 200):
    official = ops.official_results(stage)
    history = ops.snapshots(stage)
    frozen = official.snapshot is not None
    can_freeze = [] if frozen else ops.freeze_problems(stage, official.payload)
    return render_template(
        "results/stage.html", stage=stage, official=official, payload=official.payload,
        categories=[_category_view(official.payload, c) for c in official.payload["categories"]],
        history=history, names=_user_names(history), verified={s.id: ops.verify_snapshot(s) for s in history},
        freeze_form=FreezeForm(), unfreeze_form=unfreeze_form or UnfreezeForm(), refusal=refusal,
        blockers=can_freeze, checkpoint=latest_checkpoint(),
        tied_sheets=conflicts.tied_sheets(stage.id) if frozen else [],
    ), status


# --- pages ------------------------------------------------------------------------------------------

@bp.get("/")
@organizer_required
def index():
    return render_template("results/index.html", editions=ops.editions(), frozen=ops.active_snapshots_by_stage())


@bp.get("/stages/<int:stage_id>")
@organizer_required
def stage(stage_id: int):
    return _render_stage(_stage(stage_id))


@bp.post("/stages/<int:stage_id>/freeze")
@organizer_required
def freeze(stage_id: int):
    stage = _stage(stage_id)
    if not FreezeForm().validate_on_submit():
        abort(400)
    try:
        snapshot = ops.freeze(stage, current_user._get_current_object())
    except ops.ResultsError as exc:
        return _render_stage(_stage(stage_id), refusal=exc, status=409)
    flash(_("The results are frozen as snapshot #%(id)d; its SHA-256 is shown below.", id=snapshot.id), "success")
    return redirect(url_for("results.stage", stage_id=stage_id, _anchor="freeze"))


@bp.post("/stages/<int:stage_id>/unfreeze")
@organizer_required
def unfreeze(stage_id: int):
    stage = _stage(stage_id)
    form = UnfreezeForm()
    if not form.validate_on_submit():
        return _render_stage(stage, unfreeze_form=form, status=400)
    try:
        ops.unfreeze(stage, current_user._get_current_object(), form.reason.data)
    except ops.ResultsError as exc:
        form.reason.errors = [*form.reason.errors, exc.message]
        return _render_stage(_stage(stage_id), unfreeze_form=form, status=409)
    flash(_("The results are unfrozen. The snapshot is kept in the history with your reason."), "success")
    return redirect(url_for("results.stage", stage_id=stage_id, _anchor="freeze"))


@bp.get("/stages/<int:stage_id>/diagnostics")
@organizer_required
def diagnostics(stage_id: int):
    stage = _stage(stage_id)
    official = ops.official_results(stage)
    found = ops.diagnostics(official.payload)
    names = {str(j["id"]): j["name"] for j in official.payload["judges"]}
    return render_template(
        "results/diagnostics.html", stage=stage, official=official, payload=official.payload, categories=found,
        names=names, ops=ops, charts_by_category={c.id: _interval_chart(c) for c in found if c.diagnostics},
        entry_titles={c["id"]: {str(e["id"]): e["title"] for e in c["entries"]}
                      for c in official.payload["categories"]},
        criterion_names={c["id"]: {str(k["id"]): k["name"] for k in c["criteria"]}
                         for c in official.payload["categories"]})


def _interval_chart(item: ops.CategoryDiagnostics):
    diag = item.diagnostics
    if not diag.rank_confidence or diag.bootstrap_valid == 0:
        return None
    titles = {str(e["id"]): e["title"] for e in item.entries}
    ordered = sorted(diag.rank_confidence, key=lambda c: (c.rank, int(c.entry)))
    rows = [charts.IntervalRow(label=f"{c.rank}. {titles.get(c.entry, c.entry)}", low=c.rank_low, high=c.rank_high,
                               point=c.rank) for c in ordered]
    return charts.interval_bars(
        rows, chart_id=f"intervals-{item.id}", n_ranks=diag.n_entries,
        title=_("Rank intervals of %(category)s", category=item.name),
        desc=_("One row per entry in rank order: the bar spans the ranks the entry takes in %(level)d%% of "
               "the judge resamples, the dot is its official rank; rank 1 is at the left. The figures are in the "
               "table.", level=round(diag.level * 100)),
        legend=(_("rank interval"), _("official rank")))


@bp.get("/stages/<int:stage_id>/whatif")
@organizer_required
def whatif(stage_id: int):
    stage = _stage(stage_id)
    form = WhatIfForm.for_stage(stage, request.args)
    official = ops.official_results(stage)
    context = {"stage": stage, "form": form, "official": official, "comparisons": None, "config_error": None}
    if not form.validate():
        return render_template("results/whatif.html", **context), 400
    try:
        config = form.to_config()
    except scoring.InvalidConfig as exc:
        context["config_error"] = exc.message
        return render_template("results/whatif.html", **context), 400
    _official, alternative, comparisons = ops.what_if(stage, config, official)
    return render_template("results/whatif.html", **{**context, "alternative": alternative,
                                                     "comparisons": comparisons})


@bp.get("/snapshots/<int:snapshot_id>")
@organizer_required
def snapshot(snapshot_id: int):
    found = _snapshot(snapshot_id)
    return render_template("results/snapshot.html", snapshot=found, payload=ops.snapshot_payload(found),
                           verified=ops.verify_snapshot(found), matches_live=ops.snapshot_matches_live(found),
                           names=_user_names([found]))


@bp.get("/snapshots/<int:snapshot_id>.json")
@organizer_required
def snapshot_json(snapshot_id: int):
    """The stored payload byte for byte: its SHA-256 is the snapshot's hash."""
    found = _snapshot(snapshot_id)
    personal_data.exported("result snapshot JSON: the judges' names and the heads of agencies",
                           {"snapshot": found.id, "stage": found.stage_id}, obj=found)
    db.session.commit()
    response = Response(found.payload.encode(), mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="result-snapshot-{found.id}-{found.sha256[:12]}.json"')
    response.headers["X-Content-SHA256"] = found.sha256
    return response
