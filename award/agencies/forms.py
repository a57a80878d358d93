from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError, Length, Optional, Regexp

from ..labels import GEOGRAPHY, LEVEL
from ..models import COUNTIES
from .geography import geography_problem
from .importer import CODE_PATTERN, MAX_LENGTH, clean_code

UPDATE_EXISTING, ADD_ONLY = "update", "add"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _code(value):
    return clean_code(value) if isinstance(value, str) else value


def _blank_to_none(value):
    value = _strip(value)
    return value or None


class AgencyForm(FlaskForm):
    code = StringField(
        _l("Agency code (機關代碼)"), filters=[_code],
        validators=[DataRequired(), Length(max=MAX_LENGTH["code"]),
                    Regexp(f"^{CODE_PATTERN.pattern}$",
                           message=_l("An agency code may contain only letters, digits, “-”, “.” and “_”."))])
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=MAX_LENGTH["name"])])
    level = SelectField(_l("Level"), choices=[SelectChoice(level.value, label) for level, label in LEVEL.items()])
    # Chosen from the register; validated by the operation (itself or a subordinate is refused).
    supervisor_id = SelectField(_l("Supervising (nominating) authority"), coerce=int, validate_choice=False,
                                default=0)
    county = SelectField(_l("County or city"), choices=[SelectChoice(county) for county in COUNTIES])
    geography = SelectField(_l("Geography class"), choices=[SelectChoice(g.value, label) for g, label in GEOGRAPHY.items()],
                            description=_l("Outlying islands: Penghu, Kinmen, Lienchiang and island townships "
                                           "such as Green Island, Orchid Island and Liuqiu."))
    head_name = StringField(_l("Head of agency"), filters=[_blank_to_none],
                            validators=[Optional(), Length(max=MAX_LENGTH["head_name"])])
    address = StringField(_l("Address"), filters=[_blank_to_none],
                          validators=[Optional(), Length(max=MAX_LENGTH["address"])])
    phone = StringField(_l("Telephone"), filters=[_blank_to_none],
                        validators=[Optional(), Length(max=MAX_LENGTH["phone"])])

    def validate_geography(self, field):
        if reason := geography_problem(self.county.data, field.data):
            raise ValidationError(reason)


class ImportForm(FlaskForm):
    sheet = FileField(_l("Sheet (.xlsx or .csv)"), validators=[
        FileRequired(message=_l("Please choose a file.")),
        FileAllowed(["csv", "xlsx"], message=_l("Please choose a .csv or .xlsx file.")),
    ])
    mode = RadioField(_l("Agencies already in the register"), default=UPDATE_EXISTING, choices=[
        SelectChoice(UPDATE_EXISTING, _l("Add new agencies and update existing ones (matched by agency code)")),
        SelectChoice(ADD_ONLY, _l("Add new agencies only; reject rows whose code is already in the register")),
    ])
