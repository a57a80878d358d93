"""Offline score sheets: the operations behind the download, the preview of an upload and its import.

- ``download_workbook`` gathers the judge's open sheets of a stage (confirmed, tie-free assignments
  whose sheet is not submitted or excluded), builds the signed workbook and records
  ``offline_sheet_downloaded``.
- ``check_upload`` verifies an uploaded workbook (readable, signed by us, made for this judge and
  stage, every entry still the judge's to score with the sheet at the version it was made from,
  the layout unchanged, every mark and comment valid) and returns the preview of every change
  against the current drafts; or raises ``OfflineSheetError`` naming each problem and its cell.
- Between preview and confirmation the uploaded bytes wait in the instance's upload folder under a
  random name tied to the judge and stage (``stash_upload``), for an hour at most; no worker keeps
  them in memory, and the island link does not carry the file twice.
- ``apply_upload`` verifies the stored bytes again (the database may have changed since the
  preview) and writes every changed entry through ``sheets.save_sheet(..., submit=False)``: the
  same rules as the web sheet. All or nothing: every save is made with ``commit=False`` in one
  transaction, committed once with the audit event ``offline_sheet_imported`` (the changes), and
  rolled back whole if any entry is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from .. import scoring_adapter
from ..audit import record
from ..extensions import db
from ..i18n import local_time
from ..models import (Assignment, AssignmentStatus, Criterion, Entry, ScoreSheet, SheetStatus, Stage, User, utcnow)
from . import sheets
from .offline import (BLIND_AGENCY, CriterionRow, EntryBlock, OfflineSheetError, Problem, Signature, SignedEntry,
                      WorkbookSpec, build_workbook, derive_key, open_signed)
from .rules import is_conflicted, tied_agency_ids

STASH_FOLDER = "offline-sheets"
STASH_LIFETIME = timedelta(hours=1)
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def signing_key() -> bytes:
    return derive_key(current_app.config["SECRET_KEY"])


# --- download ------------------------------------------------------------------------------------

def open_assignments(judge: User, stage: Stage) -> list[tuple[Assignment, ScoreSheet | None]]:
    """The judge's confirmed, tie-free assignments in the stage whose sheet is still open (none yet,
    or a draft that is not excluded), by entry number."""
    assignments = db.session.scalars(
        select(Assignment).where(Assignment.judge_id == judge.id, Assignment.stage_id == stage.id,
                                 Assignment.status == AssignmentStatus.CONFIRMED)
        .order_by(Assignment.entry_id, Assignment.id)
    ).all()
    tied = tied_agency_ids(judge.id)
    found: list[tuple[Assignment, ScoreSheet | None]] = []
    seen: set[int] = set()
    for assignment in assignments:
        if assignment.entry_id in seen or assignment.entry.agency_id in tied:
            continue
        seen.add(assignment.entry_id)
        sheet = sheets.sheet_for(judge.id, assignment.entry_id, stage.id)
        if sheet is not None and (sheet.status is SheetStatus.SUBMITTED or sheet.excluded):
            continue
        found.append((assignment, sheet))
    return found


def _block(assignment: Assignment, sheet: ScoreSheet | None, stage: Stage) -> EntryBlock:
    entry = assignment.entry
    saved = sheets.marks_of(sheet)
    rows = tuple(
        CriterionRow(id=c.id, name=c.name, weight=c.weight, min_score=c.min_score, max_score=c.max_score,
                     step=c.step or None, score=saved.get(c.id, (None, ""))[0], comment=saved.get(c.id, (None, ""))[1])
        for c in sheets.criteria_of(entry, stage)
    )
    agency = BLIND_AGENCY if stage.blind else entry.agency.name  # a blind stage never names the agency
    return EntryBlock(entry_id=entry.id, title=entry.title, agency=agency, category=entry.category.name,
                      sheet_id=sheet.id if sheet is not None else None,
                      sheet_version=sheet.version if sheet is not None else 0, criteria=rows,
                      overall_comment=sheet.comment if sheet is not None else "")


@dataclass(frozen=True)
class Download:
    data: bytes
    filename: str
    signature: Signature


def download_workbook(judge: User, stage: Stage) -> Download:
    """The signed workbook of the judge's open sheets in the stage; audit ``offline_sheet_downloaded``.

    Raises ``OfflineSheetError`` (code ``nothing_to_score``) when there is no open sheet."""
    found = open_assignments(judge, stage)
    if not found:
        raise OfflineSheetError(Problem("nothing_to_score", _(
            "You have no score sheet to fill in for %(stage)s: no confirmed assignment whose sheet is still open.",
            stage=stage.name)))
    now = utcnow()
    spec = WorkbookSpec(judge_id=judge.id, judge_name=judge.name, stage_id=stage.id, stage_name=stage.name,
                        edition_name=stage.edition.name, entries=tuple(_block(a, s, stage) for a, s in found),
                        issued_at=now)
    data, signature = build_workbook(spec, signing_key())
    record("offline_sheet_downloaded", stage, actor=judge, after={
        "judge_id": judge.id, "stage_id": stage.id, "issued_at": now, "signature": signature.mac,
        "sha256": hashlib.sha256(data).hexdigest(),
        "entries": [{"entry_id": e.entry_id, "sheet_id": e.sheet_id, "version": e.version} for e in signature.entries],
    })
    db.session.commit()
    filename = f"offline-scores-stage{stage.id}-{local_time(now, 'yyyyMMdd-HHmm')}.xlsx"
    return Download(data, filename, signature)


# --- preview -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowChange:
    criterion: Criterion
    mark_cell: str
    comment_cell: str
    old_score: Decimal | None
    new_score: Decimal | None
    old_comment: str
    new_comment: str

    @property
    def score_changed(self) -> bool:
        return self.old_score != self.new_score

    @property
    def comment_changed(self) -> bool:
        return self.old_comment != self.new_comment

    @property
    def changed(self) -> bool:
        return self.score_changed or self.comment_changed


@dataclass(frozen=True)
class EntryChange:
    assignment: Assignment
    sheet: ScoreSheet | None
    signed: SignedEntry
    rows: tuple[RowChange, ...]
    old_overall: str
    new_overall: str
    criteria: tuple[Criterion, ...]

    @property
    def entry(self) -> Entry:
        return self.assignment.entry

    @property
    def worksheet(self) -> str:
        return self.signed.worksheet

    @property
    def base_version(self) -> int:
        return self.sheet.version if self.sheet is not None else 0

    @property
    def overall_changed(self) -> bool:
        return self.old_overall != self.new_overall

    @property
    def changed(self) -> bool:
        return self.overall_changed or any(r.changed for r in self.rows)

    def total(self, new: bool) -> Decimal:
        scores = {r.criterion.id: (r.new_score if new else r.old_score) for r in self.rows}
        return scoring_adapter.live_total(self.criteria, scores)


@dataclass(frozen=True)
class Preview:
    stage: Stage
    signature: Signature
    entries: tuple[EntryChange, ...]
    sha256: str

    @property
    def changed_entries(self) -> list[EntryChange]:
        return [e for e in self.entries if e.changed]

    @property
    def changed_marks(self) -> int:
        return sum(1 for e in self.entries for r in e.rows if r.score_changed)

    @property
    def has_changes(self) -> bool:
        return any(e.changed for e in self.entries)


def _entry_problems(judge: User, stage: Stage, signed: SignedEntry, issued_at: datetime
                    ) -> tuple[Assignment | None, ScoreSheet | None, list[Criterion], list[Problem]]:
    """Is the entry still the judge's to score, with the sheet as it was when the workbook was made?"""
    where = {"worksheet": signed.worksheet, "entry_id": signed.entry_id}
    entry = db.session.get(Entry, signed.entry_id)
    assignment = None
    if entry is not None:
        assignment = db.session.scalar(
            select(Assignment).where(Assignment.judge_id == judge.id, Assignment.entry_id == entry.id,
                                     Assignment.stage_id == stage.id).order_by(Assignment.id.desc()))
    if entry is None or assignment is None:
        return None, None, [], [Problem("not_assigned", _(
            "%(sheet)s: this entry is no longer assigned to you; it cannot be imported.", sheet=signed.worksheet),
            **where)]
    if assignment.status is AssignmentStatus.CONFLICTED or is_conflicted(judge.id, entry.agency_id):
        return None, None, [], [Problem("conflicted", _(
            "%(sheet)s: you have declared a tie with this entry's agency, so you may not score it; its marks "
            "cannot be imported. Download a new sheet, which leaves it out.", sheet=signed.worksheet), **where)]
    if assignment.status is not AssignmentStatus.CONFIRMED:
        return None, None, [], [Problem("not_assigned", _(
            "%(sheet)s: this entry is no longer assigned to you; it cannot be imported.", sheet=signed.worksheet),
            **where)]
    sheet = sheets.sheet_for(judge.id, entry.id, stage.id)
    criteria = sheets.criteria_of(entry, stage)
    if sheet is not None and sheet.excluded:
        return assignment, sheet, criteria, [Problem("excluded", _(
            "%(sheet)s: the organiser has excluded this score sheet; it can no longer be changed.",
            sheet=signed.worksheet), **where)]
    if sheet is not None and sheet.status is SheetStatus.SUBMITTED:
        return assignment, sheet, criteria, [Problem("submitted", _(
            "%(sheet)s: you have already submitted this score sheet; it is locked. Only the organiser can reopen "
            "it.", sheet=signed.worksheet), **where)]
    current = (sheet.id if sheet is not None else None, sheet.version if sheet is not None else 0)
    if current != (signed.sheet_id, signed.version):
        changed_at = local_time(sheet.updated_at) if sheet is not None else ""
        return assignment, sheet, criteria, [Problem("stale", _(
            "%(sheet)s: the score sheet changed at %(changed)s, after you downloaded this workbook at %(issued)s "
            "(Taipei time). To keep the newer marks nothing was imported: download a new sheet and copy your "
            "offline marks into it.", sheet=signed.worksheet, changed=changed_at, issued=local_time(issued_at)),
            **where)]
    if [c.id for c in criteria] != [r.criterion_id for r in signed.rows]:
        return assignment, sheet, criteria, [Problem("stale", _(
            "%(sheet)s: the criteria of this entry's category changed after you downloaded the workbook. Download "
            "a new sheet.", sheet=signed.worksheet), **where)]
    return assignment, sheet, criteria, []


def check_upload(judge: User, stage: Stage, data: bytes) -> Preview:
    """Verify an uploaded workbook and compare it with the current drafts; nothing is written.

    Raises ``OfflineSheetError`` with every problem found (tampered, other judge or stage, stale,
    conflicted, layout, a mark that is not a number, out of range or off the step, …)."""
    signed = open_signed(data, signing_key())
    try:
        signed.check_owner(judge.id, stage.id)
        window = sheets.window_problem(stage)
        if window:
            raise OfflineSheetError(Problem("closed", window))
        problems: list[Problem] = []
        states = {}
        engine_criteria = {}
        for entry in signed.signature.entries:
            assignment, sheet, criteria, found = _entry_problems(judge, stage, entry, signed.signature.issued_at)
            problems.extend(found)
            states[entry.entry_id] = (assignment, sheet, criteria)
            for criterion, engine in zip(criteria, scoring_adapter.to_criteria(criteria), strict=True):
                engine_criteria[criterion.id] = engine
        filled, cell_problems = signed.read_entries(
            engine_criteria, comment_max=sheets.COMMENT_LIMIT, overall_max=sheets.OVERALL_LIMIT,
            max_places=sheets.MAX_PLACES)
        problems.extend(cell_problems)
        if problems:
            order = {e.entry_id: i for i, e in enumerate(signed.signature.entries)}
            problems.sort(key=lambda p: order.get(p.entry_id, -1))  # stable: cells stay in sheet order
            raise OfflineSheetError(problems)
        changes = []
        for item in filled:
            assignment, sheet, criteria = states[item.signed.entry_id]
            by_id = {c.id: c for c in criteria}
            saved = sheets.marks_of(sheet)
            rows = tuple(
                RowChange(criterion=by_id[row.criterion_id], mark_cell=row.mark_cell, comment_cell=row.comment_cell,
                          old_score=saved.get(row.criterion_id, (None, ""))[0], new_score=row.score,
                          old_comment=saved.get(row.criterion_id, (None, ""))[1], new_comment=row.comment)
                for row in item.rows
            )
            changes.append(EntryChange(assignment=assignment, sheet=sheet, signed=item.signed, rows=rows,
                                       old_overall=sheet.comment if sheet is not None else "",
                                       new_overall=item.overall_comment, criteria=tuple(criteria)))
        return Preview(stage=stage, signature=signed.signature, entries=tuple(changes),
                       sha256=hashlib.sha256(data).hexdigest())
    finally:
        signed.close()


SUSPICIOUS = frozenset({"tampered", "other_judge", "other_stage"})


def record_refusal(judge: User, stage: Stage, data: bytes, error: OfflineSheetError) -> None:
    """Keep a trace of an upload refused as altered or as someone else's (audit ``offline_sheet_refused``).

    Mistakes (a bad mark, a stale sheet) are only shown to the judge; these are recorded because
    nobody may import marks for someone else."""
    codes = sorted(error.codes & SUSPICIOUS)
    if not codes:
        return
    record("offline_sheet_refused", stage, actor=judge, after={
        "judge_id": judge.id, "stage_id": stage.id, "reasons": codes, "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data)})
    db.session.commit()


# --- import --------------------------------------------------------------------------------------

@dataclass
class ImportResult:
    preview: Preview
    saved: list[ScoreSheet] = field(default_factory=list)


def _cell_problems(change: EntryChange, error: sheets.SheetError) -> list[Problem]:
    """save_sheet's refusal, field by field, mapped back to the worksheet's cells."""
    cells = {sheets.OVERALL_FIELD: change.signed.overall_cell}
    for row in change.rows:
        cells[sheets.score_field(row.criterion.id)] = row.mark_cell
        cells[sheets.comment_field(row.criterion.id)] = row.comment_cell
    problems = [
        Problem("refused", f"{change.worksheet}!{cells.get(name, '')}: {message}", worksheet=change.worksheet,
                cell=cells.get(name), entry_id=change.entry.id)
        for name, messages in error.fields.items() for message in messages
    ]
    code = "stale" if isinstance(error, sheets.SheetConflict) else "refused"
    return problems or [Problem(code, f"{change.worksheet}: {error.message}", worksheet=change.worksheet,
                                entry_id=change.entry.id)]


def apply_upload(judge: User, stage: Stage, data: bytes) -> ImportResult:
    """Verify again and save every changed entry as a draft through ``save_sheet``, in one
    transaction: all or nothing. Raises ``OfflineSheetError``; then nothing was written."""
    preview = check_upload(judge, stage, data)
    result = ImportResult(preview)
    audit_entries = []
    for change in preview.changed_entries:
        marks = {row.criterion.id: (row.new_score, row.new_comment) for row in change.rows}
        try:
            sheet = sheets.save_sheet(judge, change.assignment, marks, change.new_overall, change.base_version,
                                      submit=False, commit=False)
        except sheets.SheetError as error:  # only a change made since the checks above can get here
            db.session.rollback()
            raise OfflineSheetError(_cell_problems(change, error)) from error
        result.saved.append(sheet)
        audit_entries.append({
            "entry_id": change.entry.id, "worksheet": change.worksheet, "sheet_id": sheet.id,
            "version_before": change.base_version, "version_after": sheet.version,
            "marks": {str(r.criterion.id): [sheets.plain(r.old_score) or None, sheets.plain(r.new_score) or None]
                      for r in change.rows if r.score_changed},
            "comments_changed": [r.criterion.id for r in change.rows if r.comment_changed],
            "overall_comment_changed": change.overall_changed,
        })
    record("offline_sheet_imported", stage, actor=judge, after={
        "judge_id": judge.id, "stage_id": stage.id, "signature": preview.signature.mac,
        "issued_at": preview.signature.issued_at, "sha256": preview.sha256, "entries": audit_entries,
        "unchanged": [e.entry.id for e in preview.entries if not e.changed],
    })
    db.session.commit()
    return result


# --- the upload between preview and confirmation --------------------------------------------------

def _stash_dir() -> Path:
    path = Path(current_app.config["UPLOAD_FOLDER"]) / STASH_FOLDER
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _stash_path(judge: User, stage: Stage, token: str) -> Path | None:
    if not _TOKEN.match(token or ""):
        return None
    return _stash_dir() / f"{judge.id}-{stage.id}-{token}.xlsx"


def _sweep(folder: Path) -> None:
    """Remove whatever has waited longer than the lifetime: a preview nobody confirmed, a claimed
    upload or a temporary file left by a crash."""
    limit = time.time() - STASH_LIFETIME.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            continue


def stash_upload(judge: User, stage: Stage, data: bytes) -> str:
    """Keep the uploaded bytes until the judge confirms (or for an hour); returns the token naming them."""
    folder = _stash_dir()
    _sweep(folder)
    token = secrets.token_hex(16)
    path = _stash_path(judge, stage, token)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return token


def claim_stash(judge: User, stage: Stage, token: str) -> bytes | None:
    """Take the bytes this judge uploaded for this stage under ``token`` out of the store, once.

    None if the token is unknown, expired or already claimed: of two confirmations of the same
    upload (a double click) only one gets the bytes, because only one rename can succeed."""
    path = _stash_path(judge, stage, token)
    if path is None:
        return None
    claimed = path.with_name(f".claimed-{secrets.token_hex(8)}-{path.name}")
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        return None
    try:
        if claimed.stat().st_mtime < time.time() - STASH_LIFETIME.total_seconds():
            return None
        return claimed.read_bytes()
    finally:
        claimed.unlink(missing_ok=True)


def drop_stash(judge: User, stage: Stage, token: str) -> None:
    path = _stash_path(judge, stage, token)
    if path is not None:
        path.unlink(missing_ok=True)
