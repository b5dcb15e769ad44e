"""SinGAN's diversity measure (Rott Shaham, Dekel & Michaeli, ICCV 2019, section 4).

"The standard deviation of the intensity values of each pixel over the generated
images, averaged over all pixels, and normalised by the standard deviation of the
intensity values of the training image."  Intensity is read as luma (ITU-R BT.601);
both standard deviations are population ones (ddof 0).  0 means every sample is the
same image; about 1 means samples vary per pixel as much as the image varies over its
pixels.  The paper uses 100 samples; the value depends on that count only weakly.
"""

from __future__ import annotations

import torch

_LUMA = (0.299, 0.587, 0.114)


def luma(x: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] -> [N, H, W] (grey images pass through)."""
    if x.shape[1] == 1:
        return x[:, 0]
    return (x.float() * x.new_tensor(_LUMA, dtype=torch.float32).view(1, 3, 1, 1)).sum(dim=1)


def pixel_diversity(samples: torch.Tensor, real: torch.Tensor) -> float:
    """Mean per-pixel std of ``samples`` [N, C, H, W] over N, divided by the std of ``real`` [1, C, H, W]."""
    if len(samples) < 2:
        raise ValueError("diversity needs at least 2 samples")
    per_pixel = luma(samples).std(dim=0, unbiased=False).mean()
    return float(per_pixel / luma(real).std(unbiased=False).clamp_min(1e-8))
