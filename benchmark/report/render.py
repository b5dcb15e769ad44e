"""``python -m benchmark report``: records in, ``RESULTS/report/`` out.

Reads the store through :func:`benchmark.results.load_records` and renders: the
verdicts on the paper's claims first (``verdicts.csv``/``.tex``), then per suite and
preset a markdown table (in ``README.md``), the same table as CSV and LaTeX, PNG
plots, the published numbers beside the reproduced ones where the setting matches,
and the published numbers as a reference with the reason where it does not.  It
measures nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List

import pandas as pd

from benchmark.errors import UserError
from benchmark.report import plots, tables, verdicts
from benchmark.report import published as paper
from benchmark.results import load_record_dicts, load_records

RECOGNITION_NOTES = (
    "GMACs: fvcore multiply-adds of one image at the evaluation resolution, with attention matmuls "
    "(fused `scaled_dot_product_attention`) counted by our handle (`fvcore-macs+sdpa`). "
    "Throughput: images/s, median of timed windows after warm-up, at the batch size recorded, on the "
    "device and precision shown. Top-1/top-5: percent on the held-out split after the last epoch. "
    "Mean ± std over seeds where there are several; 95% CI: mean ± t(0.975, n-1) * std / sqrt(n) over seeds."
)


def render_report(results_dir: Path) -> Path:
    results_dir = Path(results_dir)
    if not (results_dir / "records").is_dir():
        raise UserError(f"{results_dir} holds no records/ folder; run 'python -m benchmark run --suite "
                        f"recognition --results-dir {results_dir}' first")
    frame = load_records(results_dir)
    csv = paper.find_published(results_dir)
    published = paper.load_published(csv) if csv else None
    out = results_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    sections = [_header(frame, results_dir), _verdict_section(frame, out)]
    if not frame.empty:
        rec = frame[frame["suite"] == "recognition"]
        for preset in _presets(rec):
            sections.append(_recognition_section(rec[rec["preset"] == preset], preset, out, published))
        syn = frame[frame["suite"] == "synthesis"]
        for preset in _presets(syn):
            sections.append(_synthesis_section(syn[syn["preset"] == preset], preset, results_dir, out, published))
        sections.append(_status_section(frame))
    sections.append(_published_section(published, out))
    (out / "README.md").write_text("\n".join(s for s in sections if s))
    return out


def _presets(frame: pd.DataFrame) -> List[str]:
    order = ["paper", "default", "smoke"]
    found = list(dict.fromkeys(frame["preset"].dropna()))
    return sorted(found, key=lambda p: order.index(p) if p in order else len(order))


def _header(frame: pd.DataFrame, results_dir: Path) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    n = len(frame)
    done = int((frame["status"] == "completed").sum()) if n else 0
    return (f"# sase-bench report\n\nRendered {stamp} from {n} record(s) in `{results_dir}/records/` "
            f"({done} completed). Regenerate with `python -m benchmark report`.\n\n{_provenance(frame)}")


def _provenance(frame: pd.DataFrame) -> str:
    """When, where and from which commit the records were produced (read from the records)."""
    if frame.empty:
        return ""
    def values(col: str) -> str:
        found = sorted({str(v) for v in frame.get(col, pd.Series(dtype=object)).dropna()})
        return ", ".join(f"`{v}`" for v in found) or "-"
    days = sorted({str(v)[:10] for v in frame["finished_at"].dropna()})
    span = f"{days[0]} to {days[-1]}" if len(days) > 1 else (days[0] if days else "-")
    commits = sorted({str(v)[:12] + ("-dirty" if str(v).endswith("-dirty") else "")
                      for v in frame.get("git_commit", pd.Series(dtype=object)).dropna()})
    return (f"Runs finished {span} on {values('device')} ({values('precision')}); suite commit(s) "
            f"{', '.join(f'`{c}`' for c in commits) or '-'}.\n")


VERDICT_NOTES = (
    "Each claim is tested per setting (preset and dataset; for FID also the feature extractor) on the default "
    "model of each family, one value per seed: Welch's t-test, one-sided, alpha {alpha}. `reproduced`: the "
    "paper's model is significantly better in the claimed direction (and, where the claim says so, has fewer "
    "params); `not reproduced`: it is significantly worse (or not smaller); `inconclusive`: neither, or fewer "
    "than {min_seeds} seeds on a side, or no completed run of a model. `p`: the one-sided p-value in the claimed "
    "direction (the detail gives the opposite one). A verdict on the `smoke` or `default` "
    "preset tests the claim on small 32 px models, not in the paper's ImageNet or 256 px setting."
)


def _verdict_section(frame: pd.DataFrame, out: Path) -> str:
    table = verdicts.compute_verdicts(frame)
    table.to_csv(out / "verdicts.csv", index=False)
    title = "## Verdicts on the paper's claims\n\n"
    if table.empty:
        return title + "_No completed runs: every claim of the paper is inconclusive here._\n"
    shown = _verdict_display(table)
    latex = shown.drop(columns=["models (A / B)", "detail"])
    (out / "verdicts.tex").write_text(tables.to_latex(latex, "Verdicts on the claims of the SASE paper"))
    notes = VERDICT_NOTES.format(alpha=verdicts.ALPHA, min_seeds=verdicts.MIN_SEEDS)
    return f"{title}{tables.to_markdown(shown)}\n{notes}\n\nAlso as [CSV](verdicts.csv) and [LaTeX](verdicts.tex).\n"


def _verdict_display(table: pd.DataFrame) -> pd.DataFrame:
    def num(x: float) -> str:
        return "-" if x != x else f"{x:.4g}"

    setting = table["preset"] + ", " + table["dataset"].astype(str) + table["feature_extractor"].map(
        lambda f: "" if f == "-" else f", FID features {f}")
    return pd.DataFrame({
        "claim": table["claim"], "setting": setting, "verdict": "**" + table["verdict"] + "**",
        "seeds (A / B)": table["n_a"].astype(str) + " / " + table["n_b"].astype(str),
        "mean A": table["mean_a"].map(num), "mean B": table["mean_b"].map(num), "p": table["p_value"].map(num),
        "models (A / B)": table["model_a"] + " / " + table["model_b"], "detail": table["detail"]})


def _published_block(summary: pd.DataFrame, published, stem: str, out: Path) -> str:
    """Reproduced beside published where the setting matches; else one sentence saying why not."""
    if published is None or summary.empty:
        return ""
    comparison = paper.compare(summary, published)
    if comparison.empty:
        r = summary.iloc[0]
        reason = paper.not_comparable_reason(r["suite"], r["preset"], r["dataset"], r.get("feature_extractor"))
        return (f"**Published numbers** are not set beside these runs: {reason} They are listed in "
                "[Published reference numbers](#published-reference-numbers).\n")
    comparison.to_csv(out / f"{stem}_vs_published.csv", index=False)
    (out / f"{stem}_vs_published.tex").write_text(tables.to_latex(comparison, f"{stem}: reproduced vs published"))
    return ("**Reproduced vs published** (difference = reproduced - published; `verified`: see "
            f"`results/paper/published.csv`):\n\n{tables.to_markdown(comparison)}\nAlso as "
            f"[CSV]({stem}_vs_published.csv) and [LaTeX]({stem}_vs_published.tex).\n")


PUBLISHED_NOTES = (
    "From `results/paper/published.csv`, one row per (model, dataset, metric) with its source. A value marked "
    "`~` is approximate (second-hand listing or rounded), `?` unverified (restated, not confirmed in a source). "
    "SASE's own published numbers are unknown and are left out. PVT v1 and StyleGAN2 + DiffAugment are not in "
    "the suite (`model` -). top1: ImageNet-1k top-1 (%) at 224 px; params_m: millions; gmacs: multiply-adds "
    "per image (sources label them FLOPs); fid: FID at 256 px, Inception-v3 features, against the training set."
)


def _published_section(published, out: Path) -> str:
    if published is None:
        return ""
    parts = ["## Published reference numbers\n", PUBLISHED_NOTES + "\n"]
    for suite in ("recognition", "synthesis"):
        table = paper.reference_table(published, suite)
        if not table.empty:
            table.to_csv(out / f"published_{suite}.csv", index=False)
            (out / f"published_{suite}.tex").write_text(tables.to_latex(table, f"Published numbers, {suite}"))
            parts.append(f"### {suite.capitalize()}\n\n{tables.to_markdown(table)}")
    return "\n".join(parts)


def _recognition_section(frame: pd.DataFrame, preset: str, out: Path, published=None) -> str:
    summary = tables.summarize(frame, tables.RECOGNITION_METRICS)
    if summary.empty:
        return f"## Recognition, preset `{preset}`\n\n_no completed runs_\n"
    table = tables.recognition_table(summary)
    stem = f"recognition_{preset}"
    table.to_csv(out / f"{stem}.csv", index=False)
    (out / f"{stem}.tex").write_text(tables.to_latex(table, f"Recognition, preset {preset}"))
    datasets = ", ".join(sorted(set(frame["dataset"].dropna())))
    recipes = ", ".join(sorted(set(frame["recipe"].dropna())))
    devices = ", ".join(sorted({f"{d}, {p}" for d, p in zip(summary["device"], summary["precision"])}))
    plot_files = [
        plots.scatter_vs(summary, "gmacs", "GMACs per image (fvcore multiply-adds, attention counted)",
                         f"Top-1 vs GMACs ({preset}, {datasets})", out / f"{stem}_top1_vs_gmacs.png"),
        plots.scatter_vs(summary, "params", "parameters (millions)", f"Top-1 vs params ({preset}, {datasets})",
                         out / f"{stem}_top1_vs_params.png", scale=1e6),
        plots.throughput_bars(summary, f"Throughput per model ({devices}; batch {_batches(frame)})", out / f"{stem}_throughput.png"),
    ]
    images = "\n".join(f"![{p.stem}]({p.name})" for p in plot_files)
    return (f"## Recognition, preset `{preset}`\n\nDataset: {datasets}. Recipe: {recipes} (the same for "
            f"every model).\n\n{tables.to_markdown(table)}\n{RECOGNITION_NOTES}\n\nAlso as "
            f"[CSV]({stem}.csv) and [LaTeX]({stem}.tex).\n\n"
            f"{_published_block(summary, published, stem, out)}\n{images}\n")


def _status_section(frame: pd.DataFrame) -> str:
    bad = tables.status_table(frame)
    if bad.empty:
        return ""
    return ("## Runs that did not complete\n\nThese are not results; they are listed so that nothing is "
            f"hidden.\n\n{tables.to_markdown(bad)}")


SYNTHESIS_NOTES = (
    "FID/KID: {samples} images from the EMA generator in eval mode against the whole training set "
    "(few-shot sets have no test split), features from `{extractor}`{caveat}. KID is shown x1e3. "
    "SWD: sliced Wasserstein distance on 7x7 patches of a Laplacian pyramid (x1e3), weight-free. "
    "GMACs of G per image (fvcore multiply-adds); G img/s: generator images/s at the batch recorded. "
    "95% CI: mean ± t(0.975, n-1) * std / sqrt(n) over seeds."
)


def _synthesis_section(frame: pd.DataFrame, preset: str, results_dir: Path, out: Path, published=None) -> str:
    parts = [f"## Synthesis, preset `{preset}`\n"]
    done = tables.completed(frame)
    if done.empty:
        return parts[0] + "\n_no completed runs_\n"
    # never mix feature extractors (or datasets) in one FID column: one table per combination
    for (dataset, extractor), group in done.groupby(["dataset", "feature_extractor"], sort=False):
        summary = tables.summarize(group, tables.SYNTHESIS_METRICS, tables.SYNTHESIS_GROUP)
        table = tables.synthesis_table(summary)
        stem = f"synthesis_{preset}_{_slug(dataset)}_{_slug(extractor)}"
        table.to_csv(out / f"{stem}.csv", index=False)
        (out / f"{stem}.tex").write_text(tables.to_latex(table, f"Synthesis, {dataset}, FID features {extractor}"))
        caveat = "" if "inception" in str(extractor) else (
            ": a substitute for Inception-v3, so these values are NOT comparable to published FIDs")
        samples = ", ".join(str(int(s)) for s in sorted(set(group["fid_samples"].dropna())))
        parts.append(f"### {dataset}, FID features `{extractor}`\n\n{tables.to_markdown(table)}\n"
                     + SYNTHESIS_NOTES.format(samples=samples, extractor=extractor, caveat=caveat)
                     + f"\n\nAlso as [CSV]({stem}.csv) and [LaTeX]({stem}.tex).\n\n"
                     + _published_block(summary, published, stem, out))
        parts.append(_synthesis_plots(group, results_dir, out, stem))
    return "\n".join(parts)


def _synthesis_plots(group: pd.DataFrame, results_dir: Path, out: Path, stem: str) -> str:
    runs = set(group["run_id"])
    histories = {}
    for rec in load_record_dicts(results_dir):
        if rec["run_id"] in runs:
            key = (rec["model"], rec.get("family"), rec["seed"])
            histories[key] = [(h["iteration"], h["fid"]) for h in rec.get("history", []) if "fid" in h]
    lines = []
    if histories:
        png = plots.metric_curves(histories, "fid", "FID (substitute features unless stated)",
                                  "FID over training iterations", out / f"{stem}_fid_curve.png")
        lines.append(f"![FID over iterations]({png.name})")
    for _, r in group.sort_values("model").drop_duplicates("model", keep="last").iterrows():
        grid = r.get("sample_grid")
        if isinstance(grid, str) and (results_dir / grid).exists():
            lines.append(f"**{r['model']}** (seed {r['seed']}), latest samples:\n\n![{r['model']} samples](../{grid})")
    return "\n\n".join(lines) + "\n"


def _slug(text: object) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text)).strip("-").lower()


def _batches(frame: pd.DataFrame) -> str:
    """The throughput batch sizes of ``frame``'s runs, e.g. 'train 128, infer 128'."""
    def one(col: str) -> str:
        vals = sorted({int(v) for v in frame.get(col, pd.Series(dtype=float)).dropna()})
        return "/".join(str(v) for v in vals) or "?"
    return f"train {one('train_batch')}, infer {one('infer_batch')}"
