"""Statistics of the verdicts, as pure functions: Welch tests, Holm's correction, detectable differences,
and matching models to parameter budgets (issue 10; what is computed was made exact in issue 20).

* :func:`welch_superiority`: one-sided Welch t-test (unequal variances), H0: mean_a - mean_b <= 0,
  H1: mean_a - mean_b > 0 (for a lower-is-better metric pass ``higher_is_better=False``: H1 mean_a < mean_b).
* :func:`welch_noninferiority`: the same test shifted by a stated ``margin`` > 0,
  H0: mean_a - mean_b <= -margin, H1: mean_a - mean_b > -margin ("at least as good, up to ``margin``").
  The statistic is ``(mean_a - mean_b + margin) / se`` with Welch's se and Welch-Satterthwaite df.
* :func:`welch_worse_by_margin`: the opposite one-sided test (A worse than B, or worse by more than the margin).
* :func:`welch_diff_ci`: Welch's two-sided confidence interval of mean_a - mean_b (raw units, never flipped).
* :func:`holm`: Holm-Bonferroni step-down over one family of p-values: adjusted p-values, rejections (adjusted
  p <= alpha, the same decisions as the sequential procedure) and the level each test met at its own step.
* :func:`welch_power`: the exact power of the one-sided Welch test with *estimated* Welch-Satterthwaite df
  (the df and the critical value vary with the sample variances): a two-dimensional Gauss-Legendre
  quadrature over the two sample variances, no noncentral-t approximation.
* :func:`min_detectable_difference`: the smallest true difference that test, at a stated ``alpha`` (the verdicts
  pass the first Holm step's), detects with probability ``power``, taking the observed stds as the true ones.
* :func:`match_budget` / :func:`match_pair`: the member of each family nearest a parameter budget, and
  whether it is within the tolerance; a premise that cannot be met comes back as a reason string.

Samples are sequences of per-seed values; NaNs are dropped.  A test with fewer than 2 values on a side,
or with zero variance on both sides, returns NaN statistics (never a verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy import optimize
from scipy import stats as st

ALPHA = 0.05
POWER = 0.8
BUDGET_TOLERANCE = 0.10


@dataclass(frozen=True)
class WelchResult:
    """A one-sided Welch test: ``diff`` = mean_a - mean_b (signed so that H1 says it is larger)."""

    statistic: float
    df: float
    p_value: float
    diff: float
    se: float
    n_a: int
    n_b: int
    margin: float = 0.0  # 0 for superiority; the non-inferiority margin otherwise


def _clean(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def welch_se_df(std_a: float, std_b: float, n_a: int, n_b: int) -> Tuple[float, float]:
    """Welch's standard error of mean_a - mean_b and the Welch-Satterthwaite degrees of freedom."""
    va, vb = std_a ** 2 / n_a, std_b ** 2 / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return 0.0, math.nan
    df = (va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1))
    return se, df


def _welch(a: Sequence[float], b: Sequence[float], margin: float, higher_is_better: bool) -> WelchResult:
    a, b = _clean(a), _clean(b)
    if not higher_is_better:
        a, b = -a, -b
    n_a, n_b = len(a), len(b)
    diff = float(a.mean() - b.mean()) if n_a and n_b else math.nan
    if n_a < 2 or n_b < 2:
        return WelchResult(math.nan, math.nan, math.nan, diff, math.nan, n_a, n_b, margin)
    se, df = welch_se_df(float(a.std(ddof=1)), float(b.std(ddof=1)), n_a, n_b)
    if se == 0:
        return WelchResult(math.nan, math.nan, math.nan, diff, 0.0, n_a, n_b, margin)
    t = (diff + margin) / se
    return WelchResult(t, df, float(st.t.sf(t, df)), diff, se, n_a, n_b, margin)


def welch_superiority(a: Sequence[float], b: Sequence[float], higher_is_better: bool = True) -> WelchResult:
    """One-sided Welch t-test of H1: A better than B (mean_a > mean_b, or < when lower is better)."""
    return _welch(a, b, 0.0, higher_is_better)


def welch_noninferiority(a: Sequence[float], b: Sequence[float], margin: float,
                         higher_is_better: bool = True) -> WelchResult:
    """One-sided Welch test of H0: A worse than B by ``margin`` or more, H1: A - B > -margin.

    ``margin`` is in the metric's units (e.g. top-1 points) and must be positive.
    """
    if not margin > 0:
        raise ValueError(f"a non-inferiority margin must be > 0, got {margin}")
    return _welch(a, b, float(margin), higher_is_better)


def welch_diff_ci(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Tuple[float, float, float]:
    """``(diff, low, high)``: mean_a - mean_b and Welch's two-sided ``level`` confidence interval,
    ``diff -+ t((1 + level) / 2, df) * se`` with Welch's se and Welch-Satterthwaite df.  Raw units: A - B
    whatever the metric's direction.  NaN bounds with fewer than 2 values on a side or no variance."""
    a, b = _clean(a), _clean(b)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return diff, math.nan, math.nan
    se, df = welch_se_df(float(a.std(ddof=1)), float(b.std(ddof=1)), len(a), len(b))
    if se == 0:
        return diff, math.nan, math.nan
    half = float(st.t.ppf((1 + level) / 2, df)) * se
    return diff, diff - half, diff + half


@dataclass(frozen=True)
class HolmResult:
    """Holm-adjusted p-values (NaN where the input was NaN) and rejections at ``alpha``, in input order."""

    adjusted: Tuple[float, ...]
    rejected: Tuple[bool, ...]
    alpha: float
    m: int  # the family size: the number of finite p-values
    # the level each p-value is compared with at its own step, alpha / (m - rank) with rank 0 for the
    # smallest; NaN for a NaN p-value.  A test is rejected when it and every smaller p-value meet theirs.
    step_alpha: Tuple[float, ...] = ()


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> HolmResult:
    """Holm-Bonferroni step-down over one family of hypotheses.

    Sorted ascending, the i-th smallest of the m finite p-values (i from 0) is adjusted to
    ``max_{j<=i} min(1, (m - j) p_(j))``; a hypothesis is rejected when its adjusted p-value is <= alpha
    (the same decisions as the sequential procedure).  NaN p-values (tests that could not run) are not
    members of the family: they stay NaN and are never rejected.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    finite = np.flatnonzero(~np.isnan(p))
    m = len(finite)
    adjusted = np.full(len(p), math.nan)
    order = finite[np.argsort(p[finite], kind="stable")]
    steps = np.full(len(p), math.nan)
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        adjusted[idx] = running
        steps[idx] = alpha / (m - i)
    rejected = tuple(bool(not math.isnan(x) and x <= alpha) for x in adjusted)
    return HolmResult(tuple(float(x) for x in adjusted), rejected, alpha, m, tuple(float(x) for x in steps))


QUADRATURE_NODES = 128  # per sample variance; the power is then exact to ~1e-6 (checked against 128 vs 400)


def _welch_grid(n_a: int, n_b: int, std_a: float, std_b: float, alpha: float) -> Tuple[np.ndarray, np.ndarray, float]:
    """Quadrature weights and the rejection threshold ``t_{1-alpha, df^} * se^`` of the one-sided Welch test
    over the joint distribution of the two sample variances (``s^2 = sigma^2 chi2_{n-1} / (n-1)``, Gauss-Legendre
    nodes in the chi-square's probability), and the true sd of mean_a - mean_b."""
    x, w = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    u, w = (x + 1) / 2, w / 2
    va, vb = std_a ** 2 / n_a, std_b ** 2 / n_b
    sa2 = va * st.chi2.ppf(u, n_a - 1)[:, None] / (n_a - 1)  # estimated variances of the two means
    sb2 = vb * st.chi2.ppf(u, n_b - 1)[None, :] / (n_b - 1)
    se = np.sqrt(sa2 + sb2)
    df = (sa2 + sb2) ** 2 / (sa2 ** 2 / (n_a - 1) + sb2 ** 2 / (n_b - 1))
    return np.outer(w, w), st.t.isf(alpha, df) * se, math.sqrt(va + vb)


def welch_power(delta: float, n_a: int, n_b: int, std_a: float, std_b: float, alpha: float = ALPHA) -> float:
    """P(the one-sided Welch test at ``alpha`` rejects) when the true mean_a - mean_b exceeds the null boundary
    by ``delta`` and the true stds are ``std_a``, ``std_b`` (normal data).

    Exact for Welch's test as run, with its *estimated* df: the mean difference is independent of the two
    sample variances, so power = E[Phi((delta - t_{1-alpha, df^} se^) / sd)] over the variances, computed by
    quadrature.  NaN with fewer than 2 values on a side; with both stds 0 the test is undefined (NaN)."""
    if n_a < 2 or n_b < 2 or math.isnan(std_a) or math.isnan(std_b) or (std_a == 0 and std_b == 0):
        return math.nan
    weights, threshold, sd = _welch_grid(n_a, n_b, std_a, std_b, alpha)
    return float(np.sum(weights * st.norm.cdf((delta - threshold) / sd)))


def min_detectable_difference(n_a: int, n_b: int, std_a: float, std_b: float, alpha: float = ALPHA,
                              power: float = POWER) -> float:
    """The smallest true difference (beyond the null boundary: 0, or -margin for non-inferiority) that the
    one-sided Welch test at ``alpha`` detects with probability ``power``, the observed stds taken as the
    true ones: the root of :func:`welch_power` ``= power``.  The verdicts pass the first Holm step's alpha
    (alpha / family size), the level at which a test is rejected whatever the other tests of the family do.
    NaN with fewer than 2 values on a side; 0 when both stds are 0.
    """
    if n_a < 2 or n_b < 2 or math.isnan(std_a) or math.isnan(std_b):
        return math.nan
    if std_a == 0 and std_b == 0:
        return 0.0
    weights, threshold, sd = _welch_grid(n_a, n_b, std_a, std_b, alpha)

    def shortfall(delta: float) -> float:
        return float(np.sum(weights * st.norm.cdf((delta - threshold) / sd))) - power

    hi = float(np.max(threshold)) + 10 * sd
    while shortfall(hi) < 0:
        hi *= 2
    return float(optimize.brentq(shortfall, 0.0, hi, xtol=1e-10 * sd))


@dataclass(frozen=True)
class BudgetMatch:
    """A family's member nearest a budget: ``within`` when ``|params / budget - 1| <= tolerance``."""

    family: str
    budget: float
    model: Optional[str]
    params: float
    rel_error: float  # params / budget - 1
    within: bool
    reason: Optional[str]  # why the family has no member at this budget (None when within)


def match_budget(params: Mapping[str, float], family_of: Mapping[str, str], budget: float,
                 tolerance: float = BUDGET_TOLERANCE) -> Dict[str, BudgetMatch]:
    """For every family in ``family_of`` (model -> family), its model nearest ``budget`` in log ratio (ties:
    the name that sorts first), among the models that have params."""
    out: Dict[str, BudgetMatch] = {}
    for family in sorted(set(family_of.values())):
        names = sorted(n for n, f in family_of.items() if f == family and _has(params, n))
        if not names:
            out[family] = BudgetMatch(family, budget, None, math.nan, math.nan, False,
                                      f"{family} has no model with a parameter count")
            continue
        best = min(names, key=lambda n: (abs(math.log(params[n] / budget)), n))
        rel = params[best] / budget - 1
        within = abs(rel) <= tolerance
        reason = None if within else (f"{family}'s nearest model {best} has {_m(params[best])} params, "
                                      f"{rel:+.0%} from the {_m(budget)} budget (tolerance +-{tolerance:.0%})")
        out[family] = BudgetMatch(family, budget, best, float(params[best]), rel, within, reason)
    return out


@dataclass(frozen=True)
class PairMatch:
    """Two families matched at one budget: both models, or a reason the comparison is not testable."""

    model_a: Optional[str]
    model_b: Optional[str]
    budget: float
    reason: Optional[str]


def match_pair(params: Mapping[str, float], family_of: Mapping[str, str], family_a: str, family_b: str,
               budget: float, tolerance: float = BUDGET_TOLERANCE) -> PairMatch:
    """The members of ``family_a`` and ``family_b`` at ``budget``; ``reason`` is set when either misses it."""
    matches = match_budget(params, family_of, budget, tolerance)
    reasons = []
    for family in (family_a, family_b):
        m = matches.get(family)
        if m is None:
            reasons.append(f"no {family} model is present")
        elif not m.within:
            reasons.append(m.reason)
    pick = [matches[f].model if f in matches and matches[f].within else None for f in (family_a, family_b)]
    return PairMatch(pick[0], pick[1], budget, "; ".join(reasons) or None)


def fewer_params_premise(params_a: float, params_b: float, factor: float = 1.0) -> Optional[str]:
    """None when A has fewer params than B (``params_a * factor < params_b``); otherwise the reason why the
    premise "with smaller models" does not hold for the models compared."""
    if math.isnan(params_a) or math.isnan(params_b):
        return "params not recorded"
    if params_a * factor < params_b:
        return None
    need = "fewer" if factor == 1.0 else f"at least {factor:g}x fewer"
    return f"the premise needs {need} params: {_m(params_a)} vs {_m(params_b)}"


def _has(params: Mapping[str, float], name: str) -> bool:
    value = params.get(name)
    return value is not None and not math.isnan(float(value)) and value > 0


def _m(n: float) -> str:
    return f"{n / 1e6:.3g}M"


def welch_worse_by_margin(a: Sequence[float], b: Sequence[float], margin: float,
                          higher_is_better: bool = True) -> WelchResult:
    """The opposite of non-inferiority: one-sided Welch test of H1: A worse than B by more than ``margin``
    (mean_b - mean_a > margin for a higher-is-better metric).  ``margin`` 0 is plain inferiority."""
    return _welch(b, a, -float(margin), higher_is_better)
