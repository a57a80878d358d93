"""The agency register: create and edit agencies, and import them from a sheet, all audited."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from ..audit import record
from ..extensions import db
from ..models import COUNTIES, Agency, AgencyLevel, Geography, User
from .geography import geography_problem
from .importer import (CODE_PATTERN, MAX_LENGTH, AgencyRecord, RegisteredAgency, RowProblem, SheetError,
                       check_rows, read_sheet)

# What an audit event shows of an agency (the supervisor by code, which outlives ids in a dump).
AUDITED_FIELDS = ("code", "name", "level", "supervisor", "county", "geography", "head_name", "address", "phone")


class AgencyError(Exception):
    """A refusal to show the user, already in their language; ``field`` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class AgencyData:
    code: str
    name: str
    level: AgencyLevel
    county: str
    geography: Geography
    supervisor: Agency | None = None
    head_name: str | None = None
    address: str | None = None
    phone: str | None = None


def agency_view(agency: Agency) -> dict:
    view = {name: getattr(agency, name) for name in AUDITED_FIELDS if name != "supervisor"}
    view["supervisor"] = agency.supervisor.code if agency.supervisor is not None else None
    return view


def find_by_code(code: str) -> Agency | None:
    return db.session.scalar(select(Agency).where(Agency.code == code))


def subordinate_ids(agency: Agency) -> set[int]:
    """Ids of every agency below ``agency`` in the supervision tree (one query, cycles cut)."""
    children: dict[int, list[int]] = {}
    for child_id, parent_id in db.session.execute(select(Agency.id, Agency.supervisor_id)):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(child_id)
    found: set[int] = set()
    stack = list(children.get(agency.id, []))
    while stack:
        node = stack.pop()
        if node not in found and node != agency.id:
            found.add(node)
            stack.extend(children.get(node, []))
    return found


# --- one agency --------------------------------------------------------------------------------

def create_agency(data: AgencyData, *, actor: User | None = None) -> Agency:
    _check(data, None)
    agency = Agency()
    with _code_guard(data.code):
        _apply(agency, data)
        db.session.add(agency)
        record("agency_created", agency, after=agency_view(agency), actor=actor)
        db.session.commit()
    return agency


def update_agency(agency: Agency, data: AgencyData, *, actor: User | None = None) -> Agency:
    _check(data, agency)
    before = agency_view(agency)
    with _code_guard(data.code):
        _apply(agency, data)
        after = agency_view(agency)
        if after == before:
            return agency  # nothing changed: nothing to record
        record("agency_updated", agency, before=before, after=after, actor=actor)
        db.session.commit()
    return agency


def _apply(agency: Agency, data: AgencyData) -> None:
    agency.code, agency.name, agency.level = data.code, data.name, data.level
    agency.county, agency.geography, agency.supervisor = data.county, data.geography, data.supervisor
    agency.head_name, agency.address, agency.phone = data.head_name, data.address, data.phone


@contextmanager
def _code_guard(code: str):
    """Someone may register the same code between our check and our write: undo and say so."""
    try:
        yield
    except IntegrityError as error:
        db.session.rollback()
        raise AgencyError(_duplicate_code(code), "code") from error


def _duplicate_code(code: str) -> str:
    return _("The agency code %(code)s is already in the register.", code=code)


def _check(data: AgencyData, agency: Agency | None) -> None:
    """Refuse before anything is changed, so a refusal leaves the session as it was."""
    if not data.code or not CODE_PATTERN.fullmatch(data.code):
        raise AgencyError(_("An agency code may contain only letters, digits, “-”, “.” and “_”."), "code")
    if not data.name:
        raise AgencyError(_("This value is required."), "name")
    for name, limit in MAX_LENGTH.items():
        value = getattr(data, name, None)
        if value is not None and len(value) > limit:
            raise AgencyError(_("The value is longer than %(n)d characters.", n=limit), name)
    if data.county not in COUNTIES:
        raise AgencyError(_("Unknown county or city. Use the full name, for example 臺東縣 or 新北市."), "county")
    if reason := geography_problem(data.county, data.geography):
        raise AgencyError(reason, "geography")
    taken = db.session.scalar(select(Agency.id).where(Agency.code == data.code))
    if taken is not None and (agency is None or taken != agency.id):
        raise AgencyError(_duplicate_code(data.code), "code")
    _check_supervisor(data.supervisor, agency)


def _check_supervisor(supervisor: Agency | None, agency: Agency | None) -> None:
    if supervisor is None or agency is None:
        return  # a new agency has no subordinates yet, so it cannot close a loop
    if supervisor.id == agency.id:
        raise AgencyError(_("An agency cannot be its own supervising authority."), "supervisor_id")
    if supervisor.id in subordinate_ids(agency):
        raise AgencyError(_("%(name)s is subordinate to this agency, so it cannot supervise it: the chain would loop.",
                            name=supervisor.name), "supervisor_id")


# --- import ------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    """What an import did, or why it did nothing."""

    error: str | None = None  # the file as a whole was refused
    problems: list[RowProblem] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    file_format: str | None = None
    encoding: str | None = None
    rows: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.problems


def registered_agencies() -> dict[str, RegisteredAgency]:
    supervisor = aliased(Agency)
    rows = db.session.execute(
        select(Agency.code, supervisor.code).outerjoin(supervisor, Agency.supervisor_id == supervisor.id)
    )
    return {code: RegisteredAgency(code, supervisor_code) for code, supervisor_code in rows}


def import_agencies(filename: str, data: bytes, *, update_existing: bool, actor: User | None = None) -> ImportReport:
    """Check the whole sheet; if every row is good, write it in one transaction, else nothing."""
    try:
        sheet = read_sheet(filename, data)
    except SheetError as error:
        return ImportReport(error=error.message)
    report = ImportReport(file_format=sheet.file_format, encoding=sheet.encoding, rows=len(sheet.rows))
    if not sheet.rows:
        report.error = _("The sheet has a header row but no agencies below it.")
        return report
    checked = check_rows(sheet.header, sheet.rows, registered_agencies(), update_existing=update_existing,
                         header_row=sheet.header_row)
    report.problems, report.ignored_columns = checked.problems, checked.ignored_columns
    if not checked.ok:
        return report
    try:
        with db.session.no_autoflush:  # flush once, when all rows are in place
            before, after = _write(checked.records, report)
        record("agencies_imported", object_type="agency", actor=actor, before=before or None, after={
            "file": filename[-200:], "format": sheet.file_format, "encoding": sheet.encoding,
            "mode": "update_existing" if update_existing else "add_only", "rows": report.rows,
            "created_count": len(report.created), "updated_count": len(report.updated),
            "unchanged_count": len(report.unchanged), "created": report.created, "updated": after,
        })
        db.session.commit()
    except IntegrityError:  # the register changed under us (the same code added meanwhile)
        db.session.rollback()
        return ImportReport(error=_("The register changed while the file was being imported, so nothing was "
                                    "imported. Please try again."), rows=report.rows)
    return report


def _write(records: list[AgencyRecord], report: ImportReport) -> tuple[dict, dict]:
    """Insert and update the checked records; return the changed fields' old and new values by code."""
    by_code = {agency.code: agency for agency in db.session.scalars(select(Agency))}
    old_views = {r.code: agency_view(by_code[r.code]) for r in records if r.code in by_code}
    for rec in records:
        agency = by_code.get(rec.code)
        if agency is None:
            agency = by_code[rec.code] = Agency(code=rec.code)
            db.session.add(agency)
        agency.name, agency.level, agency.county, agency.geography = rec.name, rec.level, rec.county, rec.geography
        for name in ("head_name", "address", "phone"):
            if name in rec.columns or rec.code not in old_views:
                setattr(agency, name, getattr(rec, name))
    # Supervisors last: a row may name an agency that appears further down the sheet.
    for rec in records:
        if "supervisor_code" in rec.columns or rec.code not in old_views:
            by_code[rec.code].supervisor = by_code[rec.supervisor_code] if rec.supervisor_code else None
    before, after = {}, {}
    for rec in records:
        if rec.code not in old_views:
            report.created.append(rec.code)
            continue
        old, new = old_views[rec.code], agency_view(by_code[rec.code])
        changed = {name for name in AUDITED_FIELDS if old[name] != new[name]}
        (report.updated if changed else report.unchanged).append(rec.code)
        if changed:
            before[rec.code] = {name: old[name] for name in sorted(changed)}
            after[rec.code] = {name: new[name] for name in sorted(changed)}
    return before, after


# --- the list ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencySearch:
    """The list's search and filters; values that are not valid choices are ignored."""

    text: str = ""
    county: str | None = None
    geography: Geography | None = None
    level: AgencyLevel | None = None

    @classmethod
    def from_args(cls, args) -> AgencySearch:
        county = args.get("county", "")
        return cls(
            text=args.get("q", "").strip()[:100],
            county=county if county in COUNTIES else None,
            geography=_enum_or_none(Geography, args.get("geography", "")),
            level=_enum_or_none(AgencyLevel, args.get("level", "")),
        )

    def to_args(self) -> dict[str, str]:
        """The filters as query arguments, for links that keep them."""
        args = {"q": self.text, "county": self.county or "", "level": self.level.value if self.level else "",
                "geography": self.geography.value if self.geography else ""}
        return {key: value for key, value in args.items() if value}

    def clauses(self, *, geography: bool = True) -> list:
        clauses = []
        if self.text:
            clauses.append(Agency.name.icontains(self.text, autoescape=True)
                           | Agency.code.icontains(self.text, autoescape=True))
        if self.county:
            clauses.append(Agency.county == self.county)
        if self.level:
            clauses.append(Agency.level == self.level)
        if geography and self.geography:
            clauses.append(Agency.geography == self.geography)
        return clauses


def _enum_or_none(enum, value: str):
    try:
        return enum(value)
    except ValueError:
        return None


def search_statement(search: AgencySearch):
    return (select(Agency).where(*search.clauses()).options(joinedload(Agency.supervisor))
            .order_by(Agency.code, Agency.id))


def geography_counts(search: AgencySearch) -> dict[Geography, int]:
    """Agencies per geography class under the other filters, so each count links to its list."""
    statement = (select(Agency.geography, func.count(Agency.id))
                 .where(*search.clauses(geography=False)).group_by(Agency.geography))
    counts = dict.fromkeys(Geography, 0)
    counts.update({geography: count for geography, count in db.session.execute(statement)})
    return counts
