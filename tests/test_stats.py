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


@pytest.mark.parametrize("n,sa,sb", [(3, 0.13, 0.08), (3, 0.03, 0.13), (5, 0.1, 0.1), (10, 0.2, 0.05)])
def test_min_detectable_difference_has_the_stated_power(n, sa, sb):
    mdd = S.min_detectable_difference(n, n, sa, sb)
    se = math.sqrt(sa ** 2 / n + sb ** 2 / n)
    df = (sa ** 2 / n + sb ** 2 / n) ** 2 / ((sa ** 2 / n) ** 2 / (n - 1) + (sb ** 2 / n) ** 2 / (n - 1))
    power = st.nct.sf(st.t.isf(0.05, df), df, mdd / se)
    assert power == pytest.approx(0.8, abs=1e-9)
    textbook = (st.t.isf(0.05, df) + st.t.ppf(0.8, df)) * se
    assert mdd == pytest.approx(textbook, rel=0.1)


def test_min_detectable_difference_edges():
    assert math.isnan(S.min_detectable_difference(1, 3, 0.1, 0.1))
    assert S.min_detectable_difference(3, 3, 0.0, 0.0) == 0.0
    assert S.min_detectable_difference(10, 10, 0.1, 0.1) < S.min_detectable_difference(3, 3, 0.1, 0.1)


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
