"""benchmark.report.stats: every figure checked against scipy (or a hand computation) directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from benchmark.report import stats as S

A = [90.85, 90.93, 90.77]  # sase_resnet_s32, default preset, seeds 0-2
B = [90.74, 90.74, 90.97]  # resnet_s32
C = [85.54, 85.45, 85.68]  # swin_s32


def test_superiority_matches_scipy_welch():
    for a, b in ((A, B), (A, C), (C, A)):
        r = S.welch_superiority(a, b)
        ref = st.ttest_ind(a, b, equal_var=False, alternative="greater")
        assert r.statistic == pytest.approx(ref.statistic, rel=1e-12)
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
        assert r.df == pytest.approx(ref.df, rel=1e-12)
        assert r.diff == pytest.approx(np.mean(a) - np.mean(b))


def test_lower_is_better_flips_the_direction():
    r = S.welch_superiority(C, A, higher_is_better=False)  # e.g. FID: is C lower than A?
    ref = st.ttest_ind(C, A, equal_var=False, alternative="less")
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10) and r.diff > 0


def test_noninferiority_is_a_shifted_welch_test():
    for margin in (0.1, 0.3, 1.0):
        r = S.welch_noninferiority(B, A, margin)
        shifted = st.ttest_ind(np.add(B, margin), A, equal_var=False, alternative="greater")
        assert r.p_value == pytest.approx(shifted.pvalue, rel=1e-10) and r.margin == margin
    # a wider margin makes "at least as good" easier to show
    assert S.welch_noninferiority(B, A, 1.0).p_value < S.welch_noninferiority(B, A, 0.1).p_value
    assert S.welch_noninferiority(C, A, 0.3).p_value > 0.99  # 5 points worse is not within 0.3
    lower = S.welch_noninferiority(C, A, 0.3, higher_is_better=False)  # lower is better: C is much "better"
    assert lower.p_value < 1e-4
    with pytest.raises(ValueError, match="margin"):
        S.welch_noninferiority(A, B, 0.0)


def test_worse_by_margin_is_the_opposite_shifted_test():
    for margin in (0.0, 0.3, 2.0):
        r = S.welch_worse_by_margin(C, A, margin)  # H1: mean_A - mean_C > margin
        ref = st.ttest_ind(A, np.add(C, margin), equal_var=False, alternative="greater")
        assert r.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert S.welch_worse_by_margin(C, A, 2.0).p_value < 1e-4 and S.welch_worse_by_margin(C, A, 8.0).p_value > 0.99


def test_degenerate_samples_give_nan_not_a_verdict():
    assert math.isnan(S.welch_superiority([1.0], [2.0, 3.0]).p_value)
    assert math.isnan(S.welch_superiority([1.0, 1.0], [1.0, 1.0]).p_value)
    r = S.welch_superiority([1.0, float("nan"), 2.0], [0.0, 1.0])  # NaNs dropped
    assert r.n_a == 2 and r.p_value == pytest.approx(st.ttest_ind([1, 2], [0, 1], equal_var=False,
                                                                  alternative="greater").pvalue)


def test_holm_by_hand_and_against_scipy_bonferroni_bound():
    p = [0.01, 0.04, 0.03, 0.005]
    r = S.holm(p)
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 = .02, .03, .06, .06 (monotone)
    assert r.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert r.rejected == (True, False, False, True) and r.m == 4
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.2, size=6)
        r = S.holm(p)
        adj = np.array(r.adjusted)
        assert np.all(adj >= p - 1e-15) and np.all(adj <= np.minimum(1, 6 * p) + 1e-15)  # between raw and Bonferroni
        # the sequential procedure: reject the k smallest while p_(i) <= alpha / (m - i)
        k = 0
        for i, v in enumerate(np.sort(p)):
            if v > 0.05 / (6 - i):
                break
            k += 1
        assert sum(r.rejected) == k
    nan = S.holm([0.01, float("nan"), 0.02])
    assert nan.m == 2 and math.isnan(nan.adjusted[1]) and nan.rejected == (True, False, True)
    assert nan.adjusted[0] == pytest.approx(0.02) and nan.adjusted[2] == pytest.approx(0.02)


def _simulated_power(delta, n_a, n_b, sa, sb, alpha, draws=40_000, seed=0):
    """The real test, simulated: scipy's Welch t-test (estimated df) on seeded normal samples."""
    rng = np.random.default_rng(seed)
    a = rng.normal(delta, sa, size=(draws, n_a))
    b = rng.normal(0.0, sb, size=(draws, n_b))
    p = st.ttest_ind(a, b, axis=1, equal_var=False, alternative="greater").pvalue
    return float(np.mean(p <= alpha)), draws


# (n_a, n_b, std_a, std_b, alpha): the 1M setting's SASE vs PVT stds with its 12-test Holm family first,
# then other shapes (unequal n, one tight arm, more seeds)
POWER_CASES = [(3, 3, 0.45, 0.62, 0.05 / 12), (3, 3, 0.45, 0.62, 0.05), (5, 3, 0.3, 0.1, 0.01),
               (10, 10, 0.2, 0.5, 0.05 / 4), (3, 6, 0.13, 0.08, 0.05 / 8)]


@pytest.mark.parametrize("n_a,n_b,sa,sb,alpha", POWER_CASES)
def test_min_detectable_difference_has_the_stated_power_in_a_simulation_of_the_real_test(n_a, n_b, sa, sb, alpha):
    mdd = S.min_detectable_difference(n_a, n_b, sa, sb, alpha=alpha)
    assert S.welch_power(mdd, n_a, n_b, sa, sb, alpha) == pytest.approx(0.8, abs=1e-9)
    simulated, draws = _simulated_power(mdd, n_a, n_b, sa, sb, alpha)
    assert simulated == pytest.approx(0.8, abs=4 * math.sqrt(0.8 * 0.2 / draws))  # 4 Monte Carlo SEs


def test_welch_power_is_the_estimated_df_test_not_the_noncentral_t_approximation():
    # issue 20: at 1.38 points (the old MDD, noncentral t at alpha 0.05) the real test has power about 0.75
    n, sa, sb, delta = 3, 0.45, 0.62, 1.38
    exact = S.welch_power(delta, n, n, sa, sb, 0.05)
    simulated, draws = _simulated_power(delta, n, n, sa, sb, 0.05, seed=1)
    assert exact == pytest.approx(simulated, abs=4 * math.sqrt(0.25 * 0.75 / draws)) and exact < 0.77
    se, df = S.welch_se_df(sa, sb, n, n)
    approx = st.nct.sf(st.t.isf(0.05, df), df, delta / se)
    assert abs(approx - simulated) > 0.02  # the approximation the MDD used to rest on is off by 0.02 or more
    size, draws = _simulated_power(0.0, n, n, sa, sb, 0.05, seed=2)  # at the null boundary: Welch's real size
    assert S.welch_power(0.0, n, n, sa, sb, 0.05) == pytest.approx(size, abs=4 * math.sqrt(0.05 * 0.95 / draws))


def test_min_detectable_difference_at_the_holm_level_is_larger():
    at_05 = S.min_detectable_difference(3, 3, 0.45, 0.62)
    at_holm = S.min_detectable_difference(3, 3, 0.45, 0.62, alpha=0.05 / 12)
    assert at_holm > 1.5 * at_05
    assert S.min_detectable_difference(3, 3, 0.45, 0.62, power=0.9) > at_05


def test_min_detectable_difference_edges():
    assert math.isnan(S.min_detectable_difference(1, 3, 0.1, 0.1))
    assert S.min_detectable_difference(3, 3, 0.0, 0.0) == 0.0
    assert S.min_detectable_difference(10, 10, 0.1, 0.1) < S.min_detectable_difference(3, 3, 0.1, 0.1)
    # one arm without spread: the test is a one-sample t-test with df n_b - 1, whose power is an exact noncentral t
    one_tight = S.min_detectable_difference(3, 3, 0.0, 0.3, alpha=0.01)
    se = 0.3 / math.sqrt(3)
    assert st.nct.sf(st.t.isf(0.01, 2), 2, one_tight / se) == pytest.approx(0.8, abs=1e-6)
    assert math.isnan(S.welch_power(1.0, 3, 3, 0.0, 0.0))


# Recomputed cases (issue 20): each statistic of a verdict row against scipy, computed independently.
# (a, b, margin, higher_is_better)
CASES = [(A, B, 0.0, True), (A, C, 0.0, True), (C, A, 0.0, True), (C, A, 0.0, False), (B, A, 0.5, True),
         (C, A, 0.5, True), ([17.3, 15.1, 19.6], [33.3, 24.9, 41.7], 0.0, False),
         ([85.84, 85.4, 86.3, 85.9], [84.03, 84.6, 83.4], 0.5, True), ([0.25, 0.3, 0.21], [0.12, 0.13], 0.02, False)]


@pytest.mark.parametrize("a,b,margin,higher", CASES)
def test_recomputed_cases_against_scipy(a, b, margin, higher):
    sign = 1.0 if higher else -1.0
    shift = sign * margin  # the boundary of "A not worse than B by more than the margin", in raw units
    forward = (S.welch_noninferiority(a, b, margin, higher) if margin else S.welch_superiority(a, b, higher))
    opposite = S.welch_worse_by_margin(a, b, margin, higher)
    side = "greater" if higher else "less"
    ref = st.ttest_ind(np.add(a, shift), b, equal_var=False, alternative=side)
    assert forward.p_value == pytest.approx(ref.pvalue, rel=1e-9) and forward.df == pytest.approx(ref.df, rel=1e-12)
    other = st.ttest_ind(np.add(a, shift), b, equal_var=False, alternative="less" if higher else "greater")
    assert opposite.p_value == pytest.approx(other.pvalue, rel=1e-9)
    assert forward.p_value + opposite.p_value == pytest.approx(1.0)  # the two directions of one statistic
    diff, low, high = S.welch_diff_ci(a, b)
    ci = st.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert diff == pytest.approx(np.mean(a) - np.mean(b)) and (low, high) == pytest.approx((ci.low, ci.high))
    assert S.welch_diff_ci(a, b, 0.99)[1] < low  # a wider level, a wider interval


def test_diff_ci_edges():
    assert S.welch_diff_ci([1.0], [2.0, 3.0])[1] != S.welch_diff_ci([1.0], [2.0, 3.0])[1]  # NaN
    diff, low, high = S.welch_diff_ci([1.0, 1.0], [0.0, 0.0])
    assert diff == 1.0 and low != low and high != high


def test_holm_step_levels_and_the_rejection_rule_agree():
    p = [0.01, 0.04, 0.03, 0.005]
    r = S.holm(p)
    assert r.step_alpha == pytest.approx((0.05 / 3, 0.05 / 1, 0.05 / 2, 0.05 / 4))
    # Holm rejects at p <= alpha / (m - i): a p-value exactly at its level is rejected, and so is the verdict
    edge = S.holm([0.05 / 2, 0.05])
    assert edge.rejected == (True, True) and edge.adjusted == pytest.approx((0.05, 0.05))
    assert S.holm([float("nan"), 0.01]).step_alpha[0] != S.holm([float("nan"), 0.01]).step_alpha[0]


PARAMS = {"resnet_s32_b1m": 1_029_450, "resnet_s32_b3m": 3_005_690, "swin_s32": 566_104, "swin_s32_b1m": 1_065_364,
          "sase_resnet_s32": 948_026, "pvt_v2_s32": 1_428_874}
FAMILY = {"resnet_s32_b1m": "ResNet", "resnet_s32_b3m": "ResNet", "swin_s32": "Swin", "swin_s32_b1m": "Swin",
          "sase_resnet_s32": "SASE-ResNet", "pvt_v2_s32": "PVT"}


def test_match_budget_picks_the_nearest_member_and_says_when_it_misses():
    m = S.match_budget(PARAMS, FAMILY, 1_000_000)
    assert m["ResNet"].model == "resnet_s32_b1m" and m["ResNet"].within and m["ResNet"].reason is None
    assert m["Swin"].model == "swin_s32_b1m" and m["Swin"].rel_error == pytest.approx(0.065364)
    assert m["SASE-ResNet"].within  # 948k is -5.2 %
    assert not m["PVT"].within and "PVT" in m["PVT"].reason and "+43%" in m["PVT"].reason
    assert S.match_budget(PARAMS, FAMILY, 3e6)["ResNet"].model == "resnet_s32_b3m"
    assert S.match_budget({"x": math.nan}, {"x": "X"}, 1e6)["X"].reason.startswith("X has no model")


def test_match_pair_is_not_testable_with_a_reason():
    ok = S.match_pair(PARAMS, FAMILY, "SASE-ResNet", "Swin", 1e6)
    assert (ok.model_a, ok.model_b, ok.reason) == ("sase_resnet_s32", "swin_s32_b1m", None)
    miss = S.match_pair(PARAMS, FAMILY, "SASE-ResNet", "PVT", 1e6)
    assert miss.model_a == "sase_resnet_s32" and miss.model_b is None and "pvt_v2_s32" in miss.reason
    absent = S.match_pair(PARAMS, FAMILY, "SASE-ResNet", "ViT", 1e6)
    assert absent.reason == "no ViT model is present"


def test_fewer_params_premise():
    assert S.fewer_params_premise(17.2e6, 28.3e6) is None
    assert "fewer" in S.fewer_params_premise(0.95e6, 0.57e6)
    assert "1.5x" in S.fewer_params_premise(20e6, 28e6, factor=1.5)
    assert S.fewer_params_premise(math.nan, 1.0) == "params not recorded"
