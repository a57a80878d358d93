"""validate_mark, weighted_total, criteria checks and the errors the web app will display."""

from decimal import Decimal

import pytest
from scoring_helpers import D

from scoring import (AggregationConfig, Criterion, IncompleteSheet, InvalidConfig, InvalidCriteria, InvalidMark,
                     Mark, ScoringError, rank_category, validate_criteria, validate_mark, weighted_total)

C = Criterion("clarity", 30, 10, step=Decimal("0.25"))


@pytest.mark.parametrize("score, expected", [("7.25", D("7.25")), (7, D(7)), (Decimal("10"), D(10)),
                                             (0, D(0)), (7.5, D("7.5")), (None, None)])
def test_valid_marks(score, expected):
    assert validate_mark(C, score) == expected


@pytest.mark.parametrize("score, words", [("10.25", "outside 0-10"), (-1, "outside"), ("7.3", "steps of 0.25"),
                                          ("abc", "not a number"), ("NaN", "finite"), (True, "number"),
                                          ([], "number")])
def test_invalid_marks_say_why(score, words):
    with pytest.raises(InvalidMark) as info:
        validate_mark(C, score)
    assert words in str(info.value) and info.value.criterion == "clarity"
    assert isinstance(info.value, ScoringError)


def test_step_counts_from_min_score():
    c = Criterion("x", 10, 10, min_score=1, step=2)
    assert validate_mark(c, 5) == 5
    with pytest.raises(InvalidMark):
        validate_mark(c, 4)


def test_weighted_total_for_a_live_score_sheet():
    crit = [Criterion("a", 30, 10), Criterion("b", 45, 10), Criterion("c", 25, 9)]
    # 3*7.25 + 4.5*8.5 + (25/9)*6 = 21.75 + 38.25 + 16.6667 = 76.6667
    assert weighted_total(crit, {"a": "7.25", "b": "8.5", "c": 6}) == D("76.67")
    # missing marks are ignored: only a and b so far
    assert weighted_total(crit, {"a": "7.25", "b": "8.5", "c": None}) == D("60.00")
    assert weighted_total(crit, {}) == D("0.00")
    assert weighted_total(crit, {"a": 7}, decimals=0) == D("21")
    with pytest.raises(InvalidMark):
        weighted_total(crit, {"zz": 1})
    with pytest.raises(InvalidMark):
        weighted_total(crit, {"a": 11})


def test_criteria_checks():
    with pytest.raises(InvalidCriteria):
        Criterion("a", 0, 10)
    with pytest.raises(InvalidCriteria):
        Criterion("a", 10, 5, min_score=5)
    with pytest.raises(InvalidCriteria):
        Criterion("a", 10, 10, step=0)
    with pytest.raises(InvalidCriteria):
        Criterion("a", "ten", 10)
    with pytest.raises(InvalidCriteria, match="twice"):
        validate_criteria([Criterion("a", 50, 10), Criterion("a", 50, 10)])
    with pytest.raises(InvalidCriteria, match="add up to 90"):
        validate_criteria([Criterion("a", 50, 10), Criterion("b", 40, 10)], total=100)
    assert len(validate_criteria([Criterion("a", 60, 10), Criterion("b", 40, 10)], total=100)) == 2


def test_marks_errors_name_entry_and_judge():
    crit = [Criterion("a", 100, 10)]
    with pytest.raises(InvalidMark, match="unknown criterion 'b'"):
        rank_category(crit, [Mark("E", "J", "b", D(1))])
    with pytest.raises(InvalidMark, match="twice"):
        rank_category(crit, [Mark("E", "J", "a", D(1)), Mark("E", "J", "a", D(2))])
    with pytest.raises(InvalidMark, match="entry 'E', judge 'J'"):
        rank_category(crit, [Mark("E", "J", "a", D(11))])


def test_an_unmarked_criterion_is_not_zero_but_an_error():
    crit = [Criterion("a", 50, 10), Criterion("b", 50, 10)]
    marks = [Mark("E", "J1", "a", D(5)), Mark("E", "J1", "b", None), Mark("E", "J2", "a", D(6))]
    with pytest.raises(IncompleteSheet, match="no mark on criterion 'b'"):
        rank_category(crit, marks)


def test_partial_sheets_are_refused_by_total_level_methods():
    crit = [Criterion("a", 50, 10), Criterion("b", 50, 10)]
    marks = [Mark("E", j, c, D(5)) for j in ("J1", "J2", "J3", "J4") for c in ("a", "b")]
    marks[-1] = Mark("E", "J4", "b", None)
    with pytest.raises(IncompleteSheet, match="J4"):
        rank_category(crit, marks, AggregationConfig(method="trimmed", trim_level="total"))
    assert rank_category(crit, marks, AggregationConfig(method="trimmed")).entries[0].total == D("50.00")


def test_entries_with_only_empty_marks_are_listed_as_unscored():
    crit = [Criterion("a", 100, 10)]
    result = rank_category(crit, [Mark("E1", "J", "a", D(5)), Mark("E2", "J", "a", None)])
    assert [r.entry for r in result.entries] == ["E1"] and result.unscored == ("E2",)
    assert rank_category(crit, []).entries == ()


def test_config_validation():
    with pytest.raises(InvalidConfig):
        AggregationConfig(method="average")
    with pytest.raises(InvalidConfig):
        AggregationConfig(trim=-1)
    with pytest.raises(InvalidConfig):
        AggregationConfig(decimals=7)
    with pytest.raises(InvalidConfig):
        AggregationConfig(too_few_judges="ignore")
    cfg = AggregationConfig(method="trimmed", trim_level="total", tie_break=["median"])
    assert cfg.to_dict()["tie_break"] == ["median"] and cfg.method == "trimmed"


def test_results_serialise_to_plain_data():
    import json

    crit = [Criterion("a", 100, 10)]
    result = rank_category(crit, [Mark("E1", "J", "a", D(5))])
    data = json.loads(json.dumps(result.to_dict()))
    assert data["entries"][0]["total"] == "50.00" and data["entries"][0]["rank"] == 1
