"""Published numbers (``results/paper/published.csv``) and how they meet the reproduced ones.

One CSV row per (model, dataset, metric): ``model`` is our registry name where the
suite has that model (empty for references such as PVT v1 or StyleGAN2 +
DiffAugment), ``paper_name`` the name in the source, ``metric`` one of
:func:`metric_tasks` (``top1`` in percent, ``params_m`` in millions, ``gmacs``,
``fid``), ``source`` says where the number was read, and ``verified`` is

* ``yes``: read in the paper, or in the authors' own repository or docs;
* ``approx``: seen only in a second-hand listing, or rounded by the source;
* ``unverified``: restated from memory or notes, not confirmed in any source read.

Each row also carries the recipe its number was trained and measured under: ``optimizer`` (the family:
``sgd``, ``adamw``, ...), ``epochs``, ``img_size`` (px), ``num_classes``, and for an accuracy
``epoch_pick``: ``best`` when the source reports the highest per-epoch validation top-1 (the maximum that
DeiT's, Swin's and PVT's trainers log), ``last`` for the weights after the last epoch (a released
checkpoint).  A blank recipe field does not constrain (params need no epochs); a ``top1`` row must fill
them all.

A reproduced number stands beside a published one only where both share the
setting, as each task spec decides (``TaskSpec.published``): for example the
``paper`` preset (ImageNet-1k at 224 px; the few-shot folders at 256 px with
Inception-v3 FID, generated as the reference does), **and** where the runs trained under the same kind of
recipe: every recipe field the row fills equals the runs' (their records' ``optimizer``, ``epochs``,
``eval_img_size`` or ``img_size``, ``num_classes``).  A ``best`` number meets the runs' ``top1_best``, a
``last`` one their ``top1``.  A pair refused for its recipe is listed with the difference
(:func:`refusals`).  Everything else shows the published numbers as a separate reference, with the spec's
reason.  Pure functions over frames; nothing is measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import pandas as pd

from benchmark.errors import UserError
from benchmark.spec import load_specs

RECIPE_COLUMNS = ("optimizer", "epochs", "img_size", "num_classes")
COLUMNS = ("model", "paper_name", "dataset", "metric", "value", "source", "verified", "note", *RECIPE_COLUMNS,
           "epoch_pick")
VERIFIED = ("yes", "approx", "unverified")
PICKS = ("best", "last")
RECIPE_BOUND = ("top1",)  # metrics whose rows must say their whole recipe
#: a recipe column -> the record fields that say it for a run (the first one present)
RUN_FIELDS = {"optimizer": ("optimizer",), "epochs": ("epochs",), "img_size": ("eval_img_size", "img_size"),
              "num_classes": ("num_classes",)}
#: optimiser names -> family; a name not listed is its own family
OPTIMIZER_FAMILIES = {"momentum": "sgd", "nesterov": "sgd", "sgdp": "sgd", "adamp": "adamw", "fusedadamw": "adamw",
                      "fusedsgd": "sgd"}
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
        text = {c: str for c in ("model", "note", *RECIPE_COLUMNS, "epoch_pick")}
        frame = pd.read_csv(path, dtype=text, keep_default_na=False)
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
    checks = [(bad_value, "a non-numeric value"), (bad_metric, f"a metric not in {metrics}"),
              (bad_verified, f"'verified' not in {list(VERIFIED)}"), (no_source, "an empty source"),
              *_recipe_problems(frame)]
    for rows, what in checks:
        if not rows.empty:
            raise UserError(f"published numbers {path}: row {int(rows.index[0]) + 2} has {what}{fix}")
    dup = frame.duplicated(["model", "paper_name", "dataset", "metric"])
    if dup.any():
        raise UserError(f"published numbers {path}: row {int(dup.idxmax()) + 2} repeats a (model, dataset, "
                        f"metric){fix}")


def _recipe_problems(frame: pd.DataFrame) -> List[Tuple[pd.DataFrame, str]]:
    """(rows, what is wrong) for the recipe columns: numbers where numbers belong, a known epoch pick, and
    a whole recipe on every row of a :data:`RECIPE_BOUND` metric."""
    if not set(RECIPE_COLUMNS) <= set(frame.columns) or "epoch_pick" not in frame.columns:
        return []
    numeric = frame[["epochs", "img_size", "num_classes"]].apply(lambda c: ~(c.eq("") | c.str.isdigit()))
    bound = frame[frame["metric"].isin(RECIPE_BOUND)]
    unsaid = bound[[*RECIPE_COLUMNS, "epoch_pick"]].eq("").any(axis=1)
    return [(frame[numeric.any(axis=1)], "an epochs, img_size or num_classes that is not a whole number"),
            (frame[~frame["epoch_pick"].isin(("", *PICKS))], f"an epoch_pick not in {list(PICKS)} (or blank)"),
            (bound[unsaid], f"a {'/'.join(RECIPE_BOUND)} number without its whole recipe "
                            f"({', '.join(RECIPE_COLUMNS)}, epoch_pick)")]


def optimizer_family(name: object) -> str:
    """``sgd``, ``adamw``, ...: the optimiser's family (timm's names such as ``momentum`` are ``sgd``)."""
    text = str(name).strip().lower()
    return OPTIMIZER_FAMILIES.get(text, text)


def _norm(column: str, value: object) -> Optional[str]:
    """A recipe value as the CSV writes it: an optimiser by family, a number as a whole number."""
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return None
    if column == "optimizer":
        return optimizer_family(value)
    try:
        return str(int(float(value)))
    except (TypeError, ValueError):
        return str(value)


def run_recipe(row: Mapping, runs: Optional[pd.DataFrame] = None) -> Dict[str, Optional[str]]:
    """What a summary row's runs trained under, in the CSV's terms: from its model's records in ``runs``
    (the setting's records), else from the row itself; None where no record says it."""
    source = pd.DataFrame([dict(row)]) if runs is None else runs[runs["model"] == row["model"]]
    facts: Dict[str, Optional[str]] = {}
    for column, fields in RUN_FIELDS.items():
        values = (_norm(column, v) for f in fields if f in source.columns for v in source[f].dropna())
        facts[column] = next((v for v in values if v is not None), None)
    return facts


def recipe_text(recipe: Mapping) -> str:
    """``adamw, 300 epochs, 224 px, 1000 classes``: the recipe fields that are set."""
    units = {"optimizer": "", "epochs": " epochs", "img_size": " px", "num_classes": " classes"}
    parts = [f"{recipe[c]}{units[c]}" for c in RECIPE_COLUMNS if recipe.get(c) not in (None, "")]
    if recipe.get("epoch_pick"):
        parts.append(f"{recipe['epoch_pick']} epoch")
    return ", ".join(parts) or "-"


def _field(p: pd.Series, spec) -> Tuple[str, float]:
    """The summary field a published row meets (``top1_best`` for a ``best`` top-1) and its scale."""
    field, scale = spec.published_metrics[p["metric"]]
    return (f"{field}_best" if p.get("epoch_pick") == "best" else field), scale


def _mismatch(p: pd.Series, facts: Mapping[str, Optional[str]], r: pd.Series, spec) -> List[str]:
    """Why the published row ``p`` cannot stand beside the summary row ``r``; empty when it can."""
    out = []
    for column in RECIPE_COLUMNS:
        want = _norm(column, p.get(column, ""))
        if want is not None and facts.get(column) != want:
            out.append(f"{column} {facts.get(column) or 'not recorded'} (published: {want})")
    field, _ = _field(p, spec)
    if not out and pd.isna(r.get(f"{field}_mean")):
        out.append(f"the records lack `{field}`")
    return out


def summary_fields(spec) -> List[str]:
    """Fields a summary needs beyond the spec's columns to meet published numbers (``top1_best``)."""
    return [f"{field}_best" for field, _ in spec.published_metrics.values()]


def _pairs(summary: pd.DataFrame, published: pd.DataFrame, spec,
           runs: Optional[pd.DataFrame]) -> Iterator[Tuple[pd.Series, pd.Series, List[str]]]:
    """(summary row, published row, why not) for every published row of a row's model and setting."""
    for _, r in summary.iterrows():
        key = spec.published(r.to_dict())
        if key is None:
            continue
        facts = run_recipe(r, runs)
        hits = published[(published["model"] == r["model"]) & (published["dataset"] == key)
                         & published["metric"].isin(list(spec.published_metrics))]
        for _, p in hits.iterrows():
            yield r, p, _mismatch(p, facts, r, spec)


def compare(summary: pd.DataFrame, published: pd.DataFrame, spec,
            runs: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """Reproduced mean beside the published value, with the difference, where model, setting and recipe match.

    ``summary`` is :func:`benchmark.report.tables.summarize` output (one row per model); ``spec`` the
    task spec, which says which published dataset a row's setting matches (or none); ``runs`` the records
    of the setting, which say the recipe the runs trained under (:func:`run_recipe`).
    """
    rows = [_compare_row(r, p, spec) for r, p, why in _pairs(summary, published, spec, runs) if not why]
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)


def refusals(summary: pd.DataFrame, published: pd.DataFrame, spec,
             runs: Optional[pd.DataFrame] = None) -> List[str]:
    """One line per published number of a matching setting that was not compared, with the reason."""
    lines = [f"`{r['model']}` vs {p['paper_name']} {p['metric']} {p['value']:g} ({recipe_text(p)}): "
             + "; ".join(why) for r, p, why in _pairs(summary, published, spec, runs) if why]
    return list(dict.fromkeys(lines))


COMPARE_COLUMNS = ["model", "paper_name", "dataset", "metric", "recipe", "seeds", "compared", "reproduced",
                   "published", "difference", "verified", "source"]


def _compare_row(r: pd.Series, p: pd.Series, spec) -> dict:
    field, scale = _field(p, spec)
    ours = float(r[f"{field}_mean"]) * scale
    return {"model": r["model"], "paper_name": p["paper_name"], "dataset": p["dataset"], "metric": p["metric"],
            "recipe": recipe_text(p), "seeds": int(r["n"]), "compared": field, "reproduced": round(ours, 3),
            "published": p["value"], "difference": round(ours - p["value"], 3), "verified": p["verified"],
            "source": p["source"]}


def reference_table(published: pd.DataFrame, suite: str) -> pd.DataFrame:
    """The published numbers of one suite: one row per (model, dataset), metrics as columns.

    A value marked ``~`` is approximate and ``?`` unverified (see the ``verified`` column of the CSV);
    ``source`` and ``recipe`` are those of the row's quality metric (top-1 or FID).
    """
    rows = published[published["metric"].map(metric_tasks()) == suite]
    if rows.empty:
        return pd.DataFrame()
    mark = rows["verified"].map({"yes": "", "approx": " ~"}).fillna(" ?")
    rows = rows.assign(model=rows["model"].replace("", "-"), cell=rows["value"].map("{:g}".format) + mark)
    index = ["paper_name", "model", "dataset"]
    table = rows.pivot_table(index=index, columns="metric", values="cell", aggfunc="first", sort=False)
    quality = rows[rows["metric"].isin(["top1", "fid"])].drop_duplicates(index).set_index(index)
    quality = quality.assign(recipe=[recipe_text(q) for _, q in quality.iterrows()])[["recipe", "source"]]
    table = table.join(quality).reset_index().rename_axis(columns=None)
    return table.fillna("-")
