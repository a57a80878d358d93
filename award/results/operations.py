"""Results (成績): the official payload of a stage, freezing and unfreezing it, what-ifs, diagnostics.

A freeze (成績凍結) stores the canonical payload of ``payload.build_payload`` — ranking, method and
every mark used — with its SHA-256 as a ``ResultSnapshot``. A snapshot is never changed or
deleted: unfreezing marks it superseded (who, when, why) and a new freeze makes a new snapshot.
While a stage has an active (not unfrozen) snapshot, ``ensure_not_frozen`` refuses every change
to its marks; the score sheets call it.

Every operation checks everything first and raises ``ResultsError`` before writing; then it
writes, records the audit event in the same transaction and commits. A refusal changes nothing.
What-ifs and diagnostics only read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

import scoring

from ..audit import record
from ..audit.checkpoints import checkpoint_at
from ..extensions import db
from ..models import (Agency, Assignment, AssignmentStatus, Category, Edition, Entry, ResultSnapshot, ScoreSheet,
                      SheetStatus, Stage, StageEntry, User, utcnow)
from .payload import build_payload, engine_error_detail, payload_hash, payload_json

REASON_LIMIT = 2000  # characters of an unfreeze reason
LISTED_PROBLEMS = 10  # outstanding sheets named in a refusal (the rest are counted)
DIAGNOSTICS_BOOTSTRAP = 500
ACTIVE_ASSIGNMENT = (AssignmentStatus.ASSIGNED, AssignmentStatus.CONFIRMED)
ENDED_ASSIGNMENT = (AssignmentStatus.WITHDRAWN, AssignmentStatus.CONFLICTED)


class ResultsError(Exception):
    """A refusal, already in the user's language; ``problems`` lists what stands in the way."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


# --- freeze status --------------------------------------------------------------------------------

def snapshots(stage: Stage) -> list[ResultSnapshot]:
    """Every snapshot of the stage, newest first."""
    return list(db.session.scalars(
        select(ResultSnapshot).where(ResultSnapshot.stage_id == stage.id).order_by(ResultSnapshot.id.desc())))


def active_snapshot(stage: Stage) -> ResultSnapshot | None:
    """The stage's snapshot in force (not unfrozen), or None."""
    return db.session.scalar(
        select(ResultSnapshot).where(ResultSnapshot.stage_id == stage.id, ResultSnapshot.unfrozen_at.is_(None))
        .order_by(ResultSnapshot.id.desc()).limit(1))


def active_snapshots_by_stage() -> dict[int, ResultSnapshot]:
    """Every stage's snapshot in force, in one query (for lists of stages)."""
    rows = db.session.scalars(select(ResultSnapshot).where(ResultSnapshot.unfrozen_at.is_(None))
                              .order_by(ResultSnapshot.id))
    return {s.stage_id: s for s in rows}


def is_frozen(stage: Stage) -> bool:
    return active_snapshot(stage) is not None


def frozen_message() -> str:
    return _("The results of this stage are frozen; an organiser must unfreeze them, with a reason, first.")


def _lock_stage(stage: Stage, *, shared: bool) -> None:
    """Row-lock the stage until the transaction ends (PostgreSQL; SQLite serialises writers anyway).

    A mark change takes the shared lock, a freeze or unfreeze the exclusive one: so a freeze never
    reads marks that a save is about to commit, and a save after a freeze sees its snapshot."""
    db.session.execute(select(Stage.id).where(Stage.id == stage.id).with_for_update(read=shared))


def is_frozen_locked(stage: Stage, *, exclusive: bool = False) -> bool:
    """Whether the stage's results are frozen, holding a lock on the stage until the commit: a freeze
    cannot slip in between this answer and the caller's change. ``exclusive`` for a caller that then
    updates the stage row itself (two shared locks each waiting on the other's update would deadlock)."""
    _lock_stage(stage, shared=not exclusive)
    return is_frozen(stage)


def ensure_not_frozen(stage: Stage) -> None:
    """Refuse (``ResultsError``) when the stage's results are frozen. Call it before any change to
    the stage's marks, sheets or entries; it holds a shared lock on the stage until the commit."""
    if is_frozen_locked(stage):
        raise ResultsError(frozen_message())


# --- freeze and unfreeze -------------------------------------------------------------------------

def outstanding_sheets(stage: Stage) -> list[tuple[Entry, User]]:
    """(entry, judge) of the stage still owing a submitted sheet: active assignments without one, and
    draft sheets (not excluded) whose judge was not withdrawn or conflicted out."""
    sheets = select(ScoreSheet.entry_id, ScoreSheet.judge_id).where(ScoreSheet.stage_id == stage.id)
    assignments = select(Assignment.entry_id, Assignment.judge_id).where(Assignment.stage_id == stage.id)
    submitted = _pairs(sheets.where(ScoreSheet.status == SheetStatus.SUBMITTED))
    drafts = _pairs(sheets.where(ScoreSheet.status == SheetStatus.DRAFT, ScoreSheet.excluded.is_(False)))
    assigned = _pairs(assignments.where(Assignment.status.in_(ACTIVE_ASSIGNMENT)))
    ended = _pairs(assignments.where(Assignment.status.in_(ENDED_ASSIGNMENT)))
    pairs = sorted((assigned | (drafts - ended)) - submitted)
    return [(db.session.get(Entry, e), db.session.get(User, j)) for e, j in pairs]


def _pairs(statement) -> set[tuple[int, int]]:
    return {(e, j) for e, j in db.session.execute(statement)}


def freeze_problems(stage: Stage, payload: dict[str, Any] | None = None) -> list[str]:
    """Why the stage's results cannot be frozen now (empty: they can)."""
    problems: list[str] = []
    if is_frozen(stage):
        problems.append(_("The results of this stage are already frozen."))
    outstanding = outstanding_sheets(stage)
    if outstanding:
        problems.append(ngettext("%(num)d score sheet of this stage is not submitted yet.",
                                 "%(num)d score sheets of this stage are not submitted yet.", len(outstanding)))
        problems += [_("Not submitted: %(entry)s (#%(id)d) by %(judge)s.", entry=entry.title, id=entry.id,
                       judge=judge.name) for entry, judge in outstanding[:LISTED_PROBLEMS]]
    payload = payload if payload is not None else live_payload(stage)
    for category in payload["categories"]:
        if category["error"]:
            problems.append(_("%(category)s cannot be ranked: %(error)s", category=category["name"],
                              error=error_text(category)))
    if not any(c["marks"] for c in payload["categories"]):
        problems.append(_("There are no submitted marks in this stage, so there is nothing to freeze."))
    return problems


def freeze(stage: Stage, organizer: User) -> ResultSnapshot:
    """Freeze the stage's results: store the payload and its SHA-256 as the snapshot in force.

    Refused (``ResultsError`` with the problems) if not an organiser, already frozen, a sheet is
    not submitted, a category cannot be ranked, or nothing is scored. Audit: ``results_frozen``."""
    if not organizer.is_organizer:
        raise ResultsError(_("Only an organiser can freeze results."))
    _lock_stage(stage, shared=False)
    payload = live_payload(stage)
    problems = freeze_problems(stage, payload)
    if problems:
        db.session.rollback()  # release the lock; nothing was written
        raise ResultsError(_("The results were not frozen."), problems)
    text = payload_json(payload)
    snapshot = ResultSnapshot(stage_id=stage.id, payload=text, sha256=payload_hash(payload),
                              frozen_at=utcnow(), frozen_by_id=organizer.id)
    db.session.add(snapshot)
    record("results_frozen", snapshot, actor=organizer, after={
        "stage_id": stage.id, "sha256": snapshot.sha256, "config": payload["config"],
        "entries": sum(len(c["entries"]) for c in payload["categories"]),
        "marks": sum(len(c["marks"]) for c in payload["categories"])})
    checkpoint_at(f"results frozen: {stage.edition.number} {stage.name}", organizer)
    db.session.commit()
    return snapshot


def clean_reason(reason: str | None) -> str:
    return (reason or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def unfreeze(stage: Stage, organizer: User, reason: str | None) -> ResultSnapshot:
    """Lift the stage's freeze, with a reason; the snapshot is kept, marked superseded.

    Refused (``ResultsError``) if not an organiser, no reason (or too long), or not frozen.
    Audit: ``results_unfrozen`` with the snapshot's hash and the reason."""
    if not organizer.is_organizer:
        raise ResultsError(_("Only an organiser can unfreeze results."))
    reason = clean_reason(reason)
    if not reason:
        raise ResultsError(_("Please give the reason for unfreezing; it is recorded and shown with the results."))
    if len(reason) > REASON_LIMIT:
        raise ResultsError(_("Please keep the reason to %(limit)d characters (it has %(count)d).",
                             limit=REASON_LIMIT, count=len(reason)))
    _lock_stage(stage, shared=False)
    snapshot = active_snapshot(stage)
    if snapshot is None:
        db.session.rollback()
        raise ResultsError(_("The results of this stage are not frozen, so there is nothing to unfreeze."))
    from ..judging.conflicts import exclude_tied_sheets  # judging builds on results, not the reverse

    before = {"unfrozen_at": None, "sha256": snapshot.sha256}
    snapshot.unfrozen_at, snapshot.unfrozen_by_id, snapshot.unfreeze_reason = utcnow(), organizer.id, reason
    record("results_unfrozen", snapshot, actor=organizer, before=before, after={
        "stage_id": stage.id, "sha256": snapshot.sha256, "unfrozen_at": snapshot.unfrozen_at, "reason": reason})
    exclude_tied_sheets(stage.id, organizer)  # ties declared while frozen void their sheets now
    db.session.commit()
    return snapshot


# --- checking snapshots ---------------------------------------------------------------------------

def verify_snapshot(snapshot: ResultSnapshot) -> bool:
    """The stored hash is the SHA-256 of the stored payload (nothing altered since the freeze)."""
    return hashlib.sha256(snapshot.payload.encode()).hexdigest() == snapshot.sha256


def snapshot_matches_live(snapshot: ResultSnapshot) -> bool:
    """The results as the database gives them now still hash the same as the snapshot."""
    return payload_hash(live_payload(snapshot.stage)) == snapshot.sha256


def snapshot_payload(snapshot: ResultSnapshot) -> dict[str, Any]:
    return json.loads(snapshot.payload)


@dataclass
class Official:
    """The stage's official results: the snapshot in force if frozen, else the live results.

    ``live_matches`` tells whether the live results still hash as the snapshot (None: not frozen)."""

    payload: dict[str, Any]
    snapshot: ResultSnapshot | None = None
    live_matches: bool | None = None
    live_hash: str = ""


def _preload(stage: Stage) -> list[Any]:
    """Load the stage's entries' agencies and the edition's criteria and tiers in a few queries, so
    building the payload finds them in the session instead of loading them one by one (200
    entries: 200 queries fewer). The caller keeps the list alive while it builds."""
    agencies = list(db.session.scalars(
        select(Agency).join(Entry, Entry.agency_id == Agency.id).join(StageEntry, StageEntry.entry_id == Entry.id)
        .where(StageEntry.stage_id == stage.id)))
    edition = db.session.scalars(select(Edition).where(Edition.id == stage.edition_id).options(
        selectinload(Edition.categories).selectinload(Category.criteria), selectinload(Edition.tiers))).one()
    return [agencies, edition]


def live_payload(stage: Stage, config: scoring.AggregationConfig | None = None) -> dict[str, Any]:
    """``build_payload`` with what it reads row by row loaded beforehand."""
    loaded = _preload(stage)
    payload = build_payload(stage, config)
    del loaded
    return payload


def official_results(stage: Stage) -> Official:
    """The stage's official results; the live results are hashed only to compare with a snapshot."""
    live = live_payload(stage)
    snapshot = active_snapshot(stage)
    if snapshot is None:
        return Official(live)
    live_hash = payload_hash(live)
    if live_hash == snapshot.sha256:
        return Official(live, snapshot, True, live_hash)
    return Official(snapshot_payload(snapshot), snapshot, False, live_hash)


# --- what-if --------------------------------------------------------------------------------------

@dataclass
class Comparison:
    """One entry under the official and the alternative method."""

    id: int
    title: str
    agency: str
    official: dict[str, Any] | None
    alternative: dict[str, Any] | None

    @property
    def change(self) -> int | None:
        """Places gained under the alternative (positive: moves up), None if unranked in either."""
        if not self.official or not self.alternative:
            return None
        return self.official["rank"] - self.alternative["rank"]


@dataclass
class CategoryComparison:
    id: int
    name: str
    official_error: str | None
    alternative_error: str | None
    rows: list[Comparison] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """Entries whose rank or tier differs between the two methods."""
        return sum(1 for r in self.rows
                   if r.change or (r.official or {}).get("tier") != (r.alternative or {}).get("tier"))


def what_if(stage: Stage, config: scoring.AggregationConfig, official: Official | None = None
            ) -> tuple[Official, dict[str, Any], list[CategoryComparison]]:
    """The official results beside those under ``config``; nothing is written."""
    official = official or official_results(stage)
    alternative = live_payload(stage, config)
    by_id = {c["id"]: c for c in alternative["categories"]}
    return official, alternative, [_compare(c, by_id.get(c["id"])) for c in official.payload["categories"]]


def _compare(official: dict[str, Any], alternative: dict[str, Any] | None) -> CategoryComparison:
    alternative = alternative or {"entries": [], "error": None}
    alt = {e["id"]: e for e in alternative["entries"]}
    result = CategoryComparison(official["id"], official["name"], official["error"] and error_text(official),
                                alternative["error"] and error_text(alternative))
    seen = set()
    for entry in official["entries"]:
        seen.add(entry["id"])
        result.rows.append(Comparison(entry["id"], entry["title"], _agency_name(entry), entry, alt.get(entry["id"])))
    for entry in alternative["entries"]:
        if entry["id"] not in seen:
            result.rows.append(Comparison(entry["id"], entry["title"], _agency_name(entry), None, entry))
    return result


def _agency_name(entry: dict[str, Any]) -> str:
    return (entry.get("agency") or {}).get("name", "")


# --- diagnostics ----------------------------------------------------------------------------------

def config_of(payload: dict[str, Any], category: dict[str, Any] | None = None) -> scoring.AggregationConfig:
    """The payload's configuration; with one of its categories, with the criterion tie-breaks
    turned from names into that category's criterion keys (as the ranking used them)."""
    config = scoring.AggregationConfig(**payload["config"])
    if category is None or not any(t.kind == "criterion" for t in config.tie_break):
        return config
    keys = {c["name"]: str(c["id"]) for c in category["criteria"]}
    return replace(config, tie_break=tuple(
        scoring.TieBreak.criterion(keys.get(t.key, t.key)) if t.kind == "criterion" else t
        for t in config.tie_break))


def _engine_inputs(payload: dict[str, Any], category: dict[str, Any]):
    criteria = tuple(scoring.Criterion(key=str(c["id"]), weight=Decimal(c["weight"]), max_score=Decimal(c["max_score"]),
                                       min_score=Decimal(c["min_score"]),
                                       step=Decimal(c["step"]) if c["step"] is not None else None, label=c["name"])
                     for c in category["criteria"])
    marks = [scoring.Mark(entry=str(m["entry"]), judge=str(m["judge"]), criterion=str(m["criterion"]),
                          score=None if m["score"] is None else Decimal(m["score"])) for m in category["marks"]]
    tiers = tuple(scoring.Tier(name=t["name"], min_total=None if t["min_total"] is None else Decimal(t["min_total"]),
                               quota=t["quota"]) for t in payload["tiers"])
    return criteria, marks, tiers


@dataclass
class CategoryDiagnostics:
    id: int
    name: str
    entries: list[dict[str, Any]]
    diagnostics: scoring.Diagnostics | None = None
    error: str | None = None
    error_detail: dict[str, Any] | None = None


def error_text(item: Any) -> str:
    """Why a category cannot be ranked, in the reader's language (a payload category or a
    ``CategoryDiagnostics``); the engine's English message when its kind is not one we word."""
    get = item.get if isinstance(item, dict) else (lambda key: getattr(item, key, None))
    detail = get("error_detail") or {}
    kind = detail.get("kind")
    if kind == "too_few_judges":
        return _("Entry #%(entry)d has marks from %(judges)d judges, but trimming needs at least %(needed)d. "
                 "Assign more judges, or let this stage fall back to the plain mean when too few remain.",
                 entry=detail["entry"], judges=detail["judges"], needed=detail["needed"])
    if kind == "disconnected":
        return _("The judges and entries fall into %(parts)d groups that share no judge, so the leniency "
                 "correction cannot compare them. Assign judges across the groups, or choose another method.",
                 parts=detail["parts"])
    if kind == "incomplete":
        return _("Entry #%(entry)d lacks marks this method needs (a criterion nobody marked, or a partly filled "
                 "sheet).", entry=detail["entry"])
    return get("error") or ""


def diagnostics(payload: dict[str, Any], bootstrap: int = DIAGNOSTICS_BOOTSTRAP) -> list[CategoryDiagnostics]:
    """``scoring.diagnose`` for every category of a payload (live or frozen: the payload holds every
    mark, so a snapshot's diagnostics can be recomputed from it alone). Seeded: reproducible."""
    found = []
    for category in payload["categories"]:
        item = CategoryDiagnostics(category["id"], category["name"], category["entries"], error=category["error"],
                                   error_detail=category.get("error_detail"))
        if not item.error and category["marks"]:
            criteria, marks, tiers = _engine_inputs(payload, category)
            try:
                item.diagnostics = scoring.diagnose(criteria, marks, config_of(payload, category), tiers,
                                                    bootstrap=bootstrap, seed=0)
            except scoring.ScoringError as exc:
                item.error, item.error_detail = exc.message, engine_error_detail(exc)
        found.append(item)
    return found


def _not_computed(agreement: Any = None) -> str:
    if agreement is not None and agreement.note_code == "no_variation":
        return _("Not computed: the totals of the entries every judge marked vary too little.")
    return _("Not computed: too few entries marked by every judge.")


def agreement_note(agreement: Any) -> str:
    """The engine's note on missing agreement figures, in the reader's language."""
    if agreement.note_code == "no_variation":
        return _("Kendall's W or the ICC is undefined: the judges' totals on the entries every judge marked "
                 "hardly vary.")
    if agreement.note_code == "no_complete_block":
        return _("Kendall's W and the ICC need at least 2 entries marked by every judge.")
    return agreement.note


def influence_note(influence: Any) -> str:
    if influence.note_code == "unrankable":
        return _("Without this judge the entries cannot be ranked (too few judges or marks would be left).")
    return influence.note


def read_kendall_w(value: float | None, agreement: Any = None) -> str:
    """One plain-language line per agreement figure (thresholds as in docs/scoring.md)."""
    if value is None:
        return _not_computed(agreement)
    if value >= 0.7:
        return _("Judges order the entries much the same way.")
    if value >= 0.3:
        return _("Judges partly agree on the order of the entries.")
    return _("Judges hardly agree on the order of the entries.")


def read_icc(value: float | None, panel: bool = False, agreement: Any = None) -> str:
    if value is None:
        return _not_computed(agreement)
    what = _("the panel's average") if panel else _("a single judge's total")
    if value < 0.5:
        return _("Poor reliability of %(what)s (below 0.5).", what=what)
    if value < 0.75:
        return _("Moderate reliability of %(what)s (0.5 to 0.75).", what=what)
    if value < 0.9:
        return _("Good reliability of %(what)s (0.75 to 0.9).", what=what)
    return _("Excellent reliability of %(what)s (above 0.9).", what=what)


def read_alpha(value: float | None, agreement: Any = None) -> str:
    if value is None:
        if agreement is not None and agreement.n_entries >= 2 and agreement.n_judges >= 2:
            return _("Not computed: the marks vary too little.")
        return _("Not computed: too few entries with two or more judges.")
    if value >= 0.8:
        return _("Reliable agreement on the totals (0.8 or more).")
    if value >= 0.667:
        return _("Tentative agreement on the totals (0.667 to 0.8).")
    return _("Agreement too low to rely on (below 0.667): ask why the judges differ.")


# --- index ----------------------------------------------------------------------------------------

def editions() -> list[Edition]:
    return list(db.session.scalars(select(Edition).order_by(Edition.number.desc())))
