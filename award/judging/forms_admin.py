"""Forms of the tie register, the confirmation and the assignment pages. They parse and check
types and lengths; the rules (years for employers, a description for "other", conflicts, caps)
live in conflicts.py and assign_ops.py, so the CLI and the tests share them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import Agency, TieKind, User
from .assign_ops import MAX_CAP, AutoOptions
from .conflicts import DESCRIPTION_MAX, REASON_MAX, TIE_KIND, YEARS_MAX, TieData


def _kind(value) -> TieKind | None:
    if value in (None, ""):
        return None
    try:
        return TieKind(value)
    except ValueError:
        return None


def _optional_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def agency_label(agency: Agency) -> str:
    supervisor = f" ← {agency.supervisor.name}" if agency.supervisor is not None else ""
    return f"{agency.name}（{agency.code}，{agency.county}）{supervisor}"


class TieForm(FlaskForm):
    """A judge declares a tie: the agency, the kind, the years and a description."""

    agency_id = SelectField(_l("Agency"), coerce=_optional_int, validate_choice=False,
                            description=_l("A tie to an authority also covers every agency it supervises."))
    kind = SelectField(_l("Kind of tie"), coerce=_kind, validate_choice=False)
    years = StringField(_l("Years"), validators=[Length(max=YEARS_MAX)],
                        description=_l("Required for an employer, e.g. 2015–2019 or since 2021."))
    description = TextAreaField(_l("Description"), validators=[Length(max=DESCRIPTION_MAX)],
                                description=_l("Required for “other”."))

    def set_choices(self, agencies: list[Agency]) -> None:
        self.agency_id.choices = [("", _l("Choose an agency"))] + [(a.id, agency_label(a)) for a in agencies]
        self.kind.choices = [("", _l("Choose a kind"))] + [(k.value, label) for k, label in TIE_KIND.items()]

    def to_data(self) -> TieData:
        return TieData(agency_id=self.agency_id.data, kind=self.kind.data, years=(self.years.data or "").strip(),
                       description=(self.description.data or "").strip())


class OrganizerTieForm(TieForm):
    judge_id = SelectField(_l("Judge"), coerce=_optional_int, validate_choice=False)

    def set_judges(self, judges: list[User]) -> None:
        self.judge_id.choices = [("", _l("Choose a judge"))] + [(j.id, f"{j.name}（{j.email}）") for j in judges]


class RetractForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the retraction"), validators=[DataRequired(), Length(max=REASON_MAX)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AutoForm(FlaskForm):
    cap = IntegerField(_l("Most entries per judge"), validators=[Optional(), NumberRange(min=1, max=MAX_CAP)],
                       description=_l("Optional. Existing assignments in this stage count towards it."))
    spread = BooleanField(_l("Spread each judge's entries across the categories"))
    keep_existing = BooleanField(_l("Keep the existing assignments"), default=True,
                                 description=_l("Unticked, assignments not yet confirmed by their judge may be "
                                                "replaced. Confirmed ones are always kept."))
    judges = MultiCheckboxField(_l("Judges taking part"), coerce=int, validate_choice=False)

    def set_judges(self, judges: list[User]) -> None:
        self.judges.choices = [(j.id, j.name) for j in judges]

    def to_options(self) -> AutoOptions:
        return AutoOptions(cap=self.cap.data, spread=bool(self.spread.data),
                           keep_existing=bool(self.keep_existing.data), judge_ids=tuple(sorted(self.judges.data or ())))


class WithdrawForm(FlaskForm):
    """The reason; each submitted sheet's keep/exclude choice is read from ``sheet_<id>`` fields."""

    reason = TextAreaField(_l("Reason for the withdrawal"), validators=[DataRequired(), Length(max=REASON_MAX)])
