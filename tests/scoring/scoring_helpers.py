"""Small builders shared by the scoring tests (imported by name: tests/scoring is on sys.path)."""

from __future__ import annotations

from decimal import Decimal

from scoring import Criterion, Mark


def D(value) -> Decimal:
    return Decimal(str(value))


def sheet(criteria: list[Criterion], table: dict[str, dict[str, tuple]]) -> list[Mark]:
    """Marks from {entry: {judge: (mark per criterion, in criteria order)}}; None = missing."""
    return [Mark(entry, judge, c.key, None if score is None else D(score))
            for entry, by_judge in table.items()
            for judge, scores in by_judge.items()
            for c, score in zip(criteria, scores)]
