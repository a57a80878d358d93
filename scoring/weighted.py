"""Mark validation, a judge's weighted total, and the dense mark table the methods work on.

A judge's weighted total on an entry is ``T = sum_c weight_c * x_c / max_score_c`` over the
criteria the judge marked. Internally every mark is an integer count of ``10**-places`` (the
finest decimal place used in the category), so sums and order statistics are exact integer
arithmetic done by numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .model import (Criterion, IncompleteSheet, InvalidCriteria, InvalidMark, Mark, ScoringError,
                    to_decimal)
from .rounding import round_fraction, units_to_decimal

MAX_PLACES = 6  # marks finer than a millionth are almost certainly a data error


def validate_mark(criterion: Criterion, score: Any) -> Decimal | None:
    """Return ``score`` as a Decimal if it is a valid mark on ``criterion``; ``None`` stays None.

    Raises :class:`InvalidMark` when the score is not a finite number, lies outside
    ``[min_score, max_score]``, is not on the grid ``min_score + k * step``, or has more than six
    decimal places. The web app uses this for server-side validation of score sheets.
    """
    if score is None:
        return None
    key = criterion.key
    try:
        value = to_decimal(score, "mark")
    except ScoringError as exc:
        kind = "a finite number" if "finite" in exc.message else "a number"
        raise InvalidMark(f"mark {score!r} on {key!r} is not {kind}", criterion=key, score=score) from None
    if value < criterion.min_score or value > criterion.max_score:
        raise InvalidMark(f"mark {value} on {key!r} is outside {criterion.min_score}-{criterion.max_score}",
                          criterion=key, score=score)
    if criterion.step is not None and (value - criterion.min_score) % criterion.step != 0:
        raise InvalidMark(f"mark {value} on {key!r} is not in steps of {criterion.step} from {criterion.min_score}",
                          criterion=key, score=score)
    if -value.normalize().as_tuple().exponent > MAX_PLACES:
        raise InvalidMark(f"mark {value} on {key!r} has more than {MAX_PLACES} decimal places",
                          criterion=key, score=score)
    return value


def validate_criteria(criteria: Sequence[Criterion], total: Decimal | int | None = None) -> tuple[Criterion, ...]:
    """Check a category's criteria: at least one, unique keys and, if ``total`` is given, weights
    adding up to it exactly (usually 100)."""
    criteria = tuple(criteria)
    if not criteria:
        raise InvalidCriteria("a category needs at least one criterion")
    seen: set[str] = set()
    for criterion in criteria:
        if not isinstance(criterion, Criterion):
            raise InvalidCriteria(f"expected Criterion, got {type(criterion).__name__}")
        if criterion.key in seen:
            raise InvalidCriteria(f"criterion {criterion.key!r} is listed twice")
        seen.add(criterion.key)
    if total is not None:
        weight_sum = sum((c.weight for c in criteria), Decimal(0))
        if weight_sum != Decimal(total):
            raise InvalidCriteria(f"weights add up to {weight_sum}, expected {total}")
    return criteria


def weighted_total(criteria: Sequence[Criterion], scores_by_criterion: Mapping[str, Any], *,
                   decimals: int = 2, validate: bool = True) -> Decimal:
    """One judge's live total on a score sheet: ``sum_c weight_c * x_c / max_score_c``.

    Missing marks (absent keys or ``None``) are ignored, so a half-filled sheet shows the points
    earned so far. The exact sum is rounded half-up to ``decimals`` once. Unknown criterion keys
    raise :class:`InvalidMark`; with ``validate`` each mark is checked by :func:`validate_mark`.
    """
    by_key = {c.key: c for c in criteria}
    exact = Fraction(0)
    for key, score in scores_by_criterion.items():
        criterion = by_key.get(key)
        if criterion is None:
            raise InvalidMark(f"unknown criterion {key!r}", criterion=key, score=score)
        value = validate_mark(criterion, score) if validate else (None if score is None else to_decimal(score))
        if value is not None:
            exact += criterion.factor * Fraction(value)
    return units_to_decimal(round_fraction(exact, decimals), decimals)


def places_of(values: Iterable[Decimal]) -> int:
    """Decimal places needed to write every value as an integer count of 10**-places."""
    return max((max(0, -v.normalize().as_tuple().exponent) for v in values), default=0)


@dataclass(frozen=True, eq=False)
class MarkTable:
    """The marks of one category as dense arrays, entries and judges sorted by id.

    ``units[e, j, c]`` is judge j's mark for entry e on criterion c in units of ``10**-places``
    (0 where ``present`` is False). Sorting ids makes every result independent of input order.
    """

    criteria: tuple[Criterion, ...]
    entries: tuple[str, ...]
    judges: tuple[str, ...]
    units: np.ndarray
    present: np.ndarray
    places: int
    unscored: tuple[str, ...] = ()

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_marks(cls, criteria: Sequence[Criterion], marks: Iterable[Mark]) -> MarkTable:
        criteria = validate_criteria(criteria)
        index = {c.key: i for i, c in enumerate(criteria)}
        checked: dict[tuple[int, Any], Decimal] = {}
        seen: set[tuple[str, str, str]] = set()
        rows: list[tuple[str, str, int, Decimal]] = []
        mentioned: set[str] = set()
        for mark in marks:
            ci = index.get(mark.criterion)
            if ci is None:
                raise InvalidMark(f"unknown criterion {mark.criterion!r} (entry {mark.entry!r}, judge {mark.judge!r})",
                                  criterion=mark.criterion, entry=mark.entry, judge=mark.judge, score=mark.score)
            key = (mark.entry, mark.judge, mark.criterion)
            if key in seen:
                raise InvalidMark(f"judge {mark.judge!r} marked entry {mark.entry!r} on {mark.criterion!r} twice",
                                  criterion=mark.criterion, entry=mark.entry, judge=mark.judge, score=mark.score)
            seen.add(key)
            mentioned.add(mark.entry)
            if mark.score is None:
                continue
            value = checked.get((ci, mark.score))
            if value is None:
                try:
                    value = validate_mark(criteria[ci], mark.score)
                except InvalidMark as exc:
                    raise InvalidMark(f"{exc.message} (entry {mark.entry!r}, judge {mark.judge!r})",
                                      criterion=mark.criterion, entry=mark.entry, judge=mark.judge,
                                      score=mark.score) from None
                checked[(ci, mark.score)] = value
            rows.append((mark.entry, mark.judge, ci, value))
        places = places_of(set(checked.values()))
        entries = sorted({r[0] for r in rows})
        judges = sorted({r[1] for r in rows})
        e_of = {e: i for i, e in enumerate(entries)}
        j_of = {j: i for i, j in enumerate(judges)}
        scale = 10 ** places
        return cls.from_indices(
            criteria, entries, judges,
            np.fromiter((e_of[r[0]] for r in rows), np.int64, len(rows)),
            np.fromiter((j_of[r[1]] for r in rows), np.int64, len(rows)),
            np.fromiter((r[2] for r in rows), np.int64, len(rows)),
            [int(r[3] * scale) for r in rows], places,
            unscored=tuple(sorted(mentioned - set(entries))))

    @classmethod
    def from_indices(cls, criteria: Sequence[Criterion], entries: Sequence[str], judges: Sequence[str],
                     e: np.ndarray, j: np.ndarray, c: np.ndarray, units: Sequence[int] | np.ndarray,
                     places: int, unscored: tuple[str, ...] = ()) -> MarkTable:
        """Build from parallel index arrays; ``entries``/``judges`` must already be sorted and
        (entry, judge, criterion) triples unique (the callers check and report duplicates)."""
        shape = (len(entries), len(judges), len(criteria))
        table = np.zeros(shape, dtype=np.int64)
        present = np.zeros(shape, dtype=bool)
        table[e, j, c] = np.asarray(units, dtype=np.int64)
        present[e, j, c] = True
        return cls(tuple(criteria), tuple(entries), tuple(judges), table, present, places, unscored)

    def without_judges(self, drop: Iterable[str]) -> MarkTable:
        """The same marks with some judges removed (entries left without marks become unscored)."""
        drop = set(drop)
        keep_j = np.array([j not in drop for j in self.judges], dtype=bool)
        present = self.present[:, keep_j, :]
        keep_e = present.any(axis=(1, 2))
        return MarkTable(self.criteria, tuple(e for e, k in zip(self.entries, keep_e) if k),
                         tuple(j for j, k in zip(self.judges, keep_j) if k),
                         self.units[keep_e][:, keep_j, :], present[keep_e], self.places,
                         tuple(sorted(set(self.unscored) | {e for e, k in zip(self.entries, keep_e) if not k})))

    # -- derived arrays ----------------------------------------------------------------------

    @property
    def scale(self) -> int:
        return 10 ** self.places

    @cached_property
    def values(self) -> np.ndarray:
        """Marks as floats with NaN where missing (statistics and bootstrap only)."""
        return np.where(self.present, self.units / self.scale, np.nan)

    @cached_property
    def factors(self) -> tuple[Fraction, ...]:
        return tuple(c.factor for c in self.criteria)

    @cached_property
    def total_weights(self) -> tuple[np.ndarray, int]:
        """Integer weights ``a_c`` and common denominator ``D`` with ``T = sum_c a_c * units_c / D``."""
        lcm = math.lcm(*(f.denominator for f in self.factors))
        weights = np.array([f.numerator * (lcm // f.denominator) for f in self.factors], dtype=object)
        return weights, lcm * self.scale

    @cached_property
    def judge_numerators(self) -> np.ndarray:
        """Exact judge totals as integer numerators over ``total_weights[1]`` (0 where absent)."""
        weights, _ = self.total_weights
        bound = int(np.abs(self.units).max(initial=0)) * sum(abs(int(w)) for w in weights)
        dtype = np.int64 if bound < 2 ** 62 else object
        return (self.units.astype(dtype) * weights.astype(dtype)).sum(axis=2)

    @cached_property
    def judge_totals_float(self) -> np.ndarray:
        """Judge totals as floats, NaN where the judge did not mark the entry at all."""
        factors = np.array([float(f) for f in self.factors])
        totals = (np.where(self.present, self.units / self.scale, 0.0) * factors).sum(axis=2)
        return np.where(self.present.any(axis=2), totals, np.nan)

    @cached_property
    def complete(self) -> np.ndarray:
        """(E, J) True where the judge marked every criterion of the entry."""
        return self.present.all(axis=2)

    def check_every_criterion_marked(self) -> None:
        """Every scored entry needs at least one mark on each criterion (a missing mark is never 0)."""
        counts = self.present.sum(axis=1)
        bad = np.argwhere(counts == 0)
        if bad.size:
            e, c = bad[0]
            key = self.criteria[c].key
            raise IncompleteSheet(f"entry {self.entries[e]!r} has no mark on criterion {key!r} from any judge",
                                  entry=self.entries[e], criteria=(key,))

    def check_complete_sheets(self, why: str) -> None:
        """Total-level methods compare whole sheets, so every judge of an entry must mark all criteria."""
        partial = self.present.any(axis=2) & ~self.complete
        bad = np.argwhere(partial)
        if bad.size:
            e, j = bad[0]
            missing = tuple(c.key for c, p in zip(self.criteria, self.present[e, j]) if not p)
            raise IncompleteSheet(
                f"judge {self.judges[j]!r} left {', '.join(missing)} unmarked for entry {self.entries[e]!r}; "
                f"{why} needs complete score sheets", entry=self.entries[e], judge=self.judges[j], criteria=missing)
