"""Organisers set up editions (屆次): the edition, categories, criteria, stages and award tiers."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field

from ..auth.access import organizer_required
from ..extensions import db
from ..models import AwardTier, Category, Edition, EditionStatus, Stage
from . import operations as ops
from .forms import CategoryForm, CriteriaForm, EditionForm, StageForm, TierForm

bp = Blueprint("editions", __name__, url_prefix="/editions")
SPARE_CRITERIA_ROWS = 2
# The award's categories are judged on five areas: a category starts with at least that many rows, since
# every save must bring the weights to exactly 100 (two rows at a time could not build five criteria).
MIN_CRITERIA_ROWS = 5
# What a spare row of the criteria editor starts with: the award's usual 0–100 range.
_SPARE_ROW = {"min_score": Decimal(0), "max_score": Decimal(100), "step": Decimal(1), "section_char_limit": 3000}


@bp.app_template_filter("plain_decimal")
def plain_decimal(value: Decimal | None) -> str:
    return ops.plain(value)


# --- helpers ------------------------------------------------------------------------------------

def _edition(edition_id: int) -> Edition:
    return db.session.get(Edition, edition_id) or abort(404)


def _part(model, edition: Edition, part_id: int):
    """A category, stage or tier of this edition; another edition's id is simply not found."""
    part = db.session.get(model, part_id)
    if part is None or part.edition_id != edition.id:
        abort(404)
    return part


def _fields_by_name(form: FlaskForm) -> dict[str, Field]:
    """Every field of the form by its full name, descending into criteria rows."""
    found: dict[str, Field] = {}
    for f in form:
        if f.type == "FieldList":
            for entry in f:
                found.update({sub.name: sub for sub in entry.form})
        else:
            found[f.name] = f
    return found


def _refused(form: FlaskForm, error: ops.EditionError) -> None:
    """Show an operation's refusal on the form: each problem by its field, the rest at the top."""
    fields = _fields_by_name(form)
    for name, messages in error.fields.items():
        if name in fields:
            fields[name].errors = [*fields[name].errors, *messages]
        else:
            error.messages.extend(messages)
    form.refusals = error.messages  # shown above the form by the templates


def _show(edition: Edition, anchor: str = ""):
    return redirect(url_for("editions.show_edition", edition_id=edition.id, _anchor=anchor or None))


def _offset() -> int:
    return -1 if request.form.get("direction") == "up" else 1


# --- editions -----------------------------------------------------------------------------------

@bp.get("/")
@organizer_required
def list_editions():
    return render_template("editions/list.html", editions=ops.all_editions())


@bp.route("/new", methods=["GET", "POST"])
@organizer_required
def new_edition():
    form = EditionForm()
    if form.validate_on_submit():
        try:
            edition = ops.create_edition(form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Edition %(name)s created.", name=edition.name), "success")
            return _show(edition)
    return render_template("editions/edition_form.html", form=form, edition=None), _status(form)


@bp.route("/<int:edition_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_edition(edition_id: int):
    edition = _edition(edition_id)
    form = EditionForm(obj=edition)
    if form.validate_on_submit():
        try:
            ops.update_edition(edition, form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Edition %(name)s saved.", name=edition.name), "success")
            return _show(edition)
    return render_template("editions/edition_form.html", form=form, edition=edition), _status(form)


@bp.get("/<int:edition_id>")
@organizer_required
def show_edition(edition_id: int):
    edition = _edition(edition_id)
    return render_template(
        "editions/show.html", edition=edition, entry_counts=ops.entry_counts(edition),
        locks={c.id: ops.criterion_locks(c) for c in edition.categories},
        opening_problems=ops.opening_problems(edition) if edition.status is EditionStatus.DRAFT else [],
        transitions=ops.TRANSITIONS[edition.status], stage_criteria=ops.stage_criteria_by_category(edition),
    )


@bp.post("/<int:edition_id>/status")
@organizer_required
def change_status(edition_id: int):
    edition = _edition(edition_id)
    try:
        target = EditionStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if request.form.get("confirmed") != "1":  # the status buttons lead here first: say what it will do
        if problems := ops.transition_problems(edition, target):
            for message in problems:
                flash(message, "error")
            return _show(edition, "status")
        effects, warnings = ops.transition_consequences(edition, target)
        return render_template("editions/confirm_status.html", edition=edition, target=target,
                               effects=effects, warnings=warnings)
    try:
        ops.change_status(edition, target)
    except ops.EditionError as error:
        for message in error.messages:
            flash(message, "error")
    else:
        flash(_("The edition is now: %(status)s.", status=ops.status_label(target)), "success")
    return _show(edition, "status")


# --- categories ---------------------------------------------------------------------------------

@bp.route("/<int:edition_id>/categories/new", methods=["GET", "POST"])
@organizer_required
def new_category(edition_id: int):
    edition = _edition(edition_id)
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = ops.create_category(edition, form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Category %(name)s added. Now give it its criteria.", name=category.name), "success")
            return redirect(url_for("editions.edit_criteria", edition_id=edition.id, category_id=category.id))
    return render_template("editions/category_form.html", form=form, edition=edition, category=None), _status(form)


@bp.route("/<int:edition_id>/categories/<int:category_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_category(edition_id: int, category_id: int):
    edition = _edition(edition_id)
    category = _part(Category, edition, category_id)
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            ops.update_category(category, form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Category %(name)s saved.", name=category.name), "success")
            return _show(edition, f"category-{category.id}")
    return render_template("editions/category_form.html", form=form, edition=edition, category=category), \
        _status(form)


@bp.route("/<int:edition_id>/categories/<int:category_id>/delete", methods=["GET", "POST"])
@organizer_required
def delete_category(edition_id: int, category_id: int):
    edition = _edition(edition_id)
    category = _part(Category, edition, category_id)
    return _confirm_delete(edition, category.name, ops.category_delete_problem(category),
                           lambda: ops.delete_category(category), _("Category %(name)s deleted.", name=category.name))


@bp.route("/<int:edition_id>/categories/<int:category_id>/criteria", methods=["GET", "POST"])
@organizer_required
def edit_criteria(edition_id: int, category_id: int):
    edition = _edition(edition_id)
    category = _part(Category, edition, category_id)
    locks = ops.criterion_locks(category)
    if request.method == "POST":
        form = CriteriaForm()
    else:
        form = CriteriaForm(data={"criteria": _criteria_rows(category)})
    if form.validate_on_submit():
        try:
            ops.save_criteria(category, form.to_rows())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("The criteria of %(name)s are saved.", name=category.name), "success")
            return _show(edition, f"category-{category.id}")
    row_locks = [locks.get(int(row.form.id.data)) if (row.form.id.data or "").isdigit() else None
                 for row in form.criteria]
    return render_template("editions/criteria_form.html", form=form, edition=edition, category=category,
                           row_locks=row_locks), _status(form)


def _criteria_rows(category: Category, stage: Stage | None = None) -> list[dict]:
    # Decimal(plain(…)) shows 20 rather than the stored 20.0000 (and never 1E+2).
    rows = [{"id": str(c.id), "name": c.name, "description": c.description,
             **{key: Decimal(ops.plain(getattr(c, key))) for key in ("weight", "min_score", "max_score", "step")},
             "section_char_limit": c.section_char_limit}
            for c in ops.own_criteria(category, stage)]
    spare = max(SPARE_CRITERIA_ROWS, MIN_CRITERIA_ROWS - len(rows))
    return rows + [dict(_SPARE_ROW) for _ in range(spare)]


@bp.route("/<int:edition_id>/stages/<int:stage_id>/categories/<int:category_id>/criteria", methods=["GET", "POST"])
@organizer_required
def edit_stage_criteria(edition_id: int, stage_id: int, category_id: int):
    """A stage's own criteria for a category (e.g. a shorter set for the site visit); with none,
    the stage judges the category on the category's criteria."""
    edition = _edition(edition_id)
    stage = _part(Stage, edition, stage_id)
    category = _part(Category, edition, category_id)
    locks = ops.criterion_locks(category, stage)
    if request.method == "POST":
        form = CriteriaForm()
    else:
        form = CriteriaForm(data={"criteria": _criteria_rows(category, stage)})
    if form.validate_on_submit():
        try:
            ops.save_criteria(category, form.to_rows(), stage)
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("The criteria of %(name)s in %(stage)s are saved.", name=category.name, stage=stage.name),
                  "success")
            return _show(edition, "stages")
    row_locks = [locks.get(int(row.form.id.data)) if (row.form.id.data or "").isdigit() else None
                 for row in form.criteria]
    own = ops.own_criteria(category, stage)
    return render_template("editions/criteria_form.html", form=form, edition=edition, category=category,
                           row_locks=row_locks, stage=stage, own_weight_sum=sum((c.weight for c in own), Decimal(0)),
                           started=not own and ops.stage_scoring_started(category, stage)), _status(form)


# --- stages -------------------------------------------------------------------------------------

@bp.route("/<int:edition_id>/stages/new", methods=["GET", "POST"])
@organizer_required
def new_stage(edition_id: int):
    edition = _edition(edition_id)
    form = StageForm()
    if form.validate_on_submit():
        try:
            stage = ops.create_stage(edition, form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Stage %(name)s added.", name=stage.name), "success")
            return _show(edition, "stages")
    return render_template("editions/stage_form.html", form=form, edition=edition, stage=None), _status(form)


@bp.route("/<int:edition_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_stage(edition_id: int, stage_id: int):
    edition = _edition(edition_id)
    stage = _part(Stage, edition, stage_id)
    form = StageForm(obj=stage)
    if request.method == "GET":
        form.aggregation.data = stage.aggregation.value
    if form.validate_on_submit():
        try:
            ops.update_stage(stage, form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Stage %(name)s saved.", name=stage.name), "success")
            return _show(edition, "stages")
    return render_template("editions/stage_form.html", form=form, edition=edition, stage=stage,
                           frozen=ops.is_frozen(stage)), _status(form)


@bp.post("/<int:edition_id>/stages/<int:stage_id>/move")
@organizer_required
def move_stage(edition_id: int, stage_id: int):
    edition = _edition(edition_id)
    stage = _part(Stage, edition, stage_id)
    try:
        ops.move_stage(stage, _offset())
    except ops.EditionError as error:
        flash(error.message, "error")
    return _show(edition, "stages")


@bp.route("/<int:edition_id>/stages/<int:stage_id>/delete", methods=["GET", "POST"])
@organizer_required
def delete_stage(edition_id: int, stage_id: int):
    edition = _edition(edition_id)
    stage = _part(Stage, edition, stage_id)
    return _confirm_delete(edition, stage.name, ops.stage_delete_problem(stage),
                           lambda: ops.delete_stage(stage), _("Stage %(name)s deleted.", name=stage.name), "stages")


# --- award tiers --------------------------------------------------------------------------------

@bp.route("/<int:edition_id>/tiers/new", methods=["GET", "POST"])
@organizer_required
def new_tier(edition_id: int):
    edition = _edition(edition_id)
    form = TierForm()
    if form.validate_on_submit():
        try:
            tier = ops.create_tier(edition, form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Tier %(name)s added.", name=tier.name), "success")
            return _show(edition, "tiers")
    return render_template("editions/tier_form.html", form=form, edition=edition, tier=None), _status(form)


@bp.route("/<int:edition_id>/tiers/<int:tier_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit_tier(edition_id: int, tier_id: int):
    edition = _edition(edition_id)
    tier = _part(AwardTier, edition, tier_id)
    form = TierForm(obj=tier)
    if request.method == "GET" and tier.min_total is not None:
        form.min_total.data = Decimal(ops.plain(tier.min_total))
    if form.validate_on_submit():
        try:
            ops.update_tier(tier, form.to_data())
        except ops.EditionError as error:
            _refused(form, error)
        else:
            flash(_("Tier %(name)s saved.", name=tier.name), "success")
            return _show(edition, "tiers")
    return render_template("editions/tier_form.html", form=form, edition=edition, tier=tier), _status(form)


@bp.post("/<int:edition_id>/tiers/<int:tier_id>/move")
@organizer_required
def move_tier(edition_id: int, tier_id: int):
    edition = _edition(edition_id)
    tier = _part(AwardTier, edition, tier_id)
    try:
        ops.move_tier(tier, _offset())
    except ops.EditionError as error:
        flash(error.message, "error")
    return _show(edition, "tiers")


@bp.route("/<int:edition_id>/tiers/<int:tier_id>/delete", methods=["GET", "POST"])
@organizer_required
def delete_tier(edition_id: int, tier_id: int):
    edition = _edition(edition_id)
    tier = _part(AwardTier, edition, tier_id)
    return _confirm_delete(edition, tier.name, ops.tiers_frozen_problem(edition), lambda: ops.delete_tier(tier),
                           _("Tier %(name)s deleted.", name=tier.name), "tiers")


# --- shared -------------------------------------------------------------------------------------

def _status(form: FlaskForm) -> int:
    """422 when a submitted form is shown again with problems, so nothing looks saved."""
    if request.method != "POST":
        return 200
    refused = getattr(form, "refusals", None) or any(f.errors for f in _fields_by_name(form).values())
    return 422 if refused else 200


def _confirm_delete(edition: Edition, name: str, problem: str | None, delete, done: str, anchor: str = ""):
    """GET asks for confirmation (or says why it cannot be done); POST deletes."""
    if request.method == "POST":
        try:
            delete()
        except ops.EditionError as error:
            flash(error.message, "error")
        else:
            flash(done, "success")
        return _show(edition, anchor)
    return render_template("editions/confirm_delete.html", edition=edition, name=name, problem=problem,
                           back=url_for("editions.show_edition", edition_id=edition.id, _anchor=anchor or None))
