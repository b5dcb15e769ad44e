"""Sample grids that say what they show: the model, the seed and the point of training, above the images.

A grid copied out of a run folder (or into a paper draft) otherwise carries no trace of where it came from.
The images keep their pixels: each one becomes a whole block of output pixels (nearest neighbour), so the
picture shows exactly what the generator produced.  Written atomically, mode 0644, like every file the
harness writes.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from benchmark.atomic import atomic_save

MIN_WIDTH_PX = 480  # small grids are zoomed to at least this width, so a two-line title fits
LINE_PX = 16  # height of one title line at FONT_PT and DPI
FONT_PT = 9
DPI = 100


def save_labelled_grid(images: torch.Tensor, path: Path, title: str, nrow: int = 8, padding: int = 2) -> Path:
    """Images [N, 1 or 3, H, W] (uint8, or float in [0, 1]) as one PNG grid with ``title`` (lines split by
    ``\\n``) above it."""
    x = images.detach().cpu()
    x = x.float().div(255) if x.dtype == torch.uint8 else x.float().clamp(0, 1)
    grid = make_grid(x, nrow=nrow, padding=padding, pad_value=1.0)  # [3, H, W], white between images
    h, w = grid.shape[-2:]
    zoom = max(1, math.ceil(MIN_WIDTH_PX / w))
    body, head = h * zoom, (LINE_PX * (title.count("\n") + 1) + 8 if title else 0)
    fig = Figure(figsize=(w * zoom / DPI, (body + head) / DPI), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, body / (body + head)))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        _put_title(fig, title, 1.0 - 4 / (body + head), w * zoom)
    return atomic_save(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png", facecolor="white"))


def _put_title(fig: Figure, title: str, top: float, width_px: int) -> None:
    """``title`` centred at ``top`` (figure fraction); a title wider than the figure shrinks rather than clips."""
    text = fig.text(0.5, top, title, ha="center", va="top", fontsize=FONT_PT, linespacing=1.2)
    renderer = FigureCanvasAgg(fig).get_renderer()
    for _ in range(4):  # glyph widths are rounded to pixels at small sizes: measure again after shrinking
        drawn = text.get_window_extent(renderer=renderer).width
        if drawn <= 0.96 * width_px:
            return
        text.set_fontsize(text.get_fontsize() * 0.94 * width_px / drawn)
