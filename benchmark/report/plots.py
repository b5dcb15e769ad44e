"""Matplotlib figures from summary frames (Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

FAMILY_COLORS = {"ResNet": "#1f77b4", "SE-ResNet": "#2ca02c", "Swin": "#ff7f0e", "PVT": "#9467bd",
                 "SASE-ResNet": "#d62728"}


def _color(family: str) -> str:
    return FAMILY_COLORS.get(family, "#7f7f7f")


def pareto_front(xs, ys):
    """Indices of points not dominated (lower x, higher y is better), sorted by x."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i]))
    front, best = [], float("-inf")
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


def scatter_vs(summary: pd.DataFrame, x: str, xlabel: str, title: str, path: Path, scale: float = 1.0) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    xs = (summary[f"{x}_mean"] / scale).tolist()
    ys = summary["top1_mean"].tolist()
    for i, (xi, yi, (_, r)) in enumerate(zip(xs, ys, summary.iterrows())):
        err = r["top1_std"] if r["n"] > 1 else None
        ax.errorbar(xi, yi, yerr=err, fmt="o", ms=8, color=_color(r["family"]), capsize=3,
                    label=r["family"])
        # alternate label sides so that neighbours (e.g. ResNet and SE-ResNet) stay readable
        ax.annotate(r["model"], (xi, yi), textcoords="offset points", xytext=(6, 5 if i % 2 == 0 else -12),
                    fontsize=8)
    front = pareto_front(xs, ys)
    if len(front) > 1:
        ax.plot([xs[i] for i in front], [ys[i] for i in front], "--", color="grey", lw=1, label="Pareto front")
    _dedupe_legend(ax)
    ax.margins(x=0.18, y=0.12)  # room for the labels
    ax.set(xlabel=xlabel, ylabel="top-1 accuracy (%)", title=title)
    ax.grid(alpha=0.3)
    return _save(fig, path)


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
    colors = {"FastGAN": "#1f77b4", "SASE-GAN": "#d62728"}
    for (model, family, seed), points in sorted(histories.items()):
        xs, ys = zip(*points) if points else ((), ())
        ax.plot(xs, ys, "o-", ms=3, color=colors.get(family, None), label=f"{model} (seed {seed})")
    ax.set(xlabel="training iteration", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
