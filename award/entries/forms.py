"""Forms of the entries area. The entry form's sections come from the category's criteria, so its
class is built per category. Forms parse and render; limits and rules live in operations.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateTimeLocalField, EmailField, Form, HiddenField, SelectField, StringField,
                     TelField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from ..i18n import TAIPEI
from ..models import Criterion, EntryStatus, Geography, Screening
from . import operations as ops

_TRUE = {"y", "yes", "on", "1", "true"}
# Our own messages: WTForms' built-in catalogue has no Traditional Chinese for every message.
_REQUIRED = _l("This field is required.")
_BAD_TIME = _l("Enter a date and time, for example 2025-09-30 17:00.")
_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EntryForm(FlaskForm):
    """The fixed part of the entry form (參獎申請書); ``entry_form_class`` adds the sections."""

    draft_version = HiddenField()
    head_name = StringField(_l("Name of the head of agency"), filters=[_strip])
    contact_name = StringField(_l("Contact person"), filters=[_strip])
    contact_title = StringField(_l("Job title"), filters=[_strip])
    contact_phone = TelField(_l("Telephone"), filters=[_strip])
    contact_email = EmailField(_l("E-mail address"), filters=[_strip])
    title = StringField(_l("Title of the entry"), filters=[_strip])
    summary = TextAreaField(_l("Summary"), filters=[ops.normalise_text],
                            description=_l("A short overview of the entry."))
    head_declaration = BooleanField(_l("The head of agency declares that the data in this entry are true and "
                                       "correct."))

    section_names: list[str] = []


def entry_form_class(criteria: list[Criterion]) -> type[EntryForm]:
    """The entry form for a category: one textarea per criterion (評核面向), in the criteria's order."""
    attrs = {ops.section_name(c.id): TextAreaField(c.name, description=c.description,
                                                   filters=[ops.normalise_text]) for c in criteria}
    attrs["section_names"] = list(attrs)
    return type("CategoryEntryForm", (EntryForm,), attrs)


def draft_from_form(formdata: Mapping, criteria: list[Criterion]) -> ops.DraftData:
    """What a browser sent, as a draft: absent fields stay None (unchanged), an unticked checkbox is absent
    and so means "not ticked" as in any HTML form."""
    def text(name: str, *, line: bool) -> str | None:
        value = formdata.get(name)
        if value is None:
            return None
        return value.strip() if line else ops.normalise_text(value)

    raw_version = (formdata.get("draft_version") or "").strip()
    data = ops.DraftData(base_version=int(raw_version) if raw_version.isdigit() else None)
    for name in ops.LINE_FIELDS:
        setattr(data, name, text(name, line=True))
    data.summary = text("summary", line=False)
    data.head_declaration = (formdata.get("head_declaration") or "").strip().lower() in _TRUE
    for criterion in criteria:
        value = text(ops.section_name(criterion.id), line=False)
        if value is not None:
            data.sections[criterion.id] = value
    return data


class ScreeningForm(FlaskForm):
    decision = SelectField(_l("Decision"), choices=[SelectChoice(s.value, ops.SCREENING_LABELS[s])
                                                    for s in ops.SCREENING_DECISIONS], validators=[DataRequired(_REQUIRED)])
    reason = TextAreaField(_l("Reason"), filters=[ops.normalise_text],
                           description=_l("Required when the entry is ineligible or returned. The agency sees it."))
    correct_until = DateTimeLocalField(_l("Correction deadline (optional)"), format=_LOCAL_FORMATS,
                                       validators=[Optional()], invalid_value_message=_BAD_TIME,
                                       description=_l("Taipei time (UTC+8). For a returned entry after the "
                                                      "deadline: until when the agency may correct and submit."))

    def correct_until_utc(self) -> datetime | None:
        return taipei(self.correct_until.data)


class ExtensionForm(FlaskForm):
    edition_id = SelectField(_l("Edition"), coerce=int, validators=[DataRequired(_REQUIRED)], validate_choice=False)
    agency_id = SelectField(_l("Agency"), coerce=int, validators=[DataRequired(_REQUIRED)], validate_choice=False)
    until = DateTimeLocalField(_l("New deadline"), format=_LOCAL_FORMATS, validators=[DataRequired(_REQUIRED)],
                               invalid_value_message=_BAD_TIME, description=_l("Taipei time (UTC+8)."))
    reason = TextAreaField(_l("Reason"), filters=[ops.normalise_text], validators=[DataRequired(_REQUIRED)],
                           description=_l("For example: the typhoon stopped the ferries to Penghu on 3 and 4 "
                                          "September."))

    def until_utc(self) -> datetime | None:
        return taipei(self.until.data)


def taipei(value: datetime | None) -> datetime | None:
    """A datetime-local value, entered in Taipei time, as an aware datetime."""
    return value.replace(tzinfo=TAIPEI) if value is not None else None


class EntryFilterForm(Form):
    """The organiser's filters (GET parameters; no CSRF for a read-only query)."""

    edition = SelectField(_l("Edition"), coerce=str, validators=[Optional()])
    category = SelectField(_l("Category"), coerce=str, validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()],
                         choices=[SelectChoice("", _l("All"))]
                         + [SelectChoice(s.value, label) for s, label in ops.STATUS_LABELS.items()])
    screening = SelectField(_l("Screening"), validators=[Optional()],
                            choices=[SelectChoice("", _l("All"))]
                            + [SelectChoice(s.value, label) for s, label in ops.SCREENING_LABELS.items()])
    county = SelectField(_l("County/city"), validators=[Optional()])
    geography = SelectField(_l("Geography"), validators=[Optional()])

    def to_filter(self) -> ops.EntryFilter:
        def number(value: str | None) -> int | None:
            return int(value) if value and value.isdigit() else None

        status = self.status.data or ""
        screening = self.screening.data or ""
        geography = self.geography.data or ""
        return ops.EntryFilter(
            edition_id=number(self.edition.data), category_id=number(self.category.data),
            status=EntryStatus(status) if status in {s.value for s in EntryStatus} else None,
            screening=Screening(screening) if screening in {s.value for s in Screening} else None,
            county=self.county.data or None,
            geography=Geography(geography) if geography in {g.value for g in Geography} else None,
        )
