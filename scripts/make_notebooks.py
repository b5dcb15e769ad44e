"""Writes notebooks/recognition.ipynb and notebooks/synthesis.ipynb with outputs cleared."""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SETUP = '''import os
import sys
import tempfile
from pathlib import Path

from IPython.display import Image, Markdown, display

# the checkout: the first folder at or above the working directory that holds benchmark/
REPO = next((f for f in (Path.cwd(), *Path.cwd().parents) if (f / "benchmark").is_dir()), None)
if REPO is not None and str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
RESULTS = Path(os.environ.get("SASE_BENCH_RESULTS") or (REPO or Path.cwd()) / "results")

from benchmark.report import plots, published, tables, verdicts  # noqa: E402
from benchmark.results import load_record_dicts, load_records  # noqa: E402

FIGURES = Path(tempfile.mkdtemp(prefix="sase-bench-figures-"))  # PNGs are drawn here, never into results/
print(f"results store: {RESULTS}")'''

FILTERS_MD = '''## Filters: edit this cell

Each filter is `None` (keep everything) or a list of the values to keep. They apply to every table,
verdict and plot below. The values present in the store are printed by the next cell.'''

FILTERS = '''# ---------------- filters ----------------
PRESETS = None   # e.g. ["default"]
DATASETS = None  # e.g. ["fashion_mnist"]
SEEDS = None     # e.g. [0, 1, 2]
DEVICES = None   # e.g. ["AMD EPYC"] (the `device` column of the records)
# -----------------------------------------'''

LOAD = '''frame = load_records(RESULTS)
runs = frame[frame["suite"] == "{suite}"]
print("in the store:", {{c: sorted(runs[c].dropna().unique().tolist()) for c in ("preset", "dataset", "seed", "device")}})
for column, allowed in (("preset", PRESETS), ("dataset", DATASETS), ("seed", SEEDS), ("device", DEVICES)):
    if allowed is not None:
        runs = runs[runs[column].isin(allowed)]
done = tables.completed(runs)
EMPTY = done.empty
if EMPTY:
    display(Markdown(f"**No completed {suite} runs** in `{{RESULTS}}` match the filters ({{len(frame)}} record(s) in "
                     "the store). Run `python -m benchmark run --suite {suite} --preset smoke` (or `default`), "
                     "or loosen the filters, then run this notebook again."))
else:
    display(runs[{columns}])'''

VERDICTS = '''if EMPTY:
    print("no verdicts: no completed runs")
else:
    table = verdicts.compute_verdicts(runs)
    display(table[["claim", "preset", "dataset", "feature_extractor", "verdict", "n_a", "n_b", "mean_a", "mean_b",
                   "p_value", "detail"]])
    for test in table["test"].unique():
        print(f"test: {test}, alpha {verdicts.ALPHA}")'''

PUBLISHED = '''csv = published.find_published(RESULTS)
paper = published.load_published(csv) if csv else None
if paper is None:
    print("no published numbers found (results/paper/published.csv)")
else:
    for summary in ([] if EMPTY else SUMMARIES):
        comparison = published.compare(summary, paper)
        if comparison.empty:
            r = summary.iloc[0]
            reason = published.not_comparable_reason(r["suite"], r["preset"], r["dataset"], r.get("feature_extractor"))
            display(Markdown(f"Not set beside published numbers: {{reason}}"))
        else:
            display(comparison)
    display(Markdown(f"### Published reference numbers (`{{csv}}`)"))
    display(published.reference_table(paper, "{suite}"))'''

REC_TABLES = '''SUMMARIES = [] if EMPTY else [tables.summarize(group, tables.RECOGNITION_METRICS)
                               for _, group in done.groupby(["preset", "dataset"], sort=False)]
for summary in SUMMARIES:
    display(Markdown(f"### preset `{summary['preset'].iloc[0]}`, dataset `{summary['dataset'].iloc[0]}`"))
    display(tables.recognition_table(summary))'''

REC_PLOTS = '''for i, summary in enumerate(SUMMARIES):
    label = f"{summary['preset'].iloc[0]}, {summary['dataset'].iloc[0]}"
    devices = ", ".join(sorted(set(summary["device"])))
    pngs = [plots.scatter_vs(summary, "gmacs", "GMACs per image (fvcore multiply-adds, attention counted)",
                             f"Top-1 vs GMACs ({label})", FIGURES / f"rec{i}_gmacs.png"),
            plots.scatter_vs(summary, "params", "parameters (millions)", f"Top-1 vs params ({label})",
                             FIGURES / f"rec{i}_params.png", scale=1e6),
            plots.throughput_bars(summary, f"Throughput per model ({devices})", FIGURES / f"rec{i}_throughput.png")]
    for png in pngs:
        display(Image(filename=str(png)))
if not SUMMARIES:
    print("no plots: no completed runs")'''

SYN_TABLES = '''SUMMARIES = [] if EMPTY else [tables.summarize(group, tables.SYNTHESIS_METRICS, tables.SYNTHESIS_GROUP)
                               for _, group in done.groupby(["preset", "dataset", "feature_extractor"], sort=False)]
for summary in SUMMARIES:
    r = summary.iloc[0]
    display(Markdown(f"### preset `{r['preset']}`, dataset `{r['dataset']}`, FID features `{r['feature_extractor']}`"
                     + ("" if "inception" in str(r["feature_extractor"]) else
                        " (a substitute for Inception-v3: not comparable to published FIDs)")))
    display(tables.synthesis_table(summary))'''

SYN_PLOTS = '''kept = set(done["run_id"])
histories = {}
for rec in load_record_dicts(RESULTS):
    if rec["run_id"] in kept:
        points = [(h["iteration"], h["fid"]) for h in rec.get("history", []) if "fid" in h]
        histories[(rec["model"], rec.get("family"), rec["seed"])] = points
if histories:
    png = plots.metric_curves(histories, "fid", "FID (substitute features unless stated)",
                              "FID over training iterations", FIGURES / "fid_curve.png")
    display(Image(filename=str(png)))
else:
    print("no FID history: no completed runs")
for _, r in ([] if EMPTY else done.sort_values("model").drop_duplicates("model", keep="last").iterrows()):
    grid = r.get("sample_grid")
    if isinstance(grid, str) and (RESULTS / grid).is_file():
        display(Markdown(f"**{r['model']}** (seed {r['seed']}), latest samples"), Image(filename=str(RESULTS / grid)))'''


def notebook(title: str, intro: str, suite: str, columns: str, table_cells, plot_cells):
    cells = [new_markdown_cell(f"# {title}\n\n{intro}"), new_code_cell(SETUP), new_markdown_cell(FILTERS_MD),
             new_code_cell(FILTERS), new_code_cell(LOAD.format(suite=suite, columns=columns)),
             new_markdown_cell("## Summary over seeds\n\nMean ± std and the t-based 95% confidence interval per "
                               "model, as in the report.")]
    cells += [new_code_cell(c) for c in table_cells]
    cells += [new_markdown_cell("## Verdicts on the paper's claims\n\nWelch's t-test, one-sided, on per-seed "
                                "values of each family's default model; fewer than 2 seeds is always inconclusive."),
              new_code_cell(VERDICTS),
              new_markdown_cell("## Published numbers\n\nSide by side only where the setting matches (the `paper` "
                                "preset); otherwise a reference table and the reason."),
              new_code_cell(PUBLISHED.format(suite=suite)), new_markdown_cell("## Plots")]
    cells += [new_code_cell(c) for c in plot_cells]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"},
                                             "language_info": {"name": "python"}})
    return nb


INTRO = ("Reads the records through `benchmark.results.load_records` from the repository's `results/` (or the "
         "folder in the `SASE_BENCH_RESULTS` environment variable) and shows the report's tables, verdicts and "
         "plots. It runs offline, top to bottom, on whatever records exist, none included. "
         "It measures nothing and writes nothing into `results/`.")


def main(root: Path) -> None:
    rec = notebook("Recognition: SASE-ResNet vs ResNet, SE-ResNet, Swin and PVT", INTRO, "recognition",
                   '["model", "family", "preset", "dataset", "seed", "status", "top1", "top5", "params", "gmacs", "device"]',
                   [REC_TABLES], [REC_PLOTS])
    syn = notebook("Synthesis: SASE-GAN vs FastGAN", INTRO, "synthesis",
                   '[c for c in ("model", "family", "preset", "dataset", "seed", "status", "fid", "kid", "swd", '
                   '"feature_extractor", "device") if c in runs.columns]',
                   [SYN_TABLES], [SYN_PLOTS])
    for name, nb in (("recognition", rec), ("synthesis", syn)):
        nbformat.validate(nb)
        nbformat.write(nb, root / "notebooks" / f"{name}.ipynb")


if __name__ == "__main__":
    main(Path("/work/main"))
