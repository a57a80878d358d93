"""Exports of a stage's results: the workbook (``workbook.build_workbook``) and the ranking as CSV.

``export(stage, fmt, ...)`` gathers the builder's input — the frozen snapshot's payload when the
stage is frozen (its SHA-256 is printed), else the live payload (provisional: no hash claimed) —
with the diagnostics (``scoring.diagnose``, bootstrap 500, seed 0, recomputed from the payload's
own marks), the counts of the stage's audit events and the audit chain's verification; builds
the file; and records ``results_exported`` (format, snapshot hash, the file's own SHA-256) in the
audit trail, since the export holds personal data (the Personal Data Protection Act expects such
exports to be logged). The web view and ``award export`` both call it.

CSV (``ranking_csv``): UTF-8 with a byte-order mark (so Excel opens the Chinese correctly), CRLF
line ends, one row per ranked entry: 組別, 名次, 機關代碼, 參獎機關, 作品名稱, 總分, 獎項等第, 縣市,
地理區分, snapshot_sha256 (the frozen snapshot's hash on every row, so any row cut out of the file still
names its source; empty for provisional results). A column rather than a leading comment row: Excel
and LibreOffice open the file as one clean table with the filter on the header row. CSV injection (OWASP): a spreadsheet treats a cell that begins with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as a formula, so every text field that begins with one of them
is written with a single quote in front (``'=HYPERLINK(...)``); the quote shows in the cell and
keeps the text inert. Ranks and totals are numbers written by the system and are left as they are.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence
from urllib.parse import quote

from sqlalchemy import String, and_, cast, func, or_, select

from ..audit import personal_data, record, verify_chain
from ..audit.checkpoints import checkpoint_at, latest_checkpoint
from ..extensions import db
from ..models import (COUNTIES, Assignment, AuditEvent, Edition, Mark, ResultSnapshot, ScoreSheet, SheetStatus, Stage,
                      User)
from . import operations as results_ops
from . import workbook_text as T
from .workbook import XLSX_MIMETYPE, ChainCheck, CheckpointInfo, WorkbookInput, build_workbook

CSV_MIMETYPE = "text/csv"  # Werkzeug adds "; charset=utf-8" (given here too, it came twice)
CSV_HEADERS = ("組別", "名次", "機關代碼", "參獎機關", "作品名稱", "總分", "獎項等第", "縣市", "地理區分", "snapshot_sha256",
               "audit_checkpoint_events", "audit_checkpoint_root")
# category, rank, agency code, agency, entry title, total, tier, county/city, geography class, the frozen
# snapshot's SHA-256 on every row (empty: provisional results, not frozen), and the audit checkpoint
# taken as the file was exported (the Merkle root over its first N events) on every row too
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DIAGNOSTICS_BOOTSTRAP = 500
CLI_EXPORTER = "命令列 award export"  # the command line
FORMATS = ("xlsx", "csv")


class ExportError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Source:
    """Where an export's figures come from: the snapshot in force, or the live results."""

    payload: dict[str, Any]
    snapshot: ResultSnapshot | None
    live_matches: bool | None

    @property
    def provisional(self) -> bool:
        return self.snapshot is None

    @property
    def sha256(self) -> str | None:
        return self.snapshot.sha256 if self.snapshot else None


@dataclass
class ExportFile:
    data: bytes
    filename: str  # the real name (CJK)
    ascii_filename: str  # the fallback for old clients
    mimetype: str
    snapshot_sha256: str | None  # None: provisional
    sha256: str  # of the file itself

    @property
    def provisional(self) -> bool:
        return self.snapshot_sha256 is None


# --- the source -----------------------------------------------------------------------------------

def source(stage: Stage) -> Source:
    """The frozen snapshot's payload if the stage is frozen, else the live payload."""
    official = results_ops.official_results(stage)
    if official.snapshot is None:
        return Source(official.payload, None, None)
    # the snapshot's own payload: its hash is the one printed, whatever the database says now
    return Source(results_ops.snapshot_payload(official.snapshot), official.snapshot, official.live_matches)


def diagnostics_for(payload: dict[str, Any], bootstrap: int = DIAGNOSTICS_BOOTSTRAP) -> dict[int, dict[str, Any] | str]:
    """Each category's ``Diagnostics.to_dict()`` (seeded, so reproducible), or why there are none."""
    found: dict[int, dict[str, Any] | str] = {}
    for item in results_ops.diagnostics(payload, bootstrap=bootstrap):
        if item.diagnostics is not None:
            found[item.id] = item.diagnostics.to_dict()
        else:
            found[item.id] = item.error or T.NOT_COMPUTED
    return found


def stage_audit_counts(stage: Stage) -> dict[str, int]:
    """Audit events about the stage, by action: the stage itself, its score sheets, assignments,
    panel changes and result snapshots."""
    from ..judging.assign_ops import PANEL_OBJECT

    stage_id = str(stage.id)
    sheets = select(cast(ScoreSheet.id, String)).where(ScoreSheet.stage_id == stage.id)
    assignments = select(cast(Assignment.id, String)).where(Assignment.stage_id == stage.id)
    snapshots = select(cast(ResultSnapshot.id, String)).where(ResultSnapshot.stage_id == stage.id)
    about_stage = or_(
        and_(AuditEvent.object_type == "stage", AuditEvent.object_id == stage_id),
        and_(AuditEvent.object_type == "score_sheet", AuditEvent.object_id.in_(sheets)),
        and_(AuditEvent.object_type == "assignment", AuditEvent.object_id.in_(assignments)),
        and_(AuditEvent.object_type == "result_snapshot", AuditEvent.object_id.in_(snapshots)),
        and_(AuditEvent.object_type == PANEL_OBJECT, AuditEvent.object_id.like(f"{stage_id}/%")),
    )
    rows = db.session.execute(select(AuditEvent.action, func.count()).where(about_stage).group_by(AuditEvent.action))
    return {action: count for action, count in rows}


def chain_check() -> ChainCheck:
    result = verify_chain()
    return ChainCheck(result.ok, result.count, result.message)


def checkpoint_info() -> CheckpointInfo | None:
    """The audit trail's latest Merkle checkpoint, for the workbook's 稽核摘要 sheet."""
    checkpoint = latest_checkpoint()
    if checkpoint is None:
        return None
    return CheckpointInfo(checkpoint.id, checkpoint.event_count, checkpoint.root_hash, checkpoint.created_at,
                          checkpoint.reason)


def exporter_label(user: User | None) -> str:
    return f"{user.name} <{user.email}>" if user is not None else CLI_EXPORTER


def tier_award_texts(stage: Stage) -> dict[str, str]:
    """Tier name -> the certificate text the organiser set on the tier (tiers without one use the default)."""
    return {t.name: t.award_text for t in stage.edition.tiers if (t.award_text or "").strip()}


def workbook_input(stage: Stage, src: Source, exported_by: str, *, ceremony_order: Sequence[int] = (),
                   award_texts: dict[str, str] | None = None, now: datetime | None = None) -> WorkbookInput:
    award_texts = tier_award_texts(stage) | (award_texts or {})
    return WorkbookInput(
        payload=src.payload, exported_at=now or datetime.now(timezone.utc), snapshot_hash=src.sha256,
        frozen_at=src.snapshot.frozen_at if src.snapshot else None, exported_by=exported_by,
        diagnostics=diagnostics_for(src.payload), audit_counts=stage_audit_counts(stage), chain=chain_check(),
        checkpoint=checkpoint_info(),
        ceremony_order=tuple(ceremony_order), award_texts=award_texts, county_order=COUNTIES,
        live_matches=src.live_matches)


# --- CSV ------------------------------------------------------------------------------------------

def csv_text(value: Any) -> str:
    """A text field made safe for spreadsheets (the OWASP CSV-injection rule; see the module docstring)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def ranking_csv(payload: dict[str, Any], snapshot_sha256: str | None = None,
                checkpoint: CheckpointInfo | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for category in payload["categories"]:
        for entry in category["entries"]:
            agency = entry.get("agency") or {}
            writer.writerow([csv_text(category["name"]), entry["rank"], csv_text(agency.get("code", "")),
                             csv_text(agency.get("name", "")), csv_text(entry["title"]), entry["total"],
                             csv_text(entry["tier"] or ""), csv_text(agency.get("county", "")),
                             T.GEOGRAPHY.get(agency.get("geography"), ""), snapshot_sha256 or "",
                             checkpoint.event_count if checkpoint else "", checkpoint.root_hash if checkpoint else ""])
    return out.getvalue().encode("utf-8-sig")


# --- file names -----------------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def filename(stage: Stage, fmt: str, provisional: bool) -> tuple[str, str]:
    """(real name, ASCII fallback), e.g. 第3屆透明晶質獎_書面審查_成績.xlsx."""
    name = _UNSAFE.sub("", unicodedata.normalize("NFC", stage.name)).strip()
    name = re.sub(r"\s+", "_", name) or f"stage{stage.id}"
    kind = "暫定成績" if provisional else "成績"  # provisional results / results
    real = f"第{stage.edition.number}屆透明晶質獎_{name}_{kind}.{fmt}"
    fallback = f"award-{stage.edition.number}-stage-{stage.id}-results{'-provisional' if provisional else ''}.{fmt}"
    return real, fallback


def content_disposition(real: str, fallback: str) -> str:
    """``attachment`` with an ASCII name for old clients and the real one as RFC 5987 ``filename*``."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(real, safe='')}"


# --- the export ------------------------------------------------------------------------------------

def export(stage: Stage, fmt: str, user: User | None = None, *, ceremony_order: Sequence[int] = (),
           award_texts: dict[str, str] | None = None, now: datetime | None = None) -> ExportFile:
    """Build the stage's workbook or CSV and record ``results_exported``; commits."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}")
    src = source(stage)
    if fmt == "xlsx":
        # A checkpoint first, so the workbook prints a root that covers every event up to its export.
        checkpoint_at(f"workbook export: {stage.edition.number} {stage.name}", user)
        data = build_workbook(workbook_input(stage, src, exporter_label(user), ceremony_order=ceremony_order,
                                             award_texts=award_texts, now=now))
        mimetype = XLSX_MIMETYPE
    else:
        checkpoint_at(f"ranking CSV export: {stage.edition.number} {stage.name}", user)
        data = ranking_csv(src.payload, src.sha256, checkpoint_info())
        mimetype = CSV_MIMETYPE
    real, fallback = filename(stage, fmt, src.provisional)
    digest = hashlib.sha256(data).hexdigest()
    if fmt == "xlsx":  # its ceremony list names the heads of the agencies (個人資料保護法施行細則 §12)
        personal_data.exported("results workbook: ceremony list with the heads of agencies", {
            "stage": stage.id, "file_sha256": digest,
            "agencies": sorted({e["agency"]["code"] for c in src.payload["categories"] for e in c["entries"]
                                if e.get("agency")})}, actor=user)
    record("results_exported", stage, actor=user, after={
        "format": fmt, "sha256": src.sha256, "provisional": src.provisional, "file_sha256": digest,
        "bytes": len(data), "filename": real})
    db.session.commit()
    return ExportFile(data, real, fallback, mimetype, src.sha256, digest)


# --- lookups for the command line --------------------------------------------------------------------

def find_edition(key: str) -> Edition:
    """An edition by number (第 N 屆), else by id."""
    text = (key or "").strip()
    if not text.isdigit():
        raise ExportError(f"no edition {key!r}: give the edition's number (e.g. 3 for 第3屆) or its id")
    edition = db.session.scalar(select(Edition).where(Edition.number == int(text)))
    edition = edition or db.session.get(Edition, int(text))
    if edition is None:
        raise ExportError(f"no edition {text}: give the edition's number (e.g. 3 for 第3屆) or its id")
    return edition


def choose_stage(edition: Edition, key: str | None = None) -> tuple[Stage, str]:
    """(stage, why it was chosen): the named stage (name or id), else the last frozen stage, else the
    last stage with submitted marks."""
    stages = sorted(edition.stages, key=lambda s: s.position)
    if key:
        for stage in stages:
            if stage.name == key.strip() or (key.strip().isdigit() and stage.id == int(key.strip())):
                return stage, "as asked"
        names = ", ".join(f"{s.name} (id {s.id})" for s in stages) or "none"
        raise ExportError(f"edition {edition.number} has no stage {key!r}; its stages: {names}")
    frozen = results_ops.active_snapshots_by_stage()
    for stage in reversed(stages):
        if stage.id in frozen:
            return stage, "the last frozen stage"
    with_marks = set(db.session.scalars(
        select(ScoreSheet.stage_id).join(Mark, Mark.sheet_id == ScoreSheet.id)
        .where(ScoreSheet.status == SheetStatus.SUBMITTED, ScoreSheet.stage_id.in_([s.id for s in stages]))
        .distinct()))
    for stage in reversed(stages):
        if stage.id in with_marks:
            return stage, "the last stage with submitted marks (no stage is frozen)"
    raise ExportError(f"edition {edition.number} has no frozen stage and no submitted marks; name a stage with --stage")


def parse_order(text: str | None) -> list[int]:
    """Entry numbers in presentation order: ``12, 5 7`` -> [12, 5, 7]."""
    if not text or not text.strip():
        return []
    items = [item for item in re.split(r"[\s,，、]+", text.strip()) if item]
    bad = [item for item in items if not item.lstrip("#").isdigit()]
    if bad:
        raise ExportError(f"not entry numbers: {', '.join(bad)}")
    return [int(item.lstrip("#")) for item in items]
