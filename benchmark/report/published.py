"""Published numbers (``results/paper/published.csv``) and how they meet the reproduced ones.

One CSV row per (model, dataset, metric): ``model`` is our registry name where the
suite has that model (empty for references such as PVT v1 or StyleGAN2 +
DiffAugment), ``paper_name`` the name in the source, ``metric`` one of
:data:`METRICS` (``top1`` in percent, ``params_m`` in millions, ``gmacs``,
``fid``), ``source`` says where the number was read, and ``verified`` is

* ``yes``: read in the paper, or in the authors' own repository or docs;
* ``approx``: seen only in a second-hand listing, or rounded by the source;
* ``unverified``: restated from memory or notes, not confirmed in any source read.

A reproduced number stands beside a published one only where both share the
setting: the ``paper`` preset (ImageNet-1k at 224 px; the few-shot folders at
256 px with Inception-v3 FID).  Everything else (the Fashion-MNIST ``default``,
``smoke``, substitute FID features) shows the published numbers as a separate
reference, with the reason.  Pure functions over frames; nothing is measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd

from benchmark.errors import UserError

COLUMNS = ("model", "paper_name", "dataset", "metric", "value", "source", "verified", "note")
METRICS = {"top1": "recognition", "params_m": "recognition", "gmacs": "recognition", "fid": "synthesis"}
VERIFIED = ("yes", "approx", "unverified")
REPO_CSV = Path(__file__).resolve().parents[2] / "results" / "paper" / "published.csv"
# the reproduced summary column (and scale) that each published metric is compared with
REPRODUCED = {"top1": ("top1_mean", 1.0), "params_m": ("params_mean", 1e-6), "gmacs": ("gmacs_mean", 1.0),
              "fid": ("fid_mean", 1.0)}
# few-shot folder names (lower case, any separator) -> published dataset key; first match wins
FOLDER_ALIASES = (("obama", "obama-100shot"), ("grumpy", "grumpy-cat-100shot"), ("panda", "panda-100shot"),
                  ("dog", "animalface-dog"), ("cat", "animalface-cat"))


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
    bad_metric = frame[~frame["metric"].isin(list(METRICS))]
    bad_verified = frame[~frame["verified"].isin(VERIFIED)]
    no_source = frame[frame["source"].astype(str).str.strip() == ""]
    for rows, what in ((bad_value, "a non-numeric value"), (bad_metric, f"a metric not in {list(METRICS)}"),
                       (bad_verified, f"'verified' not in {list(VERIFIED)}"), (no_source, "an empty source")):
        if not rows.empty:
            raise UserError(f"published numbers {path}: row {int(rows.index[0]) + 2} has {what}{fix}")
    dup = frame.duplicated(["model", "paper_name", "dataset", "metric"])
    if dup.any():
        raise UserError(f"published numbers {path}: row {int(dup.idxmax()) + 2} repeats a (model, dataset, "
                        f"metric){fix}")


def published_dataset(suite: str, preset: str, dataset: str, extractor: object = None) -> Optional[str]:
    """The published dataset key a reproduced setting matches, or None when they are not comparable."""
    if preset != "paper":
        return None
    if suite == "recognition" and str(dataset).startswith("image_folder"):
        return "imagenet-1k"  # the paper preset is ImageNet-1k at 224 px by definition
    if suite == "synthesis" and str(dataset).startswith("folder:") and "inception" in str(extractor).lower():
        name = str(dataset).split(":", 1)[1].lower()
        return next((key for alias, key in FOLDER_ALIASES if alias in name), None)
    return None


def not_comparable_reason(suite: str, preset: str, dataset: str, extractor: object = None) -> str:
    """One sentence saying why a reproduced setting is not set against the published numbers."""
    if suite == "recognition":
        if preset == "paper":
            return f"dataset `{dataset}` is not an ImageNet-1k folder, so no published number applies."
        return (f"these runs train small 32 px models on `{dataset}` (preset `{preset}`), while the published "
                "numbers are ImageNet-1k at 224 px with the papers' recipes: different data, resolution, model "
                "size and recipe, so no difference is shown.")
    if "inception" not in str(extractor).lower():
        return (f"FID here uses `{extractor}` features on `{dataset}` (preset `{preset}`); published FIDs use "
                "Inception-v3 features on the 256 px few-shot sets, so the values are on different scales.")
    return (f"`{dataset}` (preset `{preset}`) is not one of the published few-shot sets at 256 px "
            f"({', '.join(k for _, k in FOLDER_ALIASES)}).")


def compare(summary: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Reproduced mean beside the published value, with the difference, where model and setting match.

    ``summary`` is :func:`benchmark.report.tables.summarize` output (one row per model).
    """
    rows = []
    for _, r in summary.iterrows():
        key = published_dataset(r["suite"], r["preset"], r["dataset"], r.get("feature_extractor"))
        if key is None:
            continue
        hits = published[(published["model"] == r["model"]) & (published["dataset"] == key)]
        rows += [row for _, p in hits.iterrows() if (row := _compare_row(r, p)) is not None]
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


COMPARE_COLUMNS = ["model", "paper_name", "dataset", "metric", "seeds", "reproduced", "published", "difference",
                   "verified", "source"]


def _compare_row(r: pd.Series, p: pd.Series) -> Optional[dict]:
    col, scale = REPRODUCED[p["metric"]]
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
    rows = published[published["metric"].map(METRICS) == suite]
    if rows.empty:
        return pd.DataFrame()
    mark = rows["verified"].map({"yes": "", "approx": " ~"}).fillna(" ?")
    rows = rows.assign(model=rows["model"].replace("", "-"), cell=rows["value"].map("{:g}".format) + mark)
    index = ["paper_name", "model", "dataset"]
    table = rows.pivot_table(index=index, columns="metric", values="cell", aggfunc="first", sort=False)
    quality = rows[rows["metric"].isin(["top1", "fid"])].drop_duplicates(index).set_index(index)["source"]
    table = table.join(quality).reset_index().rename_axis(columns=None)
    return table.fillna("-")
