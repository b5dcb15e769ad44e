"""Pictures of a trained SinGAN pyramid: a sample grid and a real-vs-generated pyramid strip.

Both are written atomically (:func:`benchmark.atomic.atomic_save`: temp file in the same folder, then
``os.replace``, mode 0644), so a killed run never leaves half a PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from matplotlib.figure import Figure

from benchmark.atomic import atomic_save
from benchmark.train.grids import save_labelled_grid


def _atomic_png(path: Path, write) -> Path:
    return atomic_save(path, write)  # mode 0644 like every file the harness writes (mkstemp's 0600 hid them)


def save_sample_grid(samples: torch.Tensor, path: Path, nrow: int = 4, title: str = "") -> Path:
    """Samples [N, 3, H, W] in [-1, 1] as one PNG grid, ``title`` above it."""
    return save_labelled_grid(samples.add(1).div(2), path, title, nrow=nrow)


def _show(ax, img: torch.Tensor) -> None:
    ax.imshow(img[0].add(1).div(2).clamp(0, 1).permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def save_pyramid_picture(reals: Sequence[torch.Tensor], generated: Sequence[torch.Tensor], path: Path,
                         title: str = "") -> Path:
    """Two rows, one column per scale (coarsest left): the real image, then one random sample's output."""
    n = len(reals)
    fig = Figure(figsize=(1.8 * n, 4.0))
    axes = fig.subplots(2, n, squeeze=False)
    for k in range(n):
        _show(axes[0][k], reals[k].cpu())
        _show(axes[1][k], generated[k].cpu())
        axes[0][k].set_title(f"scale {k}\n{reals[k].shape[-2]}x{reals[k].shape[-1]}", fontsize=8)
    axes[0][0].set_ylabel("real", fontsize=9)
    axes[1][0].set_ylabel("generated", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _atomic_png(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
