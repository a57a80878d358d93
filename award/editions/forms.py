"""Forms of the editions area. They parse and check types and ranges; the business rules
(uniqueness, weight sums, locks, orderings) live in operations.py so the CLI shares them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateTimeLocalField, DecimalField, FieldList, Form, FormField, HiddenField,
                     IntegerField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..i18n import TAIPEI
from ..labels import AGGREGATION
from ..models import Aggregation
from . import operations as ops

# The browser's datetime-local value first (it is also what we render), then looser spellings.
_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
_TAIPEI_HINT = _l("Taipei time (UTC+8).")


class TaipeiDateTimeField(DateTimeLocalField):
    """A datetime-local input typed and shown in Taipei time; its data is an aware datetime.
    (Done here rather than with WTForms 3.3's ``tz`` so that any WTForms the project allows works.)"""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and self.data.tzinfo is None:
            self.data = self.data.replace(tzinfo=TAIPEI)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if not self.data:
            return ""
        shown = self.data.astimezone(TAIPEI) if self.data.tzinfo is not None else self.data
        return shown.strftime(self.format[0])


def _taipei_field(label, required: bool = False) -> TaipeiDateTimeField:
    return TaipeiDateTimeField(label, validators=[DataRequired() if required else Optional()],
                               format=_LOCAL_FORMATS, description=_TAIPEI_HINT)


def _decimal_field(label, **kwargs) -> DecimalField:
    # places=None: never round what the organiser typed; Decimal end to end, never float.
    return DecimalField(label, places=None, validators=[Optional()], **kwargs)


class EditionForm(FlaskForm):
    number = IntegerField(_l("Edition number"), validators=[InputRequired(), NumberRange(min=1, max=999)])
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    submission_opens_at = _taipei_field(_l("Submissions open"))
    submission_deadline = _taipei_field(_l("Submission deadline"))

    def to_data(self) -> ops.EditionData:
        return ops.EditionData(number=self.number.data, year=self.year.data, name=self.name.data.strip(),
                               submission_opens_at=self.submission_opens_at.data,
                               submission_deadline=self.submission_deadline.data)


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])

    def to_data(self) -> ops.CategoryData:
        return ops.CategoryData(name=self.name.data.strip(), description=(self.description.data or "").strip())


class CriterionRowForm(Form):
    """One row of the criteria editor. Every field is optional here: a row left blank is ignored,
    and what a filled-in row lacks is reported by operations.save_criteria."""

    id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,9}$")])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    weight = _decimal_field(_l("Weight"))
    min_score = _decimal_field(_l("Lowest score"))
    max_score = _decimal_field(_l("Highest score"))
    step = _decimal_field(_l("Step"))
    section_char_limit = IntegerField(_l("Character limit of the entry's section"),
                                      validators=[Optional(), NumberRange(min=1, max=ops.MAX_SECTION_CHARS)])
    remove = BooleanField(_l("Remove this criterion"))

    def to_row(self) -> ops.CriterionRow:
        return ops.CriterionRow(
            id=int(self.id.data) if self.id.data else None,
            name=(self.name.data or "").strip(), description=(self.description.data or "").strip(),
            weight=self.weight.data, min_score=self.min_score.data, max_score=self.max_score.data,
            step=self.step.data, section_char_limit=self.section_char_limit.data, remove=bool(self.remove.data),
        )


class CriteriaForm(FlaskForm):
    criteria = FieldList(FormField(CriterionRowForm), min_entries=0, max_entries=ops.MAX_CRITERIA + 10)

    def to_rows(self) -> list[ops.CriterionRow]:
        return [entry.form.to_row() for entry in self.criteria]


class StageForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    opens_at = _taipei_field(_l("Opens"), required=True)
    closes_at = _taipei_field(_l("Closes"), required=True)
    judges_per_entry = IntegerField(_l("Judges per entry"), default=5,
                                    validators=[InputRequired(), NumberRange(min=1, max=ops.MAX_JUDGES)])
    aggregation = SelectField(_l("How the judges' scores are combined"),
                              choices=[(a.value, AGGREGATION[a]) for a in Aggregation],
                              default=Aggregation.TRIMMED.value)
    trim = IntegerField(_l("Scores trimmed at each end"), default=1,
                        validators=[Optional(), NumberRange(min=0, max=ops.MAX_JUDGES)],
                        description=_l("How many of the highest and of the lowest scores are dropped (trimmed mean). "
                                       "At least one judge's score must remain."))
    trim_level = SelectField(_l("Trim applies to"), choices=[("total", _l("each judge's total")),
                                                             ("criterion", _l("each criterion separately"))],
                             default="total")
    round_each_stage = BooleanField(_l("Round the result of this stage"), default=True)
    decimals = IntegerField(_l("Decimal places"), default=2, validators=[Optional(), NumberRange(min=0, max=4)])
    blind = BooleanField(_l("Blind review (judges do not see the agency's name)"))
    tie_break = SelectField(
        _l("Equal totals"), default="",
        choices=[("", _l("Share the rank (1, 2, 2, 4)")),
                 ("criteria", _l("Higher panel mark on the criteria named below")),
                 ("criteria,median", _l("Higher panel mark on the criteria named below, then higher median "
                                        "of the judges' totals")),
                 ("criteria,median,spread", _l("Higher panel mark on the criteria named below, then higher "
                                               "median, then smaller spread")),
                 ("median", _l("Higher median of the judges' totals")),
                 ("median,spread", _l("Higher median of the judges' totals, then smaller spread")),
                 ("spread", _l("Smaller spread (highest minus lowest judge's total)"))],
        description=_l("Compared on the displayed figures; entries still equal share the rank."))
    tie_break_criteria = TextAreaField(
        _l("Criteria that break a tie"), validators=[Optional(), Length(max=2000)],
        description=_l("One criterion name per line, in order; every category must have each of them."))
    too_few_judges = SelectField(
        _l("Too few judges to trim"), default="error",
        choices=[("error", _l("Do not rank the category until there are enough judges")),
                 ("mean", _l("Use the plain mean for that entry (marked in the results)"))],
        description=_l("When an entry has fewer than twice the number trimmed plus one judges' scores."))

    def to_data(self) -> ops.StageData:
        return ops.StageData(
            name=self.name.data.strip(), opens_at=self.opens_at.data, closes_at=self.closes_at.data,
            judges_per_entry=self.judges_per_entry.data, aggregation=Aggregation(self.aggregation.data),
            trim=self.trim.data or 0, trim_level=self.trim_level.data, round_each_stage=bool(self.round_each_stage.data),
            decimals=self.decimals.data if self.decimals.data is not None else 2, blind=bool(self.blind.data),
            tie_break=self.tie_break.data or "",
            tie_break_criteria=[line.strip() for line in (self.tie_break_criteria.data or "").splitlines()],
            too_few_judges=self.too_few_judges.data,
        )


class TierForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=50)])
    min_total = _decimal_field(_l("Minimum total score"),
                               description=_l("Optional, 0 to 100. Leave empty to award by quota only."))
    quota = IntegerField(_l("Quota per category"), validators=[Optional(), NumberRange(min=1, max=999)],
                         description=_l("Optional: at most this many entries per category."))
    award_text = TextAreaField(
        _l("Trophy/certificate text"), validators=[Optional(), Length(max=ops.AWARD_TEXT_LIMIT + 100)],
        description=_l("Printed on the ceremony run sheet. {agency}, {head}, {category}, {tier}, {title}, {edition} "
                       "and {rank} are filled in. Empty: the category and the tier's name."))

    def to_data(self) -> ops.TierData:
        return ops.TierData(name=self.name.data.strip(), min_total=self.min_total.data, quota=self.quota.data,
                            award_text=self.award_text.data or "")
