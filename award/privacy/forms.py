"""Forms of the personal data requests area (organisers only)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from .operations import FIELDS


class RequestForm(FlaskForm):
    """The person looked for, and the request this is done for."""

    q = StringField(_l("E-mail address or full name"), validators=[DataRequired(), Length(min=2, max=254)],
                    description=_l("Matches the whole address or name, ignoring upper and lower case."))
    reference = StringField(_l("Request reference"), validators=[DataRequired(), Length(max=200)],
                            description=_l("The letter, case or ticket number of the person's request; "
                                           "it is recorded in the audit trail with every step."))


class RecordForm(RequestForm):
    kind = SelectField(choices=[(k, k) for k in FIELDS], validators=[InputRequired()])
    object_id = IntegerField(validators=[InputRequired()])


class CorrectForm(RecordForm):
    field = StringField(_l("Field"), validators=[DataRequired(), Length(max=50)])
    value = StringField(_l("Corrected value"), validators=[Length(max=254)])


class EraseForm(RecordForm):
    fields = HiddenField()
    confirm = BooleanField(_l("I have checked that the law does not require us to keep these data."),
                           validators=[DataRequired()])
