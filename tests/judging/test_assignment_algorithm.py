"""The pure automatic-assignment algorithm: properties on random small instances, checked against
an exact optimum computed by integer programming (scipy's HiGHS), and the 200 × 30 benchmark size."""

from __future__ import annotations

import random
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from award.judging.assignment import EntryItem, JudgeItem, ShortfallReason, plan_assignment


@st.composite
def instances(draw):
    n_entries = draw(st.integers(1, 8))
    n_judges = draw(st.integers(1, 6))
    k = draw(st.integers(1, 3))
    n_categories = draw(st.integers(1, 3))
    entries = [EntryItem(e, draw(st.integers(0, n_categories - 1))) for e in range(1, n_entries + 1)]
    capped = draw(st.booleans())
    judges = [JudgeItem(100 + j, draw(st.integers(1, 5)) if capped and draw(st.booleans()) else None)
              for j in range(n_judges)]
    pairs = [(e.id, j.id) for e in entries for j in judges]
    forbidden = {p for p in pairs if draw(st.integers(0, 9)) < 2}
    allowed = [p for p in pairs if p not in forbidden]
    existing = {p for p in allowed if draw(st.integers(0, 9)) == 0}
    # Existing pairs respect the caps (they were made under them).
    per_judge = Counter(j for _e, j in existing)
    caps = {j.id: j.cap for j in judges}
    existing = {p for p in existing if caps[p[1]] is None or per_judge[p[1]] <= caps[p[1]]}
    spread = draw(st.booleans())
    return entries, judges, k, forbidden, existing, spread


def optimum(entries, judges, k, forbidden, existing) -> tuple[int, int]:
    """(maximum number of pairs, least Σ load² among plans with that many), by integer programming.

    Variables: x[e, j] for every allowed pair not already existing; z[j, t] = 1 when judge j has
    at least t entries. Σ load² is linear in z (the t-th entry costs 2t − 1, increasingly, so the
    solver fills z in order). Coverage is weighted far above the loads.
    """
    free = [(e.id, j.id) for e in entries for j in judges
            if (e.id, j.id) not in forbidden and (e.id, j.id) not in existing]
    fixed_load = Counter(j for _e, j in existing)
    fixed_cover = Counter(e for e, _j in existing)
    top = len(entries) + max(fixed_load.values(), default=0)
    levels = [(j.id, t) for j in judges for t in range(1, top + 1)]
    n = len(free) + len(levels)
    big = 10 * (top + 1) ** 2 * len(judges) + 1
    cost = np.array([-big] * len(free) + [2 * t - 1 for _j, t in levels], dtype=float)
    rows, lower, upper = [], [], []
    for e in entries:  # places still open on each entry
        row = np.zeros(n)
        for i, (pe, _pj) in enumerate(free):
            if pe == e.id:
                row[i] = 1
        rows.append(row)
        lower.append(-np.inf)
        upper.append(max(0, k - fixed_cover[e.id]))
    for j in judges:  # load = Σ x + fixed = Σ z; and at most the cap
        row = np.zeros(n)
        for i, (_pe, pj) in enumerate(free):
            if pj == j.id:
                row[i] = 1
        for i, (lj, _t) in enumerate(levels):
            if lj == j.id:
                row[len(free) + i] = -1
        rows.append(row)
        lower.append(-fixed_load[j.id])
        upper.append(-fixed_load[j.id])
        cap_row = np.zeros(n)
        for i, (lj, _t) in enumerate(levels):
            if lj == j.id:
                cap_row[len(free) + i] = 1
        rows.append(cap_row)
        lower.append(-np.inf)
        upper.append(j.cap if j.cap is not None else top)
    result = milp(cost, constraints=LinearConstraint(np.array(rows), lower, upper), integrality=np.ones(n),
                  bounds=Bounds(0, 1))
    assert result.success
    chosen = result.x.round().astype(int)
    pairs = int(chosen[:len(free)].sum()) + len(existing)
    loads = Counter()
    for value, (_e, j) in zip(chosen[:len(free)], free):
        loads[j] += value
    for j in judges:
        loads[j.id] += fixed_load[j.id]
    return pairs, sum(v * v for v in loads.values())


@settings(max_examples=150, deadline=None)
@given(instances())
def test_plans_are_legal_maximal_and_balanced(instance):
    entries, judges, k, forbidden, existing, spread = instance
    plan = plan_assignment(entries, judges, k, forbidden=forbidden, existing=existing, spread=spread)
    pairs = plan.pairs
    # Never a forbidden pair, never a duplicate, existing pairs kept.
    assert not set(pairs) & forbidden
    assert len(pairs) == len(set(pairs))
    assert existing <= set(pairs)
    # Never more than k on an entry through new pairs, never above a cap.
    per_entry = Counter(e for e, _j in pairs)
    for e in entries:
        new = sum(1 for pe, _ in plan.new_pairs if pe == e.id)
        assert new == 0 or per_entry[e.id] <= k
    loads = Counter(j for _e, j in pairs)
    for j in judges:
        assert plan.loads[j.id] == loads[j.id]
        if j.cap is not None:
            assert loads[j.id] <= j.cap
    # As many pairs as possible, and loads as even as possible (least Σ load²).
    best_pairs, best_squares = optimum(entries, judges, k, forbidden, existing)
    assert len(pairs) == best_pairs
    assert sum(v * v for v in plan.loads.values()) == best_squares
    # Shortfalls: exactly the entries short of k, each with its reason.
    short = {s.entry_id: s for s in plan.shortfalls}
    for e in entries:
        eligible = sum(1 for j in judges if (e.id, j.id) not in forbidden)
        if per_entry[e.id] < k:
            s = short[e.id]
            assert s.covered == per_entry[e.id] and s.eligible == eligible
            expected = ShortfallReason.TOO_FEW_ELIGIBLE if eligible < k else ShortfallReason.CAPS_REACHED
            assert s.reason is expected
        else:
            assert e.id not in short


@settings(max_examples=60, deadline=None)
@given(instances())
def test_the_same_input_gives_the_same_plan(instance):
    entries, judges, k, forbidden, existing, spread = instance
    first = plan_assignment(entries, judges, k, forbidden=forbidden, existing=existing, spread=spread)
    shuffled = list(reversed(entries)), list(reversed(judges))
    again = plan_assignment(*shuffled, k, forbidden=set(forbidden), existing=set(existing), spread=spread)
    assert first.pairs == again.pairs and first.shortfalls == again.shortfalls and first.loads == again.loads


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 12), st.integers(1, 7), st.integers(1, 4), st.integers(0, 10_000))
def test_without_caps_loads_are_within_one_whenever_possible(n_entries, n_judges, k, seed):
    """With no caps and no ties every plan can be balanced: loads end within one."""
    entries = [EntryItem(e, e % 2) for e in range(n_entries)]
    judges = [JudgeItem(j) for j in range(n_judges)]
    plan = plan_assignment(entries, judges, k, seed=seed)
    assert plan.spread <= 1
    assert len(plan.pairs) == n_entries * min(k, n_judges)


def test_shortfall_says_why():
    entries = [EntryItem(1, "A"), EntryItem(2, "A")]
    judges = [JudgeItem(1, cap=1), JudgeItem(2, cap=1), JudgeItem(3, cap=1)]
    forbidden = {(1, 2), (1, 3)}
    plan = plan_assignment(entries, judges, 2, forbidden=forbidden)
    by_entry = {s.entry_id: s for s in plan.shortfalls}
    assert by_entry[1].reason is ShortfallReason.TOO_FEW_ELIGIBLE and by_entry[1].eligible == 1
    assert by_entry[1].covered == 1 and by_entry[1].missing == 1
    assert 2 not in by_entry  # judges 2 and 3 cover entry 2; judge 1 (cap 1) is needed by entry 1
    assert not set(plan.pairs) & forbidden
    capped = plan_assignment([EntryItem(e) for e in (1, 2, 3)], [JudgeItem(1, cap=1), JudgeItem(2, cap=1)], 1)
    assert [(s.entry_id, s.reason, s.eligible) for s in capped.shortfalls] == [(3, ShortfallReason.CAPS_REACHED, 2)]
    empty = plan_assignment(entries, [], 1)
    assert {s.reason for s in empty.shortfalls} == {ShortfallReason.NO_JUDGES}


def test_caps_reaching_short_spread_the_shortfall_over_the_entries():
    """When caps leave places open, the open places are spread (no entry is left with no judge)."""
    entries = [EntryItem(e, 0) for e in range(10)]
    judges = [JudgeItem(j, cap=5) for j in range(4)]  # 20 places for 30 needed
    plan = plan_assignment(entries, judges, 3)
    covered = Counter(e for e, _j in plan.pairs)
    assert len(plan.pairs) == 20 and all(covered[e.id] >= 2 for e in entries)
    assert {s.reason for s in plan.shortfalls} == {ShortfallReason.CAPS_REACHED}


def test_a_judge_outside_the_panel_with_a_kept_sheet_still_covers_the_entry():
    plan = plan_assignment([EntryItem(1)], [JudgeItem(1), JudgeItem(2)], 2, existing={(1, 99)})
    assert plan.kept_pairs == [(1, 99)] and len(plan.new_pairs) == 1 and not plan.shortfalls
    assert 99 not in plan.loads


def test_forbidden_existing_pairs_are_ignored_not_kept():
    plan = plan_assignment([EntryItem(1)], [JudgeItem(1), JudgeItem(2)], 1, forbidden={(1, 1)}, existing={(1, 1)})
    assert plan.ignored_pairs == [(1, 1)] and plan.pairs == [(1, 2)]


def test_spread_gives_each_judge_entries_of_every_category():
    """Judge 1 already has three entries of A, judge 2 three of B; with spread the new entries go
    across, so each ends with three of each category."""
    entries = [EntryItem(e, "A") for e in (1, 2, 3, 4, 5, 6)] + [EntryItem(e, "B") for e in (7, 8, 9, 10, 11, 12)]
    existing = {(1, 1), (2, 1), (3, 1), (7, 2), (8, 2), (9, 2)}
    judges = [JudgeItem(1), JudgeItem(2)]
    category = {e.id: e.category for e in entries}

    def per_category(plan):
        return Counter((j, category[e]) for e, j in plan.pairs)

    spread = per_category(plan_assignment(entries, judges, 1, existing=existing, spread=True))
    assert spread == {(1, "A"): 3, (1, "B"): 3, (2, "A"): 3, (2, "B"): 3}


def test_spread_keeps_category_counts_close_on_a_larger_panel():
    entries = [EntryItem(e, e % 3) for e in range(60)]
    judges = [JudgeItem(j) for j in range(8)]
    plan = plan_assignment(entries, judges, 2, spread=True)
    counts = Counter((j, e % 3) for e, j in plan.pairs)
    for category in range(3):
        per_judge = [counts[(j.id, category)] for j in judges]
        assert max(per_judge) - min(per_judge) <= 1
    assert plan.spread <= 1


def test_benchmark_size_is_fast_legal_and_balanced():
    rng = random.Random(5)
    entries = [EntryItem(e, e % 2) for e in range(200)]
    judges = [JudgeItem(j) for j in range(30)]
    forbidden = {(e.id, j.id) for e in entries for j in judges if rng.random() < 0.05}
    started = time.perf_counter()
    plan = plan_assignment(entries, judges, 5, forbidden=forbidden)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    assert not set(plan.pairs) & forbidden
    assert plan.spread <= 1 and not plan.shortfalls and len(plan.pairs) == 1000


def test_negative_k_is_refused():
    with pytest.raises(ValueError):
        plan_assignment([EntryItem(1)], [JudgeItem(1)], -1)
