"""The SASE paper's claims as data (in the task specs), and a verdict on each from the records.

A verdict is computed per setting: (suite, preset), the task spec's ``split_by`` fields (dataset,
recipe identity, and for FID the feature extractor, ...) and the numerics (``precision`` and the kind of
device, ``device_kind``: cpu, cuda).  Values from different data, recipes, features or numerics never meet
in one test.

**Which models are compared.**  A claim compares two families at *matched size*, never our sizing:

* ladder members carry a ``budget`` tag: A and B are paired at each budget both have (within +-10% of the
  budget's params by construction, checked again here);
* other models (e.g. the paper preset's): the families' default models (``in_suite``), paired only when
  their params are within +-10% of each other; where family A has several (SASE-ResNet-50 at 17M and at
  25.6M), the one nearest B's params;
* a claim with the size premise ("with significantly smaller models") pairs A at a budget with B at the
  next larger budget of the ladders, where the budgets, not our choice of one model's size, set the sizes.
  On untagged models it is testable only when both are the published architectures (a ``paper_name``:
  SASE-ResNet-50 against Swin-T): on models sized by this benchmark (the ``default`` preset's ``*_s32``)
  our sizing would decide it, since under a short fixed recipe a larger model need not be better (issue 20).
  A's smallest default model is compared, and its params must be at least 10% below B's.

A claim whose pair cannot be formed is **not testable**, with the reason; never "not reproduced".

**The tests.**  One value per seed (the latest completed run of each seed).  Each tested claim gives two
one-sided Welch t-tests (Welch's se, Welch-Satterthwaite df): its own, H1: A better than B (superiority) or
H1: A - B > -margin in the metric's units (non-inferiority), and the opposite, H1: A worse than B (or
A - B < -margin).  The 2m one-sided tests of the m tested claims of one setting form one Holm family at
family-wise alpha 0.05 (valid whatever the dependence between the tests, which share arms).
``reproduced``: the claim's own test has Holm-adjusted p <= alpha (Holm's own rule, ``stats.holm``);
``not reproduced``: the opposite test has; ``inconclusive`` otherwise, and always with fewer than 2 seeds on
a side.  ``family_tests`` is the family's size (2m, plus 2 per distinct guard test); ``alpha_step`` is the level the
claim's test met or missed at its own Holm step (alpha / (family_tests - rank), rank 0 for the smallest p);
at the first step a test is at alpha / family_tests (without guards alpha / 2m: one side of a two-sided test
at alpha / m).

Each row also gives Welch's 95% CI of mean_a - mean_b (raw units, not adjusted for the family) and the
smallest true difference its seeds detect with power 0.8 (``mdd``) by the one-sided Welch test with
estimated df (:func:`stats.welch_power`, exact quadrature) at the first Holm step's alpha / family_tests
(``mdd_alpha``), the level at which a test is rejected whatever the others do, the observed stds taken as
the true ones.
For a non-inferiority claim the MDD is measured from -margin: its test rejects with power 0.8 when the true
A - B exceeds -margin + MDD.

**Guarded claims** (a claim's ``guard``, e.g. SSIM at the coarsest scale only with diversity): the guard's
non-inferiority test (A's guard metric not worse than B's by more than its margin) and its opposite join the
same Holm family, once per pair: claims guarded by the same metric and margin on the same two models
share the guard's two tests (one-shot: SSIM and SIFID both with diversity).  ``reproduced`` needs Holm to
reject both the claim's test and the guard's (an
intersection-union test: no further correction); ``not reproduced``: Holm rejects the claim's opposite or the
guard's opposite (better structure bought with less diversity is not the claim).  The guard's difference,
95% CI and adjusted p-values are in the row beside the claim's.

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
from benchmark.spec import Claim, Guard, load_specs

ALPHA = stats.ALPHA
MIN_SEEDS = 2
POWER = stats.POWER  # of the MDD
SIZE_FACTOR = 1.1  # "significantly smaller": at least 10% fewer params
STILL_LEARNING = "not testable: still learning"
# what a run computed in, besides the spec's split_by: a CPU fp32 arm never meets a GPU bf16 arm (issue 20);
# ``device_kind`` (cpu, cuda, ...) is derived from the record's config by benchmark.results.load_records
NUMERICS = ("precision", "device_kind")
COLUMNS = ["claim", "kind", "margin", "setting", "preset", "dataset", "image", "recipe_id", "budget", "verdict",
           "test", "alpha", "family_tests", "alpha_step", "n_a", "n_b", "mean_a", "mean_b", "diff", "diff_ci_low",
           "diff_ci_high", "p_value", "p_adjusted", "p_opposite", "p_opposite_adjusted", "mdd", "mdd_alpha",
           "mdd_power", "guard", "guard_diff", "guard_ci_low", "guard_ci_high", "guard_p_adjusted",
           "guard_p_opposite_adjusted", "detail", "suite", "feature_extractor", "model_a", "model_b", "params_a",
           "params_b"]


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
    if field not in frame.columns:  # no record carries the field
        return pd.Series(dtype=float)
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
    # the largest figure by size (a synthesis figure is signed: a falling FID is negative); none recorded first
    worst = late.iloc[int(figures.abs().fillna(math.inf).to_numpy().argmax())]
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
        pa = _params(group, a, claim.params_field)
        out.append(Pair("-", a, b, _sized_by_us(claim, group, a, b, pa, pb) or _size_reason(claim, pa, pb)))
    return out


def _published(group: pd.DataFrame, model: str) -> bool:
    """Whether ``model`` is a published architecture (the record names it ``paper_name``)."""
    if "paper_name" not in group.columns:
        return False
    names = group.loc[group["model"] == model, "paper_name"].dropna()
    return bool(len(names)) and all(isinstance(n, str) and n for n in names)


def _sized_by_us(claim: Claim, group: pd.DataFrame, a: str, b: str, pa: float, pb: float) -> Optional[str]:
    """Why a "smaller model" claim is not testable on two single models that this benchmark sized (issue 20):
    the sizes, not the architectures, would decide it; None for published architectures or other claims."""
    if not claim.fewer_params or (_published(group, a) and _published(group, b)):
        return None
    sizes = f" ({pa / 1e6:.3g}M vs {pb / 1e6:.3g}M params)" if pa == pa and pb == pb else ""
    return (f"{a} and {b}{sizes} were sized by this benchmark, not published: our sizing would decide a "
            "\"smaller model\" claim (under a short fixed recipe a larger model need not be better). It is "
            "tested along the ladders (ladder preset: SASE at one budget against the baseline at the next) "
            "or on the published architectures (paper preset)")


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
    """The one-sided Welch tests of a claim, as tested: the claim's H1 and the opposite H1 (and its guard's)."""
    a, b, m = claim.family_a, claim.family_b, claim.metric
    better, worse = (">", "<") if claim.higher_is_better else ("<", ">")
    if claim.kind == "non-inferiority":
        shift = f" {'-' if claim.higher_is_better else '+'} {claim.margin:g}"
        text = (f"Welch's t-test, one-sided each way, non-inferiority: H1 {a} {m} {better} {b} {m}{shift} "
                f"(claim); H1 {a} {m} {worse} {b} {m}{shift} (opposite)")
    else:
        text = (f"Welch's t-test, one-sided each way: H1 {a} {m} {better} {b} {m} (claim); "
                f"H1 {a} {m} {worse} {b} {m} (opposite)")
    g = claim.guard
    if g is not None:
        gm, (gb, gw) = g.metric, ((">", "<") if g.higher_is_better else ("<", ">"))
        shift = f" {'-' if g.higher_is_better else '+'} {g.margin:g}"
        text += (f"; together with the guard, Welch non-inferiority each way: H1 {a} {gm} {gb} {b} {gm}{shift}; "
                 f"H1 {a} {gm} {gw} {b} {gm}{shift} (opposite)")
    return text


def _tests(claim: Claim, a: pd.Series, b: pd.Series) -> Tuple[stats.WelchResult, stats.WelchResult]:
    """The claim's test, and the opposite one (A worse than B, or worse by more than the margin)."""
    hib = claim.higher_is_better
    if claim.kind == "non-inferiority":
        forward = stats.welch_noninferiority(a, b, claim.margin, hib)
        return forward, stats.welch_worse_by_margin(a, b, claim.margin, hib)
    return stats.welch_superiority(a, b, hib), stats.welch_superiority(b, a, hib)


def _row(claim: Claim, group: pd.DataFrame, pair: Pair, gated: bool = True) -> Dict[str, object]:
    a, b = per_seed(group, pair.model_a, claim.metric), per_seed(group, pair.model_b, claim.metric)
    diff, low, high = stats.welch_diff_ci(a, b)
    row = {"claim": claim.name, "kind": claim.kind, "margin": claim.margin if claim.kind != "superiority" else 0.0,
           "budget": pair.budget, "test": describe_test(claim), "alpha": ALPHA, "family_tests": 0,
           "alpha_step": math.nan, "n_a": len(a), "n_b": len(b), "mean_a": _mean(a), "mean_b": _mean(b),
           "diff": diff, "diff_ci_low": low, "diff_ci_high": high, "p_value": math.nan,
           "p_adjusted": math.nan, "p_opposite": math.nan, "p_opposite_adjusted": math.nan, "mdd": math.nan,
           "mdd_alpha": math.nan, "mdd_power": math.nan, "model_a": pair.model_a or "-",
           "model_b": pair.model_b or "-", "params_a": _params(group, pair.model_a, claim.params_field),
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
    detail = f"difference A - B {diff:+.3g} (95% CI {_interval(low, high)})"
    if claim.guard is not None:
        row.update(_guard(claim.guard, group, pair))
    if not claim.matched_size:
        detail += f"; params {row['params_a'] / 1e6:.3g}M vs {row['params_b'] / 1e6:.3g}M (not size-matched: the claim"
        detail += " is about the authors' model)"
    # for the MDD, once the family's alpha is known (private keys: not columns of the table)
    stds = {"_std_a": float(a.std(ddof=1)), "_std_b": float(b.std(ddof=1)), "_higher": claim.higher_is_better}
    if math.isnan(forward.p_value):
        return {**row, **stds, "verdict": "inconclusive", "detail": "the test is undefined (no variance)"}
    return {**row, **stds, "p_value": forward.p_value, "p_opposite": opposite.p_value, "detail": detail}


def _guard(guard: Guard, group: pd.DataFrame, pair: Pair) -> Dict[str, object]:
    """The guard's statistics for a row: its difference, CI, and its two one-sided tests (private keys until
    Holm has run).  NaN p-values (no values, fewer than 2 seeds, no variance) keep the claim from being
    reproduced, and take no part in the family."""
    ga, gb = per_seed(group, pair.model_a, guard.metric), per_seed(group, pair.model_b, guard.metric)
    diff, low, high = stats.welch_diff_ci(ga, gb)
    label = guard.label or guard.metric
    text = (f"{label} A - B {diff:+.3g} (95% CI {_interval(low, high)}), needs not worse than "
            f"{'-' if guard.higher_is_better else '+'}{guard.margin:g}")
    out = {"guard": text, "guard_diff": diff, "guard_ci_low": low, "guard_ci_high": high,
           "_guard_p": math.nan, "_guard_p_opposite": math.nan}
    if len(ga) >= MIN_SEEDS and len(gb) >= MIN_SEEDS:
        out["_guard_p"] = stats.welch_noninferiority(ga, gb, guard.margin, guard.higher_is_better).p_value
        out["_guard_p_opposite"] = stats.welch_worse_by_margin(ga, gb, guard.margin, guard.higher_is_better).p_value
    return out


def _interval(low: float, high: float) -> str:
    return "-" if low != low else f"[{low:+.3g}, {high:+.3g}]"


def _decide(rows: List[Dict[str, object]], alpha: float) -> None:
    """Holm over the setting's one-sided tests (each tested claim's own and its opposite, and its guard's two),
    each row's verdict from Holm's rejections (adjusted p <= alpha), and the MDD at the first Holm step's alpha."""
    tested = [r for r in rows if "verdict" not in r]
    guarded = [r for r in tested if "_guard_p" in r]
    shared: Dict[tuple, Dict[str, object]] = {}
    for r in guarded:  # one guard test per (guard, pair), shared by the claims it guards
        shared.setdefault(_guard_key(r), r)
    keys = list(shared)
    n = len(tested)
    holm = stats.holm([r["p_value"] for r in tested] + [r["p_opposite"] for r in tested]
                      + [shared[k]["_guard_p"] for k in keys] + [shared[k]["_guard_p_opposite"] for k in keys], alpha)
    first = alpha / max(holm.m, 1)
    for r in rows:
        if "_std_a" in r:  # two seeds or more on each side, the convergence gate passed
            r["mdd"] = stats.min_detectable_difference(r["n_a"], r["n_b"], r.pop("_std_a"), r.pop("_std_b"),
                                                       first, POWER)
            r.update(mdd_alpha=first, mdd_power=POWER, family_tests=holm.m)
    position = {k: j for j, k in enumerate(keys)}
    guard_at = {id(r): 2 * n + position[_guard_key(r)] for r in guarded}
    for i, r in enumerate(tested):
        r.update(p_adjusted=holm.adjusted[i], p_opposite_adjusted=holm.adjusted[n + i],
                 alpha_step=holm.step_alpha[i])
        forward, opposite = holm.rejected[i], holm.rejected[n + i]
        guard_text = ""
        if id(r) in guard_at:
            j = guard_at[id(r)]
            r.update(guard_p_adjusted=holm.adjusted[j], guard_p_opposite_adjusted=holm.adjusted[j + len(keys)])
            forward = forward and holm.rejected[j]
            opposite = opposite or holm.rejected[j + len(keys)]
            guard_text = (f"; decided together with {r['guard']}: adjusted p {r['guard_p_adjusted']:.3g} "
                          f"(opposite {r['guard_p_opposite_adjusted']:.3g})")
        r["verdict"] = "reproduced" if forward and not opposite else "not reproduced" if opposite else "inconclusive"
        whose = "claim's and guard's" if guarded else "claim's"
        r["detail"] = (f"{r['detail']}; Holm over the {holm.m} one-sided tests of this setting (each tested "
                       f"{whose}, both ways), family-wise alpha "
                       f"{alpha:g}: this test at step level {r['alpha_step']:.2g}, adjusted p "
                       f"{r['p_adjusted']:.3g} (opposite {r['p_opposite_adjusted']:.3g}){guard_text}; {_mdd_text(r)}")


def _guard_key(r: Dict[str, object]) -> tuple:
    """What makes two rows' guard tests one test: the guard (its text names metric, margin and statistics)
    on the same two models."""
    return r["guard"], r["model_a"], r["model_b"]


def _mdd_text(r: Dict[str, object]) -> str:
    """The MDD sentence of a row; for non-inferiority measured from -margin."""
    text = (f"MDD {r['mdd']:.3g} (power {r['mdd_power']:g}, one-sided Welch at the first Holm step's alpha "
            f"{r['mdd_alpha']:.2g}, observed stds)")
    if r["kind"] == "non-inferiority":
        higher = r.get("_higher", True)
        edge, sign = (r["mdd"] - r["margin"], ">=") if higher else (r["margin"] - r["mdd"], "<=")
        text += (f", measured from the margin (A - B = {-r['margin'] if higher else r['margin']:+g}): detected "
                 f"when the true A - B {sign} {edge:+.3g}")
    return text


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else math.nan


def compute_verdicts(frame: pd.DataFrame, claims: Optional[Tuple[Tuple[str, Claim], ...]] = None,
                     alpha: float = ALPHA) -> pd.DataFrame:
    """One row per (claim, setting, pair) found in the completed records; see the module docstring.

    A setting is (suite, preset), the task spec's ``split_by`` fields (dataset, recipe identity, feature
    extractor, image, ...): the same keys that give the report its separate tables, and the precision and
    kind of device (:data:`NUMERICS`)."""
    frame = with_defaults(frame)
    done = frame[frame["status"] == "completed"] if "status" in frame.columns else frame.iloc[0:0]
    claims = all_claims() if claims is None else claims
    specs = load_specs()
    rows = []
    for task in dict.fromkeys(t for t, _ in claims):
        keys = ["suite", "preset", *(specs.get(task).split_by if task in specs else ("dataset",)), *NUMERICS]
        gated = task not in specs or specs.get(task).convergence is not None  # a task without a test: no gate
        for setting, group in _settings(done[done["task"] == task], keys):
            found = [{**setting, **_row(c, group, p, gated)} for t, c in claims if t == task
                     for p in pairs(c, group)]
            _decide(found, alpha)
            rows += found
    table = pd.DataFrame(rows)
    return table.reindex(columns=COLUMNS) if not table.empty else pd.DataFrame(columns=COLUMNS)


def one_sided(table: pd.DataFrame) -> pd.Series:
    """The rows of claims a setting cannot test because one side never ran there (a preset that does not train
    that family, e.g. ResNet in ``decide-long``): the report lists them below its verdict table, the README
    headline leaves them out."""
    return (table["verdict"] == "not testable") & ((table["n_a"] == 0) | (table["n_b"] == 0))


def _settings(frame: pd.DataFrame, keys: List[str]):
    if frame.empty:
        return []
    keys = [k for k in keys if k in frame.columns]
    frame = frame.assign(**{k: frame[k].fillna("-").astype(str) for k in keys})
    out = []
    for values, group in frame.groupby(keys, sort=False):
        setting = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        label = ", ".join(str(v) for k, v in setting.items() if k != "suite" and not (k in NUMERICS and v == "-"))
        out.append(({"feature_extractor": "-", "recipe_id": "-", "dataset": "-", **setting, "setting": label},
                    group))
    return out
