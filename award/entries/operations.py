"""An agency's entry (參獎案) from first draft to frozen version, and the organiser's side of it:
screening, deadline extensions and participation figures. Views and the CLI call these; each
operation checks everything first, then writes, records the audit event and commits.

Concurrency: every change of an entry's content or status first claims the entry with one guarded
``UPDATE … SET draft_version = draft_version + 1 WHERE draft_version = <the version the user saw>``.
Of two saves based on the same version exactly one wins; the other is refused with both texts,
on SQLite and PostgreSQL alike, so nothing is overwritten silently.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..audit import canonical_json, record
from ..extensions import db
from ..i18n import to_taipei
from ..mail import send_mail
from ..models import (COUNTIES, Agency, AuditEvent, Category, DeadlineExtension, Edition, EditionStatus, Entry, EntrySection,
                      EntryStatus, EntryVersion, Geography, Screening, StageEntry, User, utcnow)
from .rules import EntryError, deadline_for, ensure_editable, ensure_open, submissions_open

# The summary has no organiser-set limit; this keeps it a summary.
SUMMARY_CHAR_LIMIT = 1000
REASON_MAX = 2000
CONTENT_FORMAT = 1  # bump if the frozen JSON's layout ever changes
# Single-line fields of the form and their column lengths.
LINE_FIELDS = {"title": 200, "head_name": 100, "contact_name": 100, "contact_title": 100, "contact_phone": 40,
               "contact_email": 254}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


STATUS_LABELS = {
    EntryStatus.DRAFT: _l("Draft"),
    EntryStatus.SUBMITTED: _l("Submitted"),
    EntryStatus.WITHDRAWN: _l("Withdrawn (may be submitted again)"),
}
SCREENING_LABELS = {
    Screening.PENDING: _l("Not yet screened"),
    Screening.ELIGIBLE: _l("Eligible"),
    Screening.INELIGIBLE: _l("Ineligible"),
    Screening.RETURNED: _l("Returned for correction"),
}


# --- errors --------------------------------------------------------------------------------------

class InvalidInput(EntryError):
    """Input refused field by field: ``fields`` maps a form field's name to its messages."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(_("Nothing was saved. Please correct the marked fields; your text is still here."))
        self.fields = fields


class DraftConflict(EntryError):
    """The entry was saved by someone else (another tab or contact) since the user loaded it."""

    def __init__(self, entry: Entry):
        super().__init__(_("This entry was saved elsewhere (another tab or another contact of your agency) after "
                           "you opened it. Nothing was overwritten. Compare your text with the saved text below "
                           "and choose what to keep, then save again."))
        self.draft_version = entry.draft_version
        self.current = content_fields(entry)


@dataclass(frozen=True)
class Missing:
    """One thing a submission still lacks; ``anchor`` is the id of the field on the edit page."""

    anchor: str
    label: str


class Incomplete(EntryError):
    def __init__(self, missing: list[Missing]):
        super().__init__(_("The entry cannot be submitted yet. Still missing:"))
        self.missing = missing


# --- text ----------------------------------------------------------------------------------------

def normalise_text(value: str | None) -> str:
    """Newlines as the browser counts them: "\r\n" and "\r" become one "\n"."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


def char_count(value: str | None) -> int:
    return len(normalise_text(value))


def section_name(criterion_id: int) -> str:
    return f"section_{criterion_id}"


# --- reading an entry ----------------------------------------------------------------------------

def sections_by_criterion(entry: Entry) -> dict[int, EntrySection]:
    return {s.criterion_id: s for s in entry.sections}


def content_fields(entry: Entry) -> dict[str, str | bool]:
    """The entry's editable content by form field name (what a conflict shows as "saved")."""
    texts = sections_by_criterion(entry)
    values: dict[str, str | bool] = {name: getattr(entry, name) or "" for name in LINE_FIELDS}
    values["summary"] = entry.summary or ""
    for criterion in entry.category.criteria:
        section = texts.get(criterion.id)
        values[section_name(criterion.id)] = section.text if section else ""
    values["head_declaration"] = bool(entry.head_declaration)
    return values


def entries_of_agency(agency_id: int) -> list[Entry]:
    return list(db.session.scalars(
        select(Entry).join(Entry.category).join(Category.edition).where(Entry.agency_id == agency_id)
        .order_by(Edition.number.desc(), Category.position, Category.id)
    ))


def open_editions() -> list[Edition]:
    return list(db.session.scalars(
        select(Edition).where(Edition.status == EditionStatus.OPEN).order_by(Edition.number.desc())
    ))


# --- starting and saving a draft -----------------------------------------------------------------

def start_entry(category: Category, user: User) -> tuple[Entry, bool]:
    """The agency's entry in this category, created as a prefilled draft if there is none yet.
    Returns (entry, created)."""
    if not user.is_agency or user.agency is None:
        raise EntryError(_("Only an agency contact can start an entry."))
    existing = _entry_of(category.id, user.agency_id)
    if existing is not None:
        return existing, False
    ensure_open(category.edition, user.agency_id)
    entry = Entry(category=category, agency=user.agency, title="", summary="",
                  head_name=(user.agency.head_name or "")[:100], contact_name=user.name[:100],
                  contact_email=user.email, contact_phone="", contact_title="",
                  status=EntryStatus.DRAFT, draft_version=1)
    entry.sections = [EntrySection(criterion_id=c.id, text="") for c in category.criteria]
    db.session.add(entry)
    try:
        record("entry_created", entry, after={"agency": user.agency.code, "category_id": category.id,
                                              "edition": category.edition.number}, actor=user)
        db.session.commit()
    except IntegrityError:  # another contact of the agency started it at the same moment
        db.session.rollback()
        return _entry_of(category.id, user.agency_id), False
    return entry, True


def _entry_of(category_id: int, agency_id: int) -> Entry | None:
    return db.session.scalar(select(Entry).where(Entry.category_id == category_id, Entry.agency_id == agency_id))


@dataclass
class DraftData:
    """What the form sent. ``None`` (or a missing section) means "not sent": left as it is."""

    base_version: int | None
    title: str | None = None
    summary: str | None = None
    head_name: str | None = None
    contact_name: str | None = None
    contact_title: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    head_declaration: bool | None = None
    sections: dict[int, str] = field(default_factory=dict)

    def values(self) -> dict[str, str | bool]:
        """The sent values by form field name."""
        sent: dict[str, str | bool] = {}
        for name in (*LINE_FIELDS, "summary", "head_declaration"):
            value = getattr(self, name)
            if value is not None:
                sent[name] = value
        sent.update({section_name(cid): text for cid, text in self.sections.items()})
        return sent


def validate_draft(entry: Entry, data: DraftData) -> dict[str, list[str]]:
    """Problems by field name. A draft may be incomplete; it may not be too long or malformed."""
    problems: dict[str, list[str]] = {}
    for name, limit in LINE_FIELDS.items():
        value = getattr(data, name)
        if value is not None and len(value) > limit:
            problems[name] = [_("At most %(limit)d characters (now %(count)d).", limit=limit, count=len(value))]
    if data.contact_email and "contact_email" not in problems and not _EMAIL.match(data.contact_email):
        problems.setdefault("contact_email", []).append(_("This does not look like an e-mail address."))
    _check_limit(problems, "summary", data.summary, SUMMARY_CHAR_LIMIT)
    criteria = {c.id: c for c in entry.category.criteria}
    for criterion_id, text in data.sections.items():
        criterion = criteria.get(criterion_id)
        if criterion is None:
            problems[section_name(criterion_id)] = [_("This section is not part of the category any more.")]
        else:
            _check_limit(problems, section_name(criterion_id), text, criterion.section_char_limit)
    return problems


def _check_limit(problems: dict[str, list[str]], name: str, text: str | None, limit: int) -> None:
    if text is not None and char_count(text) > limit:
        problems[name] = [_("This text has %(count)d characters; the limit is %(limit)d. Please shorten it by "
                            "%(over)d characters.", count=char_count(text), limit=limit,
                            over=char_count(text) - limit)]


def save_draft(entry: Entry, data: DraftData, user: User) -> bool:
    """Save the sent fields of a draft. Returns False when nothing had changed (nothing written).

    Raises EntryError (closed, submitted), InvalidInput or DraftConflict; the database is then unchanged.
    """
    ensure_editable(entry)
    if data.base_version is None or data.base_version != entry.draft_version:
        raise DraftConflict(entry)  # a form without its version is treated as stale: show both texts
    problems = validate_draft(entry, data)
    if problems:
        raise InvalidInput(problems)
    before = content_fields(entry)
    changed = {name: value for name, value in data.values().items() if before.get(name) != value}
    if not changed:
        return False
    _claim(entry, data.base_version, EntryStatus.DRAFT, EntryStatus.WITHDRAWN)
    _apply(entry, data)
    entry.updated_at = utcnow()
    record("entry_draft_saved", entry, before={name: _audit_value(before.get(name)) for name in changed},
           after={**{name: _audit_value(value) for name, value in changed.items()},
                  "draft_version": entry.draft_version}, actor=user)
    db.session.commit()
    return True


def _audit_value(value: str | bool | None) -> str | bool | dict | None:
    """Short fields as they are; long texts by length and SHA-256. Autosave runs often, and the full
    texts are frozen on every submission, so the trail proves each change without copying it each time."""
    if isinstance(value, str) and len(value) > 200:
        return {"chars": len(value), "sha256": hashlib.sha256(value.encode("utf-8")).hexdigest()}
    return value


def _apply(entry: Entry, data: DraftData) -> None:
    for name in (*LINE_FIELDS, "summary", "head_declaration"):
        value = getattr(data, name)
        if value is not None:
            setattr(entry, name, value)
    texts = sections_by_criterion(entry)
    for criterion_id, text in data.sections.items():
        if criterion_id in texts:
            texts[criterion_id].text = text
        else:  # a criterion added to the category after the draft was started
            entry.sections.append(EntrySection(criterion_id=criterion_id, text=text))


def _claim(entry: Entry, expected_version: int | None, *statuses: EntryStatus) -> None:
    """Bump the entry's version if it still is ``expected_version`` in one of ``statuses``.

    Otherwise someone else changed the entry first: roll back and refuse. The guarded UPDATE makes
    this hold between concurrent requests too (PostgreSQL re-checks the condition after the lock)."""
    result = db.session.execute(
        update(Entry).where(Entry.id == entry.id, Entry.draft_version == expected_version,
                            Entry.status.in_(statuses))
        .values(draft_version=Entry.draft_version + 1).execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        db.session.expire(entry, ["draft_version"])
        entry.draft_version  # noqa: B018  (load the new number now, before the ORM writes the rest)
        return
    db.session.rollback()
    if EntryStatus.SUBMITTED in statuses:  # withdrawal or screening: no text of the user's at stake
        raise EntryError(_("This entry was changed by someone else a moment ago. Please reload the page and "
                           "try again."))
    ensure_editable(entry)  # submitted or closed meanwhile: say so
    raise DraftConflict(entry)


def last_change(entry: Entry) -> AuditEvent | None:
    """The latest recorded change of the entry (who saved it and when, shown on a conflict)."""
    return db.session.scalar(
        select(AuditEvent).where(AuditEvent.object_type == Entry.__tablename__,
                                 AuditEvent.object_id == str(entry.id)).order_by(AuditEvent.seq.desc()).limit(1)
    )


# --- completeness and submission -----------------------------------------------------------------

def missing_items(entry: Entry) -> list[Missing]:
    """Exactly what a submission still lacks, in the order of the form."""
    missing: list[Missing] = []

    def need(ok: bool, anchor: str, label: str) -> None:
        if not ok:
            missing.append(Missing(anchor, label))

    need(bool(entry.head_name.strip()), "head_name", _("the name of the head of agency"))
    need(bool(entry.contact_name.strip()), "contact_name", _("the contact person's name"))
    need(bool(entry.contact_phone.strip()), "contact_phone", _("the contact person's telephone"))
    need(bool(_EMAIL.match(entry.contact_email.strip())), "contact_email",
         _("the contact person's e-mail address"))
    need(bool(entry.title.strip()), "title", _("the title of the entry"))
    need(bool(entry.summary.strip()), "summary", _("the summary"))
    texts = sections_by_criterion(entry)
    for criterion in entry.category.criteria:
        section = texts.get(criterion.id)
        need(section is not None and bool(section.text.strip()), section_name(criterion.id),
             _("the section \"%(name)s\"", name=criterion.name))
    need(bool(entry.active_attachments), "attachments", _("at least one attachment (supporting document)"))
    need(entry.head_declaration, "head_declaration", _("the declaration of the head of agency"))
    return missing


def receipt_number(entry: Entry, number: int) -> str:
    return f"TCA-{entry.category.edition.number}-{entry.id}-v{number}"


def entry_content(entry: Entry, number: int, receipt_no: str, submitted_at: datetime) -> dict:
    """What is frozen on submission: the whole entry and each active attachment's hash."""
    texts = sections_by_criterion(entry)
    agency, category = entry.agency, entry.category
    return {
        "format": CONTENT_FORMAT,
        "receipt_no": receipt_no,
        "version": number,
        "submitted_at": submitted_at.isoformat(),
        "entry_id": entry.id,
        "edition": {"number": category.edition.number, "name": category.edition.name},
        "category": {"id": category.id, "name": category.name},
        "agency": {"code": agency.code, "name": agency.name, "county": agency.county},
        "title": entry.title,
        "summary": entry.summary,
        "head": {"name": entry.head_name, "declaration": bool(entry.head_declaration)},
        "contact": {"name": entry.contact_name, "title": entry.contact_title, "phone": entry.contact_phone,
                    "email": entry.contact_email},
        "sections": [{"criterion_id": c.id, "criterion": c.name,
                      "text": texts[c.id].text if c.id in texts else ""} for c in category.criteria],
        "attachments": [{"id": a.id, "name": a.original_name, "size": a.size, "kind": a.kind, "sha256": a.sha256}
                        for a in entry.active_attachments],
    }


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def submit_entry(entry: Entry, user: User, expected_version: int | None = None,
                 receipt_link: Callable[[EntryVersion], str] | None = None) -> EntryVersion:
    """Freeze the entry as a new version and send the receipt.

    ``expected_version`` is the draft version the user was looking at: if the entry changed since,
    the submission is refused so that nobody submits a text they have not seen.
    """
    ensure_editable(entry)
    if expected_version is not None and expected_version != entry.draft_version:
        raise DraftConflict(entry)
    missing = missing_items(entry)
    if missing:
        raise Incomplete(missing)
    base = entry.draft_version
    number = max((v.number for v in entry.versions), default=0) + 1
    now = utcnow()
    receipt_no = receipt_number(entry, number)
    content = canonical_json(entry_content(entry, number, receipt_no, now))
    _claim(entry, base, EntryStatus.DRAFT, EntryStatus.WITHDRAWN)
    version = EntryVersion(number=number, receipt_no=receipt_no, content=content, sha256=content_hash(content),
                           submitted_at=now, submitted_by_id=user.id)
    entry.versions.append(version)
    before = {"status": entry.status, "screening": entry.screening}
    entry.status, entry.submitted_at, entry.updated_at = EntryStatus.SUBMITTED, now, now
    entry.screening, entry.screening_reason, entry.screened_at = Screening.PENDING, "", None  # screened afresh
    record("entry_submitted", entry, before=before,
           after={"status": entry.status, "version": number, "receipt_no": receipt_no, "sha256": version.sha256,
                  "attachments": len(entry.active_attachments)}, actor=user)
    _mail_receipt(entry, version, user, receipt_link(version) if receipt_link else None)
    db.session.commit()
    return version


def format_taipei(value: datetime) -> str:
    return to_taipei(value).strftime("%Y-%m-%d %H:%M:%S") + " (Asia/Taipei, UTC+8)"


def _recipients(entry: Entry, user: User | None = None) -> list[str]:
    found: list[str] = []
    for address in (entry.contact_email, user.email if user else None):
        if address and address.strip().lower() not in {a.lower() for a in found}:
            found.append(address.strip())
    return found


def _mail_receipt(entry: Entry, version: EntryVersion, user: User, link: str | None) -> None:
    subject = _("Receipt %(receipt)s: your entry to the Transparency Crystal Award", receipt=version.receipt_no)
    body = "\n".join([
        _("Your agency's entry has been received."),
        "",
        _("Agency: %(name)s", name=entry.agency.name),
        _("Edition: %(name)s", name=entry.category.edition.name),
        _("Category: %(name)s", name=entry.category.name),
        _("Title: %(title)s", title=entry.title),
        _("Receipt number: %(receipt)s", receipt=version.receipt_no),
        _("Submitted at: %(time)s", time=format_taipei(version.submitted_at)),
        _("SHA-256 of the submitted content: %(hash)s", hash=version.sha256),
        "",
        *([_("Receipt: %(link)s", link=link)] if link else []),
        _("Keep this message. The hash proves exactly what was submitted."),
    ])
    for address in _recipients(entry, user):
        send_mail(address, subject, body)


# --- withdrawal ----------------------------------------------------------------------------------

def in_judging(entry: Entry) -> bool:
    """Whether the entry is in a judging stage: judges score the submitted version, which must then
    stay as it is (an extension or a correction deadline does not reopen it)."""
    return db.session.scalar(select(StageEntry.id).where(StageEntry.entry_id == entry.id).limit(1)) is not None


def withdraw_entry(entry: Entry, user: User) -> EntryVersion:
    """Withdraw the submitted version before the deadline; the entry becomes editable again.
    The version itself is kept unchanged apart from the time it was withdrawn."""
    ensure_open(entry.category.edition, entry.agency_id)
    version = entry.latest_version
    if entry.status is not EntryStatus.SUBMITTED or version is None:
        raise EntryError(_("Only a submitted entry can be withdrawn."))
    _claim(entry, entry.draft_version, EntryStatus.SUBMITTED)  # row-locks the entry: a stage filling waits
    if in_judging(entry):
        db.session.rollback()
        raise EntryError(_("This entry is already being judged, so it can no longer be withdrawn or changed. "
                           "Please contact the organiser."))
    now = utcnow()
    version.withdrawn_at = now
    entry.status, entry.updated_at = EntryStatus.WITHDRAWN, now
    record("entry_withdrawn", entry, before={"status": EntryStatus.SUBMITTED},
           after={"status": entry.status, "version": version.number, "receipt_no": version.receipt_no},
           actor=user)
    subject = _("Entry withdrawn: %(title)s", title=entry.title)
    body = _("Version %(number)d (receipt %(receipt)s) of your agency's entry \"%(title)s\" was withdrawn at "
             "%(time)s by %(name)s. It is kept on record. Please submit the entry again before the deadline.",
             number=version.number, receipt=version.receipt_no, title=entry.title, time=format_taipei(now),
             name=user.name)
    for address in _recipients(entry, user):
        send_mail(address, subject, body)
    db.session.commit()
    return version


# --- screening -----------------------------------------------------------------------------------

SCREENING_DECISIONS = (Screening.ELIGIBLE, Screening.INELIGIBLE, Screening.RETURNED)


def screen_entry(entry: Entry, decision: Screening, reason: str, actor: User,
                 correct_until: datetime | None = None) -> None:
    """Record the organiser's eligibility decision. A returned entry goes back to the agency to be
    corrected and submitted again; ``correct_until`` grants that agency a deadline to do it."""
    reason = (reason or "").strip()
    problems: dict[str, list[str]] = {}
    if decision not in SCREENING_DECISIONS:
        problems["decision"] = [_("Choose a decision.")]
    if decision in (Screening.INELIGIBLE, Screening.RETURNED) and not reason:
        problems["reason"] = [_("Give the reason: the agency will see it.")]
    if len(reason) > REASON_MAX:
        problems["reason"] = [_("At most %(limit)d characters (now %(count)d).", limit=REASON_MAX, count=len(reason))]
    if correct_until is not None:
        if decision is not Screening.RETURNED:
            problems["correct_until"] = [_("A correction deadline applies only to an entry returned for correction.")]
        elif correct_until <= utcnow():
            problems["correct_until"] = [_("The correction deadline must be in the future.")]
    if entry.status is not EntryStatus.SUBMITTED:
        raise EntryError(_("Only a submitted entry can be screened."))
    if decision is Screening.RETURNED and entry.category.edition.status is not EditionStatus.OPEN:
        raise EntryError(_("Entries can be returned for correction only while the edition is open for entries; "
                           "the agency could not change or submit it now."))
    if (decision is Screening.RETURNED and correct_until is None and "correct_until" not in problems
            and not submissions_open(entry.category.edition, entry.agency_id)):
        problems["correct_until"] = [_("Submissions are closed for this agency: give a correction deadline, or "
                                       "the agency cannot submit the entry again.")]
    if problems:
        raise InvalidInput(problems)
    before = {"screening": entry.screening, "reason": entry.screening_reason, "status": entry.status}
    _claim(entry, entry.draft_version, EntryStatus.SUBMITTED)  # row-locks the entry: a stage filling waits
    if decision is Screening.RETURNED and in_judging(entry):
        db.session.rollback()
        raise EntryError(_("This entry is already in a judging stage: the judges score the version submitted, "
                           "so it cannot be returned for correction."))
    now = utcnow()
    entry.screening, entry.screening_reason, entry.screened_at = decision, reason, now
    if decision is Screening.RETURNED:
        entry.status = EntryStatus.WITHDRAWN  # editable again, like a withdrawal
        entry.latest_version.withdrawn_at = now
    record("entry_screened", entry, before=before,
           after={"screening": decision, "reason": reason, "status": entry.status,
                  "version": entry.latest_version.number}, actor=actor)
    if correct_until is not None:
        _extend(entry.category.edition, entry.agency, correct_until,
                _("Returned for correction: %(reason)s", reason=reason)[:REASON_MAX], actor)
    _mail_screening(entry)
    db.session.commit()


def _mail_screening(entry: Entry) -> None:
    subject = _("Screening of your entry: %(title)s", title=entry.title)
    lines = [_("The organiser has screened your agency's entry \"%(title)s\" (%(category)s).", title=entry.title,
               category=entry.category.name),
             _("Decision: %(decision)s", decision=str(SCREENING_LABELS[entry.screening]))]
    if entry.screening_reason:
        lines.append(_("Reason: %(reason)s", reason=entry.screening_reason))
    if entry.screening is Screening.RETURNED:
        lines.append(_("Please correct the entry and submit it again."))
        deadline = deadline_for(entry.category.edition, entry.agency_id)  # includes a correction deadline
        if deadline is not None:
            lines.append(_("Your deadline: %(time)s", time=format_taipei(deadline)))
    for address in _recipients(entry):
        send_mail(address, subject, "\n".join(lines))


# --- deadline extensions -------------------------------------------------------------------------

def grant_extension(edition: Edition, agency: Agency, until: datetime, reason: str,
                    actor: User) -> DeadlineExtension:
    """Let one agency submit until ``until`` (a typhoon stopped the ferries)."""
    reason = (reason or "").strip()
    problems: dict[str, list[str]] = {}
    if not reason:
        problems["reason"] = [_("Give the reason for the extension.")]
    elif len(reason) > REASON_MAX:
        problems["reason"] = [_("At most %(limit)d characters (now %(count)d).", limit=REASON_MAX, count=len(reason))]
    if until.tzinfo is None:
        raise ValueError("naive datetime")
    if until <= utcnow():
        problems["until"] = [_("The new deadline must be in the future.")]
    elif edition.submission_deadline and until <= edition.submission_deadline:
        problems["until"] = [_("The new deadline must be later than the edition's deadline (%(time)s).",
                               time=format_taipei(edition.submission_deadline))]
    if edition.status not in (EditionStatus.DRAFT, EditionStatus.OPEN):
        problems["edition_id"] = [_("This edition no longer takes entries; an extension would have no effect.")]
    if problems:
        raise InvalidInput(problems)
    extension = _extend(edition, agency, until, reason, actor)
    db.session.commit()
    return extension


def _extend(edition: Edition, agency: Agency, until: datetime, reason: str, actor: User) -> DeadlineExtension:
    extension = DeadlineExtension(edition_id=edition.id, agency_id=agency.id, until=until, reason=reason,
                                  granted_by_id=actor.id, granted_at=utcnow())
    db.session.add(extension)
    record("deadline_extended", extension,
           after={"edition": edition.number, "agency": agency.code, "until": until, "reason": reason}, actor=actor)
    subject = _("Deadline extended for %(agency)s", agency=agency.name)
    body = _("The organiser has extended your agency's submission deadline for %(edition)s until %(time)s.\n"
             "Reason: %(reason)s", edition=edition.name, time=format_taipei(until), reason=reason)
    for contact in sorted(agency.contacts, key=lambda u: u.id):
        if contact.active:
            send_mail(contact.email, subject, body)
    return extension


def extensions_list() -> list[DeadlineExtension]:
    return list(db.session.scalars(
        select(DeadlineExtension).order_by(DeadlineExtension.granted_at.desc(), DeadlineExtension.id.desc())
    ))


# --- the organiser's lists -----------------------------------------------------------------------

@dataclass
class EntryFilter:
    edition_id: int | None = None
    category_id: int | None = None
    status: EntryStatus | None = None
    screening: Screening | None = None
    county: str | None = None
    geography: Geography | None = None


def find_entries(f: EntryFilter) -> list[Entry]:
    query = (select(Entry).join(Entry.category).join(Category.edition).join(Entry.agency)
             .order_by(Edition.number.desc(), Category.position, Category.id, Agency.code, Entry.id))
    conditions = [
        (f.edition_id, Category.edition_id == f.edition_id),
        (f.category_id, Entry.category_id == f.category_id),
        (f.status, Entry.status == f.status),
        (f.screening, Entry.screening == f.screening),
        (f.county, Agency.county == f.county),
        (f.geography, Agency.geography == f.geography),
    ]
    for value, condition in conditions:
        if value is not None:
            query = query.where(condition)
    return list(db.session.scalars(query))


@dataclass
class ParticipationRow:
    label: str
    agencies: int = 0  # in the register
    participating: int = 0  # agencies with a submitted entry
    submitted: int = 0  # entries
    unsubmitted: int = 0  # drafts and withdrawn entries

    @property
    def rate(self) -> float | None:
        return self.participating / self.agencies if self.agencies else None


def participation(edition: Edition) -> tuple[list[ParticipationRow], dict[Geography, ParticipationRow]]:
    """Entries and participating agencies by county (all 22, zeros shown) and by geography class."""
    counties = {name: ParticipationRow(name) for name in COUNTIES}
    geography = {g: ParticipationRow(g.value) for g in Geography}
    for county, geo, total in db.session.execute(
            select(Agency.county, Agency.geography, func.count(Agency.id)).group_by(Agency.county, Agency.geography)):
        counties.setdefault(county, ParticipationRow(county)).agencies += total
        geography[geo].agencies += total
    rows = db.session.execute(
        select(Agency.id, Agency.county, Agency.geography, Entry.status)
        .join(Entry, Entry.agency_id == Agency.id).join(Category, Entry.category_id == Category.id)
        .where(Category.edition_id == edition.id).order_by(Entry.id)
    )
    participating: set[int] = set()
    for agency_id, county, geo, status in rows:
        targets = (counties.setdefault(county, ParticipationRow(county)), geography[geo])
        submitted = status is EntryStatus.SUBMITTED
        for row in targets:
            if submitted:
                row.submitted += 1
            else:
                row.unsubmitted += 1
        if submitted and agency_id not in participating:
            participating.add(agency_id)
            for row in targets:
                row.participating += 1
    return list(counties.values()), geography
