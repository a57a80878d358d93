"""``rank_category``: marks in, ranked and tiered entries out.

Rounding policies (``decimals`` = d, half-up, exact rational arithmetic throughout):

* final only (default): ``total = round_d( sum_c f_c * p[e,c] )`` with the exact panel marks;
* each stage (``round_each_stage=True``, the sports rule): ``P_c = round_d(p[e,c])``, then
  ``K_c = round_d(f_c * P_c)``, then ``total = sum_c K_c`` (already at d decimals).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from .aggregate import Panel, exact_panel, order_weights
from .model import AggregationConfig, CategoryResult, Criterion, EntryResult, InvalidConfig, Mark, Tier, no_gc
from .ranking import LOWEST, assign_tiers, competition_ranks
from .rounding import round_units, round_units_array, snap, units_to_decimal
from .weighted import MarkTable, validate_criteria


def rank_category(criteria: Sequence[Criterion], marks: Iterable[Mark],
                  config: AggregationConfig | None = None, tiers: Sequence[Tier] = ()) -> CategoryResult:
    """Aggregate one category's marks with ``config`` and rank the entries.

    Raises a :class:`~scoring.model.ScoringError` subclass on invalid marks or criteria, too few
    judges to trim, partial sheets under total-level methods, or a disconnected design for bias.
    """
    config = config or AggregationConfig()
    with no_gc():
        table = MarkTable.from_marks(validate_criteria(criteria), marks)
        return rank_table(table, config, tiers)


def check_setup(criteria: Sequence[Criterion], config: AggregationConfig, tiers: Sequence[Tier]) -> None:
    keys = {c.key for c in criteria}
    for tie_break in config.tie_break:
        if tie_break.kind == "criterion" and tie_break.key not in keys:
            raise InvalidConfig(f"tie-break criterion {tie_break.key!r} is not a criterion of this category")
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise InvalidConfig("tier names must be unique")
    for tier in tiers:
        if not isinstance(tier, Tier):
            raise InvalidConfig(f"expected Tier, got {type(tier).__name__}")


def rank_table(table: MarkTable, config: AggregationConfig, tiers: Sequence[Tier] = ()) -> CategoryResult:
    """:func:`rank_category` on an already built :class:`MarkTable` (the CLI's fast path)."""
    tiers = tuple(tiers)
    check_setup(table.criteria, config, tiers)
    if not table.entries:
        return CategoryResult(table.criteria, config, tiers, (), table.judges, {}, table.unscored)
    table.check_every_criterion_marked()
    panel = exact_panel(table, config)
    d = config.decimals
    totals, exact, panel_units, contrib_units = _totals(table, panel, config)
    judge_units, spread_units, median_units = _judge_figures(table, d)

    keys = [_key(e, totals, panel_units, median_units, spread_units, table, config) for e in range(len(totals))]
    ranks = competition_ranks(keys)
    shown = [units_to_decimal(t, d) for t in totals]
    tier_of = assign_tiers(ranks, shown, tiers)

    with no_gc():
        results = _results(table, config, panel, totals, exact, panel_units, contrib_units, judge_units,
                           spread_units, median_units, ranks, shown, tier_of)
    return CategoryResult(table.criteria, config, tiers, tuple(results), table.judges,
                          _offsets(table, panel, d), table.unscored)


def _results(table, config, panel, totals, exact, panel_units, contrib_units, judge_units, spread_units,
             median_units, ranks, shown, tier_of) -> list[EntryResult]:
    d = config.decimals
    trimmed = _trimmed_cells(table, panel)
    on_entry = table.present.any(axis=2)
    incomplete = (on_entry & ~table.complete).tolist()
    on_entry = on_entry.tolist()
    fallback = panel.fallback.tolist()
    keys_c = [c.key for c in table.criteria]
    dec = _DecimalCache(d)
    results = []
    for e, entry in enumerate(table.entries):
        on = [j for j, flag in enumerate(on_entry[e]) if flag]
        results.append(EntryResult(
            entry=entry, total=shown[e], rank=ranks[e], tier=tier_of[e],
            judge_totals={table.judges[j]: dec(judge_units[e][j]) for j in on},
            panel_marks={k: dec(u) for k, u in zip(keys_c, panel_units[e])},
            contributions={k: dec(u) for k, u in zip(keys_c, contrib_units[e])},
            trimmed=trimmed.get(e, frozenset()),
            spread=None if spread_units[e] is None else dec(spread_units[e]),
            median_total=None if median_units[e] is None else dec(median_units[e]),
            exact_total=exact[e], n_judges=len(on),
            incomplete=frozenset(table.judges[j] for j, flag in enumerate(incomplete[e]) if flag),
            fallback=fallback[e]))
    results.sort(key=lambda r: (r.rank, r.entry))
    return results


class _DecimalCache(dict):
    """units -> Decimal, memoised: the same few thousand figures recur across 30,000 cells."""

    def __init__(self, decimals: int):
        super().__init__()
        self.decimals = decimals

    def __call__(self, units: int):
        value = self.get(units)
        if value is None:
            value = self[units] = units_to_decimal(units, self.decimals)
        return value


def _totals(table: MarkTable, panel: Panel, config: AggregationConfig):
    """Displayed totals, exact totals, displayed panel marks and contributions (integer units)."""
    d = config.decimals
    factors = [(f.numerator, f.denominator) for f in table.factors]
    nums, dens = panel.num.tolist(), panel.den.tolist()
    totals, exact, panel_units, contrib_units = [], [], [], []
    for num_row, den_row in zip(nums, dens):
        marks = [round_units(n, q, d) for n, q in zip(num_row, den_row)]
        if config.round_each_stage:
            contribs = [round_units(a * m, b, 0) for (a, b), m in zip(factors, marks)]
            total = sum(contribs)
            value = Fraction(total, 10 ** d)
        else:
            contribs = [round_units(a * n, b * q, d) for (a, b), n, q in zip(factors, num_row, den_row)]
            value = sum((Fraction(a * n, b * q) for (a, b), n, q in zip(factors, num_row, den_row)), Fraction(0))
            total = round_units(value.numerator, value.denominator, d)
        totals.append(total)
        exact.append(value)
        panel_units.append(marks)
        contrib_units.append(contribs)
    return totals, exact, panel_units, contrib_units


def _judge_figures(table: MarkTable, d: int):
    """Each judge's total, and the spread and median of the complete judge totals (units)."""
    _, den = table.total_weights
    totals, complete = table.judge_numerators, table.complete
    judge_units = round_units_array(totals, den, d).tolist()
    any_complete = complete.any(axis=1)
    if totals.dtype == object:
        filled_hi = np.where(complete, totals, max(totals.max(), 0) + 1)
        filled_lo = np.where(complete, totals, min(totals.min(), 0) - 1)
    else:
        filled_hi = np.where(complete, totals, np.iinfo(np.int64).max)
        filled_lo = np.where(complete, totals, np.iinfo(np.int64).min)
    spread = np.where(any_complete, filled_lo.max(axis=1) - filled_hi.min(axis=1), 0)
    weights, _, _ = order_weights(totals, complete, "median")
    median = (weights * totals).sum(axis=1)  # over 2 * den
    spreads = round_units_array(spread, den, d).tolist()
    medians = round_units_array(median, 2 * den, d).tolist()
    keep = any_complete.tolist()
    return (judge_units, [s if k else None for s, k in zip(spreads, keep)],
            [m if k else None for m, k in zip(medians, keep)])


def _key(e, totals, panel_units, median_units, spread_units, table, config) -> tuple:
    key = [totals[e]]
    for tie_break in config.tie_break:
        if tie_break.kind == "criterion":
            key.append(panel_units[e][[c.key for c in table.criteria].index(tie_break.key)])
        elif tie_break.kind == "median":
            key.append(LOWEST if median_units[e] is None else median_units[e])
        else:  # smaller spread wins
            key.append(LOWEST if spread_units[e] is None else -spread_units[e])
    return tuple(key)


def _trimmed_cells(table: MarkTable, panel: Panel) -> dict[int, frozenset[tuple[str, str]]]:
    """Cells whose weight is below the fullest weight of their panel mark (0 = dropped, or a
    share of a tie at the cut-off)."""
    weight = panel.weight
    dropped = table.present & (weight < weight.max(axis=1, keepdims=True))
    keys = [c.key for c in table.criteria]
    cells: dict[int, list[tuple[str, str]]] = {}
    for e, j, c in np.argwhere(dropped).tolist():
        cells.setdefault(e, []).append((table.judges[j], keys[c]))
    return {e: frozenset(v) for e, v in cells.items()}


def _offsets(table: MarkTable, panel: Panel, d: int) -> dict:
    if panel.offsets is None:
        return {}
    factors = np.array([float(f) for f in table.factors])
    points = panel.offsets @ factors
    return {judge: units_to_decimal(round_units(s.numerator, s.denominator, d), d)
            for judge, s in ((j, snap(float(v))) for j, v in zip(table.judges, points))}

