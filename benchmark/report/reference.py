"""Your runs beside the reference: the committed records of ``results/reference`` against a user's own.

The reference is what the suite's authors measured and committed; a user's runs are theirs, in their own
results folder.  They are never averaged together.  For every (task, preset, model) and setting (the task
spec's ``split_by``: dataset, recipe identity, feature extractor, ...) found in both, this section sets the
user's mean quality beside the reference's, says whether it agrees, and gives throughput as a ratio to the reference machine, naming both machines: a
different CPU or GPU is expected to differ, and a ratio says by how much.

**Agreement** is judged with a 95% *prediction* interval for the mean of the user's ``n`` new seeds, not the
reference's CI of its own mean (issue 20): ``ref mean -+ t(0.975, n_ref - 1) * s_ref * sqrt(1/n_ref + 1/n)``,
which allows for the spread of the user's seeds as well as the reference's uncertainty about its mean
(assuming the same seed-to-seed spread).  With a single reference seed there is no interval and the check
says so.
"""

from __future__ import annotations

import math
from typing import List

import pandas as pd
from scipy import stats

from benchmark.report import tables

KEYS = ["task", "preset", "recipe_id", "dataset", "model"]
COLUMNS = ["model", "preset", "recipe", "dataset", "metric", "seeds (yours / ref)", "yours", "reference",
           "95% prediction interval", "agreement", "train img/s ratio", "infer img/s ratio", "your machine",
           "reference machine"]


def compare(yours: pd.DataFrame, reference: pd.DataFrame, spec) -> pd.DataFrame:
    """One row per model found, completed, in both stores for ``spec``'s task, in the same setting (the
    spec's ``split_by`` fields: dataset, recipe identity, feature extractor, image, ...)."""
    keys = list(dict.fromkeys([*KEYS, *spec.split_by]))
    a, b = _done(yours, spec, keys), _done(reference, spec, keys)
    if a.empty or b.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows: List[dict] = []
    for key, mine in a.groupby(keys, sort=False):
        ref = b
        for col, value in zip(keys, key):
            ref = ref[ref[col] == value]
        if not ref.empty:
            rows.append(_row(dict(zip(keys, key)), mine, ref, spec))
    return pd.DataFrame(rows, columns=COLUMNS)


FIELD_NAMES = {"recipe_id": "recipe identity", "feature_extractor": "feature extractor",
               "sifid_extractor": "SIFID extractor"}


def unmatched(yours: pd.DataFrame, reference: pd.DataFrame, spec) -> List[str]:
    """One line per setting of yours (for ``spec``'s task) that no reference run shares, naming every field
    that differs from the nearest reference setting (the fewest fields apart, the same model first)."""
    keys = list(dict.fromkeys([*KEYS, *spec.split_by]))
    a, b = _done(yours, spec, keys), _done(reference, spec, keys)
    if a.empty:
        return []
    theirs = [] if b.empty else list(b[keys].drop_duplicates().itertuples(index=False, name=None))
    lines = []
    for key in a[keys].drop_duplicates().itertuples(index=False, name=None):
        if key in theirs:
            continue
        what = f"`{dict(zip(keys, key))['model']}` ({spec.name}, preset {dict(zip(keys, key))['preset']})"
        if not theirs:
            lines.append(f"{what}: the reference has no completed {spec.name} run")
            continue
        nearest = min(theirs, key=lambda ref: _distance(keys, key, ref))
        lines.append(f"{what}: {_differences(keys, key, nearest)}")
    return lines


def _distance(keys: List[str], mine: tuple, ref: tuple) -> tuple:
    differ = [k for k, x, y in zip(keys, mine, ref) if x != y]
    return len(differ), "model" in differ


def _differences(keys: List[str], mine: tuple, ref: tuple) -> str:
    return "; ".join(f"{FIELD_NAMES.get(k, k)} yours `{x}`, reference `{y}`"
                     for k, x, y in zip(keys, mine, ref) if x != y)


def _done(frame: pd.DataFrame, spec, keys: List[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    frame = tables.with_defaults(frame)
    done = tables.completed(frame[frame["task"] == spec.name])
    return done.assign(**{k: done[k].fillna("-").astype(str) if k in done.columns else "-" for k in keys})


def _row(key: dict, mine: pd.DataFrame, ref: pd.DataFrame, spec) -> dict:
    q = spec.column(spec.quality)
    ours, theirs = _values(mine, spec.quality), _values(ref, spec.quality)
    half = prediction_halfwidth(float(theirs.std()), len(theirs), len(ours))
    return {"model": key["model"], "preset": key["preset"], "recipe": key["recipe_id"], "dataset": key["dataset"],
            "metric": q.label, "seeds (yours / ref)": f"{len(ours)} / {len(theirs)}",
            "yours": q.format(ours.mean()), "reference": q.format(theirs.mean()),
            "95% prediction interval": "-" if half != half else
            f"[{q.format(theirs.mean() - half)}, {q.format(theirs.mean() + half)}]",
            "agreement": _agreement(ours, theirs, half),
            "train img/s ratio": _ratio(mine, ref, "train_img_per_s"),
            "infer img/s ratio": _ratio(mine, ref, "infer_img_per_s"),
            "your machine": _machines(mine), "reference machine": _machines(ref)}


def prediction_halfwidth(std_ref: float, n_ref: int, n_yours: int, level: float = 0.95) -> float:
    """Half-width of the ``level`` prediction interval for the mean of ``n_yours`` new seeds around the mean of
    ``n_ref`` reference seeds: ``t((1 + level) / 2, n_ref - 1) * std_ref * sqrt(1/n_ref + 1/n_yours)``; NaN with
    fewer than 2 reference seeds or no new one."""
    if n_ref < 2 or n_yours < 1 or std_ref != std_ref:
        return math.nan
    return float(stats.t.ppf((1 + level) / 2, n_ref - 1) * std_ref * math.sqrt(1 / n_ref + 1 / n_yours))


def _values(frame: pd.DataFrame, field: str) -> pd.Series:
    return pd.to_numeric(frame.get(field, pd.Series(dtype=float)), errors="coerce").dropna()


def _agreement(ours: pd.Series, theirs: pd.Series, half: float) -> str:
    if ours.empty or theirs.empty:
        return "n/a"
    if half != half:
        return "no interval (1 reference seed)"
    inside = abs(float(ours.mean()) - float(theirs.mean())) <= half
    return ("agrees (inside the 95% prediction interval)" if inside
            else "**differs** (outside the 95% prediction interval)")


def _ratio(mine: pd.DataFrame, ref: pd.DataFrame, field: str) -> str:
    ours, theirs = _values(mine, field), _values(ref, field)
    if ours.empty or theirs.empty or not float(theirs.median()):
        return "-"
    return f"{float(ours.median()) / float(theirs.median()):.2f}x"


def _machines(frame: pd.DataFrame) -> str:
    col = "machine" if "machine" in frame.columns and frame["machine"].notna().any() else "device"
    return ", ".join(sorted({str(v) for v in frame[col].dropna()})) or "-"


NOTES = (
    "Your runs (this results folder) beside the committed reference (`{reference}`), matched by task, preset, "
    "recipe identity, dataset and model; never averaged together. `agreement`: your mean over your n seeds "
    "inside the 95% prediction interval for the mean of n new seeds, reference mean ± t(0.975, n_ref - 1) · "
    "s_ref · sqrt(1/n_ref + 1/n) (s_ref: the reference's std over its n_ref seeds; it assumes your seeds "
    "spread as the reference's do). Throughput ratios are yours / reference (medians over seeds) on the "
    "machines named: a different machine is expected to differ."
)
