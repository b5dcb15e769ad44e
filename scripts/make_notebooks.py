"""Writes notebooks/<task>.ipynb, one per registered task spec (benchmark/specs/).

    python scripts/make_notebooks.py --execute   # what is committed: run against results/reference, outputs saved
    python scripts/make_notebooks.py             # the sources only, outputs cleared
    python scripts/make_notebooks.py --check     # exit 1 when a committed notebook is not current

``--execute`` runs each notebook in a ``python3`` kernel against the committed reference and stores the
SHA-256 of the reference's records in the notebook's metadata (``sase_bench``), so that a code host renders
the reference's tables and plots, and ``tests/test_notebooks.py`` fails when a record is added, changed or
removed without the notebooks being executed again (or when this file changes their cells).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = Path("results") / "reference"  # the committed reference, relative to the checkout
REGENERATE = "python scripts/make_notebooks.py --execute"
MAX_BYTES = 2_000_000  # an executed notebook stays small enough for a code host to render

SETUP = '''import io
import os
import sys
import tempfile
from pathlib import Path

from IPython.display import Image, Markdown, display
from PIL import Image as PILImage

TASK = "{task}"
# the checkout: the first folder at or above the working directory that holds benchmark/
REPO = next((f for f in (Path.cwd(), *Path.cwd().parents) if (f / "benchmark").is_dir()), Path.cwd())
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmark.report import plots, published, reference, tables, verdicts  # noqa: E402
from benchmark.results import load_record_dicts, load_records  # noqa: E402
from benchmark.spec import load_specs  # noqa: E402

# Your runs: results/ of this checkout (or the folder in $SASE_BENCH_RESULTS).  The committed reference:
# results/reference/ (or $SASE_BENCH_REFERENCE).  Shown: your runs of this task when you have completed ones,
# else the reference's; each task on its own, so the notebook of a task you have not run shows the reference.
YOURS = Path(os.environ.get("SASE_BENCH_RESULTS") or REPO / "results")
REFERENCE = Path(os.environ.get("SASE_BENCH_REFERENCE") or REPO / "results" / "reference")
spec = load_specs().get(TASK)


def task_records(store):
    frame = tables.with_defaults(load_records(store))
    return frame[frame["task"] == spec.name]


def shown(path):
    """``path`` relative to the checkout when it lies inside it."""
    path, repo = Path(path).resolve(), REPO.resolve()
    return str(path.relative_to(repo)) if path.is_relative_to(repo) else str(path)


REF_RECORDS = task_records(REFERENCE)
IS_REFERENCE = YOURS.resolve() == REFERENCE.resolve()
MINE = REF_RECORDS if IS_REFERENCE else task_records(YOURS)
if IS_REFERENCE or not tables.completed(MINE).empty:
    RESULTS, frame = YOURS, MINE
    origin = "the committed reference" if IS_REFERENCE else "your runs"
else:
    RESULTS, frame = REFERENCE, REF_RECORDS
    origin = f"the committed reference: you have no completed {{spec.name}} runs in {{shown(YOURS)}}"
FIGURES = Path(tempfile.mkdtemp(prefix="sase-bench-figures-"))  # PNGs are drawn here, never into results/
print(f"results store: {{shown(RESULTS)}} ({{origin}})")'''

FILTERS_MD = '''## Filters: edit this cell

Each filter is `None` (keep everything) or a list of the values to keep. They apply to every table,
verdict and plot below. The values present in the store are printed by the next cell.'''

FILTERS = '''# ---------------- filters ----------------
PRESETS = None   # e.g. ["default"]
DATASETS = None  # e.g. ["fashion_mnist"]
SEEDS = None     # e.g. [0, 1, 2]
DEVICES = None   # e.g. ["AMD EPYC"] (the `device` column of the records)
# -----------------------------------------'''

LOAD = '''runs = frame
print("in the store:", {c: sorted(runs[c].dropna().unique().tolist()) for c in ("preset", "dataset", "seed", "device")})
for column, allowed in (("preset", PRESETS), ("dataset", DATASETS), ("seed", SEEDS), ("device", DEVICES)):
    if allowed is not None:
        runs = runs[runs[column].isin(allowed)]
done = tables.completed(runs)
EMPTY = done.empty
if EMPTY:
    display(Markdown(f"**No completed {spec.name} runs** in `{shown(RESULTS)}` match the filters ({len(frame)} "
                     f"{spec.name} record(s) there). Run `python -m benchmark run --suite {TASK} --preset smoke` "
                     "(or `default`), or loosen the filters, then run this notebook again."))
else:
    display(runs[[c for c in ("model", "family", "preset", "dataset", "seed", "status", *(c.field for c in spec.columns),
                             "device") if c in runs.columns]])'''

TABLES = '''keys = ["preset", *(k for k in spec.split_by if k in done.columns)]
SETTINGS = [] if EMPTY else [(dict(zip(keys, values if isinstance(values, tuple) else (values,))), group)
                             for values, group in done.assign(**{k: done[k].fillna("-") for k in keys})
                             .groupby(keys, sort=False)]
SUMMARIES = []
for setting, group in SETTINGS:
    summary = tables.summarize(group, [c.field for c in spec.columns] + published.summary_fields(spec),
                               [*setting, "model", "family", *spec.identity])
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

BESIDE = '''AGAIN = (f"Once you have completed {spec.name} runs (`python -m benchmark run --suite {TASK}`), run this "
         "notebook again: it then shows yours and sets them beside the reference here.")
if IS_REFERENCE:
    display(Markdown(f"This notebook ran on the committed reference itself (`{shown(REFERENCE)}`); your own runs go "
                     "to `results/` of this checkout (or the folder in `SASE_BENCH_RESULTS`). " + AGAIN))
elif RESULTS.resolve() == REFERENCE.resolve():
    display(Markdown(f"You have no completed {spec.name} runs in `{shown(YOURS)}`, so this notebook shows the "
                     f"committed reference (`{shown(REFERENCE)}`). " + AGAIN))
else:
    beside = reference.compare(runs, REF_RECORDS, spec)
    if beside.empty:
        display(Markdown(f"None of your completed runs matches a reference run in `{shown(REFERENCE)}` (same task, "
                         "preset, recipe identity, dataset and model, and the same settings the tables split by)."))
    else:
        display(Markdown(reference.NOTES.format(reference=shown(REFERENCE))))
        display(beside)
    missing = reference.unmatched(runs, REF_RECORDS, spec)
    if missing:
        display(Markdown("Not matched (what differs from the nearest reference run):\\n\\n"
                         + "\\n".join(f"- {line}" for line in missing)))'''

PUBLISHED = '''csv = published.find_published(RESULTS)
paper = published.load_published(csv) if csv else None
if paper is None or spec.published is None:
    print("no published numbers for this task")
else:
    for (setting, group), summary in zip(SETTINGS, SUMMARIES):
        comparison = published.compare(summary, paper, spec, group)
        if comparison.empty:
            display(Markdown(f"Not set beside published numbers: {spec.not_comparable(summary.iloc[0].to_dict())}"))
        else:
            display(comparison)
        refused = published.refusals(summary, paper, spec, group)
        if refused:
            display(Markdown("Not compared (another kind of recipe):\\n\\n" + "\\n".join(f"- {r}" for r in refused)))
    display(Markdown(f"### Published reference numbers (`{shown(csv)}`)"))
    display(published.reference_table(paper, spec.name))'''

PLOTS = '''def picture(png):
    """A plot as a 64-colour PNG, a sample grid or pyramid (results' samples/) as JPEG: the saved notebook stays
    small (line plots lose nothing visible to the palette; photos would, so they go to JPEG)."""
    buffer = io.BytesIO()
    image = PILImage.open(png).convert("RGB")
    if png.parent.name != "samples":
        image.quantize(colors=64).save(buffer, format="PNG", optimize=True)
        return Image(data=buffer.getvalue(), format="png")
    image.save(buffer, format="JPEG", quality=85)
    return Image(data=buffer.getvalue(), format="jpeg")


histories = {r["run_id"]: r.get("history") or [] for r in load_record_dicts(RESULTS)}
plots.use_palette(spec.palette)
shown_plots = samples = 0
MAX_SAMPLE_PICTURES = 12  # the first ones, in report order: keeps the saved notebook small
for i, ((setting, group), summary) in enumerate(zip(SETTINGS, SUMMARIES)):
    runs_h = {(m, f, s): histories.get(rid, []) for m, f, s, rid in
              zip(group["model"], group["family"], group["seed"], group["run_id"])}
    section = plots.Section(spec, group, summary, runs_h, RESULTS, FIGURES, f"{spec.name}{i}",
                            ", ".join(str(v) for v in setting.values()))
    for name in spec.plots:
        for line in plots.SECTION_PLOTS[name](section):  # markdown: an optional caption, then ![alt](path)
            path, caption = line[line.rindex("](") + 2:-1], line[:line.rindex("![")].strip()
            png = (FIGURES / path) if not path.startswith("../") else (RESULTS / path[3:])
            if not png.is_file():
                continue
            if png.parent.name == "samples":
                samples += 1
                if samples > MAX_SAMPLE_PICTURES:
                    continue
            if caption:
                display(Markdown(caption))
            display(picture(png))
            shown_plots += 1
if not shown_plots:
    print("no plots: no completed runs")
if samples > MAX_SAMPLE_PICTURES:
    print(f"{samples - MAX_SAMPLE_PICTURES} more sample pictures (grids, pyramids) are in the report: "
          "python -m benchmark report")'''

INTRO = ("Reads the records through `benchmark.results.load_records`: your own runs in the repository's `results/` "
         "(or the folder in the `SASE_BENCH_RESULTS` environment variable) when you have completed runs of this "
         "task, else the committed reference, `results/reference/` (or `SASE_BENCH_REFERENCE`); your runs are set "
         "beside the reference's. Everything it shows is driven by the task's spec (`benchmark/specs/`): the "
         "report's tables, verdicts and plots. It runs offline, top to bottom, on whatever records exist, none "
         "included. It measures nothing and writes nothing into `results/`.\n\n"
         "The outputs saved with this notebook were computed from the committed reference by "
         f"`{REGENERATE}`. Open it with `bash scripts/notebooks.sh` and run all cells to see your own runs.")


def title(spec) -> str:
    """``Recognition: SASE-ResNet vs ResNet, SE-ResNet, ...``: the families the task's claims compare."""
    ours = list(dict.fromkeys(c.family_a for c in spec.claims))
    theirs = list(dict.fromkeys(c.family_b for c in spec.claims))
    return f"{spec.title}: {' and '.join(ours)} vs {', '.join(theirs)}" if ours else spec.title


def notebook(spec):
    """The notebook of one task spec, outputs cleared; cell ids are fixed so that regenerating changes nothing."""
    cells = [new_markdown_cell(f"# {title(spec)}\n\n{INTRO}"), new_code_cell(SETUP.format(task=spec.name)),
             new_markdown_cell(FILTERS_MD), new_code_cell(FILTERS), new_code_cell(LOAD),
             new_markdown_cell("## Summary over seeds\n\nMean ± std and the t-based 95% confidence interval per "
                               "model, one table per setting, as in the report."),
             new_code_cell(TABLES),
             new_markdown_cell("## Verdicts on the paper's claims\n\nAs in the report: per-seed values, the "
                               "claim's test, and the correction across the claims of one setting."),
             new_code_cell(VERDICTS),
             new_markdown_cell("## Your runs beside the reference\n\nYour mean beside the reference's, with the "
                               "agreement check and throughput ratios of the report; never averaged together."),
             new_code_cell(BESIDE),
             new_markdown_cell("## Published numbers\n\nSide by side only where the setting matches; otherwise a "
                               "reference table and the reason."),
             new_code_cell(PUBLISHED), new_markdown_cell("## Plots"), new_code_cell(PLOTS)]
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i}"
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"},
                                             "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def specs() -> Dict[str, object]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmark.spec import load_specs

    return dict(load_specs().items())


def path_of(root: Path, task: str) -> Path:
    return root / "notebooks" / f"{task.replace('-', '_')}.ipynb"


def records_digest(store: Path) -> Tuple[str, int]:
    """SHA-256 over the record files of ``store`` (relative path and bytes of each, in sorted order), and
    their count: any record added, removed or changed changes it."""
    files = sorted((store / "records").rglob("*.json")) if (store / "records").is_dir() else []
    h = hashlib.sha256()
    for path in files:
        h.update(f"{path.relative_to(store).as_posix()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest(), len(files)


# the code whose output the notebooks save: the report, the task specs, the records reader and the rules
SHOWN_CODE = ("benchmark/report/*.py", "benchmark/specs/*.py", "benchmark/results.py", "benchmark/convergence.py")


def code_digest(root: Path = ROOT) -> str:
    """SHA-256 over the files of :data:`SHOWN_CODE` (relative path and bytes, sorted): a change to how the
    report computes or shows anything changes it, so the saved outputs are known to be stale."""
    h = hashlib.sha256()
    for path in sorted(p for pattern in SHOWN_CODE for p in root.glob(pattern)):
        h.update(f"{path.relative_to(root).as_posix()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()


def execute(nb, root: Path, store: Path, timeout: int = 600) -> None:
    """Run ``nb`` top to bottom in a ``python3`` kernel with ``store`` as both stores, outputs kept, and stamp it
    with ``store``'s records digest."""
    from nbclient import NotebookClient

    env = {"SASE_BENCH_RESULTS": str(store), "SASE_BENCH_REFERENCE": str(store), "MPLBACKEND": "Agg"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(root / "notebooks")}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    digest, count = records_digest(store)
    rel = store.resolve().relative_to(root.resolve()).as_posix() if store.resolve().is_relative_to(root.resolve()) \
        else str(store)
    nb.metadata["sase_bench"] = {"executed_against": rel, "records": count, "records_sha256": digest,
                                 "code_sha256": code_digest(root), "regenerate": REGENERATE}


def problems(root: Path = ROOT, store: Optional[Path] = None) -> List[str]:
    """Why the committed notebooks are not current (empty when they are): a notebook missing, its cells not
    those this script writes, not executed, an error in its outputs, too large, or executed against records
    other than ``store``'s (default: the committed reference)."""
    digest, count = records_digest(store or root / REFERENCE)
    shown_code = code_digest(root)
    found = []
    for task, spec in specs().items():
        path = path_of(root, task)
        if not path.is_file():
            found.append(f"{path.name}: missing")
            continue
        nb, want = nbformat.read(path, as_version=4), notebook(spec)
        if [(c.cell_type, c.source) for c in nb.cells] != [(c.cell_type, c.source) for c in want.cells]:
            found.append(f"{path.name}: its cells differ from those scripts/make_notebooks.py writes")
        code = [c for c in nb.cells if c.cell_type == "code"]
        if any(c.execution_count is None for c in code):
            found.append(f"{path.name}: not executed")
        if any(o.output_type == "error" for c in code for o in c.outputs):
            found.append(f"{path.name}: a cell raised an error")
        if path.stat().st_size > MAX_BYTES:
            found.append(f"{path.name}: {path.stat().st_size} bytes, more than {MAX_BYTES}")
        stamp = nb.metadata.get("sase_bench", {})
        if stamp.get("records_sha256") != digest:
            found.append(f"{path.name}: executed against {stamp.get('records', 'no')} record(s) with digest "
                         f"{str(stamp.get('records_sha256'))[:12]}; the reference now holds {count} with digest "
                         f"{digest[:12]}")
        if stamp.get("code_sha256") != shown_code:
            found.append(f"{path.name}: executed with other report code ({', '.join(SHOWN_CODE)} changed since)")
    return found


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--execute", action="store_true",
                        help="run each notebook against results/reference and save its outputs (what is committed)")
    parser.add_argument("--check", action="store_true", help="only check that the committed notebooks are current")
    args = parser.parse_args(argv)
    if args.check:
        found = problems(ROOT)
        for line in found:
            print(line)
        print(f"stale: run `{REGENERATE}`" if found else "notebooks are current")
        return 1 if found else 0
    for task, spec in specs().items():
        nb = notebook(spec)
        if args.execute:
            execute(nb, ROOT, ROOT / REFERENCE)
        path = path_of(ROOT, task)
        nbformat.write(nb, path)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:.2f} MB"
              + (f", executed against {nb.metadata['sase_bench']['records']} reference records" if args.execute
                 else ", outputs cleared"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
