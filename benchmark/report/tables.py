"""Summary tables from the records frame: aggregation over seeds, and markdown/CSV/LaTeX output.

Pure functions over ``pandas`` frames; nothing here measures anything.
"""

from __future__ import annotations

import math
import re
from typing import Dict, List, Sequence

import pandas as pd
from scipy import stats

GROUP = ["suite", "preset", "dataset", "model", "family", "device", "precision"]


def with_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    """Fields older records lack, filled from what they have: ``task`` from ``suite``, ``recipe_id``
    from ``recipe`` (a record written before recipe identities existed ran its named recipe)."""
    fills = {"task": "suite", "recipe_id": "recipe"}
    for col, source in fills.items():
        if source in frame.columns:
            frame = frame.assign(**{col: frame[col].fillna(frame[source]) if col in frame.columns else frame[source]})
    return frame


def completed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "completed"]


def summarize(frame: pd.DataFrame, metrics: Sequence[str], group: Sequence[str] = GROUP) -> pd.DataFrame:
    """Mean, std and n over seeds of each metric, per model (completed runs only).

    One run per seed: the latest completed run of each seed of a row (the runs a verdict counts,
    :func:`benchmark.report.verdicts.counted`), so ``n`` is the number of distinct seeds, never of records
    (an old record without a run key beside a keyed re-run of its seed counts once)."""
    done = completed(frame)
    keys = [g for g in dict.fromkeys(group) if g in done.columns]
    if done.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    done = done.assign(**{k: done[k].fillna("-") for k in keys})
    if "seed" in done.columns:
        if "finished_at" in done.columns:
            done = done.sort_values("finished_at", na_position="first", kind="stable")
        done = done.drop_duplicates([*keys, "seed"], keep="last").sort_index()
    agg: Dict[str, tuple] = {"n": ("seed", "count")}
    if "converged" in done.columns:  # benchmark.convergence: runs that passed / runs that carry the test
        done = done.assign(_converged=done["converged"].eq(True), _judged=done["converged"].notna())
        agg.update(converged_n=("_converged", "sum"), judged_n=("_judged", "sum"))
    for m in metrics:
        if m in done.columns:
            col = pd.to_numeric(done[m], errors="coerce")
            done = done.assign(**{m: col})
            agg[f"{m}_mean"] = (m, "mean")
            agg[f"{m}_std"] = (m, "std")
    out = done.groupby(keys, sort=False).agg(**agg).reset_index()
    for m in metrics:
        if f"{m}_std" in out.columns:
            out[f"{m}_ci95"] = [ci95_halfwidth(s, n) for s, n in zip(out[f"{m}_std"], out["n"])]
    return out


def ci95_halfwidth(std: float, n: int) -> float:
    """Half-width of the t-based 95% confidence interval of a mean: t(0.975, n-1) * std / sqrt(n); NaN if n < 2."""
    if not n or n < 2 or std != std:
        return math.nan
    return float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))


def ci_text(mean: float, std: float, n: int, digits: int) -> str:
    """``[low, high]``: the 95% confidence interval of the mean over seeds, or ``-`` with fewer than 2 seeds."""
    half = ci95_halfwidth(std, n)
    if half != half or mean != mean:
        return "-"
    return f"[{mean - half:.{digits}f}, {mean + half:.{digits}f}]"


def mean_std(mean: float, std: float, n: int, digits: int) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    if n and n > 1 and std == std:
        return f"{mean:.{digits}f} ± {std:.{digits}f}"
    return f"{mean:.{digits}f}"


def spec_table(summary: pd.DataFrame, columns: Sequence, judged: bool = True) -> pd.DataFrame:
    """The display table of one task: one row per model, the task's columns (units in the headers),
    mean ± std over seeds where a column shows spread, and a 95% CI column where it asks for one.
    ``judged``: the task declares a convergence test (a ``converged`` column, ``k/n`` seeds, ``-`` for none)."""
    rows: List[Dict[str, object]] = []
    for _, r in summary.iterrows():
        n = int(r["n"])
        row: Dict[str, object] = {"model": r["model"], "family": r.get("family", "-"), "seeds": n}
        if judged:  # the task has a convergence test; "-": no run of the row carries its figure
            row["converged"] = converged_text(r)
        for c in columns:
            mean, std = r.get(f"{c.field}_mean"), r.get(f"{c.field}_std")
            mean = mean * c.scale if mean is not None and mean == mean else math.nan
            std = std * c.scale if std is not None and std == std else math.nan
            row[c.label] = mean_std(mean, std, n, c.digits) if c.spread else mean_std(mean, math.nan, 1, c.digits)
            if c.ci:
                row[f"{c.label.split(' (')[0]} 95% CI"] = ci_text(mean, std, n, c.digits)
        row["device"] = f"{r.get('device', '-')} ({r.get('precision', '-')})"
        rows.append(row)
    return pd.DataFrame(rows)


def converged_text(r) -> str:
    """``k/n``: how many of the row's n seeds passed the convergence test; ``-`` when none carries it."""
    judged = r.get("judged_n")
    if judged is None or judged != judged or not judged:
        return "-"
    return f"{int(r['converged_n'])}/{int(r['n'])}"


def write_table(table: pd.DataFrame, out, stem: str, caption: str) -> str:
    """Write ``table`` as ``stem.csv`` and ``stem.tex`` under ``out``; returns the markdown links to both."""
    table.to_csv(out / f"{stem}.csv", index=False)
    (out / f"{stem}.tex").write_text(to_latex(table, caption))
    return f"Also as [CSV]({stem}.csv) and [LaTeX]({stem}.tex)."


def to_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no completed runs_\n"
    cols = list(table.columns)
    lines = ["| " + " | ".join(map(cell, cols)) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(cell(row[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def cell(value: object) -> str:
    """Text safe inside a markdown table cell: a ``|`` is escaped, a line break becomes a space."""
    return " ".join(str(value).replace("|", "\\|").splitlines())


LATEX_ESCAPES = {"_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "~": r"\textasciitilde{}", ">=": r"$\geq$",
                 ">": "$>$", "<": "$<$", "±": r"$\pm$", "**": ""}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in sorted(LATEX_ESCAPES, key=len, reverse=True)))


def esc(text: object) -> str:
    """Text made safe for a LaTeX table cell (markdown bold dropped)."""
    return _LATEX_RE.sub(lambda m: LATEX_ESCAPES[m.group()], str(text))


def to_latex(table: pd.DataFrame, caption: str) -> str:
    """A booktabs table (no LaTeX packages beyond booktabs)."""
    cols = list(table.columns)
    lines = [r"\begin{table}[t]", r"\centering", rf"\caption{{{esc(caption)}}}",
             r"\begin{tabular}{" + "l" * 2 + "r" * (len(cols) - 2) + "}", r"\toprule",
             " & ".join(esc(c) for c in cols) + r" \\", r"\midrule"]
    lines += [" & ".join(esc(row[c]) for c in cols) + r" \\" for _, row in table.iterrows()]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def status_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs that did not complete: shown as such, never as results."""
    bad = frame[frame["status"] != "completed"]
    cols = ["model", "preset", "seed", "status", "error", "run_id"]
    bad = bad.assign(error=bad["error"].fillna("").astype(str).str.split("\n").str[0].str.slice(0, 120))
    return bad[cols].reset_index(drop=True)
