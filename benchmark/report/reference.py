"""Your runs beside the reference: the committed records of ``results/reference`` against a user's own.

The reference is what the suite's authors measured and committed; a user's runs are theirs, in their own
results folder.  They are never averaged together.  For every (task, preset, model) and setting (the task
spec's ``split_by``: dataset, recipe identity, feature extractor, ...) found in both, this section sets the user's mean quality beside the reference's, says whether it agrees (the
user's mean lies inside the reference's 95% CI over seeds; with a single reference seed there is no CI and
the check says so), and gives throughput as a ratio to the reference machine, naming both machines: a
different CPU or GPU is expected to differ, and a ratio says by how much.
"""

from __future__ import annotations

import math
from typing import List

import pandas as pd

from benchmark.report import tables

KEYS = ["task", "preset", "recipe_id", "dataset", "model"]
COLUMNS = ["model", "preset", "recipe", "dataset", "metric", "seeds (yours / ref)", "yours", "reference",
           "reference 95% CI", "agreement", "train img/s ratio", "infer img/s ratio", "your machine",
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


def _done(frame: pd.DataFrame, spec, keys: List[str]) -> pd.DataFrame:
    if frame.empty:
        return frame
    frame = tables.with_defaults(frame)
    done = tables.completed(frame[frame["task"] == spec.name])
    return done.assign(**{k: done[k].fillna("-").astype(str) if k in done.columns else "-" for k in keys})


def _row(key: dict, mine: pd.DataFrame, ref: pd.DataFrame, spec) -> dict:
    q = spec.column(spec.quality)
    ours, theirs = _values(mine, spec.quality), _values(ref, spec.quality)
    half = tables.ci95_halfwidth(float(theirs.std()), len(theirs)) if len(theirs) > 1 else math.nan
    return {"model": key["model"], "preset": key["preset"], "recipe": key["recipe_id"], "dataset": key["dataset"],
            "metric": q.label, "seeds (yours / ref)": f"{len(ours)} / {len(theirs)}",
            "yours": q.format(ours.mean()), "reference": q.format(theirs.mean()),
            "reference 95% CI": "-" if half != half else
            f"[{q.format(theirs.mean() - half)}, {q.format(theirs.mean() + half)}]",
            "agreement": _agreement(ours, theirs, half),
            "train img/s ratio": _ratio(mine, ref, "train_img_per_s"),
            "infer img/s ratio": _ratio(mine, ref, "infer_img_per_s"),
            "your machine": _machines(mine), "reference machine": _machines(ref)}


def _values(frame: pd.DataFrame, field: str) -> pd.Series:
    return pd.to_numeric(frame.get(field, pd.Series(dtype=float)), errors="coerce").dropna()


def _agreement(ours: pd.Series, theirs: pd.Series, half: float) -> str:
    if ours.empty or theirs.empty:
        return "n/a"
    if half != half:
        return "no reference CI (1 seed)"
    inside = abs(float(ours.mean()) - float(theirs.mean())) <= half
    return "agrees (inside the reference CI)" if inside else "**differs** (outside the reference CI)"


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
    "recipe identity, dataset and model; never averaged together. `agreement`: your mean inside the "
    "reference's 95% CI over seeds. Throughput ratios are yours / reference (medians over seeds) on the "
    "machines named: a different machine is expected to differ."
)
