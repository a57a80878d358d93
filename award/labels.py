"""Translated display names for the domain's enumerations (used by templates and exports)."""

from flask import Flask
from flask_babel import lazy_gettext as _l

from .models import AgencyLevel, Aggregation, EditionStatus, Geography, Role

ROLE = {Role.ORGANIZER: _l("Organiser"), Role.JUDGE: _l("Judge"), Role.AGENCY: _l("Agency contact")}
GEOGRAPHY = {
    Geography.OUTLYING_ISLAND: _l("Outlying island"),
    Geography.REMOTE: _l("Remote area"),
    Geography.MAIN_ISLAND: _l("Main island"),
}
LEVEL = {
    AgencyLevel.CENTRAL: _l("Central government"),
    AgencyLevel.MUNICIPAL: _l("Special municipality"),
    AgencyLevel.COUNTY: _l("County/city"),
    AgencyLevel.TOWNSHIP: _l("Township"),
    AgencyLevel.STATE_OWNED: _l("State-owned enterprise"),
    AgencyLevel.SCHOOL: _l("School"),
    AgencyLevel.HOSPITAL: _l("Hospital"),
    AgencyLevel.OTHER: _l("Other"),
}
EDITION_STATUS = {
    EditionStatus.DRAFT: _l("In preparation"),
    EditionStatus.OPEN: _l("Open for entries"),
    EditionStatus.JUDGING: _l("Judging"),
    EditionStatus.CLOSED: _l("Closed"),
}
AGGREGATION = {
    Aggregation.MEAN: _l("Mean of the judges' totals"),
    Aggregation.TRIMMED: _l("Trimmed mean (highest and lowest dropped)"),
    Aggregation.MEDIAN: _l("Median"),
    Aggregation.ZSCORE: _l("Standardised scores (z-score)"),
    Aggregation.BIAS: _l("Judge-leniency correction (least squares)"),
}


def _lookup(table):
    return lambda value: str(table.get(value, value))


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        role_label=_lookup(ROLE),
        geography_label=_lookup(GEOGRAPHY),
        level_label=_lookup(LEVEL),
        edition_status_label=_lookup(EDITION_STATUS),
        aggregation_label=_lookup(AGGREGATION),
    )
