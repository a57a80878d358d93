"""Invariance properties (hypothesis): input order, one judge's constant shift, weight scaling."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scoring import AggregationConfig, Criterion, Mark, rank_category
from scoring.aggregate import components

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HALF = Decimal("0.5")


@st.composite
def categories(draw, low=0, high=20, complete=True):
    """Criteria plus marks in half-point steps (marks kept in [low, high] half-steps of 0-10)."""
    n_c = draw(st.integers(1, 3))
    criteria = [Criterion(f"c{i}", draw(st.integers(1, 60)), 10, step=HALF) for i in range(n_c)]
    n_e, n_j = draw(st.integers(2, 5)), draw(st.integers(3, 5))
    cells = [(e, j) for e in range(n_e) for j in range(n_j)]
    if not complete:
        keep = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
        cells = [cell for cell, k in zip(cells, keep) if k]
    marks = [Mark(f"E{e}", f"J{j}", c.key, HALF * draw(st.integers(low, high)))
             for e, j in cells for c in criteria]
    return criteria, marks


def methods():
    return st.builds(AggregationConfig, method=st.sampled_from(["mean", "trimmed", "median", "zscore", "bias"]),
                     trim_level=st.sampled_from(["criterion", "total"]), round_each_stage=st.booleans(),
                     too_few_judges=st.just("mean"), decimals=st.integers(0, 3))


@SETTINGS
@given(categories(), methods(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(category, config, rnd):
    criteria, marks = category
    shuffled = marks[:]
    rnd.shuffle(shuffled)
    assert rank_category(criteria, shuffled, config) == rank_category(criteria, marks, config)


def connected(marks):
    entries = sorted({m.entry for m in marks})
    judges = sorted({m.judge for m in marks})
    grid = np.zeros((len(entries), len(judges)), dtype=bool)
    for m in marks:
        grid[entries.index(m.entry), judges.index(m.judge)] = True
    return components(grid)[0] == 1


def shifted(marks, judge, amount):
    return [Mark(m.entry, m.judge, m.criterion, m.score + amount if m.judge == judge else m.score) for m in marks]


def exact_totals(result):
    return {r.entry: r.exact_total for r in result.entries}


@SETTINGS
@given(categories(high=10, complete=False), st.sampled_from(["zscore", "bias"]), st.integers(1, 10), st.data())
def test_a_constant_added_to_one_judge_leaves_zscore_and_bias_rankings_unchanged(category, method, steps, data):
    criteria, marks = category
    judges = sorted({m.judge for m in marks})
    assume(len(judges) >= 2 and connected(marks))
    assume(all(any(m.criterion == c.key and m.entry == e for m in marks)
               for e in {m.entry for m in marks} for c in criteria))
    judge = data.draw(st.sampled_from(judges))
    config = AggregationConfig(method=method)
    before = exact_totals(rank_category(criteria, marks, config))
    after = exact_totals(rank_category(criteria, shifted(marks, judge, HALF * steps), config))
    # every entry moves by the same amount (up to the 1e-9 snapping), so the order is unchanged
    moves = [float(after[e] - before[e]) for e in before]
    assert max(moves) - min(moves) < 1e-6
    assert sorted(before, key=lambda e: (-before[e], e)) == sorted(after, key=lambda e: (-after[e], e)) or \
        _same_up_to_ties(before, after)


def _same_up_to_ties(before, after, tolerance=Fraction(1, 10 ** 6)):
    entries = list(before)
    return all((before[a] - before[b] > tolerance) == (after[a] - after[b] > tolerance)
               for a in entries for b in entries)


@SETTINGS
@given(categories(), methods(), st.sampled_from([2, 3, 10, Decimal("0.5"), Decimal("2.5")]))
def test_scaling_all_weights_leaves_rankings_unchanged(category, config, factor):
    criteria, marks = category
    config = AggregationConfig(method=config.method, trim_level=config.trim_level, too_few_judges="mean")
    scaled = [Criterion(c.key, c.weight * factor, c.max_score, step=c.step) for c in criteria]
    before = exact_totals(rank_category(criteria, marks, config))
    after = exact_totals(rank_category(scaled, marks, config))
    if config.method in ("mean", "trimmed", "median"):
        assert all(after[e] == before[e] * Fraction(factor) for e in before)  # exact arithmetic
    else:
        assert all(abs(float(after[e] - before[e] * Fraction(factor))) < 1e-6 * float(factor) for e in before)
    assert _same_up_to_ties(before, {e: v / Fraction(factor) for e, v in after.items()})


@SETTINGS
@given(categories(), st.sampled_from(["mean", "trimmed", "median", "zscore", "bias"]), st.integers(0, 1000))
def test_renaming_judges_changes_nothing_but_names(category, method, seed):
    criteria, marks = category
    judges = sorted({m.judge for m in marks})
    names = judges[:]
    random.Random(seed).shuffle(names)
    rename = dict(zip(judges, (f"K{n}" for n in names)))
    renamed = [Mark(m.entry, rename[m.judge], m.criterion, m.score) for m in marks]
    for level in ("criterion", "total"):
        config = AggregationConfig(method=method, trim_level=level, round_each_stage=True, too_few_judges="mean")
        a, b = rank_category(criteria, marks, config), rank_category(criteria, renamed, config)
        assert [(r.entry, r.total, r.rank) for r in a.entries] == [(r.entry, r.total, r.rank) for r in b.entries]
