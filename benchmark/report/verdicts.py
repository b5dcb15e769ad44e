"""The SASE paper's claims as data (in the task specs), and a verdict on each from the records.

A verdict is computed per setting: (suite, preset) and the task spec's ``split_by`` fields (dataset,
recipe identity, and for FID the feature extractor, ...).  Values from different data, recipes or features
never meet in one test.

**Which models are compared.**  A claim compares two families at *matched size*, never our sizing:

* ladder members carry a ``budget`` tag: A and B are paired at each budget both have (within +-10% of the
  budget's params by construction, checked again here);
* other models (e.g. the paper preset's): the families' default models (``in_suite``), paired only when
  their params are within +-10% of each other; where family A has several (SASE-ResNet-50 at 17M and at
  25.6M), the one nearest B's params;
* a claim with the size premise ("with significantly smaller models") pairs A at a budget with B at the
  next larger budget (untagged: A's smallest default model, whose params must be at least 10% below B's).

A claim whose pair cannot be formed is **not testable**, with the reason; never "not reproduced".

**The test** is the claim's kind: *superiority* (one-sided Welch t-test, H1: A better than B) or
*non-inferiority* (one-sided Welch test against the claim's margin, H1: A - B > -margin, in the metric's
units).  One value per seed (the latest completed run of each seed).  Holm's correction runs over all the
tests of one setting; the verdict uses the adjusted p-value.  ``reproduced``: the adjusted p < alpha;
``not reproduced``: the opposite one-sided test (A worse than B, or worse by more than the margin) has
adjusted p < alpha; ``inconclusive`` otherwise, and always with fewer than 2 seeds on a side.  Each row also
gives the smallest difference its seeds could have detected (power 0.8, Welch, observed stds).

**The convergence gate.**  A claim is tested only when every counted run on both sides passed its task's
convergence test (the record's ``converged``, :mod:`benchmark.convergence`).  Otherwise the verdict is
``not testable: still learning``, with the figure of the run furthest from converging; a record without a
``converged`` field (written before the test existed) counts as not converged.  Such rows take no part in
Holm's correction.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import pandas as pd

from benchmark.report import stats
from benchmark.report.tables import with_defaults
from benchmark.spec import Claim, load_specs

ALPHA = stats.ALPHA
MIN_SEEDS = 2
SIZE_FACTOR = 1.1  # "significantly smaller": at least 10% fewer params
STILL_LEARNING = "not testable: still learning"
COLUMNS = ["claim", "kind", "margin", "setting", "preset", "dataset", "recipe_id", "budget", "verdict", "test", "alpha", "n_a",
           "n_b", "mean_a", "mean_b", "p_value", "p_adjusted", "mdd", "detail", "suite", "feature_extractor",
           "model_a", "model_b", "params_a", "params_b"]


@dataclass(frozen=True)
class Pair:
    """Two models to compare for a claim, or the reason there are none."""

    budget: str
    model_a: Optional[str]
    model_b: Optional[str]
    reason: Optional[str] = None


def all_claims() -> Tuple[Tuple[str, Claim], ...]:
    """(task, claim) for every claim of every registered task spec."""
    return tuple((spec.name, c) for spec in load_specs().values() for c in spec.claims)


def budget_params(tag: str) -> float:
    """``b300k`` -> 3e5, ``b1m`` -> 1e6, ``b2.5m`` -> 2.5e6; NaN for anything else."""
    m = re.fullmatch(r"b([0-9.]+)([km])", str(tag))
    return float(m.group(1)) * (1e3 if m.group(2) == "k" else 1e6) if m else math.nan


def default_models(family: str, group: pd.DataFrame) -> List[str]:
    """The family's in-suite models among the runs of ``group``, by name."""
    if "in_suite" not in group.columns:
        return []
    rows = group[(group["family"] == family) & (group["in_suite"].fillna(False).astype(bool))]
    return sorted(set(rows["model"]))


def default_model(family: str, group: pd.DataFrame) -> Optional[str]:
    """The family's first in-suite model among the runs of ``group``, or None."""
    names = default_models(family, group)
    return names[0] if names else None


def counted(frame: pd.DataFrame, model: Optional[str], field: str) -> pd.DataFrame:
    """The runs of ``model`` a test counts: the latest completed run of each seed, with a value of ``field``."""
    if model is None or field not in frame.columns:
        return frame.iloc[0:0]
    runs = frame[frame["model"] == model]
    if "finished_at" in runs.columns:
        runs = runs.sort_values("finished_at", na_position="first")
    runs = runs.drop_duplicates("seed", keep="last")
    return runs[pd.to_numeric(runs[field], errors="coerce").notna()]


def per_seed(frame: pd.DataFrame, model: Optional[str], field: str) -> pd.Series:
    """One value per seed for ``model`` (the latest completed run of each seed), NaNs dropped."""
    return pd.to_numeric(counted(frame, model, field)[field], errors="coerce").astype(float)


def still_learning(group: pd.DataFrame, models: Tuple[Optional[str], ...], field: str) -> Optional[str]:
    """None when every counted run of ``models`` converged; else the run furthest from it, as a sentence."""
    runs = pd.concat([counted(group, m, field) for m in models])
    done = runs["converged"].eq(True) if "converged" in runs.columns else pd.Series(False, index=runs.index)
    late = runs[~done.to_numpy()]
    if late.empty:
        return None
    figures = pd.to_numeric(late["convergence_figure"], errors="coerce") if "convergence_figure" in late.columns \
        else pd.Series(math.nan, index=late.index)
    worst = late.iloc[int(figures.fillna(math.inf).to_numpy().argmax())]
    return f"{worst['model']} seed {worst['seed']}: {_why(worst)} ({len(late)} of {len(runs)} counted runs not converged)"


def _why(run: pd.Series) -> str:
    """A run's convergence sentence, or that it has none (a record from before the test)."""
    recorded, what = run.get("converged"), run.get("convergence_what")
    if recorded is None or recorded != recorded or not isinstance(what, str):
        return "no convergence figure recorded"
    return what


def _params(group: pd.DataFrame, model: Optional[str], field: str) -> float:
    values = per_seed(group, model, field)
    return float(values.mean()) if len(values) else math.nan


def pairs(claim: Claim, group: pd.DataFrame) -> List[Pair]:
    """The model pairs ``claim`` is tested on in one setting (see the module docstring)."""
    tagged = group[group["budget"].notna()] if "budget" in group.columns else group.iloc[0:0]
    if "ablation" in tagged.columns:  # ablations are compared in their own table, not in the claims
        tagged = tagged[tagged["ablation"].isna()]
    if not tagged.empty:
        return _tagged_pairs(claim, tagged)
    a_models, b_models = default_models(claim.family_a, group), default_models(claim.family_b, group)
    missing = [f for f, m in ((claim.family_a, a_models), (claim.family_b, b_models)) if not m]
    if missing:
        return [Pair("-", (a_models or [None])[0], (b_models or [None])[0],
                     f"no completed run of the default {' or '.join(missing)} model in this setting")]
    out = []
    for b in b_models:
        pb = _params(group, b, claim.params_field)
        a = _pick(a_models, group, claim, pb)
        out.append(Pair("-", a, b, _size_reason(claim, _params(group, a, claim.params_field), pb)))
    return out


def _pick(models: List[str], group: pd.DataFrame, claim: Claim, pb: float) -> str:
    """Of several default models of family A (e.g. SASE-ResNet-50 at 17M and at 25.6M), the one a claim is
    about: the smallest for a "smaller model" claim, else the one nearest B's params."""
    sizes = {m: _params(group, m, claim.params_field) for m in models}
    if claim.fewer_params or pb != pb:
        return min(models, key=lambda m: (sizes[m] if sizes[m] == sizes[m] else math.inf, m))
    return min(models, key=lambda m: (abs(math.log(sizes[m] / pb)) if sizes[m] == sizes[m] else math.inf, m))


def _size_reason(claim: Claim, pa: float, pb: float) -> Optional[str]:
    if math.isnan(pa) or math.isnan(pb):
        return "params not recorded"
    if claim.fewer_params:
        return stats.fewer_params_premise(pa, pb, SIZE_FACTOR)
    if claim.matched_size and abs(pa / pb - 1) > stats.BUDGET_TOLERANCE:
        return (f"sizes not matched: {pa / 1e6:.3g}M vs {pb / 1e6:.3g}M params ({pa / pb - 1:+.0%}; a fair "
                f"comparison needs +-{stats.BUDGET_TOLERANCE:.0%}); run the ladder preset")
    return None


def _tagged_pairs(claim: Claim, tagged: pd.DataFrame) -> List[Pair]:
    members = {(f, b): m for f, b, m in zip(tagged["family"], tagged["budget"], tagged["model"])}
    budgets = sorted({b for _, b in members}, key=budget_params)
    out = []
    for i, budget in enumerate(budgets):
        a = members.get((claim.family_a, budget))
        b_budget = budgets[i + 1] if claim.fewer_params and i + 1 < len(budgets) else budget
        b = members.get((claim.family_b, b_budget))
        label = budget if b_budget == budget else f"{budget} vs {b_budget}"
        if claim.fewer_params and b_budget == budget:
            out.append(Pair(label, a, None, f"the fewer-params premise needs {claim.family_b} at a budget above "
                                            f"{budget}, and none ran in this setting"))
        elif a is None or b is None:
            gone = [f for f, m in ((claim.family_a, a), (claim.family_b, b)) if m is None]
            out.append(Pair(label, a, b, f"no completed run of {' or '.join(gone)} at {label}"))
        else:
            pa, pb = _params(tagged, a, claim.params_field), _params(tagged, b, claim.params_field)
            out.append(Pair(label, a, b, _size_reason(claim, pa, pb)))
    return out


def describe_test(claim: Claim) -> str:
    sign = ">" if claim.higher_is_better else "<"
    if claim.kind == "non-inferiority":
        worse = "-" if claim.higher_is_better else "+"
        return (f"Welch's t-test, one-sided, non-inferiority (H1: {claim.family_a} {claim.metric} {sign} "
                f"{claim.family_b} {claim.metric} {worse} {claim.margin:g})")
    return f"Welch's t-test, one-sided (H1: {claim.family_a} {claim.metric} {sign} {claim.family_b} {claim.metric})"


def _tests(claim: Claim, a: pd.Series, b: pd.Series) -> Tuple[stats.WelchResult, stats.WelchResult]:
    """The claim's test, and the opposite one (A worse than B, or worse by more than the margin)."""
    hib = claim.higher_is_better
    if claim.kind == "non-inferiority":
        forward = stats.welch_noninferiority(a, b, claim.margin, hib)
        return forward, stats.welch_worse_by_margin(a, b, claim.margin, hib)
    return stats.welch_superiority(a, b, hib), stats.welch_superiority(b, a, hib)


def _row(claim: Claim, group: pd.DataFrame, pair: Pair, gated: bool = True) -> Dict[str, object]:
    a, b = per_seed(group, pair.model_a, claim.metric), per_seed(group, pair.model_b, claim.metric)
    row = {"claim": claim.name, "kind": claim.kind, "margin": claim.margin if claim.kind != "superiority" else 0.0,
           "budget": pair.budget, "test": describe_test(claim), "alpha": ALPHA, "n_a": len(a), "n_b": len(b),
           "mean_a": _mean(a), "mean_b": _mean(b), "p_value": math.nan, "p_opposite": math.nan,
           "mdd": math.nan, "model_a": pair.model_a or "-", "model_b": pair.model_b or "-",
           "params_a": _params(group, pair.model_a, claim.params_field),
           "params_b": _params(group, pair.model_b, claim.params_field)}
    if pair.reason:
        return {**row, "verdict": "not testable", "detail": pair.reason}
    learning = still_learning(group, (pair.model_a, pair.model_b), claim.metric) if gated else None
    if learning:
        return {**row, "verdict": STILL_LEARNING, "detail": learning}
    if len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return {**row, "verdict": "inconclusive", "detail": f"fewer than {MIN_SEEDS} seeds on a side "
                                                            f"({len(a)} vs {len(b)})"}
    forward, opposite = _tests(claim, a, b)
    mdd = stats.min_detectable_difference(len(a), len(b), float(a.std(ddof=1)), float(b.std(ddof=1)))
    detail = f"difference {row['mean_a'] - row['mean_b']:+.3g}"
    if not claim.matched_size:
        detail += f"; params {row['params_a'] / 1e6:.3g}M vs {row['params_b'] / 1e6:.3g}M (not size-matched: the claim"
        detail += " is about the authors' model)"
    if math.isnan(forward.p_value):
        return {**row, "verdict": "inconclusive", "mdd": mdd, "detail": "the test is undefined (no variance)"}
    return {**row, "p_value": forward.p_value, "p_opposite": opposite.p_value, "mdd": mdd, "detail": detail}


def _decide(rows: List[Dict[str, object]], alpha: float) -> None:
    """Holm over every test of the setting (both directions), then each row's verdict from its own."""
    tested = [r for r in rows if "verdict" not in r]
    if not tested:
        return
    holm = stats.holm([r["p_value"] for r in tested] + [r["p_opposite"] for r in tested], alpha)
    adjusted, n = holm.adjusted, len(tested)
    for i, r in enumerate(tested):
        p, p_opp = adjusted[i], adjusted[n + i]
        r["p_adjusted"] = p
        r["verdict"] = "reproduced" if p < alpha else "not reproduced" if p_opp < alpha else "inconclusive"
        r["detail"] = (f"{r['detail']}; Holm over {holm.m} tests of this "
                       f"setting; adjusted p(opposite) {p_opp:.3g}; smallest detectable difference "
                       f"{r['mdd']:.3g} (power 0.8)")


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def compute_verdicts(frame: pd.DataFrame, claims: Optional[Tuple[Tuple[str, Claim], ...]] = None,
                     alpha: float = ALPHA) -> pd.DataFrame:
    """One row per (claim, setting, pair) found in the completed records; see the module docstring.

    A setting is (suite, preset) and the task spec's ``split_by`` fields (dataset, recipe identity, feature
    extractor, image, ...): the same keys that give the report its separate tables."""
    frame = with_defaults(frame)
    done = frame[frame["status"] == "completed"] if "status" in frame.columns else frame.iloc[0:0]
    claims = all_claims() if claims is None else claims
    specs = load_specs()
    rows = []
    for task in dict.fromkeys(t for t, _ in claims):
        keys = ["suite", "preset", *(specs.get(task).split_by if task in specs else ("dataset",))]
        gated = task not in specs or specs.get(task).convergence is not None  # a task without a test: no gate
        for setting, group in _settings(done[done["task"] == task], keys):
            found = [{**setting, **_row(c, group, p, gated)} for t, c in claims if t == task
                     for p in pairs(c, group)]
            _decide(found, alpha)
            rows += found
    table = pd.DataFrame(rows)
    return table.reindex(columns=COLUMNS) if not table.empty else pd.DataFrame(columns=COLUMNS)


def _settings(frame: pd.DataFrame, keys: List[str]):
    if frame.empty:
        return []
    keys = [k for k in keys if k in frame.columns]
    frame = frame.assign(**{k: frame[k].fillna("-").astype(str) for k in keys})
    out = []
    for values, group in frame.groupby(keys, sort=False):
        setting = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        label = ", ".join(str(v) for k, v in setting.items() if k != "suite")
        out.append(({"feature_extractor": "-", "recipe_id": "-", "dataset": "-", **setting, "setting": label},
                    group))
    return out
