"""Personal data requests (個人資料保護法 §3, §10, §11) and the retention run.

An organiser finds a person by e-mail address or name across accounts, invitations, the outbox,
the agency register and the entries' contact fields; shows and exports everything held; corrects
a field; erases a record's personal data. Every step is recorded in the audit trail with the
request's reference. The audit trail itself is never changed (it is append-only, see
docs/security.md "Personal data"); values put into it here are SHA-256 digests, never the data.

An account that anything refers to (score sheets, ties, assignments, the audit trail…) cannot
vanish without breaking the record: it is anonymised instead, keeping its id as a pseudonym, so
its marks stay attributable to "person #id" and the results stay verifiable.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..audit import record
from ..extensions import db
from ..models import (AccountToken, Agency, Assignment, AuditEvent, Category, Edition, EditionStatus, Entry,
                      OutgoingMail, PasswordHistory, ResultSnapshot, Role, ScoreSheet, Stage, Tie, User, utcnow)

ANONYMISED_DOMAIN = "anonymised.invalid"  # RFC 2606: can never be a real address
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

# The personal fields of each kind of record an organiser may correct or erase, with their lengths.
FIELDS: dict[str, dict[str, int]] = {
    "user": {"name": 100, "email": 254},
    "entry": {"head_name": 100, "contact_name": 100, "contact_title": 100, "contact_phone": 40,
              "contact_email": 254},
    "agency": {"head_name": 100},
    "account_token": {"name": 100, "email": 254},
    "outgoing_mail": {"recipient": 254},
}
MODELS = {"user": User, "entry": Entry, "agency": Agency, "account_token": AccountToken,
          "outgoing_mail": OutgoingMail}
CONTACT_FIELDS = ("contact_name", "contact_title", "contact_phone", "contact_email")
# Entry fields in the JSON of a submitted version (EntryVersion.content).
_VERSION_KEYS = {"contact_name": ("contact", "name"), "contact_title": ("contact", "title"),
                 "contact_phone": ("contact", "phone"), "contact_email": ("contact", "email"),
                 "head_name": ("head", "name")}


class PrivacyError(Exception):
    """A refusal to show the organiser, already in their language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def digest(value: object) -> str:
    """What the audit trail keeps of a personal value: its SHA-256, never the value itself."""
    return hashlib.sha256(str(value or "").encode("utf-8")).hexdigest()


def is_anonymised(user: User) -> bool:
    return user.email.endswith("@" + ANONYMISED_DOMAIN)


def pseudonym(user_id: int) -> str:
    return f"person-{user_id}"


def _clean_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference:
        raise PrivacyError(_("Give the request's reference (e.g. the letter or case number)."))
    if len(reference) > 200:
        raise PrivacyError(_("The reference may have at most %(n)d characters.", n=200))
    return reference


# --- finding a person ---------------------------------------------------------------------------

@dataclass
class Match:
    """One record holding the person's data, and which of its personal fields matched."""

    kind: str
    obj: object
    fields: list[str]


@dataclass
class Holdings:
    query: str
    matches: list[Match] = field(default_factory=list)

    def of(self, kind: str) -> list[Match]:
        return [m for m in self.matches if m.kind == kind]


def _matching(kind: str, query: str) -> list[Match]:
    model = MODELS[kind]
    is_email = "@" in query
    wanted = [f for f in FIELDS[kind] if ("email" in f or f == "recipient") == is_email]
    if not wanted:
        return []
    columns = [getattr(model, f) for f in wanted]
    rows = db.session.scalars(
        select(model).where(or_(*[func.lower(func.trim(c)) == query.lower() for c in columns])).order_by(model.id)
    ).all()
    return [Match(kind, row, [f for f in wanted if (getattr(row, f) or "").strip().lower() == query.lower()])
            for row in rows]


def find_person(query: str, reference: str, actor: User) -> Holdings:
    """Every record whose personal fields equal ``query`` (an e-mail address or a name, ignoring case)."""
    query = " ".join((query or "").split())
    if len(query) < 2:
        raise PrivacyError(_("Enter an e-mail address or a full name (at least 2 characters)."))
    if len(query) > 254:
        raise PrivacyError(_("The search may have at most %(n)d characters.", n=254))
    reference = _clean_reference(reference)
    holdings = Holdings(query)
    for kind in FIELDS:
        holdings.matches.extend(_matching(kind, query))
    record("personal_data_searched", object_type="personal_data", actor=actor,
           after={"reference": reference, "query_sha256": digest(query.lower()), "found": len(holdings.matches),
                  # whose records the page then shows (施行細則 §12), by kind and id, never a value
                  "records": [f"{m.kind}:{getattr(m.obj, 'id', None)}" for m in holdings.matches]})
    db.session.commit()
    return holdings


# --- showing and exporting ----------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _user_data(user: User) -> dict:
    sheets = db.session.scalars(select(ScoreSheet).where(ScoreSheet.judge_id == user.id).order_by(ScoreSheet.id))
    ties = db.session.scalars(select(Tie).where(Tie.judge_id == user.id).order_by(Tie.id))
    assignments = db.session.scalars(select(Assignment).where(Assignment.judge_id == user.id).order_by(Assignment.id))
    events = db.session.execute(select(AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.action,
                                       AuditEvent.object_type, AuditEvent.object_id)
                                .where(AuditEvent.actor_id == user.id).order_by(AuditEvent.seq))
    return {
        "id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
        "agency": user.agency.code if user.agency else None, "active": user.active, "locale": user.locale,
        "created_at": _iso(user.created_at), "last_login_at": _iso(user.last_login_at),
        "anonymised": is_anonymised(user),
        "ties": [{"id": t.id, "agency": t.agency.code, "kind": t.kind.value, "years": t.years,
                  "description": t.description, "created_at": _iso(t.created_at),
                  "retracted_at": _iso(t.retracted_at)} for t in ties],
        "assignments": [{"id": a.id, "stage_id": a.stage_id, "entry_id": a.entry_id, "status": a.status.value,
                         "created_at": _iso(a.created_at)} for a in assignments],
        "score_sheets": [{"id": s.id, "entry_id": s.entry_id, "stage_id": s.stage_id, "status": s.status.value,
                          "comment": s.comment, "submitted_at": _iso(s.submitted_at),
                          "marks": [{"criterion_id": m.criterion_id,
                                     "score": None if m.score is None else str(m.score), "comment": m.comment}
                                    for m in sorted(s.marks, key=lambda m: m.criterion_id)]} for s in sheets],
        "audit_events_as_actor": [{"seq": e.seq, "occurred_at": _iso(e.occurred_at), "action": e.action,
                                   "object_type": e.object_type, "object_id": e.object_id} for e in events],
    }


def _entry_data(entry: Entry) -> dict:
    return {"id": entry.id, "edition": entry.category.edition.number, "category": entry.category.name,
            "agency": entry.agency.code, "title": entry.title,
            **{f: getattr(entry, f) for f in FIELDS["entry"]},
            "submitted_versions": [v.receipt_no for v in entry.versions]}


def _simple(obj, kind: str, *extra: str) -> dict:
    data = {"id": obj.id, **{f: getattr(obj, f) for f in FIELDS[kind]}}
    for name in extra:
        value = getattr(obj, name)
        data[name] = _iso(value) if isinstance(value, datetime) else getattr(value, "value", value)
    return data


def describe(match: Match) -> dict:
    """Everything held in one matched record, as plain JSON-ready values."""
    obj = match.obj
    if match.kind == "user":
        data = _user_data(obj)
    elif match.kind == "entry":
        data = _entry_data(obj)
    elif match.kind == "agency":
        data = {"id": obj.id, "code": obj.code, "name": obj.name, "head_name": obj.head_name, "phone": obj.phone}
    elif match.kind == "account_token":
        # the token itself is a secret (only its hash is stored) and is not part of the person's data
        data = _simple(obj, "account_token", "purpose", "role", "created_at", "expires_at", "used_at")
    else:
        # the body may hold a live password-reset link: the subject says what the message was
        data = _simple(obj, "outgoing_mail", "subject", "created_at", "sent_at")
    return {"kind": match.kind, "matched_fields": match.fields, "data": data,
            "erase_fields": erase_fields(match)}


def erase_fields(match: Match) -> list[str]:
    """The fields an erasure of this match blanks: the person's own (a contact's whole contact block,
    a head of agency's name), not another person's data that happen to sit in the same record."""
    if match.kind == "entry":
        names = list(CONTACT_FIELDS) if set(match.fields) & set(CONTACT_FIELDS) else []
        return names + (["head_name"] if "head_name" in match.fields else [])
    return list(FIELDS[match.kind]) if match.kind == "agency" else []


def export_json(holdings: Holdings, reference: str, actor: User) -> bytes:
    reference = _clean_reference(reference)
    document = {
        "controller": "法務部廉政署 Agency Against Corruption, Ministry of Justice",
        "purpose": "Transparency Crystal Award (透明晶質獎) administration and evaluation",
        "query": holdings.query, "reference": reference, "generated_at": utcnow().isoformat(),
        "records": [describe(m) for m in holdings.matches],
    }
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    record("personal_data_exported", object_type="personal_data", actor=actor,
           after={"reference": reference, "query_sha256": digest(holdings.query.lower()),
                  "records": len(holdings.matches), "sha256": hashlib.sha256(body).hexdigest()})
    db.session.commit()
    return body


# --- correcting ---------------------------------------------------------------------------------

def _load(kind: str, object_id: int):
    if kind not in MODELS:
        raise PrivacyError(_("Unknown kind of record."))
    obj = db.session.get(MODELS[kind], object_id)
    if obj is None:
        raise PrivacyError(_("That record no longer exists."))
    return obj


def correct(kind: str, object_id: int, field_name: str, value: str, reference: str, actor: User) -> None:
    """Set one personal field to the corrected value (§11 para 1: the person's data must be accurate)."""
    reference = _clean_reference(reference)
    obj = _load(kind, object_id)
    if field_name not in FIELDS[kind]:
        raise PrivacyError(_("This field cannot be corrected here."))
    value = " ".join((value or "").split())
    limit = FIELDS[kind][field_name]
    if len(value) > limit:
        raise PrivacyError(_("At most %(n)d characters.", n=limit))
    is_email = "email" in field_name or field_name == "recipient"
    if is_email and value and not _EMAIL.match(value):
        raise PrivacyError(_("This does not look like an e-mail address."))
    if kind == "user":
        if not value:
            raise PrivacyError(_("An account needs a name and an e-mail address; erase it instead."))
        if field_name == "email":
            value = value.lower()
            clash = db.session.scalar(select(User.id).where(func.lower(User.email) == value, User.id != obj.id))
            if clash is not None:
                raise PrivacyError(_("Another account already uses this e-mail address."))
    before = getattr(obj, field_name) or ""
    if before == value:
        raise PrivacyError(_("The field already holds this value."))
    setattr(obj, field_name, value if (value or kind != "agency") else None)
    if kind == "entry":
        obj.draft_version += 1  # an open form must not save the old value back over the correction
    record("personal_data_corrected", obj, actor=actor,
           before={"field": field_name, "sha256": digest(before)},
           after={"field": field_name, "sha256": digest(value), "reference": reference})
    db.session.commit()


# --- erasing ------------------------------------------------------------------------------------

def _references(user: User) -> dict[str, int]:
    """Rows anywhere in the schema that point at the account (foreign keys to user.id)."""
    found = {}
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "user" and table.name != "user":
                count = db.session.scalar(select(func.count()).select_from(table).where(fk.parent == user.id))
                if count:
                    found[f"{table.name}.{fk.parent.name}"] = count
    return found


def _redact_versions(entry: Entry, field_names: list[str]) -> int:
    """Blank the named fields in the entry's submitted versions.

    The version's ``sha256`` (printed on the agency's receipt) is kept: it still proves what was
    submitted against the agency's own copy, while the stored copy no longer holds the person's data.
    """
    changed = 0
    for version in entry.versions:
        content = json.loads(version.content)
        touched = False
        for name in field_names:
            group, key = _VERSION_KEYS[name]
            if content.get(group, {}).get(key):
                content[group][key] = ""
                touched = True
        if touched:
            content.setdefault("redacted", sorted(set(content.get("redacted", [])) | set(field_names)))
            content["redacted"] = sorted(set(content["redacted"]) | set(field_names))
            version.content = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            changed += 1
    return changed


def anonymise_user(user: User, reference: str, actor: User | None) -> None:
    """Replace the account's personal data with a pseudonym; keep its id, role, agency and every record."""
    if is_anonymised(user):
        return
    old_email = user.email
    before = {"name_sha256": digest(user.name), "email_sha256": digest(user.email)}
    user.name = pseudonym(user.id)
    user.email = f"{pseudonym(user.id)}@{ANONYMISED_DOMAIN}"
    user.password_hash = None
    user.active = False
    user.locale = None
    user.last_login_at = None
    user.locked_until = None
    user.failed_logins = 0
    user.must_change_password = False
    user.password_changed_at = None
    _delete_password_history(user)
    tokens = db.session.scalars(select(AccountToken).where(or_(AccountToken.user_id == user.id,
                                                               func.lower(AccountToken.email) == old_email.lower())))
    for token in tokens:
        db.session.delete(token)
    for mail in db.session.scalars(select(OutgoingMail).where(func.lower(OutgoingMail.recipient) == old_email.lower())):
        db.session.delete(mail)
    record("personal_data_anonymised", user, actor=actor, before=before,
           after={"pseudonym": user.name, "reference": reference})


def _delete_password_history(user: User) -> None:
    """The hashes of the account's last passwords: sign-in data, not part of any record."""
    for row in db.session.scalars(select(PasswordHistory).where(PasswordHistory.user_id == user.id)):
        db.session.delete(row)


@dataclass(frozen=True)
class Erasure:
    kind: str
    object_id: int
    outcome: str  # "deleted" | "anonymised" | "blanked"
    references: dict[str, int] = field(default_factory=dict)


def erase(kind: str, object_id: int, reference: str, actor: User, field_names: list[str] | None = None) -> Erasure:
    """Erase a record's personal data (§11 para 3), as far as the record allows.

    Accounts are deleted only when nothing refers to them; otherwise anonymised. Entries and agencies
    stay (they are the agency's, not the person's): the named personal fields are blanked, in the
    submitted versions too. Invitations and outbox messages are deleted.
    """
    reference = _clean_reference(reference)
    obj = _load(kind, object_id)
    if kind == "user":
        if obj.id == actor.id:
            raise PrivacyError(_("You cannot erase your own account."))
        tokens = db.session.scalars(select(AccountToken).where(AccountToken.user_id == obj.id))
        history = db.session.scalar(select(func.count()).select_from(PasswordHistory)
                                    .where(PasswordHistory.user_id == obj.id))
        own = {"account_token.user_id": len(list(tokens)), "password_history.user_id": history}
        references = {k: v for k, v in _references(obj).items() if own.get(k) != v}
        if references:
            anonymise_user(obj, reference, actor)
            db.session.commit()
            return Erasure(kind, object_id, "anonymised", references)
        before = {"name_sha256": digest(obj.name), "email_sha256": digest(obj.email), "role": obj.role}
        for token in db.session.scalars(select(AccountToken).where(or_(
                AccountToken.user_id == obj.id, func.lower(AccountToken.email) == obj.email.lower()))):
            db.session.delete(token)
        for mail in db.session.scalars(select(OutgoingMail).where(
                func.lower(OutgoingMail.recipient) == obj.email.lower())):
            db.session.delete(mail)
        _delete_password_history(obj)
        db.session.delete(obj)
        db.session.flush()
        record("personal_data_deleted", object_type="user", object_id=object_id, actor=actor, before=before,
               after={"reference": reference})
        db.session.commit()
        return Erasure(kind, object_id, "deleted")
    if kind in ("account_token", "outgoing_mail"):
        before = {f: digest(getattr(obj, f)) for f in FIELDS[kind]}
        db.session.delete(obj)
        db.session.flush()
        record("personal_data_deleted", object_type=kind, object_id=object_id, actor=actor, before=before,
               after={"reference": reference})
        db.session.commit()
        return Erasure(kind, object_id, "deleted")
    names = [f for f in (field_names or FIELDS[kind]) if f in FIELDS[kind]]
    before = {f: digest(getattr(obj, f)) for f in names}
    for name in names:
        setattr(obj, name, None if kind == "agency" else "")
    redacted = 0
    if kind == "entry":
        obj.draft_version += 1
        redacted = _redact_versions(obj, names)
    record("personal_data_erased", obj, actor=actor, before=before,
           after={"fields": names, "versions_redacted": redacted, "reference": reference})
    db.session.commit()
    return Erasure(kind, object_id, "blanked")


# --- retention ----------------------------------------------------------------------------------

def closing_date(edition: Edition) -> datetime | None:
    """When the edition's results became final: the audit trail's last move of the edition to
    "closed" (the record of that decision), else the last freeze of its results."""
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "edition_status_changed", AuditEvent.object_type == "edition",
        AuditEvent.object_id == str(edition.id)).order_by(AuditEvent.seq.desc()))
    for event in events:
        if event.after and json.loads(event.after).get("status") == EditionStatus.CLOSED.value:
            return event.occurred_at
        break  # the last move was not to "closed"
    return db.session.scalar(select(func.max(ResultSnapshot.frozen_at)).join(Stage).where(
        Stage.edition_id == edition.id, ResultSnapshot.unfrozen_at.is_(None)))


@dataclass
class RetentionReport:
    edition: Edition
    closed_at: datetime | None
    due_at: datetime | None
    due: bool
    entries_blanked: int = 0
    versions_redacted: int = 0
    accounts_anonymised: list[int] = field(default_factory=list)


def _live_editions(now: datetime, days: int) -> list[int]:
    """Editions whose personal data are still needed: not closed, or closed within the retention period."""
    live = []
    for edition in db.session.scalars(select(Edition)):
        if edition.status is not EditionStatus.CLOSED:
            live.append(edition.id)
            continue
        closed = closing_date(edition)
        if closed is None or closed + timedelta(days=days) > now:
            live.append(edition.id)
    return live


def _still_needed(user: User, live: list[int], cutoff: datetime) -> bool:
    """An account is still needed if it was used after the cutoff, or it takes part in a live edition."""
    if user.role is Role.ORGANIZER:
        return True  # staff accounts are the organiser's own business, not the retention run's
    if (user.last_login_at or user.created_at) > cutoff:
        return True
    if user.role is Role.AGENCY:
        if user.agency_id is None:
            return False
        return db.session.scalar(select(func.count(Entry.id)).join(Category).where(
            Entry.agency_id == user.agency_id, Category.edition_id.in_(live))) > 0 if live else False
    return db.session.scalar(select(func.count(Assignment.id)).join(Stage).where(
        Assignment.judge_id == user.id, Stage.edition_id.in_(live))) > 0 if live else False


def run_retention(now: datetime | None = None, dry_run: bool = False) -> list[RetentionReport]:
    """Remove the personal data of closed editions past ``PERSONAL_DATA_RETENTION_DAYS``.

    Blanks the entries' contact fields (also in their submitted versions), anonymises the agency
    contacts and judges of those editions that are no longer needed; keeps entries, marks, frozen
    results, ties and the audit trail (append-only) as the record of the award.
    """
    now = now or utcnow()
    days = int(current_app.config["PERSONAL_DATA_RETENTION_DAYS"])
    live = _live_editions(now, days)
    reports = []
    reference = f"retention: PERSONAL_DATA_RETENTION_DAYS={days}"
    for edition in db.session.scalars(select(Edition).where(Edition.status == EditionStatus.CLOSED)
                                      .order_by(Edition.number)):
        closed = closing_date(edition)
        due_at = closed + timedelta(days=days) if closed else None
        report = RetentionReport(edition, closed, due_at, due=due_at is not None and due_at <= now)
        reports.append(report)
        if not report.due:
            continue
        entries = db.session.scalars(select(Entry).join(Category).where(Category.edition_id == edition.id)
                                     .order_by(Entry.id)).all()
        people: dict[int, User] = {}
        for entry in entries:
            if any(getattr(entry, f) for f in CONTACT_FIELDS):
                report.entries_blanked += 1
                if not dry_run:
                    for name in CONTACT_FIELDS:
                        setattr(entry, name, "")
            report.versions_redacted += sum(
                1 for v in entry.versions if any(json.loads(v.content).get("contact", {}).values()))
            if not dry_run:
                _redact_versions(entry, list(CONTACT_FIELDS))
            for contact in entry.agency.contacts:
                people[contact.id] = contact
        for sheet_judge in db.session.scalars(select(User).join(Assignment, Assignment.judge_id == User.id)
                                              .join(Stage).where(Stage.edition_id == edition.id)):
            people[sheet_judge.id] = sheet_judge
        for user in sorted(people.values(), key=lambda u: u.id):
            if is_anonymised(user) or _still_needed(user, live, due_at):
                continue
            report.accounts_anonymised.append(user.id)
            if not dry_run:
                anonymise_user(user, reference, None)
        if not dry_run and (report.entries_blanked or report.accounts_anonymised or report.versions_redacted):
            record("retention_run", edition, actor=None, after={
                "reference": reference, "closed_at": closed, "entries_blanked": report.entries_blanked,
                "versions_redacted": report.versions_redacted, "accounts_anonymised": report.accounts_anonymised})
    if not dry_run:
        db.session.commit()
    return reports
