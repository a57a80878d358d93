"""Per-judge statistics, leave-one-judge-out influence, favouritism flags and the bootstrap."""

import json
import random

import numpy as np
import pytest
from scoring_helpers import D

from scoring import AggregationConfig, Criterion, Mark, Tier, diagnose, rank_category
from scoring.diagnostics import bootstrap_ranks, float_panel
from scoring.aggregate import exact_panel
from scoring.weighted import MarkTable

CRIT = [Criterion("c", 100, 100)]


def marks_from(rows):
    return [Mark(e, j, "c", D(s)) for e, by_judge in rows.items() for j, s in by_judge.items()]


# E2 leads only because J5 gives it 95: mean 407/5 = 81.4 > 80; without J5 it drops to 78
SWING = {"E1": {f"J{j}": 80 for j in range(1, 6)},
         "E2": {"J1": 78, "J2": 78, "J3": 78, "J4": 78, "J5": 95},
         "E3": {f"J{j}": 70 for j in range(1, 6)}}


def test_leave_one_out_names_the_influential_judge():
    diag = diagnose(CRIT, marks_from(SWING), top_k=1, bootstrap=0)
    assert diag.influential_judges == ("J5",)
    changes = next(i for i in diag.influence if i.judge == "J5").changes
    assert [(c.entry, c.rank_before, c.rank_after) for c in changes] == [("E2", 1, 2), ("E1", 2, 1)]


def test_leave_one_out_reports_tier_changes():
    diag = diagnose(CRIT, marks_from(SWING), tiers=(Tier("winner", quota=1),), top_k=1, bootstrap=0)
    change = next(c for c in diag.influence[-1].changes if c.entry == "E2")
    assert (change.tier_before, change.tier_after) == ("winner", None)


def test_leave_one_out_explains_when_ranking_becomes_impossible():
    diag = diagnose(CRIT, marks_from({"E": {"J1": 50, "J2": 60, "J3": 70}}), AggregationConfig(method="trimmed"),
                    bootstrap=0)
    assert all("needs at least 3" in i.note for i in diag.influence) and not diag.influential_judges
    assert {i.note_code for i in diag.influence} == {"unrankable"}  # for callers that word it themselves


def make_panel(seed=3, entries=12, judges=5, favour=None):
    rng = np.random.default_rng(seed)
    quality = rng.uniform(55, 85, entries)
    lenient = np.array([-3.0, -1.0, 0.0, 1.5, 2.5])[:judges]
    rows = {}
    for e in range(entries):
        rows[f"E{e:02d}"] = {}
        for j in range(judges):
            score = quality[e] + lenient[j] + rng.normal(0, 1.0)
            if favour and favour == (f"J{j + 1}", f"E{e:02d}"):
                score += 15
            rows[f"E{e:02d}"][f"J{j + 1}"] = round(float(np.clip(score, 0, 100)), 1)
    return rows


def test_favouritism_flags_the_planted_favour_and_nothing_else():
    diag = diagnose(CRIT, marks_from(make_panel(favour=("J3", "E07"))), bootstrap=0)
    assert [(f.judge, f.entry, f.direction) for f in diag.favouritism] == [("J3", "E07", "favours")]
    flag = diag.favouritism[0]
    assert flag.z > 3.5 and flag.deviation == pytest.approx(15, abs=4)
    assert diagnose(CRIT, marks_from(make_panel()), bootstrap=0).favouritism == ()


def test_judge_statistics_see_leniency_and_agreement():
    diag = diagnose(CRIT, marks_from(make_panel()), bootstrap=0)
    by = {j.judge: j for j in diag.judges}
    # planted leniency -3, -1, 0, 1.5, 2.5 (mean 0): own total minus the mean of the other four
    # is 5/4 of the offset
    for judge, offset in zip(("J1", "J2", "J3", "J4", "J5"), (-3.0, -1.0, 0.0, 1.5, 2.5)):
        assert by[judge].leniency == pytest.approx(1.25 * offset, abs=0.8)
        assert by[judge].offset == pytest.approx(offset, abs=0.7)
        assert by[judge].correlation > 0.95
        assert by[judge].n_entries == 12


def test_bootstrap_is_reproducible_and_order_independent():
    rows = make_panel(entries=8)
    marks = marks_from(rows)
    tiers = (Tier("gold", quota=2), Tier("silver", quota=3))
    cfg = AggregationConfig(method="trimmed", round_each_stage=True)
    first = diagnose(CRIT, marks, cfg, tiers, bootstrap=300, seed=11)
    shuffled = marks[:]
    random.Random(1).shuffle(shuffled)
    second = diagnose(CRIT, shuffled, cfg, tiers, bootstrap=300, seed=11)
    assert first.rank_confidence == second.rank_confidence
    assert first.to_dict() == second.to_dict()
    for rc in first.rank_confidence:
        assert rc.rank_low <= rc.rank_median <= rc.rank_high
        assert sum(rc.tier_probabilities.values()) <= 1 + 1e-9
    top = first.rank_confidence[0]
    assert top.tier_probabilities["gold"] > 0.5


def test_bootstrap_replicate_of_the_original_panel_matches_the_exact_engine():
    rows = make_panel(entries=10)
    table = MarkTable.from_marks(CRIT, marks_from(rows))
    for method in ("mean", "trimmed", "median"):
        for level in ("criterion", "total"):
            cfg = AggregationConfig(method=method, trim_level=level)
            exact = exact_panel(table, cfg)
            approx = float_panel(table.values, table.present, np.array([1.0]), cfg)
            assert np.allclose(approx, exact.num / exact.den)


def test_bootstrap_covers_every_method_and_flags_uncertain_ranks():
    rows = make_panel(entries=6)
    marks = marks_from(rows)
    for method in ("mean", "trimmed", "median", "zscore", "bias"):
        diag = diagnose(CRIT, marks, AggregationConfig(method=method), bootstrap=100, seed=0)
        assert diag.bootstrap_valid == 100
        assert all(1 <= rc.rank_low <= rc.rank_high <= 6 for rc in diag.rank_confidence)


def test_bootstrap_ranks_shape_and_seed():
    table = MarkTable.from_marks(CRIT, marks_from(make_panel(entries=5)))
    a, _ = bootstrap_ranks(table, AggregationConfig(), (), 50, seed=5)
    b, _ = bootstrap_ranks(table, AggregationConfig(), (), 50, seed=5)
    assert a.shape == (50, 5) and np.array_equal(a, b)


def test_diagnostics_to_dict_is_json():
    diag = diagnose(CRIT, marks_from(SWING), tiers=(Tier("winner", quota=1),), bootstrap=50)
    data = json.loads(json.dumps(diag.to_dict()))
    assert data["influential_judges"] == ["J5"]
    assert data["agreement"]["scope"] == "total"
    assert {"entry", "rank", "rank_low", "rank_high", "tier_probabilities"} <= set(data["rank_confidence"][0])


def test_diagnose_with_incomplete_design_uses_alpha():
    marks = [Mark(e, j, "c", D(s)) for e, j, s in (("E1", "J1", 50), ("E1", "J3", 60), ("E2", "J1", 70),
                                                    ("E2", "J2", 80), ("E3", "J2", 90), ("E3", "J3", 80))]
    diag = diagnose(CRIT, marks, AggregationConfig(method="bias"), bootstrap=50)
    assert diag.agreement.kendall_w is None and "complete block" in diag.agreement.note
    assert diag.agreement.note_code == "no_complete_block"
    assert diag.agreement.krippendorff_alpha is not None
    assert rank_category(CRIT, marks, AggregationConfig(method="bias")).entries[0].entry == "E3"


def test_agreement_without_variation_says_so_by_code():
    """Every judge gives every entry the same total: W and ICC are undefined, not "too few entries"."""
    flat = {e: {j: 70 for j in ("J1", "J2", "J3")} for e in ("E1", "E2", "E3")}
    diag = diagnose(CRIT, marks_from(flat), bootstrap=0)
    assert diag.agreement.n_entries == 3 and diag.agreement.kendall_w is None
    assert diag.agreement.note_code == "no_variation" and "variation" in diag.agreement.note
    assert json.loads(json.dumps(diag.to_dict()))["agreement"]["note_code"] == "no_variation"
