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
# your own runs (results/), or the committed reference (results/reference/) when you have none yet
_mine = (REPO or Path.cwd()) / "results"
RESULTS = Path(os.environ.get("SASE_BENCH_RESULTS") or
               (_mine if (_mine / "records").is_dir() else _mine / "reference"))

from benchmark.report import plots, published, tables, verdicts  # noqa: E402
from benchmark.results import load_record_dicts, load_records  # noqa: E402
from benchmark.spec import load_specs  # noqa: E402

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

LOAD = '''spec = load_specs().get("{task}")
frame = tables.with_defaults(load_records(RESULTS))
runs = frame[frame["task"] == spec.name]
print("in the store:", {{c: sorted(runs[c].dropna().unique().tolist()) for c in ("preset", "dataset", "seed", "device")}})
for column, allowed in (("preset", PRESETS), ("dataset", DATASETS), ("seed", SEEDS), ("device", DEVICES)):
    if allowed is not None:
        runs = runs[runs[column].isin(allowed)]
done = tables.completed(runs)
EMPTY = done.empty
if EMPTY:
    display(Markdown(f"**No completed {{spec.name}} runs** in `{{RESULTS}}` match the filters ({{len(frame)}} record(s) "
                     "in the store). Run `python -m benchmark run --suite {task} --preset smoke` (or `default`), "
                     "or loosen the filters, then run this notebook again."))
else:
    display(runs[[c for c in ("model", "family", "preset", "dataset", "seed", "status", *(c.field for c in spec.columns),
                             "device") if c in runs.columns]])'''

TABLES = '''keys = ["preset", *(k for k in spec.split_by if k in done.columns)]
SETTINGS = [] if EMPTY else [(dict(zip(keys, values if isinstance(values, tuple) else (values,))), group)
                             for values, group in done.assign(**{k: done[k].fillna("-") for k in keys})
                             .groupby(keys, sort=False)]
SUMMARIES = []
for setting, group in SETTINGS:
    summary = tables.summarize(group, [c.field for c in spec.columns], [*setting, "model", "family",
                                                                        *spec.identity])
    SUMMARIES.append(summary)
    caveat = spec.caveat(setting) if spec.caveat else ""
    display(Markdown(f"### {', '.join(f'{k} `{v}`' for k, v in setting.items())}" + (f"\\n\\n**{caveat}**" if caveat else "")))
    display(tables.spec_table(summary, spec.columns, spec.convergence is not None))'''

VERDICTS = '''if EMPTY:
    print("no verdicts: no completed runs")
else:
    table = verdicts.compute_verdicts(runs)
    table = table[table["suite"].isin(set(runs["suite"]))]
    display(table[[c for c in ("claim", "kind", "preset", "dataset", "feature_extractor", "verdict", "n_a", "n_b",
                               "mean_a", "mean_b", "p_value", "p_adjusted", "detail") if c in table.columns]])
    for test in table["test"].unique():
        print(f"test: {test}, alpha {verdicts.ALPHA}")'''

PUBLISHED = '''csv = published.find_published(RESULTS)
paper = published.load_published(csv) if csv else None
if paper is None or spec.published is None:
    print("no published numbers for this task")
else:
    for summary in SUMMARIES:
        comparison = published.compare(summary, paper, spec)
        if comparison.empty:
            display(Markdown(f"Not set beside published numbers: {spec.not_comparable(summary.iloc[0].to_dict())}"))
        else:
            display(comparison)
    display(Markdown(f"### Published reference numbers (`{csv}`)"))
    display(published.reference_table(paper, spec.name))'''

PLOTS = '''histories = {r["run_id"]: r.get("history") or [] for r in load_record_dicts(RESULTS)}
plots.use_palette(spec.palette)
shown = 0
for i, ((setting, group), summary) in enumerate(zip(SETTINGS, SUMMARIES)):
    runs_h = {(m, f, s): histories.get(rid, []) for m, f, s, rid in
              zip(group["model"], group["family"], group["seed"], group["run_id"])}
    section = plots.Section(spec, group, summary, runs_h, RESULTS, FIGURES, f"{spec.name}{i}",
                            ", ".join(str(v) for v in setting.values()))
    for name in spec.plots:
        for line in plots.SECTION_PLOTS[name](section):
            path = line[line.index("](") + 2:-1]
            png = (FIGURES / path) if not path.startswith("../") else (RESULTS / path[3:])
            if png.is_file():
                display(Image(filename=str(png)))
                shown += 1
if not shown:
    print("no plots: no completed runs")'''


def notebook(title: str, intro: str, task: str):
    cells = [new_markdown_cell(f"# {title}\n\n{intro}"), new_code_cell(SETUP), new_markdown_cell(FILTERS_MD),
             new_code_cell(FILTERS), new_code_cell(LOAD.format(task=task)),
             new_markdown_cell("## Summary over seeds\n\nMean ± std and the t-based 95% confidence interval per "
                               "model, one table per setting, as in the report."),
             new_code_cell(TABLES),
             new_markdown_cell("## Verdicts on the paper's claims\n\nAs in the report: per-seed values, the "
                               "claim's test, and the correction across the claims of one setting."),
             new_code_cell(VERDICTS),
             new_markdown_cell("## Published numbers\n\nSide by side only where the setting matches; otherwise a "
                               "reference table and the reason."),
             new_code_cell(PUBLISHED), new_markdown_cell("## Plots"), new_code_cell(PLOTS)]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"},
                                               "language_info": {"name": "python"}})


INTRO = ("Reads the records through `benchmark.results.load_records` from the repository's `results/` (your own "
         "runs; `results/reference/`, the committed reference, when you have none; or the folder in the "
         "`SASE_BENCH_RESULTS` environment variable). Everything it shows is driven by the task's spec "
         "(`benchmark/specs/`). It shows the report's tables, verdicts and plots. It runs offline, top to bottom, on whatever records exist, none included. "
         "It measures nothing and writes nothing into `results/`.")


NOTEBOOKS = {"recognition": "Recognition: SASE-ResNet vs ResNet, SE-ResNet, Swin and PVT",
             "synthesis": "Synthesis: SASE-GAN vs FastGAN"}


def main(root: Path) -> None:
    for task, title in NOTEBOOKS.items():
        nb = notebook(title, INTRO, task)
        nbformat.validate(nb)
        nbformat.write(nb, root / "notebooks" / f"{task.replace('-', '_')}.ipynb")


if __name__ == "__main__":
    main(Path(__file__).resolve().parents[1])
