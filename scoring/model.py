"""Plain data in and out of the scoring engine: criteria, marks, configuration, results, errors.

Everything here is a frozen dataclass keyed by string ids, so the web app can build these from
database rows and read results back without knowing anything about the arithmetic.
"""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Any


# --------------------------------------------------------------------------------------- errors


class ScoringError(ValueError):
    """Base of every error the engine raises on purpose; ``message`` is meant for humans."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidCriteria(ScoringError):
    """The criteria of a category are unusable (duplicate key, bad weight or range, bad sum)."""


class InvalidConfig(ScoringError):
    """An aggregation configuration, tie-break or tier list that cannot be applied."""


class InvalidMark(ScoringError):
    """A mark that is out of range, off the step grid, not a number, unknown or given twice."""

    def __init__(self, message: str, *, criterion: str | None = None, score: Any = None,
                 entry: str | None = None, judge: str | None = None):
        super().__init__(message)
        self.criterion, self.score, self.entry, self.judge = criterion, score, entry, judge


class IncompleteSheet(ScoringError):
    """Marks missing where the method needs them (a criterion nobody marked; a partial sheet
    under a method that compares whole totals)."""

    def __init__(self, message: str, *, entry: str | None = None, judge: str | None = None,
                 criteria: tuple[str, ...] = ()):
        super().__init__(message)
        self.entry, self.judge, self.criteria = entry, judge, criteria


class TooFewJudges(ScoringError):
    """Trimming N highest and N lowest needs at least 2N + 1 marks."""

    def __init__(self, message: str, *, entry: str, criterion: str | None, judges: int, needed: int):
        super().__init__(message)
        self.entry, self.criterion, self.judges, self.needed = entry, criterion, judges, needed


class DisconnectedDesign(ScoringError):
    """The judge-entry graph falls apart, so judge offsets cannot be compared across the parts."""

    def __init__(self, message: str, *, criterion: str | None,
                 components: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]):
        super().__init__(message)
        self.criterion = criterion
        self.components = components  # ((judges, entries), ...) one pair per connected part


# ------------------------------------------------------------------------------------- helpers


def to_decimal(value: Any, what: str = "value") -> Decimal:
    """Coerce ``value`` to a finite Decimal; floats go through ``repr`` so 7.5 stays 7.5."""
    if isinstance(value, bool):
        raise ScoringError(f"{what} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ScoringError(f"{what} {value!r} is not a number") from None
    else:
        raise ScoringError(f"{what} must be a number, not {type(value).__name__}")
    if not result.is_finite():
        raise ScoringError(f"{what} {value!r} is not a finite number")
    return result


@contextmanager
def no_gc():
    """Pause the cyclic garbage collector: bulk-allocating ~10^5 row lists (which form no cycles)
    otherwise triggers thousands of collections and triples the parse time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


# ----------------------------------------------------------------------------------- criteria


@dataclass(frozen=True)
class Criterion:
    """One criterion of a category.

    A judge's mark ``x`` on this criterion contributes ``weight * x / max_score`` points to that
    judge's total. Marks must lie in ``[min_score, max_score]`` and, when ``step`` is set, on the
    grid ``min_score + k * step``.
    """

    key: str
    weight: Decimal
    max_score: Decimal
    min_score: Decimal = Decimal(0)
    step: Decimal | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise InvalidCriteria("a criterion needs a non-empty string key")
        try:
            _set(self, "weight", to_decimal(self.weight, f"weight of {self.key!r}"))
            _set(self, "max_score", to_decimal(self.max_score, f"max_score of {self.key!r}"))
            _set(self, "min_score", to_decimal(self.min_score, f"min_score of {self.key!r}"))
            if self.step is not None:
                _set(self, "step", to_decimal(self.step, f"step of {self.key!r}"))
        except ScoringError as exc:
            raise InvalidCriteria(exc.message) from None
        if self.weight <= 0:
            raise InvalidCriteria(f"criterion {self.key!r}: weight must be positive, got {self.weight}")
        if self.max_score <= self.min_score:
            raise InvalidCriteria(
                f"criterion {self.key!r}: max_score {self.max_score} must exceed min_score {self.min_score}")
        if self.step is not None and self.step <= 0:
            raise InvalidCriteria(f"criterion {self.key!r}: step must be positive, got {self.step}")

    @property
    def factor(self) -> Fraction:
        """Points per unit of mark: ``weight / max_score`` as an exact fraction."""
        return Fraction(self.weight) / Fraction(self.max_score)


@dataclass(frozen=True)
class Mark:
    """One judge's mark for one entry on one criterion; ``score=None`` means not (yet) marked."""

    entry: str
    judge: str
    criterion: str
    score: Decimal | None


# ------------------------------------------------------------------------------ configuration


class Method(StrEnum):
    MEAN = "mean"
    TRIMMED = "trimmed"
    MEDIAN = "median"
    ZSCORE = "zscore"
    BIAS = "bias"


class TrimLevel(StrEnum):
    CRITERION = "criterion"  # trim each criterion's marks, then weight and sum (figure skating)
    TOTAL = "total"          # trim the judges' weighted totals (去掉最高分與最低分)


class TooFewPolicy(StrEnum):
    ERROR = "error"  # raise TooFewJudges
    MEAN = "mean"    # use the plain mean for that entry (flagged in EntryResult.fallback)


@dataclass(frozen=True)
class TieBreak:
    """One step of the tie-break sequence applied to entries whose displayed totals are equal.

    * ``TieBreak.criterion("c3")`` - higher panel mark on criterion ``c3`` (displayed precision);
    * ``TieBreak.median()`` - higher median of the judges' weighted totals (displayed precision);
    * ``TieBreak.spread()`` - smaller spread (highest minus lowest judge total) wins.
    """

    kind: str
    key: str | None = None

    KINDS = ("criterion", "median", "spread")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise InvalidConfig(f"unknown tie-break {self.kind!r}; use one of {', '.join(self.KINDS)}")
        if (self.kind == "criterion") != bool(self.key):
            raise InvalidConfig("a criterion tie-break needs a criterion key (and only it takes one)")

    @classmethod
    def criterion(cls, key: str) -> TieBreak:
        return cls("criterion", key)

    @classmethod
    def median(cls) -> TieBreak:
        return cls("median")

    @classmethod
    def spread(cls) -> TieBreak:
        return cls("spread")

    @classmethod
    def parse(cls, text: str) -> TieBreak:
        """``"criterion:c3"``, ``"median"`` or ``"spread"`` (the CLI and config-file spelling)."""
        kind, _, key = text.strip().partition(":")
        return cls(kind.strip(), key.strip() or None)

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}" if self.key else self.kind


@dataclass(frozen=True)
class AggregationConfig:
    """How one edition/stage turns marks into totals; see docs/scoring.md for every formula.

    ``trim`` and ``trim_level`` apply to ``trimmed`` and ``median`` (median is the limit of
    trimming: per criterion, or over the judges' totals). ``decimals`` is the displayed
    precision; ranks and tiers are decided on it.
    """

    method: Method = Method.MEAN
    trim: int = 1
    trim_level: TrimLevel = TrimLevel.CRITERION
    round_each_stage: bool = False
    decimals: int = 2
    tie_break: tuple[TieBreak, ...] = ()
    too_few_judges: TooFewPolicy = TooFewPolicy.ERROR

    def __post_init__(self) -> None:
        try:
            _set(self, "method", Method(self.method))
            _set(self, "trim_level", TrimLevel(self.trim_level))
            _set(self, "too_few_judges", TooFewPolicy(self.too_few_judges))
        except ValueError as exc:
            raise InvalidConfig(str(exc)) from None
        if isinstance(self.trim, bool) or not isinstance(self.trim, int) or self.trim < 0:
            raise InvalidConfig(f"trim must be a non-negative integer, got {self.trim!r}")
        if isinstance(self.decimals, bool) or not isinstance(self.decimals, int) or not 0 <= self.decimals <= 6:
            raise InvalidConfig(f"decimals must be an integer from 0 to 6, got {self.decimals!r}")
        items = (self.tie_break,) if isinstance(self.tie_break, (str, TieBreak)) else self.tie_break
        _set(self, "tie_break", tuple(TieBreak.parse(t) if isinstance(t, str) else t for t in items))
        _set(self, "round_each_stage", bool(self.round_each_stage))

    def to_dict(self) -> dict[str, Any]:
        return {"method": str(self.method), "trim": self.trim, "trim_level": str(self.trim_level),
                "round_each_stage": self.round_each_stage, "decimals": self.decimals,
                "tie_break": [str(t) for t in self.tie_break], "too_few_judges": str(self.too_few_judges)}


@dataclass(frozen=True)
class Tier:
    """An award tier. Tiers are listed best first; an entry gets the first tier it qualifies for.

    ``min_total``: the displayed total must be at least this. ``quota``: at most this many
    places, counted in rank order among the entries still eligible; entries tied on rank are
    never split, so a tie at the boundary can exceed the quota. A tier with neither takes every
    remaining entry.
    """

    name: str
    min_total: Decimal | None = None
    quota: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidConfig("a tier needs a non-empty name")
        if self.min_total is not None:
            try:
                _set(self, "min_total", to_decimal(self.min_total, f"min_total of tier {self.name!r}"))
            except ScoringError as exc:
                raise InvalidConfig(exc.message) from None
        if self.quota is not None and (isinstance(self.quota, bool) or not isinstance(self.quota, int)
                                       or self.quota < 1):
            raise InvalidConfig(f"tier {self.name!r}: quota must be a positive integer, got {self.quota!r}")


# ------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class EntryResult:
    """The outcome for one entry.

    ``total`` is the official figure (rounded to ``decimals``); ``exact_total`` the exact value
    before the final rounding (for zscore/bias: the float estimate snapped to 9 decimals).
    ``judge_totals`` are each judge's weighted totals (partial sheets count only the marks given;
    those judges are listed in ``incomplete``). ``panel_marks``/``contributions`` are per criterion:
    the panel's mark on the criterion's own scale and its weighted points. ``trimmed`` lists the
    (judge, criterion) cells the method left out (for total-level trimming and median: every cell
    of a dropped judge). ``spread`` is the highest minus the lowest complete judge total.
    """

    entry: str
    total: Decimal
    rank: int
    tier: str | None
    judge_totals: dict[str, Decimal]
    panel_marks: dict[str, Decimal]
    contributions: dict[str, Decimal]
    trimmed: frozenset[tuple[str, str]]
    spread: Decimal | None
    median_total: Decimal | None
    exact_total: Fraction
    n_judges: int
    incomplete: frozenset[str] = frozenset()
    fallback: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry, "rank": self.rank, "total": str(self.total), "tier": self.tier,
            "judge_totals": {j: str(v) for j, v in self.judge_totals.items()},
            "panel_marks": {c: str(v) for c, v in self.panel_marks.items()},
            "contributions": {c: str(v) for c, v in self.contributions.items()},
            "trimmed": sorted([j, c] for j, c in self.trimmed),
            "spread": None if self.spread is None else str(self.spread),
            "median_total": None if self.median_total is None else str(self.median_total),
            "n_judges": self.n_judges, "incomplete": sorted(self.incomplete), "fallback": self.fallback,
        }


@dataclass(frozen=True)
class CategoryResult:
    """Ranked entries of one category (best first, ties by entry id) plus context.

    ``judge_offsets``: for ``bias``, each judge's estimated leniency in total points (positive =
    generous); empty for other methods. ``unscored``: entries present only with empty marks.
    """

    criteria: tuple[Criterion, ...]
    config: AggregationConfig
    tiers: tuple[Tier, ...]
    entries: tuple[EntryResult, ...]
    judges: tuple[str, ...]
    judge_offsets: dict[str, Decimal] = field(default_factory=dict)
    unscored: tuple[str, ...] = ()

    def entry(self, entry_id: str) -> EntryResult:
        for result in self.entries:
            if result.entry == entry_id:
                return result
        raise KeyError(entry_id)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "judges": list(self.judges),
                "judge_offsets": {j: str(v) for j, v in self.judge_offsets.items()},
                "unscored": list(self.unscored), "entries": [e.to_dict() for e in self.entries]}


def clean_float(value: float | None) -> float | None:
    """JSON-friendly float: NaN/inf become None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

