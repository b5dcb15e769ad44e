"""One task's part of the report, driven by its spec: a table per setting, notes, published numbers, plots.

A setting is one preset and one combination of the spec's ``split_by`` fields (dataset, recipe identity,
FID feature extractor, ...): values measured under different data, recipes or features never share a
column.  Nothing here knows a suite by name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Dict, List, Mapping, Optional

import pandas as pd

from benchmark.report import plots, tables, verdicts
from benchmark.report import published as paper

PRESET_ORDER = ("paper", "paper1024", "default", "ladder", "ablation", "smoke")


def presets(frame: pd.DataFrame) -> List[str]:
    found = list(dict.fromkeys(frame["preset"].dropna()))
    return sorted(found, key=lambda p: PRESET_ORDER.index(p) if p in PRESET_ORDER else len(PRESET_ORDER))


#: What a reader must know about a preset before reading its numbers.
PRESET_NOTES = {
    "default": "\n**A demo, not trained to convergence**: short schedules sized for minutes on a laptop. Its models "
               "are still learning when they stop, so a claim tested on them reads *not testable: still learning*; "
               "the `decide` preset trains the same comparison to its plateau.\n",
    "smoke": "\n**Proves the wiring only**: a few steps on a tiny subset; the numbers mean nothing.\n",
}


def task_section(spec, frame: pd.DataFrame, preset: str, results_dir: Path, out: Path,
                 published: Optional[pd.DataFrame], histories: Mapping[str, list]) -> str:
    """The markdown of ``spec``'s runs at ``preset``: one table (with its files and plots) per setting."""
    head = f"## {spec.title}, preset `{tables.cell(preset)}`\n" + PRESET_NOTES.get(preset, "")
    done = tables.completed(frame)
    if done.empty:
        return head + "\n_no completed runs_\n"
    keys = [k for k in spec.split_by if k in done.columns]
    done = done.assign(**{k: done[k].fillna("-").astype(str) for k in keys})
    parts = [head]
    groups = done.groupby(keys, sort=False) if keys else [((), done)]
    for values, group in groups:
        split = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        parts.append(_setting(spec, group, preset, split, results_dir, out, published, histories, len(keys) > 0))
    return "\n".join(parts)


def _setting(spec, group, preset, split, results_dir, out, published, histories, titled) -> str:
    metrics = [c.field for c in spec.columns] + ["wall_s"] + paper.summary_fields(spec)
    summary = tables.summarize(group, metrics, _group_keys(spec, group))
    table = tables.spec_table(summary, spec.columns, spec.convergence is not None)
    label = ", ".join(tables.cell(v) for v in split.values())
    stem = file_stem([spec.name, preset, *split.values()])
    links = tables.write_table(table, out, stem, f"{spec.title}, preset {preset}, {label}")
    caveat = spec.caveat(split) if spec.caveat else ""
    notes = fill_notes(spec.notes, group) + converged_note(spec)
    runs = {(m, f, s): histories.get(rid, []) for m, f, s, rid in
            zip(group["model"], group["family"], group["seed"], group["run_id"])}
    section = plots.Section(spec, group, summary, runs, results_dir, out, stem, f"{preset}, {label}")
    plots.use_palette(spec.palette)
    drawn = [line for name in spec.plots for line in plots.SECTION_PLOTS[name](section)]
    title = f"### {label}\n\n" if titled else ""
    return (f"{title}{_bold(caveat)}{_per_budget(table, summary)}\n{notes}\n\n{links}\n\n"
            f"{published_block(spec, summary, published, stem, out, group)}\n" + "\n\n".join(drawn) + "\n")


def converged_note(spec) -> str:
    if spec.convergence is None:
        return ""
    return (f" `converged`: seeds whose run passed the task's convergence test ({spec.convergence.description}); "
            "`-`: the records predate the test. Verdicts count only converged runs. Learning curves: the mean "
            "over seeds (line) and ± 1 std (band).")


def _per_budget(table: pd.DataFrame, summary: pd.DataFrame) -> str:
    """One markdown table, or one per parameter budget when the rows are ladder members."""
    budgets = summary["budget"].fillna("-").astype(str) if "budget" in summary.columns else None
    if budgets is None or set(budgets) == {"-"}:
        return tables.to_markdown(table)
    parts = []
    for budget in sorted(set(budgets), key=lambda b: (verdicts.budget_params(b), b)):
        rows = table[(budgets == budget).to_numpy()]
        parts.append(f"#### budget `{budget}`\n\n{tables.to_markdown(rows.reset_index(drop=True))}")
    return "\n".join(parts)


def _group_keys(spec, group: pd.DataFrame) -> List[str]:
    keys = ["suite", "preset", *spec.split_by, "model", "family", "budget", *spec.identity]
    return [k for k in dict.fromkeys(keys) if k in group.columns]


def _bold(text: str) -> str:
    return f"**{text}**\n\n" if text else ""


def fill_notes(notes: str, group: pd.DataFrame) -> str:
    """``notes`` with each ``{field}`` replaced by the distinct values of that field in ``group``."""
    def values(match: re.Match) -> str:
        col = match.group(1)
        if col not in group.columns:
            return "-"
        found = [_fmt(v) for v in dict.fromkeys(group[col].dropna())]
        return ", ".join(found) or "-"
    return re.sub(r"\{(\w+)\}", values, notes)


def _fmt(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def published_block(spec, summary: pd.DataFrame, published: Optional[pd.DataFrame], stem: str, out: Path,
                    runs: Optional[pd.DataFrame] = None) -> str:
    """Reproduced beside published where setting and recipe match; else one sentence saying why not, and
    each published number of the setting refused for its recipe with the difference."""
    if published is None or summary.empty or spec.published is None:
        return ""
    comparison = paper.compare(summary, published, spec, runs)
    refused = paper.refusals(summary, published, spec, runs)
    listed = "".join(f"- {tables.cell(line)}\n" for line in refused)
    why = ("\n**Not compared** (a published number stands only beside runs of the same kind of recipe: "
           f"optimiser family, epochs, resolution, classes):\n\n{listed}" if refused else "")
    if comparison.empty:
        reason = spec.not_comparable(summary.iloc[0].to_dict())
        return (f"**Published numbers** are not set beside these runs: {reason} They are listed in "
                f"[Published reference numbers](#published-reference-numbers).\n{why}")
    links = tables.write_table(comparison, out, f"{stem}_vs_published", f"{stem}: reproduced vs published")
    return ("**Reproduced vs published** (difference = reproduced - published; `compared`: our field, the last "
            "epoch's `top1` or the best epoch's `top1_best` as the source reports; `verified`: see "
            f"`results/paper/published.csv`):\n\n{tables.to_markdown(comparison)}\n{links}\n{why}")


MAX_STEM = 150  # bytes; the longest suffix added is ~30, file names may be 255


def file_stem(parts: List[object]) -> str:
    """The files of a table and its plots: each part slugged (a preset named ``a/b`` or holding a newline is
    a name, never a path), a long result cut with a hash of the whole so that it stays unique."""
    stem = "_".join(_slug(p) for p in parts)
    if len(stem) <= MAX_STEM:
        return stem
    return f"{stem[:MAX_STEM - 11]}-{hashlib.sha256(stem.encode()).hexdigest()[:10]}"


def _slug(text: object) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in str(text)).strip("-").lower()


def histories_by_run(records: List[Dict]) -> Dict[str, list]:
    return {r["run_id"]: r.get("history") or [] for r in records if isinstance(r.get("history"), list)}
