"""Agreement statistics against published reference values."""

import numpy as np
import pytest
from scoring_helpers import sheet

from scoring import Criterion, diagnose, icc2, kendall_w, krippendorff_alpha

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)

# R irr::anxiety, 20 subjects x 3 raters (DescTools::KendallW(anxiety, TRUE) = 0.5396569,
# chi-squared 30.76 on 19 df, p = 0.04288)
ANXIETY = np.array([[3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
                    [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
                    [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]], float).T

# Siegel & Castellan (1988): 3 judges rank 8 attributes; W = 0.6560847, chi-squared 13.778, p = 0.05528
SIEGEL = np.array([[5, 6, 7, 1, 2, 4, 3, 8], [1, 7, 6, 2, 3, 5, 4, 8], [4, 5, 1, 3, 2, 7, 6, 8]], float).T

nan = np.nan
# Krippendorff (2011) "Computing Krippendorff's alpha-reliability", 4 observers x 12 units with
# missing values: interval alpha = 0.849 (units as rows here)
KRIPPENDORFF = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
                         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
                         [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
                         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]).T

# Wikipedia's worked example (3 coders x 15 units): interval alpha = 0.810845
WIKIPEDIA = np.array([[nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
                      [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
                      [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4]]).T


def test_icc_shrout_fleiss():
    single, average = icc2(SHROUT_FLEISS)
    assert round(single, 2) == 0.29 and round(average, 2) == 0.62
    assert single == pytest.approx(0.2897638, abs=1e-7)


def test_kendall_w_with_tie_correction():
    w, chi2, p = kendall_w(ANXIETY)
    assert w == pytest.approx(0.5396569, abs=1e-7)
    assert chi2 == pytest.approx(30.76, abs=0.005) and p == pytest.approx(0.04288, abs=5e-6)


def test_kendall_w_without_ties():
    w, chi2, p = kendall_w(SIEGEL)
    assert w == pytest.approx(0.6560847, abs=1e-7)
    assert chi2 == pytest.approx(13.778, abs=5e-4) and p == pytest.approx(0.05528, abs=5e-6)


def test_kendall_w_agrees_with_friedman():
    # Friedman's chi-squared (tie-corrected) over entries as treatments and judges as blocks
    # equals m (n - 1) W: an independent implementation of the same statistic
    from scipy.stats import friedmanchisquare

    statistic, p_value = friedmanchisquare(*ANXIETY)
    _, chi2, p = kendall_w(ANXIETY)
    assert chi2 == pytest.approx(statistic) and p == pytest.approx(p_value)


def test_krippendorff_alpha_interval_published_examples():
    assert round(krippendorff_alpha(KRIPPENDORFF), 3) == 0.849
    assert round(krippendorff_alpha(WIKIPEDIA), 6) == 0.810845


def test_perfect_agreement_and_degenerate_cases():
    same = np.array([[1, 1, 1], [2, 2, 2], [4, 4, 4]], float)
    assert kendall_w(same)[0] == pytest.approx(1.0)
    assert krippendorff_alpha(same) == pytest.approx(1.0)
    assert icc2(same) == pytest.approx((1.0, 1.0))
    assert kendall_w(np.ones((3, 3))) is None  # nothing to rank
    assert krippendorff_alpha(np.array([[1, nan], [nan, 2]])) is None  # no unit with two marks


def test_diagnose_reports_agreement_per_category_and_criterion():
    crit = [Criterion("c", 100, 10)]
    marks = sheet(crit, {f"T{i}": {f"J{j}": (int(SHROUT_FLEISS[i, j]),) for j in range(4)} for i in range(6)})
    diag = diagnose(crit, marks, bootstrap=0)
    assert round(diag.agreement.icc2_1, 2) == 0.29 and round(diag.agreement.icc2_k, 2) == 0.62
    (by_c,) = diag.agreement_by_criterion
    assert by_c.scope == "c" and by_c.icc2_1 == pytest.approx(diag.agreement.icc2_1)
    assert diag.agreement.n_entries == 6 and diag.agreement.n_judges == 4
