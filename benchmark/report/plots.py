"""Matplotlib figures from summary frames (Agg backend, PNG files), and the report's section plots.

A task spec names its plots (``TaskSpec.plots``); :data:`SECTION_PLOTS` maps each name to a function of
a :class:`Section` that draws it and returns the markdown lines that show it.  Colours come from the
spec's palette (family -> colour), falling back to a fixed cycle for families it does not name.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

CYCLE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")
_palette: Dict[str, str] = {}


def _color(family: str) -> str:
    if family not in _palette:
        _palette[family] = CYCLE[len(_palette) % len(CYCLE)]
    return _palette[family]


def use_palette(palette: Mapping[str, str]) -> None:
    """Colours for the families of the section about to be drawn (a spec's palette)."""
    _palette.clear()
    _palette.update(palette)


def pareto_front(xs, ys):
    """Indices of points not dominated (lower x, higher y is better), sorted by x."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i]))
    front, best = [], float("-inf")
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


def scatter_vs(summary: pd.DataFrame, x: str, xlabel: str, title: str, path: Path, scale: float = 1.0,
               y: str = "top1", ylabel: str = "top-1 accuracy (%)") -> Path:
    """Quality against a cost, one point per model (error bar: 95% CI over seeds, else the std), a line
    through each family's points when it has several (a size ladder), and the Pareto front."""
    fig, ax = plt.subplots(figsize=(6.8, 4.6), dpi=120)
    data = summary.assign(_x=summary[f"{x}_mean"] / scale, _y=summary[f"{y}_mean"]).sort_values("_x")
    ladder = data.groupby("family")["model"].transform("count") > 1
    for family, rows in data[ladder].groupby("family", sort=False):
        ax.plot(rows["_x"], rows["_y"], "-", color=_color(family), lw=1.2, alpha=0.8)
    for i, (_, r) in enumerate(data.iterrows()):
        err = _error(r, y)
        ax.errorbar(r["_x"], r["_y"], yerr=err, fmt="o", ms=7, color=_color(r["family"]), capsize=3,
                    label=r["family"])
        if not ladder.loc[r.name]:  # ladders are told apart by colour and line, singles by name
            ax.annotate(r["model"], (r["_x"], r["_y"]), textcoords="offset points",
                        xytext=(6, 5 if i % 2 == 0 else -12), fontsize=8)
    xs, ys = data["_x"].tolist(), data["_y"].tolist()
    front = pareto_front(xs, ys)
    if len(front) > 1:
        ax.plot([xs[i] for i in front], [ys[i] for i in front], "--", color="grey", lw=1, label="Pareto front")
    if ladder.any():
        ax.set_xscale("log")
    _dedupe_legend(ax)
    ax.margins(x=0.18, y=0.12)  # room for the labels
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _error(r: pd.Series, y: str):
    ci = r.get(f"{y}_ci95")
    if ci is not None and ci == ci:
        return ci
    std = r.get(f"{y}_std")
    return std if r["n"] > 1 and std == std else None


def throughput_bars(summary: pd.DataFrame, title: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    names = summary["model"].tolist()
    pos = range(len(names))
    width = 0.38
    ax.bar([p - width / 2 for p in pos], summary["train_img_per_s_mean"], width, label="train",
           color=[_color(f) for f in summary["family"]], alpha=0.55)
    ax.bar([p + width / 2 for p in pos], summary["infer_img_per_s_mean"], width, label="inference",
           color=[_color(f) for f in summary["family"]])
    ax.set_xticks(list(pos), names, rotation=20, ha="right", fontsize=8)
    ax.set(ylabel="images / s", title=title)
    ax.legend(title="light: train, dark: inference", fontsize=8, title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _dedupe_legend(ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    ax.legend(seen.values(), seen.keys(), fontsize=8, loc="best")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def metric_curves(histories: dict, metric: str, ylabel: str, title: str, path: Path) -> Path:
    """One line per model: ``histories[model] = [(iteration, value), ...]`` (one seed each, or several)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for (model, family, seed), points in sorted(histories.items()):
        xs, ys = zip(*points) if points else ((), ())
        ax.plot(xs, ys, "o-", ms=3, color=_color(family), label=f"{model} (seed {seed})")
    ax.set(xlabel="training iteration", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def _mean_std(runs: List[list]) -> tuple:
    """x, mean and std over runs at each x any run has (std 0 where one run has that x)."""
    by_x: Dict[float, list] = {}
    for points in runs:
        for x, y in points:
            by_x.setdefault(x, []).append(y)
    xs = sorted(by_x)
    means = [sum(by_x[x]) / len(by_x[x]) for x in xs]
    stds = [pd.Series(by_x[x]).std(ddof=1) if len(by_x[x]) > 1 else 0.0 for x in xs]
    return xs, means, stds


def learning_curves(curves: Mapping[tuple, List[list]], xlabel: str, ylabel: str, title: str, path: Path) -> Path:
    """One line per model (``curves[(model, family)]`` = one list of (x, y) per seed): the mean over seeds,
    with a band of ± 1 std; colour by family, line style by model within a family; log y over a wide range."""
    fig, ax = plt.subplots(figsize=(6.8, 4.4), dpi=120)
    styles: Dict[str, int] = {}
    ys_all = []
    for (model, family), runs in sorted(curves.items(), key=lambda kv: str(kv[0])):
        xs, mean, std = _mean_std(runs)
        style = ("-", "--", ":", "-.")[styles.setdefault(family, 0) % 4]
        styles[family] += 1
        ax.plot(xs, mean, style, marker="o", ms=3, lw=1.5, color=_color(family), label=f"{model} ({len(runs)} seeds)")
        ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                        color=_color(family), alpha=0.15, lw=0)
        ys_all += mean
    if ys_all and min(ys_all) > 0 and max(ys_all) / min(ys_all) > 20:
        ax.set_yscale("log")
    if all(float(x).is_integer() for runs in curves.values() for points in runs for x, _ in points):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(textwrap.fill(title, 72), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


@dataclass(frozen=True)
class Section:
    """One report table's rows and where its plots go: what a section plot needs, and nothing more."""

    spec: object  # the TaskSpec
    rows: pd.DataFrame  # completed runs of the table
    summary: pd.DataFrame  # tables.summarize output, one row per model
    histories: Mapping[tuple, list]  # (model, family, seed) -> the run's history (list of dicts)
    results_dir: Path
    out: Path
    stem: str
    title: str


def _quality_label(sec: Section) -> str:
    col = sec.spec.column(sec.spec.quality)
    return col.label if col else sec.spec.quality


def _quality_vs(x: str, xlabel: str, scale: float) -> Callable[[Section], List[str]]:
    def draw(sec: Section) -> List[str]:
        q = sec.spec.quality
        if f"{x}_mean" not in sec.summary.columns or f"{q}_mean" not in sec.summary.columns:
            return []
        path = sec.out / f"{sec.stem}_{q}_vs_{x}.png"
        scatter_vs(sec.summary, x, xlabel, f"{_quality_label(sec)} vs {x} ({sec.title})", path, scale, q,
                   _quality_label(sec))
        return [f"![{path.stem}]({path.name})"]
    return draw


def _throughput(sec: Section) -> List[str]:
    if "train_img_per_s_mean" not in sec.summary.columns:
        return []
    devices = ", ".join(sorted({f"{d}, {p}" for d, p in zip(sec.summary["device"], sec.summary["precision"])}))
    path = throughput_bars(sec.summary, f"Throughput per model ({devices})", sec.out / f"{sec.stem}_throughput.png")
    return [f"![{path.stem}]({path.name})"]


def _curve(sec: Section) -> List[str]:
    q = sec.spec.quality
    points = {k: [(h["iteration"], h[q]) for h in hist if q in h and "iteration" in h]
              for k, hist in sec.histories.items()}
    points = {k: v for k, v in points.items() if v}
    if not points:
        return []
    path = metric_curves(points, q, _quality_label(sec), f"{_quality_label(sec)} over training iterations",
                         sec.out / f"{sec.stem}_{q}_curve.png")
    return [f"![{_quality_label(sec)} over iterations]({path.name})"]


def _learning_curve(sec: Section) -> List[str]:
    test = sec.spec.convergence
    if test is None:
        return []
    curves: Dict[tuple, list] = {}
    for (model, family, _seed), history in sec.histories.items():
        points = test.points(history)
        if points:
            curves.setdefault((model, family), []).append(points)
    if not curves:
        return []
    path = learning_curves(curves, test.x_label, test.y_label, f"Learning curves ({sec.title})",
                           sec.out / f"{sec.stem}_learning_curve.png")
    return [f"![learning curves: mean over seeds, band ± 1 std]({path.name})"]


def _sample_grids(sec: Section) -> List[str]:
    lines = []
    for _, r in sec.rows.sort_values("model").drop_duplicates("model", keep="last").iterrows():
        for key, what in (("sample_grid", "latest samples"), ("pyramid_picture", "pyramid (real vs generated per scale)")):
            png = r.get(key)
            if isinstance(png, str) and (sec.results_dir / png).exists():
                lines.append(f"**{r['model']}** (seed {r['seed']}), {what}:\n\n![{r['model']} {what}](../{png})")
    return lines


SECTION_PLOTS: Dict[str, Callable[[Section], List[str]]] = {
    "quality_vs_gmacs": _quality_vs("gmacs", "GMACs per image (fvcore multiply-adds, attention counted)", 1.0),
    "quality_vs_params": _quality_vs("params", "parameters (millions)", 1e6),
    "throughput": _throughput,
    "curve": _curve,
    "learning_curve": _learning_curve,
    "sample_grids": _sample_grids,
}
