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
RECOGNITION_METRICS = ["top1", "top5", "params", "gmacs", "train_img_per_s", "infer_img_per_s", "wall_s"]


def completed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "completed"]


def summarize(frame: pd.DataFrame, metrics: Sequence[str], group: Sequence[str] = GROUP) -> pd.DataFrame:
    """Mean, std and n over seeds of each metric, per model (completed runs only)."""
    done = completed(frame)
    keys = [g for g in group if g in done.columns]
    if done.empty:
        return pd.DataFrame(columns=[*keys, "n"])
    done = done.assign(**{k: done[k].fillna("-") for k in keys})
    agg: Dict[str, tuple] = {"n": ("seed", "count")}
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


def recognition_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The display table: one row per model, units in the headers, mean ± std and 95% CI over seeds."""
    rows: List[Dict[str, str]] = []
    for _, r in summary.iterrows():
        n = int(r["n"])
        rows.append({
            "model": r["model"], "family": r["family"], "preset": r["preset"], "seeds": n,
            "params (M)": f"{r['params_mean'] / 1e6:.2f}",
            "GMACs": f"{r['gmacs_mean']:.4f}" if r["gmacs_mean"] < 0.1 else f"{r['gmacs_mean']:.2f}",
            "train img/s": mean_std(r["train_img_per_s_mean"], r["train_img_per_s_std"], n, 0),
            "infer img/s": mean_std(r["infer_img_per_s_mean"], r["infer_img_per_s_std"], n, 0),
            "device": f"{r['device']} ({r['precision']})",
            "top-1 (%)": mean_std(r["top1_mean"], r["top1_std"], n, 2),
            "top-1 95% CI": ci_text(r["top1_mean"], r["top1_std"], n, 2),
            "top-5 (%)": mean_std(r["top5_mean"], r["top5_std"], n, 2),
        })
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "_no completed runs_\n"
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(str(row[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


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


SYNTHESIS_METRICS = ["fid", "kid", "swd", "params_g", "params_d", "gmacs_g", "infer_img_per_s", "wall_s"]
SYNTHESIS_GROUP = ["suite", "preset", "dataset", "feature_extractor", "fid_samples", "model", "family",
                   "device", "precision"]


def synthesis_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per model; FID/KID are from one feature extractor (the caller groups by it)."""
    rows: List[Dict[str, str]] = []
    for _, r in summary.iterrows():
        n = int(r["n"])
        rows.append({
            "model": r["model"], "seeds": n,
            "params G (M)": f"{r['params_g_mean'] / 1e6:.3f}", "params D (M)": f"{r['params_d_mean'] / 1e6:.3f}",
            "GMACs G": f"{r['gmacs_g_mean']:.4f}",
            "G img/s": mean_std(r["infer_img_per_s_mean"], r["infer_img_per_s_std"], n, 0),
            "FID": mean_std(r["fid_mean"], r["fid_std"], n, 2),
            "FID 95% CI": ci_text(r["fid_mean"], r["fid_std"], n, 2),
            "KID (x1e3)": mean_std(r["kid_mean"] * 1e3, r["kid_std"] * 1e3, n, 2),
            "SWD (x1e3)": mean_std(r["swd_mean"], r["swd_std"], n, 2),
            "device": f"{r['device']} ({r['precision']})",
        })
    return pd.DataFrame(rows)
