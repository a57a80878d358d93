"""Helpers for the editions tests: form-data builders and database probes."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from award.extensions import db
from award.models import AuditEvent, Category, Criterion, Edition, Entry, Mark, ScoreSheet, User

AREAS = ["首長決心與持續作為", "資訊與行政透明", "風險防制與課責", "廉政成效展現", "廉能創新與擴散"]


def edition_data(number: int = 7, **overrides) -> dict:
    data = {"number": number, "year": 2025, "name": f"第{number}屆透明晶質獎",
            "submission_opens_at": "2099-03-01T09:00", "submission_deadline": "2099-09-30T17:00"}
    return {**data, **overrides}


def criteria_data(rows: list[dict]) -> dict:
    """Form fields of the criteria editor for these rows (as a browser would post them)."""
    data = {}
    for index, row in enumerate(rows):
        for key, value in row.items():
            if key == "remove":
                if value:
                    data[f"criteria-{index}-remove"] = "y"
            else:
                data[f"criteria-{index}-{key}"] = "" if value is None else str(value)
    return data


def area_rows(weights=(20, 20, 25, 20, 15), names=AREAS, ids=None) -> list[dict]:
    ids = ids or [None] * len(names)
    return [{"id": ident or "", "name": name, "description": f"{name}說明", "weight": weight, "min_score": 0,
             "max_score": 100, "step": "0.5", "section_char_limit": 3000}
            for ident, name, weight in zip(ids, names, weights, strict=True)]


def rows_of(category: Category) -> list[dict]:
    """The criteria editor's rows for a category's current criteria."""
    return [{"id": c.id, "name": c.name, "description": c.description, "weight": c.weight,
             "min_score": c.min_score, "max_score": c.max_score, "step": c.step,
             "section_char_limit": c.section_char_limit} for c in category.criteria]


def criteria_state(category_id: int) -> list[tuple]:
    """Everything stored about a category's criteria, to prove a refusal changed nothing."""
    db.session.expire_all()
    rows = db.session.execute(select(Criterion).where(Criterion.category_id == category_id)
                              .order_by(Criterion.id)).scalars()
    return [(c.id, c.name, c.description, c.position, c.weight, c.min_score, c.max_score, c.step,
             c.section_char_limit) for c in rows]


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def demo_edition() -> Edition:
    return db.session.scalar(select(Edition).where(Edition.number == 3))


def score(criterion: Criterion, value: Decimal | None, *, agency_index: int = 0) -> Mark:
    """A judge's mark on the criterion, on a new entry of its category in the first stage."""
    from award.models import Agency

    category = criterion.category
    agency = db.session.scalars(select(Agency).order_by(Agency.id)).all()[agency_index]
    entry = Entry(category=category, agency=agency, title="參獎案")
    judge = db.session.scalar(select(User).where(User.email == "judge1@award.example"))
    db.session.add(entry)
    db.session.flush()
    sheet = ScoreSheet(entry_id=entry.id, judge_id=judge.id, stage_id=category.edition.stages[0].id)
    mark = Mark(sheet=sheet, criterion_id=criterion.id, score=value)
    db.session.add_all([sheet, mark])
    db.session.commit()
    return mark
