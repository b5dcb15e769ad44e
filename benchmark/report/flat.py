"""``results.csv``: one flat row per counted run, in timm's column names where timm has one.

The report's tables are for reading (``122 ± 28``, ``[12.09, 54.50]``); this file is for a script.  Each row
is one completed run as the report counts it (:func:`benchmark.results.count_once`: re-runs supersede, a
duplicate counts once), every task in one file.  The first columns are timm's (``validate.py``'s
``results-*.csv`` and ``benchmark.py``'s), filled where the run measured the quantity:

=========================  =====================================================================
``model``                  the model name as run (a ``timm:`` name included)
``top1``, ``top5``         recognition accuracy, % (``top1_err``, ``top5_err``: 100 minus them)
``param_count``            params in **millions**, rounded to 3 decimals (timm: 2); ``params`` is exact
``img_size``               the evaluated input size in px (recognition ``eval_img_size``, synthesis
                           ``img_size``; one-shot pyramids are not square: ``img_h``, ``img_w``)
``infer_samples_per_sec``  inference img/s at ``infer_batch_size`` (our ``infer_img_per_s``)
``infer_gmacs``            GMACs of one image's forward pass (our ``gmacs``)
``train_samples_per_sec``  training img/s at ``train_batch_size`` (our ``train_img_per_s``)
=========================  =====================================================================

Then ours, in the record's own names (``docs/records.md`` says what each means): the setting (task, suite,
preset, dataset, recipe identity, seed, family, budget), the convergence test, then every other scalar field of
the record, sorted by name.  A list (per-scale figures) is joined with ``;``; nested objects (``env``,
``config``, ``history``, the tuning record, a per-family recipe row) stay in the records.  It imports pandas only, like the report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

FILENAME = "results.csv"

#: timm's column -> (our record field, scale); ``None``: derived below.
TIMM_COLUMNS = {
    "model": ("model", None),
    "top1": ("top1", None),
    "top1_err": (None, None),
    "top5": ("top5", None),
    "top5_err": (None, None),
    "param_count": ("params", 1e-6),
    "img_size": (None, None),
    "infer_samples_per_sec": ("infer_img_per_s", None),
    "infer_batch_size": ("infer_batch", None),
    "infer_gmacs": ("gmacs", None),
    "train_samples_per_sec": ("train_img_per_s", None),
    "train_batch_size": ("train_batch", None),
}
#: Ours, after timm's, in this order; every other scalar field follows, sorted by name.
LEADING = ("task", "suite", "preset", "dataset", "recipe", "recipe_id", "family", "budget", "ablation", "seed",
           "converged", "params", "gmacs", "device", "precision", "machine", "run_id", "run_key")
#: Record fields left out: nested objects, and what the row already says another way.
DROPPED = ("env", "config", "history", "execution_tuning", "recipe_row", "status", "error", "skipped")


def flat_rows(counted: pd.DataFrame) -> pd.DataFrame:
    """The flat frame of ``counted`` (rows as :func:`benchmark.results.count_once` returns them)."""
    if counted.empty:
        return pd.DataFrame(columns=list(TIMM_COLUMNS) + list(LEADING))
    rows = counted.reset_index(drop=True)
    out = pd.DataFrame(index=rows.index)
    for name, (field, scale) in TIMM_COLUMNS.items():
        if field is not None:
            values = _column(rows, field)
            out[name] = values if scale is None else pd.to_numeric(values, errors="coerce").mul(scale).round(3)
    for name in ("top1", "top5"):
        out[f"{name}_err"] = (100 - pd.to_numeric(out[name], errors="coerce")).round(4)
    out["img_size"] = _column(rows, "eval_img_size").where(_column(rows, "eval_img_size").notna(),
                                                          _column(rows, "img_size"))
    out = out[list(TIMM_COLUMNS)]
    taken = {f for f, _ in TIMM_COLUMNS.values() if f} | {"eval_img_size", "img_size"} | set(DROPPED)
    ours = [c for c in LEADING if c in rows.columns] + \
        sorted(c for c in rows.columns if c not in LEADING and c not in taken)
    for col in ours:
        if col in out.columns:
            continue
        flat = rows[col].map(_flat)
        if flat.map(lambda v: v is _NESTED).any():
            continue  # a nested object: the record keeps it
        out[col] = flat
    out = out.loc[:, [c for c in out.columns if c in TIMM_COLUMNS or out[c].notna().any()]]
    order = [c for c in ("task", "preset", "dataset", "recipe_id", "model", "seed") if c in out.columns]
    return out.sort_values(order, key=lambda s: s.astype(str), kind="stable").reset_index(drop=True)


def write_results_csv(counted: pd.DataFrame, out_dir: Path) -> Path:
    """Write ``results.csv`` of ``counted`` into ``out_dir`` (the report folder being rendered); its path."""
    path = Path(out_dir) / FILENAME
    flat_rows(counted).to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    return path


_NESTED = object()


def _column(rows: pd.DataFrame, field: str) -> pd.Series:
    return rows[field] if field in rows.columns else pd.Series([None] * len(rows), index=rows.index, dtype=object)


def _flat(value: Any) -> Any:
    if isinstance(value, dict):
        return _NESTED
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (dict, list, tuple)) for v in value):
            return ";".join("x".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v) for v in value) \
                if all(not isinstance(v, dict) for v in value) else _NESTED
        return ";".join(str(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value

