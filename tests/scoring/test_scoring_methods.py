"""Hand-computed worked examples for every aggregation method and both rounding policies."""

from decimal import Decimal
from fractions import Fraction

import pytest
from scoring_helpers import D, sheet

from scoring import AggregationConfig, Criterion, TooFewJudges, rank_category

# c1: 40 points out of 10 marks (factor 4); c2: 60 points out of 10 (factor 6)
TWO = [Criterion("c1", 40, 10), Criterion("c2", 60, 10)]

# Judge totals: J1 4*9+6*5 = 66, J2 4*6+6*9 = 78, J3 4*7+6*7 = 70, J4 4*8+6*6 = 68, J5 4*5+6*8 = 68
FIVE = {"X": {"J1": (9, 5), "J2": (6, 9), "J3": (7, 7), "J4": (8, 6), "J5": (5, 8)}}


def only(result):
    (entry,) = result.entries
    return entry


def test_mean_final_rounding_only():
    # c1 factor 3, c2 4.5, c3 2.5 (weights 30/45/25 out of 10-point marks)
    crit = [Criterion("c1", 30, 10), Criterion("c2", 45, 10), Criterion("c3", 25, 10)]
    marks = sheet(crit, {"X": {"J1": ("7.25", "8.5", 6), "J2": (8, 8, "6.5"), "J3": ("7.5", 9, "7.25")}})
    # panel: c1 22.75/3 = 7.58333.., c2 25.5/3 = 8.5, c3 19.75/3 = 6.58333..
    # total 3*7.58333 + 4.5*8.5 + 2.5*6.58333 = 22.75 + 38.25 + 16.458333 = 77.458333 -> 77.46
    # (= mean of judge totals 75 + 76.25 + 81.125 = 232.375 / 3)
    r = only(rank_category(crit, marks, AggregationConfig(method="mean")))
    assert r.total == D("77.46")
    assert r.exact_total == Fraction(232375, 3000)
    assert r.panel_marks == {"c1": D("7.58"), "c2": D("8.50"), "c3": D("6.58")}
    assert r.contributions == {"c1": D("22.75"), "c2": D("38.25"), "c3": D("16.46")}
    assert r.judge_totals == {"J1": D("75.00"), "J2": D("76.25"), "J3": D("81.13")}  # 81.125 half-up
    assert r.spread == D("6.13")  # 81.125 - 75 = 6.125 -> 6.13
    assert r.median_total == D("76.25")
    assert r.trimmed == frozenset()


def test_mean_two_stage_rounding():
    crit = [Criterion("c1", 30, 10), Criterion("c2", 45, 10), Criterion("c3", 25, 10)]
    marks = sheet(crit, {"X": {"J1": ("7.25", "8.5", 6), "J2": (8, 8, "6.5"), "J3": ("7.5", 9, "7.25")}})
    # stage 1: panel marks 7.58 | 8.50 | 6.58 ; stage 2: 3*7.58 = 22.74 | 4.5*8.5 = 38.25 | 2.5*6.58 = 16.45
    # sum 77.44 (final-only rounding gave 77.46)
    r = only(rank_category(crit, marks, AggregationConfig(method="mean", round_each_stage=True)))
    assert r.total == D("77.44")
    assert r.contributions == {"c1": D("22.74"), "c2": D("38.25"), "c3": D("16.45")}


def test_rounding_is_half_up_at_every_stage():
    crit = [Criterion("c1", 30, 10), Criterion("c2", 70, 10)]
    marks = sheet(crit, {"X": {"J1": (7, "8.25"), "J2": ("7.25", "8.5")}})
    # panel c1 = 7.125, c2 = 8.375; final only: 3*7.125 + 7*8.375 = 21.375 + 58.625 = 80.000
    assert only(rank_category(crit, marks)).total == D("80.00")
    # two-stage: 7.125 -> 7.13, 8.375 -> 8.38 (half-up; half-even would give 7.12);
    # 3*7.13 = 21.39, 7*8.38 = 58.66; sum 80.05
    r = only(rank_category(crit, marks, AggregationConfig(round_each_stage=True)))
    assert r.panel_marks == {"c1": D("7.13"), "c2": D("8.38")}
    assert r.total == D("80.05")
    # one decimal: final 80.0; two-stage 7.1 and 8.4 -> 21.3 + 58.8 = 80.1
    assert only(rank_category(crit, marks, AggregationConfig(decimals=1))).total == D("80.0")
    assert only(rank_category(crit, marks, AggregationConfig(decimals=1, round_each_stage=True))).total == D("80.1")


def test_trimmed_per_criterion_figure_skating_rule():
    marks = sheet(TWO, FIVE)
    # c1 sorted 5(J5) 6(J2) 7(J3) 8(J4) 9(J1): drop 5 and 9 -> (6+7+8)/3 = 7
    # c2 sorted 5(J1) 6(J4) 7(J3) 8(J5) 9(J2): drop 5 and 9 -> 7; total 4*7 + 6*7 = 70
    r = only(rank_category(TWO, marks, AggregationConfig(method="trimmed")))
    assert r.total == D("70.00")
    assert r.panel_marks == {"c1": D("7.00"), "c2": D("7.00")}
    assert r.trimmed == {("J5", "c1"), ("J1", "c1"), ("J1", "c2"), ("J2", "c2")}


def test_trimmed_per_total_common_rule():
    marks = sheet(TWO, FIVE)
    # totals 66(J1) 78(J2) 70(J3) 68(J4) 68(J5): drop 66 and 78 -> (70+68+68)/3 = 68.666.. -> 68.67
    cfg = AggregationConfig(method="trimmed", trim_level="total")
    r = only(rank_category(TWO, marks, cfg))
    assert r.total == D("68.67")
    # panel marks of the kept judges J3 J4 J5: c1 (7+8+5)/3 = 6.667, c2 (7+6+8)/3 = 7
    assert r.panel_marks == {"c1": D("6.67"), "c2": D("7.00")}
    assert r.trimmed == {("J1", "c1"), ("J1", "c2"), ("J2", "c1"), ("J2", "c2")}
    # two-stage: 4*6.67 = 26.68, 6*7.00 = 42.00 -> 68.68
    cfg2 = AggregationConfig(method="trimmed", trim_level="total", round_each_stage=True)
    assert only(rank_category(TWO, marks, cfg2)).total == D("68.68")


def test_trimmed_total_tie_at_cut_off_is_shared_not_decided_by_name():
    # totals J1 72, J2 72, J3 56, J4 56, J5 100; N=1 drops J5 and *one* of the tied J3/J4:
    # they share the cut, each with weight 1/2.
    # c1 = (6 + 9 + (5+8)/2) / 3 = 21.5/3 = 7.1667 ; c2 = (8 + 6 + (6+4)/2) / 3 = 19/3 = 6.3333
    # final: (72+72+56)/3 = 66.6667 -> 66.67 ; two-stage: 4*7.17 = 28.68 + 6*6.33 = 37.98 -> 66.66
    data = {"X": {"J1": (6, 8), "J2": (9, 6), "J3": (5, 6), "J4": (8, 4), "J5": (10, 10)}}
    cfg = AggregationConfig(method="trimmed", trim_level="total", round_each_stage=True)
    r = only(rank_category(TWO, sheet(TWO, data), cfg))
    assert r.panel_marks == {"c1": D("7.17"), "c2": D("6.33")}
    assert r.total == D("66.66")
    assert {j for j, _ in r.trimmed} == {"J3", "J4", "J5"}
    # swapping the names of the tied judges changes nothing
    swapped = {"X": {"J1": (6, 8), "J2": (9, 6), "J4": (5, 6), "J3": (8, 4), "J5": (10, 10)}}
    assert only(rank_category(TWO, sheet(TWO, swapped), cfg)).total == D("66.66")


def test_median_per_criterion_and_per_total():
    marks = sheet(TWO, FIVE)
    # per criterion: medians 7 and 7 -> 70
    assert only(rank_category(TWO, marks, AggregationConfig(method="median"))).total == D("70.00")
    # per total: sorted 66 68 68 70 78 -> 68; J4 and J5 tie at the median and share it:
    # c1 (8+5)/2 = 6.5, c2 (6+8)/2 = 7 -> 4*6.5 + 6*7 = 68
    r = only(rank_category(TWO, marks, AggregationConfig(method="median", trim_level="total")))
    assert r.total == D("68.00")
    assert r.panel_marks == {"c1": D("6.50"), "c2": D("7.00")}
    assert {j for j, _ in r.trimmed} == {"J1", "J2", "J3"}


def test_median_even_panel_averages_the_middle_pair():
    crit = [Criterion("c", 100, 10)]
    marks = sheet(crit, {"X": {"J1": (6,), "J2": (7,), "J3": (9,), "J4": (10,)}})
    # (7 + 9) / 2 = 8 -> 80
    r = only(rank_category(crit, marks, AggregationConfig(method="median")))
    assert r.total == D("80.00")
    assert r.trimmed == {("J1", "c"), ("J4", "c")}


# Incomplete design: each judge saw two of the three entries (a cycle E1-J1-E2-J2-E3-J3-E1).
ONE = [Criterion("c", 100, 10)]
CYCLE = {"E1": {"J1": (5,), "J3": (6,)}, "E2": {"J1": (7,), "J2": (8,)}, "E3": {"J2": (9,), "J3": (8,)}}


def totals(result):
    return {r.entry: r.total for r in result.entries}


def test_mean_on_the_cycle():
    assert totals(rank_category(ONE, sheet(ONE, CYCLE))) == {"E1": D("55.00"), "E2": D("75.00"), "E3": D("85.00")}


def test_zscore_worked_example():
    # J1: 5, 7 -> mean 6, SD 1;  J2: 8, 9 -> mean 8.5, SD 0.5;  J3: 6, 8 -> mean 7, SD 1
    # z: E1 (-1, -1), E2 (+1, -1), E3 (+1, +1) -> mean z -1, 0, +1
    # back to scale: M = (6 + 8.5 + 7)/3 = 7.1667, S = (1 + 0.5 + 1)/3 = 0.8333
    # E1 7.1667 - 0.8333 = 6.3333 -> 63.33; E2 71.67; E3 8.0 -> 80.00
    result = rank_category(ONE, sheet(ONE, CYCLE), AggregationConfig(method="zscore"))
    assert totals(result) == {"E1": D("63.33"), "E2": D("71.67"), "E3": D("80.00")}


def test_bias_worked_example():
    # x = q_e + b_j + error with b1 + b2 + b3 = 0. The single residual degree of freedom is the
    # alternating cycle vector; x . v = 5 - 7 + 8 - 9 + 8 - 6 = -1 so residuals are -/+ 1/6.
    # Fitted: q1+b1 = 31/6, q2+b1 = 41/6, q2+b2 = 49/6, q3+b2 = 53/6, q3+b3 = 49/6, q1+b3 = 35/6
    # => b1 = -2/3, b2 = +2/3, b3 = 0 ; q1 = 35/6 = 5.8333, q2 = 7.5, q3 = 49/6 = 8.1667
    result = rank_category(ONE, sheet(ONE, CYCLE), AggregationConfig(method="bias"))
    assert totals(result) == {"E1": D("58.33"), "E2": D("75.00"), "E3": D("81.67")}
    assert result.judge_offsets == {"J1": D("-6.67"), "J2": D("6.67"), "J3": D("0.00")}


def test_too_few_judges_is_an_error_or_the_chosen_fallback():
    marks = sheet(TWO, {"X": {"J1": (8, 8), "J2": (6, 7)}, "Y": {"J1": (5, 5), "J2": (6, 6), "J3": (9, 9)}})
    with pytest.raises(TooFewJudges) as info:
        rank_category(TWO, marks, AggregationConfig(method="trimmed"))
    assert info.value.entry == "X" and info.value.needed == 3 and "at least 3" in str(info.value)
    result = rank_category(TWO, marks, AggregationConfig(method="trimmed", too_few_judges="mean"))
    x, y = result.entry("X"), result.entry("Y")
    # X falls back to the mean: c1 7, c2 7.5 -> 28 + 45 = 73; Y keeps the middle marks 6 and 6 -> 60
    assert (x.total, x.fallback, y.total, y.fallback) == (D("73.00"), True, D("60.00"), False)
    with pytest.raises(TooFewJudges):
        rank_category(TWO, marks, AggregationConfig(method="trimmed", trim_level="total"))


def test_trim_zero_is_the_mean_and_trim_two_needs_five():
    marks = sheet(TWO, FIVE)
    assert only(rank_category(TWO, marks, AggregationConfig(method="trimmed", trim=0))).total == \
        only(rank_category(TWO, marks)).total == D("70.00")  # judge totals average 350/5
    # trim 2 of 5: only the median mark of each criterion is left: 7 and 7 -> 70
    assert only(rank_category(TWO, marks, AggregationConfig(method="trimmed", trim=2))).total == D("70.00")


def test_missing_marks_are_left_out_not_zero():
    marks = sheet(TWO, {"X": {"J1": (8, None), "J2": (6, 7), "J3": (7, 9)}})
    # c1 mean (8+6+7)/3 = 7, c2 mean (7+9)/2 = 8 -> 28 + 48 = 76 (a zero would give 64)
    r = only(rank_category(TWO, marks))
    assert r.total == D("76.00")
    assert r.incomplete == {"J1"}
    assert r.judge_totals["J1"] == D("32.00")  # the marks given so far
    assert r.spread == D("16.00")  # complete sheets only: J2 24 + 42 = 66, J3 28 + 54 = 82


def test_decimal_points_and_fine_steps():
    crit = [Criterion("c", 100, 100, step=Decimal("0.25"))]
    marks = sheet(crit, {"X": {"J1": ("88.25",), "J2": ("90.5",), "J3": ("87.75",)}})
    # (88.25 + 90.5 + 87.75) / 3 = 266.5 / 3 = 88.8333 -> 88.83
    assert only(rank_category(crit, marks)).total == D("88.83")
    assert only(rank_category(crit, marks, AggregationConfig(decimals=0))).total == D("89")
