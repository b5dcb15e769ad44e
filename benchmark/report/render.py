"""``python -m benchmark report``: records in, ``RESULTS/report/`` out.

Reads the store through :func:`benchmark.results.load_records` and renders: the
verdicts on the paper's claims first (``verdicts.csv``/``.tex``), then for every
registered task spec and preset its tables (in ``README.md``, and as CSV and
LaTeX), its PNG plots, the published numbers beside the reproduced ones where the
setting matches, and the published numbers as a reference with the reason where
it does not.  It measures nothing, and imports no model, trainer or metric code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import List, Optional

import pandas as pd

from benchmark.errors import UserError
from benchmark.report import flat, reference, swap, tables, verdicts
from benchmark.report import published as paper
from benchmark.report import sections as sections_mod
from benchmark.results import count_once, load_record_dicts, load_records, records_frame
from benchmark.spec import load_specs


def render_report(results_dir: Path, reference_dir: Optional[Path] = None) -> Path:
    """Render ``results_dir``'s report; with ``reference_dir``, also set its runs beside that reference.

    The report is rendered into a hidden temporary folder and swapped in for ``report/`` only when
    complete, so a crash, a signal or a full disk leaves the previous report as it was."""
    results_dir = Path(results_dir)
    if not (results_dir / "records").is_dir():
        raise UserError(f"{results_dir} holds no records/ folder; run 'python -m benchmark run --suite "
                        f"<suite> --results-dir {results_dir}' first")
    out = results_dir / "report"
    swap.recover(out)
    tmp = swap.new_folder(out)
    try:
        _render(results_dir, reference_dir, tmp)
        swap.keep_extras(out, tmp, RENDERED)
        swap.replace_folder(tmp, out)
    except OSError as e:  # named as the user knows it: the report, not the hidden folder
        swap.discard(tmp)
        raise OSError(e.errno, e.strerror, swap.public_name(e.filename, tmp, out)) from None
    except BaseException:
        swap.discard(tmp)
        raise
    return out


RENDERED = (".md", ".csv", ".tex", ".png")  # what a rendering writes; anything else in report/ is kept


def _render(results_dir: Path, reference_dir: Optional[Path], out: Path) -> None:
    specs = load_specs()
    records = load_record_dicts(results_dir)  # read once: each bad file warns once
    frame = tables.with_defaults(records_frame(records))
    csv = paper.find_published(results_dir)
    published = paper.load_published(csv) if csv else None
    counted = count_once(frame)  # each (run, machine) once: re-runs supersede, duplicates count once
    flat.write_results_csv(counted, out)  # one row per counted run, timm's column names first
    sections = [_header(frame, results_dir), _verdict_section(counted, out)]
    if not frame.empty:
        histories = sections_mod.histories_by_run(records)
        for spec in specs.values():
            rows = counted[_tasks(counted) == spec.name]
            for preset in sections_mod.presets(rows):
                sections.append(sections_mod.task_section(spec, rows[rows["preset"] == preset], preset,
                                                          results_dir, out, published, histories))
        sections.append(_reference_section(counted, reference_dir, specs))
        sections.append(_unknown_tasks(frame, specs))
        sections.append(_status_section(frame))
    sections.append(_published_section(published, out, specs))
    (out / "README.md").write_text("\n".join(s for s in sections if s), encoding="utf-8")


def _reference_section(frame: pd.DataFrame, reference_dir: Optional[Path], specs) -> str:
    if reference_dir is None or not (Path(reference_dir) / "records").is_dir():
        return ""
    ref = count_once(tables.with_defaults(load_records(reference_dir)))
    parts = []
    for spec in specs.values():
        table = reference.compare(frame, ref, spec)
        if not table.empty:
            parts.append(f"### {spec.title}\n\n{tables.to_markdown(table)}")
    missing = _unmatched(frame, ref, specs)
    if not parts:
        return ("## Your runs beside the reference\n\nNone of your completed runs matches a reference run (same "
                "task, preset, recipe identity, dataset and model, and the same feature extractor, image and "
                f"other settings the task's tables split by) in `{reference_dir}`.{missing}\n")
    notes = reference.NOTES.format(reference=reference_dir)
    return "## Your runs beside the reference\n\n" + notes + "\n\n" + "\n".join(parts) + missing


UNMATCHED_SHOWN = 40  # lines of "what differs"; the rest are counted


def _unmatched(frame: pd.DataFrame, ref: pd.DataFrame, specs) -> str:
    """Your settings without a reference run, each with every field that differs from the nearest one."""
    lines = [line for spec in specs.values() for line in reference.unmatched(frame, ref, spec)]
    if not lines:
        return ""
    more = len(lines) - UNMATCHED_SHOWN
    shown = lines[:UNMATCHED_SHOWN] + ([f"... and {more} more"] if more > 0 else [])
    return ("\n\nNot matched (what differs from the nearest reference run):\n\n"
            + "\n".join(f"- {line}" for line in shown) + "\n")


def _tasks(frame: pd.DataFrame) -> pd.Series:
    """Each record's task (records name it; a suite's name is its task where a record does not)."""
    return frame["task"].fillna(frame["suite"]) if "task" in frame.columns else frame["suite"]


def _unknown_tasks(frame: pd.DataFrame, specs) -> str:
    """Records of a task no spec describes are named, never silently dropped."""
    tasks = _tasks(frame)
    unknown = sorted(set(tasks[~tasks.isin(specs.names())].astype(str)))
    if not unknown:
        return ""
    return ("## Records of unknown tasks\n\nThese records name a task this version of sase-bench has no spec for "
            f"(`{'`, `'.join(unknown)}`); update sase-bench to render them.\n")


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
    "Each claim is tested per setting (preset, dataset and recipe identity; for FID also the feature extractor), "
    "on models of matched size: ladder members at the same parameter budget, or default models whose params are "
    "within ±10% of each other. A claim \"with a smaller model\" pairs SASE at one ladder budget with the "
    "baseline at the next larger one, or two published architectures (`paper` preset) where SASE has at least "
    "10% fewer params; on single models sized by this benchmark (the `default` preset) it is `not testable`, "
    "because our sizing would decide it (under a short fixed recipe a larger model need not be better). Where no "
    "such pair ran, the verdict is `not testable`, with the reason: our sizing never decides a claim. One value "
    "per seed (the latest completed run of each seed).\n\n"
    "**What is computed.** Each tested claim gives two one-sided Welch t-tests (unequal variances, "
    "Welch-Satterthwaite df): its own (`superiority`: H1 A better than B; `non-inferiority`: H1 A − B > −margin, "
    "the margin shown, in the metric's units) and the opposite (H1 A worse than B; A − B < −margin). Both "
    "directions of every tested claim of a setting, 2m one-sided tests for m claims (`tests`; 2 more per "
    "guard, below), form one Holm "
    "family at family-wise alpha {alpha}, which holds whatever the dependence between the tests (they share the "
    "SASE arm). `p adj.`: the Holm-adjusted p-value of the claim's own test; `alpha step`: the level that test was "
    "compared with at its own Holm step, alpha / (tests − rank), with rank 0 for the smallest p-value: at the "
    "first step alpha / tests; without guards that is alpha / 2m, i.e. each direction is tested as one side of a "
    "two-sided test at alpha / m. `reproduced`: "
    "Holm rejects the claim's test (adjusted p ≤ alpha, Holm's own rule); `not reproduced`: Holm rejects the "
    "opposite test; `inconclusive`: neither, or fewer than {min_seeds} seeds on a side. `A - B [95% CI]`: the "
    "difference of the means (raw units) with Welch's two-sided 95% CI, per comparison (not adjusted for the "
    "family). `MDD`: the smallest true difference the seeds detect with power {power:g} by the claim's one-sided "
    "Welch test with estimated df (exact, by quadrature over the sample variances), at the first Holm step's "
    "alpha / tests, the observed stds taken as the true ones: a true difference that large is declared with "
    "probability at least {power:g} whatever the other tests of the family do. For `non-inferiority` rows the "
    "MDD is measured from −margin: the test rejects with power {power:g} when the true A − B ≥ −margin + MDD. "
    "`decided with`: a claim's guard, decided together with it (the structure claim with diversity, since "
    "copying the photo would win SSIM): the guard's non-inferiority test (A's diversity not below B's by more "
    "than the margin shown) and its opposite join the same Holm family; `reproduced` needs Holm to reject both "
    "the claim's test and the guard's, and Holm rejecting either opposite test makes it `not reproduced`. "
    "`not testable: still learning`: a counted run on either side has not passed its task's convergence test "
    "(see the learning curves and the `converged` column of each table); the detail names the run furthest from "
    "it, and a record written before the test existed counts as not converged: a claim about trained models is "
    "never decided on untrained ones; such rows take no part in Holm's family. A verdict on the `smoke`, "
    "`default` or `ladder` presets tests the claim on small 32 px models, not in the paper's ImageNet or 256 px "
    "setting."
)


#: Presets whose runs are trained to convergence to decide the claims: their verdicts lead the report.
DECIDING_PRESETS = ("decide", "decide-long")


def _verdict_section(frame: pd.DataFrame, out: Path) -> str:
    table = verdicts.compute_verdicts(frame)
    if not table.empty:  # the deciding presets' verdicts first, the demos' after; stable otherwise
        table = table.iloc[table["preset"].isin(DECIDING_PRESETS).map({True: 0, False: 1}).argsort(kind="stable")]
    table.to_csv(out / "verdicts.csv", index=False)
    title = "## Verdicts on the paper's claims\n\n"
    if table.empty:
        return title + "_No completed runs: every claim of the paper is inconclusive here._\n"
    untested = verdicts.one_sided(table)
    shown = _verdict_display(table[~untested])
    latex = shown.drop(columns=["models (A / B)", "detail"])
    (out / "verdicts.tex").write_text(tables.to_latex(latex, "Verdicts on the claims of the SASE paper"))
    notes = VERDICT_NOTES.format(alpha=verdicts.ALPHA, min_seeds=verdicts.MIN_SEEDS, power=verdicts.POWER)
    return (f"{title}{tables.to_markdown(shown)}\n{notes}\n{untested_list(table[untested])}\n"
            "Also as [CSV](verdicts.csv) (every claim, these too) and [LaTeX](verdicts.tex).\n")


def untested_list(table: pd.DataFrame) -> str:
    """The claims a setting cannot test because one side never ran there, one line per setting: not verdicts,
    so they stay out of the table (and of Holm's family) and only their reasons are listed."""
    if table.empty:
        return ""
    lines = ["Not tested in these settings, because one side has no run there (a preset that does not train "
             "that family, or no model of the size the claim needs):\n"]
    for where, rows in _by_setting(table, "`{}`"):
        lines.append(f"- {where}:")
        lines += [f"  - {r.claim}: {r.detail}" for r in rows.itertuples()]
    return "\n".join(lines) + "\n"


def _by_setting(table: pd.DataFrame, setting_format: str):
    """(``setting, budget b1m``, its rows) per setting and budget, in the table's order."""
    for (setting, budget), rows in table.groupby(["setting", table["budget"].fillna("-")], sort=False):
        yield setting_format.format(setting) + ("" if budget == "-" else f", budget {budget}"), rows


def verdict_summary(report: Path) -> List[str]:
    """The verdicts ``report/verdicts.csv`` holds, for the console: per setting, one line per claim with its
    verdict and seeds (A / B); deciding presets first, as in the report."""
    try:
        table = pd.read_csv(Path(report) / "verdicts.csv")
    except (FileNotFoundError, pd.errors.EmptyDataError):
        table = pd.DataFrame()
    if table.empty:
        return ["verdicts: none (no completed runs)"]
    untested = verdicts.one_sided(table)
    lines = [f"verdicts on the paper's claims ({int((~untested).sum())}; the tests behind them are in the report, "
             f"with the {int(untested.sum())} a setting cannot test for want of runs on one side):"]
    table = table[~untested]
    for where, rows in _by_setting(table, "{}"):
        lines.append(f"  {where}:")
        width = max(len(str(v)) for v in rows["verdict"])
        lines += [f"    {r.verdict:<{width}}  {r.claim}  (seeds {r.n_a} / {r.n_b})" for r in rows.itertuples()]
    return lines


def _verdict_display(table: pd.DataFrame) -> pd.DataFrame:
    def num(x: float) -> str:
        return "-" if x != x else f"{x:.4g}"

    setting = table["setting"]
    kind = table["kind"] + table["margin"].map(lambda m: f" (margin {m:g})" if m == m and m > 0 else "")
    return pd.DataFrame({
        "claim": table["claim"], "kind": kind, "setting": setting, "budget": table["budget"],
        "verdict": "**" + table["verdict"] + "**",
        "seeds (A / B)": table["n_a"].astype(str) + " / " + table["n_b"].astype(str),
        "mean A": table["mean_a"].map(num), "mean B": table["mean_b"].map(num),
        "A - B [95% CI]": [_diff_ci(d, lo, hi) for d, lo, hi in zip(table["diff"], table["diff_ci_low"],
                                                                     table["diff_ci_high"])],
        "p": table["p_value"].map(num), "p adj.": table["p_adjusted"].map(num),
        "tests": table["family_tests"].map(lambda m: "-" if m != m or not m else str(int(m))),
        "alpha step": table["alpha_step"].map(lambda x: "-" if x != x else f"{x:.2g}"), "MDD": table["mdd"].map(num),
        "decided with": [_guard_text(g, p) for g, p in zip(table["guard"], table["guard_p_adjusted"])],
        "models (A / B)": table["model_a"] + " / " + table["model_b"], "detail": table["detail"]})


def _guard_text(guard: object, p_adjusted: float) -> str:
    """A guarded claim's second condition beside it: ``diversity A - B ... needs not worse than -0.05, p adj. x``."""
    if not isinstance(guard, str):
        return "-"
    return guard + ("" if p_adjusted != p_adjusted else f"; p adj. {p_adjusted:.3g}")


def _diff_ci(diff: float, low: float, high: float) -> str:
    """``+0.43 [-0.52, +1.38]``: A - B and its Welch 95% CI; the difference alone with fewer than 2 seeds."""
    if diff != diff:
        return "-"
    return f"{diff:+.3g}" + ("" if low != low else f" [{low:+.3g}, {high:+.3g}]")


PUBLISHED_NOTES = (
    "From `results/paper/published.csv`, one row per (model, dataset, metric) with its source. A value marked "
    "`~` is approximate (second-hand listing or rounded), `?` unverified (restated, not confirmed in a source). "
    "SASE's own published numbers are unknown and are left out. PVT v1 and StyleGAN2 + DiffAugment are not in "
    "the suite (`model` -). top1: ImageNet-1k top-1 (%) at 224 px; params_m: millions; gmacs: multiply-adds "
    "per image (sources label them FLOPs); fid: FID at 256 px, Inception-v3 features, against the training set."
)


def _published_section(published, out: Path, specs) -> str:
    if published is None:
        return ""
    parts = ["## Published reference numbers\n", PUBLISHED_NOTES + "\n"]
    for spec in specs.values():
        table = paper.reference_table(published, spec.name)
        if not table.empty:
            links = tables.write_table(table, out, f"published_{spec.name}", f"Published numbers, {spec.name}")
            parts.append(f"### {spec.title}\n\n{tables.to_markdown(table)}\n{links}\n")
    return "\n".join(parts)


def _status_section(frame: pd.DataFrame) -> str:
    bad = tables.status_table(frame)
    if bad.empty:
        return ""
    return ("## Runs that did not complete\n\nThese are not results; they are listed so that nothing is "
            f"hidden.\n\n{tables.to_markdown(bad)}")
