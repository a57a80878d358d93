"""The judge-leniency (bias) model on incomplete designs."""

import numpy as np
import pytest
from scoring_helpers import D

from scoring import AggregationConfig, Criterion, DisconnectedDesign, Mark, rank_category

CRIT = [Criterion("c", 100, 100)]


def planted(seed=7, n_entries=30, n_judges=6, per_entry=3, noise=0.0):
    """Each entry seen by `per_entry` consecutive judges (a connected ring design)."""
    rng = np.random.default_rng(seed)
    quality = rng.uniform(40, 80, n_entries)
    offsets = np.array([-6.0, -2.5, 0.0, 1.0, 3.0, 4.5])[:n_judges]
    offsets -= offsets.mean()
    marks = []
    for e in range(n_entries):
        for k in range(per_entry):
            j = (e + k) % n_judges
            score = quality[e] + offsets[j] + rng.normal(0, noise)
            marks.append(Mark(f"E{e:02d}", f"J{j}", "c", D(round(score, 2))))
    return marks, quality, offsets


def test_bias_recovers_planted_offsets_exactly_without_noise():
    marks, quality, offsets = planted()
    result = rank_category(CRIT, marks, AggregationConfig(method="bias", decimals=2))
    for j, offset in enumerate(offsets):
        assert float(result.judge_offsets[f"J{j}"]) == pytest.approx(offset, abs=0.02)
    for e, q in enumerate(quality):
        assert float(result.entry(f"E{e:02d}").total) == pytest.approx(q, abs=0.02)


def test_bias_recovers_offsets_under_noise_and_beats_the_mean():
    marks, quality, offsets = planted(noise=1.0, n_entries=60)
    bias = rank_category(CRIT, marks, AggregationConfig(method="bias"))
    mean = rank_category(CRIT, marks, AggregationConfig(method="mean"))
    est = np.array([float(bias.judge_offsets[f"J{j}"]) for j in range(len(offsets))])
    assert np.abs(est - offsets).max() < 1.0
    err_bias = np.mean([abs(float(bias.entry(f"E{e:02d}").total) - q) for e, q in enumerate(quality)])
    err_mean = np.mean([abs(float(mean.entry(f"E{e:02d}").total) - q) for e, q in enumerate(quality)])
    assert err_bias < err_mean / 2


def test_bias_offsets_sum_to_zero_and_complete_design_equals_mean():
    marks = [Mark(e, j, "c", D(s)) for e, row in zip("AB", ((60, 70, 80), (50, 65, 71))) for j, s in zip(("J1", "J2", "J3"), row)]
    bias = rank_category(CRIT, marks, AggregationConfig(method="bias"))
    mean = rank_category(CRIT, marks)
    assert [r.total for r in bias.entries] == [r.total for r in mean.entries] == [D("70.00"), D("62.00")]
    assert sum(bias.judge_offsets.values()) == 0


def test_disconnected_design_is_refused_with_the_reason():
    # J1 and J2 judge A and B; J3 and J4 judge C and D; no judge links the two groups
    marks = [Mark(e, j, "c", D(50)) for e, js in (("A", "J1 J2"), ("B", "J1 J2"), ("C", "J3 J4"), ("D", "J3 J4"))
             for j in js.split()]
    with pytest.raises(DisconnectedDesign) as info:
        rank_category(CRIT, marks, AggregationConfig(method="bias"))
    message = str(info.value)
    assert "2 groups that share no entry" in message
    assert "judges J1, J2 with entries A, B" in message and "judges J3, J4 with entries C, D" in message
    assert info.value.components == ((("J1", "J2"), ("A", "B")), (("J3", "J4"), ("C", "D")))
    # one linking judge repairs it
    linked = marks + [Mark("A", "J3", "c", D(50))]
    assert len(rank_category(CRIT, linked, AggregationConfig(method="bias")).entries) == 4


def test_disconnected_on_one_criterion_names_the_criterion():
    crit = [Criterion("a", 50, 10), Criterion("b", 50, 10)]
    marks = [Mark(e, j, "a", D(5)) for e in "AB" for j in ("J1", "J2")]
    marks += [Mark("A", "J1", "b", D(5)), Mark("B", "J2", "b", D(6))]
    with pytest.raises(DisconnectedDesign, match="criterion 'b'") as info:
        rank_category(crit, marks, AggregationConfig(method="bias"))
    assert info.value.criterion == "b"
