"""Published numbers (``results/paper/published.csv``) and how they meet the reproduced ones.

One CSV row per (model, dataset, metric): ``model`` is our registry name where the
suite has that model (empty for references such as PVT v1 or StyleGAN2 +
DiffAugment), ``paper_name`` the name in the source, ``metric`` one of
:func:`metric_tasks` (``top1`` in percent, ``params_m`` in millions, ``gmacs``,
``fid``), ``source`` says where the number was read, and ``verified`` is

* ``yes``: read in the paper, or in the authors' own repository or docs;
* ``approx``: seen only in a second-hand listing, or rounded by the source;
* ``unverified``: restated from memory or notes, not confirmed in any source read.

A reproduced number stands beside a published one only where both share the
setting, as each task spec decides (``TaskSpec.published``): for example the
``paper`` preset (ImageNet-1k at 224 px; the few-shot folders at 256 px with
Inception-v3 FID, generated as the reference does).  Everything else shows the
published numbers as a separate reference, with the spec's reason.  Pure
functions over frames; nothing is measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import pandas as pd

from benchmark.errors import UserError
from benchmark.spec import load_specs

COLUMNS = ("model", "paper_name", "dataset", "metric", "value", "source", "verified", "note")
VERIFIED = ("yes", "approx", "unverified")
REPO_CSV = Path(__file__).resolve().parents[2] / "results" / "paper" / "published.csv"


def metric_tasks() -> Dict[str, str]:
    """Published metric name -> the task whose records it is compared with (from the task specs)."""
    return {m: spec.name for spec in load_specs().values() for m in spec.published_metrics}


def find_published(results_dir: Path) -> Optional[Path]:
    """``RESULTS/paper/published.csv`` if present, else the repository's copy, else None."""
    for path in (Path(results_dir) / "paper" / "published.csv", REPO_CSV):
        if path.is_file():
            return path
    return None


def load_published(path: Path) -> pd.DataFrame:
    """Read and check the published-numbers CSV; a malformed file is a :class:`UserError`."""
    try:
        frame = pd.read_csv(path, dtype={"model": str, "note": str}, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read published numbers {path}: {e}") from None
    _check_published(frame, path)
    return frame.assign(value=pd.to_numeric(frame["value"]))


def _check_published(frame: pd.DataFrame, path: Path) -> None:
    fix = f"; fix {path} (columns: {', '.join(COLUMNS)})"
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"published numbers {path} lack columns {missing}{fix}")
    bad_value = frame[pd.to_numeric(frame["value"], errors="coerce").isna()]
    metrics = list(metric_tasks())
    bad_metric = frame[~frame["metric"].isin(metrics)]
    bad_verified = frame[~frame["verified"].isin(VERIFIED)]
    no_source = frame[frame["source"].astype(str).str.strip() == ""]
    for rows, what in ((bad_value, "a non-numeric value"), (bad_metric, f"a metric not in {metrics}"),
                       (bad_verified, f"'verified' not in {list(VERIFIED)}"), (no_source, "an empty source")):
        if not rows.empty:
            raise UserError(f"published numbers {path}: row {int(rows.index[0]) + 2} has {what}{fix}")
    dup = frame.duplicated(["model", "paper_name", "dataset", "metric"])
    if dup.any():
        raise UserError(f"published numbers {path}: row {int(dup.idxmax()) + 2} repeats a (model, dataset, "
                        f"metric){fix}")


def compare(summary: pd.DataFrame, published: pd.DataFrame, spec) -> pd.DataFrame:
    """Reproduced mean beside the published value, with the difference, where model and setting match.

    ``summary`` is :func:`benchmark.report.tables.summarize` output (one row per model); ``spec`` the
    task spec, which says which published dataset a row's setting matches (or none).
    """
    rows = []
    for _, r in summary.iterrows():
        key = spec.published(r.to_dict())
        if key is None:
            continue
        hits = published[(published["model"] == r["model"]) & (published["dataset"] == key)]
        rows += [row for _, p in hits.iterrows() if (row := _compare_row(r, p, spec)) is not None]
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


COMPARE_COLUMNS = ["model", "paper_name", "dataset", "metric", "seeds", "reproduced", "published", "difference",
                   "verified", "source"]


def _compare_row(r: pd.Series, p: pd.Series, spec) -> Optional[dict]:
    if p["metric"] not in spec.published_metrics:
        return None
    field, scale = spec.published_metrics[p["metric"]]
    col = f"{field}_mean"
    if pd.isna(r.get(col)):
        return None
    ours = float(r[col]) * scale
    return {"model": r["model"], "paper_name": p["paper_name"], "dataset": p["dataset"], "metric": p["metric"],
            "seeds": int(r["n"]), "reproduced": round(ours, 3), "published": p["value"],
            "difference": round(ours - p["value"], 3), "verified": p["verified"], "source": p["source"]}


def reference_table(published: pd.DataFrame, suite: str) -> pd.DataFrame:
    """The published numbers of one suite: one row per (model, dataset), metrics as columns.

    A value marked ``~`` is approximate and ``?`` unverified (see the ``verified`` column of the CSV);
    ``source`` is that of the row's quality metric (top-1 or FID).
    """
    rows = published[published["metric"].map(metric_tasks()) == suite]
    if rows.empty:
        return pd.DataFrame()
    mark = rows["verified"].map({"yes": "", "approx": " ~"}).fillna(" ?")
    rows = rows.assign(model=rows["model"].replace("", "-"), cell=rows["value"].map("{:g}".format) + mark)
    index = ["paper_name", "model", "dataset"]
    table = rows.pivot_table(index=index, columns="metric", values="cell", aggfunc="first", sort=False)
    quality = rows[rows["metric"].isin(["top1", "fid"])].drop_duplicates(index).set_index(index)["source"]
    table = table.join(quality).reset_index().rename_axis(columns=None)
    return table.fillna("-")
