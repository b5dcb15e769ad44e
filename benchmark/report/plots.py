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
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

CYCLE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f")
_palette: Dict[str, str] = {}
#: One marker per seed (by its rank among the plot's seeds), so that seeds of one model are told apart.
SEED_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
TITLE_WIDTH = 64  # characters per title line: long titles wrap instead of running off the figure
CI_NOTE = "error bars: 95% CI of the mean over seeds (t)"


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
    """Quality against a cost, one point per model (error bar: the t-based 95% CI of the mean over seeds, as
    the legend says), a line through each family's points when it has several (a size ladder), and the Pareto
    front.  Single models are named beside their point, each label placed where it overlaps no other label,
    point or error bar (:func:`place_labels`); the legend sits outside the axes."""
    fig, ax = plt.subplots(figsize=(8.4, 4.8), dpi=120)
    data = summary.assign(_x=summary[f"{x}_mean"] / scale, _y=summary[f"{y}_mean"]).sort_values("_x")
    ladder = data.groupby("family")["model"].transform("count") > 1
    for family, rows in data[ladder].groupby("family", sort=False):
        ax.plot(rows["_x"], rows["_y"], "-", color=_color(family), lw=1.2, alpha=0.8)
    errors = []
    for _, r in data.iterrows():
        err = _error(r, y)
        errors.append(err)
        ax.errorbar(r["_x"], r["_y"], yerr=err, fmt="o", ms=7, color=_color(r["family"]), capsize=3,
                    label=r["family"])
    xs, ys = data["_x"].tolist(), data["_y"].tolist()
    front = pareto_front(xs, ys)
    if len(front) > 1:
        ax.plot([xs[i] for i in front], [ys[i] for i in front], "--", color="grey", lw=1, label="Pareto front")
    if ladder.any():
        ax.set_xscale("log")
    has_ci = any(e is not None for e in errors)
    _dedupe_legend(ax, title=CI_NOTE.replace(" of the mean", "\nof the mean") if has_ci else
                   "one seed per model:\nno error bars", outside=True)
    ax.margins(x=0.18, y=0.12)  # room for the labels
    ax.set(xlabel=xlabel, ylabel=ylabel)
    _title(ax, title)
    ax.grid(alpha=0.3)
    fig.tight_layout()  # the layout first: labels are placed in the final display coordinates
    single = [i for i, (_, r) in enumerate(data.iterrows()) if not ladder.loc[r.name]]  # ladders: colour, line
    place_labels(ax, xs, ys, [str(m) for m in data["model"]], errors, only=single)
    return _save(fig, path, layout=False)


def _error(r: pd.Series, y: str):
    """The error bar's half-length: the 95% CI half-width over seeds (None with one seed)."""
    ci = r.get(f"{y}_ci95")
    if ci is not None and ci == ci:
        return ci
    return None


#: Label positions tried around a point, nearest first: (dx, dy) in points.
_RINGS = (7, 14, 24, 36, 52)
_DIRECTIONS = ((1, 0.4), (1, -0.9), (-1, 0.4), (-1, -0.9), (0, 1), (0, -1.3), (1, 1), (-1, 1), (1, -1.6), (-1, -1.6))


def place_labels(ax, xs, ys, names, errors=None, only=None, fontsize: float = 8) -> List:
    """Name the points ``(xs[i], ys[i])`` (indices ``only``, default all) without overlaps: each label takes the
    nearest of a ring of positions whose box overlaps no label placed before, no marker and no error bar, and
    stays inside the axes; where none is free, the least-overlapping one.  Labels away from their point get a
    thin leader line.  Call after the layout is final (``fig.tight_layout()``).  Returns the annotations."""
    import numpy as np

    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
    frame = ax.get_window_extent(renderer)
    pad = 4.5 * fig.dpi / 72  # a marker's half-size (ms 7) in pixels
    taken = [Bbox.from_extents(px - pad, py - pad, px + pad, py + pad) for px, py in pts]
    for (px, _py), x, y, err in zip(pts, xs, ys, errors or [None] * len(xs)):
        if err is not None and err == err:
            lo, hi = ax.transData.transform([(x, y - err), (x, y + err)])[:, 1]
            taken.append(Bbox.from_extents(px - pad, min(lo, hi), px + pad, max(lo, hi)))
    out = []
    for i in sorted(only if only is not None else range(len(xs)), key=lambda k: (pts[k][0], -pts[k][1])):
        best = None
        for ring in _RINGS:
            for ux, uy in _DIRECTIONS:
                dx, dy = ux * ring, uy * ring
                ann = ax.annotate(names[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points",
                                  fontsize=fontsize, ha="left" if dx > 0 else "right" if dx < 0 else "center",
                                  va="bottom" if dy > 0 else "top" if dy < 0 else "center")
                box = ann.get_window_extent(renderer).expanded(1.04, 1.2)
                cost = sum(_overlap(box, t) for t in taken) + _outside(box, frame) * 4
                ann.remove()
                if best is None or cost < best[0]:
                    best = (cost, dx, dy, box)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, dx, dy, box = best
        far = (dx * dx + dy * dy) ** 0.5 > _RINGS[0] * 1.6
        out.append(ax.annotate(names[i], (xs[i], ys[i]), xytext=(dx, dy), textcoords="offset points",
                               fontsize=fontsize, ha="left" if dx > 0 else "right" if dx < 0 else "center",
                               va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                               arrowprops=dict(arrowstyle="-", color="grey", lw=0.6, shrinkA=1, shrinkB=4)
                               if far else None))
        taken.append(box)
    return out


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _outside(box: Bbox, frame: Bbox) -> float:
    """The area of ``box`` outside ``frame``."""
    return box.width * box.height - _overlap(box, frame)


def _title(ax, title: str, fontsize: float = 10) -> None:
    """A title that wraps instead of running off the figure (the figure is cut at its edge)."""
    ax.set_title(textwrap.fill(title, TITLE_WIDTH, break_on_hyphens=False), fontsize=fontsize)


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
    ax.set(ylabel="images / s")
    _title(ax, title)
    ax.legend(title="light: train, dark: inference", fontsize=8, title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _dedupe_legend(ax, title: str = None, outside: bool = False) -> None:
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels):
        seen.setdefault(lab, h)
    where = dict(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0) if outside else dict(loc="best")
    ax.legend(seen.values(), seen.keys(), fontsize=8, title=title, title_fontsize=7, **where)


def _save(fig, path: Path, layout: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def metric_curves(histories: dict, metric: str, ylabel: str, title: str, path: Path) -> Path:
    """One line per run: ``histories[(model, family, seed)] = [(iteration, value), ...]``; colour by family,
    line style by model within its family, marker by seed (:data:`SEED_MARKERS`)."""
    fig, ax = plt.subplots(figsize=(6.8, 4.2), dpi=120)
    markers = _seed_markers(seed for _, _, seed in histories)
    styles = _model_styles((model, family) for model, family, _ in histories)
    for (model, family, seed), points in sorted(histories.items(), key=lambda kv: str(kv[0])):
        xs, ys = zip(*points) if points else ((), ())
        ax.plot(xs, ys, styles[(model, family)], marker=markers[seed], ms=4, color=_color(family),
                label=f"{model} (seed {seed})")
    ax.set(xlabel="training iteration", ylabel=ylabel)
    _title(ax, title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def _seed_markers(seeds) -> Dict[object, str]:
    """seed -> marker, by the seed's rank among the plot's seeds."""
    ordered = sorted(set(seeds), key=lambda s: (str(type(s)), s))
    return {s: SEED_MARKERS[k % len(SEED_MARKERS)] for k, s in enumerate(ordered)}


def _model_styles(pairs) -> Dict[tuple, str]:
    """(model, family) -> line style: the models of one family get -, --, : and -. in name order."""
    out, count = {}, {}
    for model, family in sorted(set(pairs), key=str):
        out[(model, family)] = ("-", "--", ":", "-.")[count.get(family, 0) % 4]
        count[family] = count.get(family, 0) + 1
    return out


def _over_seeds(n: int) -> str:
    """The legend's count: one seed is that seed's curve, not a mean."""
    return "1 seed" if n == 1 else f"mean of {n} seeds"


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


def learning_curves(curves: Mapping[tuple, List[list]], xlabel: str, ylabel: str, title: str, path: Path,
                    seeds: Mapping[tuple, list] = None) -> Path:
    """One line per model (``curves[(model, family)]`` = one list of (x, y) per seed): the mean over seeds,
    with a band of ± 1 std; colour by family, line style by model within a family; log y over a wide range.
    Each seed's own curve is drawn thin beneath, with the seed's marker (``seeds[(model, family)]`` lists the
    seeds in the order of the runs; default 0, 1, ...), and the legend says which marker is which seed."""
    fig, ax = plt.subplots(figsize=(8.4, 4.6), dpi=120)
    seeds = {k: list((seeds or {}).get(k) or range(len(runs))) for k, runs in curves.items()}
    markers = _seed_markers(s for ks in seeds.values() for s in ks)
    styles = _model_styles(curves)
    ys_all = []
    for (model, family), runs in sorted(curves.items(), key=lambda kv: str(kv[0])):
        xs, mean, std = _mean_std(runs)
        color, style = _color(family), styles[(model, family)]
        for seed, points in zip(seeds[(model, family)], runs):
            if len(runs) > 1 and points:
                px, py = zip(*sorted(points))
                ax.plot(px, py, style, marker=markers[seed], ms=3.5, lw=0.6, color=color, alpha=0.45,
                        mfc="none")
        ax.plot(xs, mean, style, lw=1.8, color=color, label=f"{model} ({_over_seeds(len(runs))})")
        ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                        color=color, alpha=0.12, lw=0)
        ys_all += mean
    if ys_all and min(ys_all) > 0 and max(ys_all) / min(ys_all) > 20:
        ax.set_yscale("log")
    if all(float(x).is_integer() for runs in curves.values() for points in runs for x, _ in points):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel=xlabel, ylabel=ylabel)
    _title(ax, title)
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if any(len(r) > 1 for r in curves.values()):
        for seed, marker in markers.items():
            handles.append(Line2D([], [], color="grey", marker=marker, mfc="none", lw=0.6, ms=4))
            labels.append(f"seed {seed}")
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
              title="thick: mean, band: ± 1 std\nthin: each seed", title_fontsize=7)
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


#: Record fields naming the feature extractor of the metrics whose labels mention them.
EXTRACTOR_FIELDS = {"FID": "feature_extractor", "KID": "feature_extractor", "SIFID": "sifid_extractor"}


def _with_extractor(sec: Section, label: str) -> str:
    """``label`` with the extractor its values were computed in, on further lines (``FID`` -> ``FID (in
    fmnist-cnn-059bff30 features, substitute, not Inception)``): two extractors' values are not comparable."""
    words = set(label.replace("(", " ").replace(")", " ").split())
    field = next((f for metric, f in EXTRACTOR_FIELDS.items() if metric in words), None)
    if field is None or field not in sec.rows.columns:
        return label
    names = sorted({str(v) for v in sec.rows[field].dropna()})
    if not names:
        return label
    kind = "" if all(n.startswith("inception") for n in names) else ",\nsubstitute, not Inception"
    return f"{label}\n(in {', '.join(names)} features{kind})"


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
    path = metric_curves(points, q, _with_extractor(sec, _quality_label(sec)),
                         f"{_quality_label(sec)} over training iterations", sec.out / f"{sec.stem}_{q}_curve.png")
    return [f"![{_quality_label(sec)} over iterations]({path.name})"]


def _learning_curve(sec: Section) -> List[str]:
    test = sec.spec.convergence
    if test is None:
        return []
    curves: Dict[tuple, list] = {}
    seeds: Dict[tuple, list] = {}
    for (model, family, seed), history in sorted(sec.histories.items(), key=lambda kv: str(kv[0])):
        points = test.points(history)
        if points:
            curves.setdefault((model, family), []).append(points)
            seeds.setdefault((model, family), []).append(seed)
    if not curves:
        return []
    path = learning_curves(curves, test.x_label, _with_extractor(sec, test.y_label), f"Learning curves ({sec.title})",
                           sec.out / f"{sec.stem}_learning_curve.png", seeds)
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
