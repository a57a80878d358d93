"""The canonical description of a stage's results: what a freeze stores and hashes, and what
every export is made from. Built from the database through the scoring engine; plain JSON types
only (Decimals as strings), so the same payload hashes the same on any machine.

Shape (format 1)::

    {"format": 1,
     "edition": {"id", "number", "name", "year"},
     "stage": {"id", "name", "position", "blind"},
     "config": AggregationConfig.to_dict(),   # the stage's: tie_break criteria by NAME ("criterion:服務")
     "tiers": [{"name", "min_total", "quota"}],                 # best first
     "judges": [{"id", "name"}],
     "categories": [{
         "id", "name",
         "criteria": [{"id", "name", "weight", "min_score", "max_score", "step"}],
         "entries": [{"id", "title", "rank", "total", "tier", "n_judges", "spread",
                      "judge_totals": {judge_id: total}, "panel_marks": {criterion_id: mark},
                      "trimmed": [[judge_id, criterion_id], ...],
                      "agency": {"id", "code", "name", "county", "geography", "head_name"},
                      ["head_name": the entry's head of agency, only when it differs from the register's,]
                      ["fallback": true, only when too few judges to trim and the mean was used]}],  # best first
         "unranked": [entry ids in the stage without marks],
         "marks": [{"entry", "judge", "criterion", "score"}],     # every mark used
         "error": null | "why the category could not be ranked"}]}
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import scoring
from sqlalchemy import select

from .. import scoring_adapter as adapter
from ..audit import canonical_json
from ..extensions import db
from ..models import Stage, User

FORMAT = 1


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def engine_error_detail(exc: scoring.ScoringError) -> dict[str, Any]:
    """The engine's refusal as data: its kind and the figures a reader needs (ids, not names)."""
    if isinstance(exc, scoring.TooFewJudges):
        return {"kind": "too_few_judges", "entry": int(exc.entry), "judges": exc.judges, "needed": exc.needed}
    if isinstance(exc, scoring.DisconnectedDesign):
        return {"kind": "disconnected", "parts": len(exc.components)}
    if isinstance(exc, scoring.IncompleteSheet) and exc.entry is not None:
        return {"kind": "incomplete", "entry": int(exc.entry)}
    return {"kind": "other"}


def build_payload(stage: Stage, config: scoring.AggregationConfig | None = None) -> dict[str, Any]:
    """The stage's results as they stand now (``config`` overrides the stage's method for a what-if)."""
    edition = stage.edition
    config = config or adapter.stage_config(stage)
    judge_ids: set[str] = set()
    categories = []
    for category in edition.categories:
        criteria = adapter.criteria_for(category, stage)
        marks = adapter.stage_marks(stage, category)
        entries = {str(e.id): e for e in adapter.stage_entries(stage, category)}
        judge_ids.update(m.judge for m in marks)
        ranked, error, error_detail = [], None, None
        try:
            result = scoring.rank_category(adapter.to_criteria(criteria), marks, adapter.for_category(config, criteria),
                                           tiers=adapter.to_tiers(edition)) if marks else None
        except scoring.ScoringError as exc:
            result, error, error_detail = None, exc.message, engine_error_detail(exc)
        for r in result.entries if result else ():
            entry = entries.get(r.entry)
            item = {
                "id": int(r.entry), "title": entry.title if entry else "", "rank": r.rank, "total": _str(r.total),
                "tier": r.tier, "n_judges": r.n_judges, "spread": _str(r.spread),
                "judge_totals": {j: _str(t) for j, t in sorted(r.judge_totals.items())},
                "panel_marks": {c: _str(v) for c, v in sorted(r.panel_marks.items())},
                "trimmed": sorted([list(pair) for pair in r.trimmed]),
                "agency": _agency(entry.agency) if entry else None,
            }
            # optional keys, present only when they say something: payloads without them hash as before
            head = (entry.head_name or "").strip() if entry is not None else ""
            if head and head != (entry.agency.head_name or "").strip():  # the register's is in "agency"
                item["head_name"] = head
            if r.fallback:
                item["fallback"] = True
            ranked.append(item)
        ranked_ids = {str(r["id"]) for r in ranked}
        categories.append({
            "id": category.id, "name": category.name,
            "criteria": [{"id": c.id, "name": c.name, "weight": _str(c.weight), "min_score": _str(c.min_score),
                          "max_score": _str(c.max_score), "step": _str(c.step)} for c in criteria],
            "entries": ranked,
            "unranked": sorted(int(e) for e in entries if e not in ranked_ids),
            "marks": [{"entry": int(m.entry), "judge": int(m.judge), "criterion": int(m.criterion),
                       "score": _str(m.score)} for m in marks],
            "error": error,
            # only with an error (a frozen payload has none, so snapshots hash as before): what the
            # engine refused, in data, for the pages to say in the reader's language
            **({"error_detail": error_detail} if error_detail else {}),
        })
    judges = [{"id": u.id, "name": u.name} for u in
              db.session.scalars(select(User).where(User.id.in_([int(j) for j in judge_ids])).order_by(User.id))]
    return {
        "format": FORMAT,
        "edition": {"id": edition.id, "number": edition.number, "name": edition.name, "year": edition.year},
        "stage": {"id": stage.id, "name": stage.name, "position": stage.position, "blind": stage.blind},
        "config": config.to_dict(),
        "tiers": [{"name": t.name, "min_total": _str(t.min_total), "quota": t.quota}
                  for t in sorted(edition.tiers, key=lambda t: t.position)],
        "judges": judges,
        "categories": categories,
    }


def _agency(agency) -> dict[str, Any]:
    return {"id": agency.id, "code": agency.code, "name": agency.name, "county": agency.county,
            "geography": agency.geography.value, "head_name": agency.head_name or ""}


def payload_json(payload: dict[str, Any]) -> str:
    return canonical_json(payload)


def payload_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(payload_json(payload).encode()).hexdigest()
