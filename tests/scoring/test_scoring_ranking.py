"""Competition ranking on displayed precision, tie-breaks, and tiers by threshold and quota."""

import pytest
from scoring_helpers import D, sheet

from scoring import AggregationConfig, Criterion, InvalidConfig, TieBreak, Tier, rank_category
from scoring.ranking import assign_tiers, competition_ranks

ONE = [Criterion("c", 100, 100)]


def ranks(result):
    return {r.entry: r.rank for r in result.entries}


def test_competition_ranking_1224():
    assert competition_ranks([(90,), (85,), (85,), (80,)]) == [1, 2, 2, 4]
    assert competition_ranks([(1,), (3,), (3,), (3,), (2,)]) == [5, 1, 1, 1, 4]


def test_ranks_are_decided_on_the_displayed_total():
    # B 80.004 and C 80.001 both show as 80.00, so they share rank 2 and D is 4th
    marks = sheet(ONE, {"A": {"J": (90,)}, "B": {"J": ("80.004",)}, "C": {"J": ("80.001",)}, "D": {"J": (70,)}})
    result = rank_category(ONE, marks)
    assert ranks(result) == {"A": 1, "B": 2, "C": 2, "D": 4}
    assert [r.entry for r in result.entries] == ["A", "B", "C", "D"]  # ties listed by entry id
    # shown with three decimals they differ
    assert ranks(rank_category(ONE, marks, AggregationConfig(decimals=3))) == {"A": 1, "B": 2, "C": 3, "D": 4}


TWO = [Criterion("idea", 50, 10), Criterion("craft", 50, 10)]
# P: 5*9 + 5*7 = 80 per judge; Q: 5*7 + 5*9 = 80; R: 5*8 + 5*8 = 80 (with a wider spread)
TIED = {"P": {"J1": (9, 7), "J2": (9, 7), "J3": (9, 7)},
        "Q": {"J1": (7, 9), "J2": (7, 9), "J3": (7, 9)},
        "R": {"J1": (10, 10), "J2": (8, 8), "J3": (6, 6)}}


def test_tie_break_on_a_named_criterion():
    marks = sheet(TWO, TIED)
    assert set(ranks(rank_category(TWO, marks)).values()) == {1}
    by_idea = rank_category(TWO, marks, AggregationConfig(tie_break=(TieBreak.criterion("idea"),)))
    assert ranks(by_idea) == {"P": 1, "R": 2, "Q": 3}  # idea 9 > 8 > 7
    by_craft = rank_category(TWO, marks, AggregationConfig(tie_break=("criterion:craft",)))
    assert ranks(by_craft) == {"Q": 1, "R": 2, "P": 3}


def test_tie_break_sequence_median_then_spread():
    marks = sheet(TWO, TIED)
    # medians: P 80, Q 80, R 80 -> still tied; spread: P 0, Q 0, R 100-60 = 40 -> R last, P and Q share 1
    result = rank_category(TWO, marks, AggregationConfig(tie_break=(TieBreak.median(), TieBreak.spread())))
    assert ranks(result) == {"P": 1, "Q": 1, "R": 3}


def test_median_tie_break_separates_equal_means():
    # S: totals 70, 80, 90 (median 80); T: 60, 90, 90 (median 90); both means 80
    marks = sheet(ONE, {"S": {"J1": (70,), "J2": (80,), "J3": (90,)}, "T": {"J1": (60,), "J2": (90,), "J3": (90,)}})
    result = rank_category(ONE, marks, AggregationConfig(tie_break=(TieBreak.median(),)))
    assert ranks(result) == {"T": 1, "S": 2}


def test_unknown_tie_break_criterion_is_rejected():
    with pytest.raises(InvalidConfig, match="nope"):
        rank_category(TWO, sheet(TWO, TIED), AggregationConfig(tie_break=("criterion:nope",)))
    with pytest.raises(InvalidConfig):
        TieBreak.parse("coin-toss")


# totals A 90, B 85, C 85, D 80, E 70, F 60 -> ranks 1 2 2 4 5 6
SIX = {name: {"J": (score,)} for name, score in zip("ABCDEF", (90, 85, 85, 80, 70, 60))}


def tiers_of(tiers):
    return {r.entry: r.tier for r in rank_category(ONE, sheet(ONE, SIX), tiers=tiers).entries}


def test_tiers_by_threshold():
    tiers = (Tier("gold", min_total=D(85)), Tier("silver", min_total=D(75)), Tier("bronze", min_total=D(65)))
    assert tiers_of(tiers) == {"A": "gold", "B": "gold", "C": "gold", "D": "silver", "E": "bronze", "F": None}


def test_tiers_by_quota_never_split_a_tie():
    assert tiers_of((Tier("gold", quota=1), Tier("silver", quota=2), Tier("bronze", quota=2))) == \
        {"A": "gold", "B": "silver", "C": "silver", "D": "bronze", "E": "bronze", "F": None}
    # quota 2 but B and C tie for 2nd: both are in (fewer than 2 entries rank above either)
    assert tiers_of((Tier("gold", quota=2), Tier("silver", quota=2))) == \
        {"A": "gold", "B": "gold", "C": "gold", "D": "silver", "E": "silver", "F": None}


def test_tiers_by_threshold_and_quota():
    # gold: >= 88 and at most 3 -> A; silver: >= 80, at most 2 -> B, C (D would be third);
    # D misses silver on quota and falls to bronze (>= 65, no quota) with E; F gets nothing
    tiers = (Tier("gold", min_total=D(88), quota=3), Tier("silver", min_total=D(80), quota=2),
             Tier("bronze", min_total=D(65)))
    assert tiers_of(tiers) == {"A": "gold", "B": "silver", "C": "silver", "D": "bronze", "E": "bronze", "F": None}


def test_a_tier_without_conditions_takes_the_rest():
    assert tiers_of((Tier("winner", quota=1), Tier("finalist"))) == \
        {"A": "winner", "B": "finalist", "C": "finalist", "D": "finalist", "E": "finalist", "F": "finalist"}


def test_threshold_uses_the_displayed_total():
    # 84.996 shows as 85.00 and so reaches a 85 threshold
    assert assign_tiers([1], [D("85.00")], (Tier("gold", min_total=D(85)),)) == ["gold"]
    marks = sheet(ONE, {"A": {"J": ("84.996",)}})
    assert rank_category(ONE, marks, tiers=(Tier("gold", min_total=D(85)),)).entries[0].tier == "gold"


def test_bad_tiers_are_rejected():
    with pytest.raises(InvalidConfig):
        Tier("gold", quota=0)
    with pytest.raises(InvalidConfig):
        rank_category(ONE, sheet(ONE, SIX), tiers=(Tier("x"), Tier("x")))
