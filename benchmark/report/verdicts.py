"""The SASE paper's claims as data, and a verdict on each from the records.

A verdict is computed per setting, i.e. per (suite, preset, dataset) and, for FID,
per feature extractor: values from different data or features never meet in one test.
In each setting every family is represented by its default model (the one whose
records say ``in_suite``: records carry it, so the report needs no model code), one
value per seed (the latest completed run of that seed).  The claims come from the
task specs (:mod:`benchmark.specs`).

The test is stated in every row: Welch's t-test (unequal variances), one-sided, at
``ALPHA``.  ``reproduced`` when the paper's model is significantly better in the
claimed direction (and, where the claim says so, has fewer parameters); ``not
reproduced`` when it is significantly worse, or has as many parameters or more;
``inconclusive`` otherwise, and always when either side has fewer than 2 seeds or
its model has no completed run.  Equal means within noise stay ``inconclusive``: a
t-test without a margin cannot show "at least as good".
"""

from __future__ import annotations

import math
import warnings
from typing import Dict, Optional, Tuple

import pandas as pd
from scipy import stats

from benchmark.report.tables import with_defaults
from benchmark.spec import Claim, load_specs

ALPHA = 0.05
MIN_SEEDS = 2
COLUMNS = ["claim", "preset", "dataset", "verdict", "test", "alpha", "n_a", "n_b", "mean_a", "mean_b", "p_value",
           "detail", "suite", "feature_extractor", "model_a", "model_b"]


def all_claims() -> Tuple[Tuple[str, Claim], ...]:
    """(task, claim) for every claim of every registered task spec."""
    return tuple((spec.name, c) for spec in load_specs().values() for c in spec.claims)


def default_model(family: str, group: pd.DataFrame) -> Optional[str]:
    """The family's in-suite model among the runs of ``group`` (first by name), or None."""
    if "in_suite" not in group.columns:
        return None
    rows = group[(group["family"] == family) & (group["in_suite"].fillna(False).astype(bool))]
    names = sorted(set(rows["model"]))
    return names[0] if names else None


def per_seed(frame: pd.DataFrame, model: Optional[str], field: str) -> pd.Series:
    """One value per seed for ``model`` (the latest completed run of each seed), NaNs dropped."""
    if model is None or field not in frame.columns:
        return pd.Series(dtype=float)
    runs = frame[frame["model"] == model]
    if "finished_at" in runs.columns:
        runs = runs.sort_values("finished_at", na_position="first")
    values = pd.to_numeric(runs.drop_duplicates("seed", keep="last")[field], errors="coerce")
    return values.dropna()


def describe_test(claim: Claim) -> str:
    sign = ">" if claim.higher_is_better else "<"
    text = f"Welch's t-test, one-sided (H1: {claim.family_a} {claim.metric} {sign} {claim.family_b} {claim.metric})"
    return text + ("; and params(A) < params(B)" if claim.fewer_params else "")


def judge(claim: Claim, a: pd.Series, b: pd.Series, params: Tuple[float, float] = (math.nan, math.nan),
          alpha: float = ALPHA) -> Dict[str, object]:
    """The verdict on one claim from per-seed values ``a`` (paper's model) and ``b`` (baseline)."""
    out = {"verdict": "inconclusive", "test": describe_test(claim), "alpha": alpha, "n_a": len(a), "n_b": len(b),
           "mean_a": _mean(a), "mean_b": _mean(b), "p_value": math.nan}
    if len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return {**out, "detail": f"fewer than {MIN_SEEDS} seeds on a side ({len(a)} vs {len(b)})"}
    better, worse = ("greater", "less") if claim.higher_is_better else ("less", "greater")
    p_better, p_worse = _welch_p(a, b, better), _welch_p(a, b, worse)
    out["p_value"] = p_better
    if math.isnan(p_better):
        return {**out, "detail": "the test is undefined (no variance on either side)"}
    detail = f"difference {out['mean_a'] - out['mean_b']:+.3g}; p(opposite) {p_worse:.3g}"
    if claim.fewer_params:
        verdict, why = _with_params(p_better, p_worse, params, alpha)
        return {**out, "verdict": verdict, "detail": f"{detail}; {why}"}
    verdict = "reproduced" if p_better < alpha else "not reproduced" if p_worse < alpha else "inconclusive"
    return {**out, "verdict": verdict, "detail": detail}


def _with_params(p_better: float, p_worse: float, params: Tuple[float, float], alpha: float) -> Tuple[str, str]:
    pa, pb = params
    if math.isnan(pa) or math.isnan(pb):
        return "inconclusive", "params not recorded"
    why = f"params {pa / 1e6:.3g}M vs {pb / 1e6:.3g}M"
    if pa >= pb or p_worse < alpha:
        return "not reproduced", why
    return ("reproduced" if p_better < alpha else "inconclusive"), why


def _welch_p(a: pd.Series, b: pd.Series, alternative: str) -> float:
    with warnings.catch_warnings():  # identical values: scipy warns and returns NaN, handled by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def compute_verdicts(frame: pd.DataFrame, claims: Optional[Tuple[Tuple[str, Claim], ...]] = None,
                     alpha: float = ALPHA) -> pd.DataFrame:
    """One row per (claim, setting) found in the completed records; see the module docstring."""
    frame = with_defaults(frame)
    done = frame[frame["status"] == "completed"] if "status" in frame.columns else frame.iloc[0:0]
    tasks = done["task"]
    rows = []
    for task, claim in (all_claims() if claims is None else claims):
        suite = done[tasks == task]
        for setting, group in _settings(suite):
            rows.append({"claim": claim.name, **setting, **_judge_group(claim, group, alpha)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _settings(frame: pd.DataFrame):
    keys = ["suite", "preset", "dataset"] + [k for k in ("recipe_id", "feature_extractor") if k in frame.columns]
    if frame.empty:
        return []
    frame = frame.assign(**{k: frame[k].fillna("-") for k in keys})
    return [({"feature_extractor": "-", **dict(zip(keys, values))}, group)
            for values, group in frame.groupby(keys, sort=False)]


def _judge_group(claim: Claim, group: pd.DataFrame, alpha: float) -> Dict[str, object]:
    model_a = default_model(claim.family_a, group)
    model_b = default_model(claim.family_b, group)
    a, b = per_seed(group, model_a, claim.metric), per_seed(group, model_b, claim.metric)
    params = (_mean(per_seed(group, model_a, claim.params_field)), _mean(per_seed(group, model_b, claim.params_field)))
    out = judge(claim, a, b, params, alpha)
    missing = [f for f, m in ((claim.family_a, model_a), (claim.family_b, model_b)) if m is None]
    if missing:
        out = {**out, "verdict": "inconclusive", "detail": f"no completed run of the default {' or '.join(missing)} "
               "model in this setting"}
    return {**out, "model_a": model_a or "-", "model_b": model_b or "-"}
