"""Weight-free measures of how well samples keep a single image's structure.

``ssim_coarse``: the mean SSIM (Wang et al. 2004, scikit-image's
``structural_similarity``, 7x7 Gaussian-free uniform window, RGB channels averaged)
between the real image and each sample, both shrunk to the pyramid's coarsest size.
At that size only the global layout is left, so a sample that rearranges the scene
scores low and one that keeps it scores high.  It is ours (neither paper reports it)
and, like any fidelity-to-the-layout score, it rewards low diversity: read it beside
:func:`benchmark.metrics.diversity.pixel_diversity`.

``patch_swd``: the patch sliced Wasserstein distance of :mod:`benchmark.metrics.swd`
between the real image's patches and the samples' patches (x 1e3, mean over levels):
a weight-free counterpart of SIFID (patch statistics, no layout).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
from skimage.metrics import structural_similarity

from benchmark.data.single_image import resize
from benchmark.metrics.swd import sliced_wasserstein_distance


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().double().permute(1, 2, 0).numpy()


def ssim_coarse(real: torch.Tensor, samples: torch.Tensor, size: Tuple[int, int]) -> float:
    """Mean SSIM of ``samples`` [N, 3, H, W] to ``real`` [1, 3, H, W] (all in [-1, 1]) at ``size``."""
    r = _hwc(resize(real[:1].float(), size)[0])
    s = resize(samples.float(), size)
    win = min(7, min(size) - (1 - min(size) % 2))  # odd, at most the short side
    return float(np.mean([structural_similarity(r, _hwc(x), data_range=2.0, channel_axis=2, win_size=win)
                          for x in s]))


def patch_swd(real: torch.Tensor, samples: torch.Tensor, seed: int) -> float:
    """Patch SWD x 1e3 (mean over Laplacian levels) between one real image and the samples."""
    to01 = lambda x: x.float().clamp(-1, 1).add(1).div(2)  # noqa: E731
    g = torch.Generator().manual_seed(seed)
    return sliced_wasserstein_distance(to01(samples), to01(real[:1]), g).mean_x1e3
