"""SinGAN's image pyramid: how many scales, and each scale's height and width.

Source: Rott Shaham, Dekel & Michaeli, "SinGAN" (ICCV 2019), and the facts of the
published code, GitHub ``tamarott/SinGAN`` (``SinGAN/functions.py``,
``adjust_scales2image`` and ``creat_reals_pyramid``; ``SinGAN/imresize.py``).
Our own implementation of the same arithmetic:

* the image is first shrunk (never enlarged) so that its long side is at most
  ``max_size``: factor ``scale1 = min(max_size / max(h, w), 1)``;
* the number of scales is counted on the *original* image with the nominal factor
  (0.75): ``ceil(log_{0.75}(min_size / min(h, w))) + 1`` minus the scales that the
  ``max_size`` cap removes, ``ceil(log_{0.75}(min(max_size, L) / L))`` with ``L`` the
  long side;
* the factor is then re-fitted so that the coarsest scale's short side is exactly
  ``min_size``: ``(min_size / min(h1, w1)) ** (1 / stop_scale)``;
* scale ``n`` (0 = coarsest) is the resized image times ``factor ** (stop_scale - n)``.

Every output size is ``ceil(input size * factor)``, as MATLAB-style ``imresize`` (and
SinGAN's port of it) computes it, in float64 exactly as the published code does, so
its rounding quirks are reproduced too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

import torch
import torch.nn.functional as F

__all__ = ["PyramidGeometry", "pyramid_geometry", "resized_size", "quantize_8bit", "upsample_previous", "UPSAMPLE_MODES"]


@dataclass(frozen=True)
class PyramidGeometry:
    """Scale sizes of one image, coarsest first; ``sizes[-1]`` is the training image's size."""

    orig_size: Tuple[int, int]  # (h, w) of the image file
    sizes: Tuple[Tuple[int, int], ...]  # (h, w) per scale, coarsest first
    scale_factor: float  # the re-fitted factor between neighbouring scales (about 0.75)
    scale1: float  # the first shrink, original -> finest scale

    @property
    def num_scales(self) -> int:
        return len(self.sizes)


def resized_size(h: int, w: int, factor: float) -> Tuple[int, int]:
    """``imresize``'s output size: ``ceil(size * factor)`` per side (sides unchanged at factor 1)."""
    if factor == 1.0:
        return h, w
    return math.ceil(h * factor), math.ceil(w * factor)


def pyramid_geometry(h: int, w: int, max_size: int = 250, min_size: int = 25,
                     scale_factor: float = 0.75) -> PyramidGeometry:
    """The pyramid SinGAN trains on for an ``h`` x ``w`` image (defaults: the published ones)."""
    if min(h, w) < min_size:
        raise ValueError(f"image {h}x{w} is smaller than min_size={min_size} on its short side")
    if max_size < min_size:
        raise ValueError(f"max_size={max_size} must be at least min_size={min_size}")
    long_side, short_side = max(h, w), min(h, w)
    num_scales = math.ceil(math.log(min_size / short_side, scale_factor)) + 1
    scale2stop = math.ceil(math.log(min(max_size, long_side) / long_side, scale_factor))
    stop_scale = num_scales - scale2stop
    scale1 = min(max_size / long_side, 1)
    h1, w1 = resized_size(h, w, scale1)
    if stop_scale < 1:  # the image is already at (or under) min_size: a one-scale pyramid
        return PyramidGeometry((h, w), ((h1, w1),), 1.0, scale1)
    factor = math.pow(min_size / min(h1, w1), 1 / stop_scale)
    sizes = tuple(resized_size(h1, w1, math.pow(factor, stop_scale - n)) for n in range(stop_scale + 1))
    return PyramidGeometry((h, w), sizes, factor, scale1)


def resize(x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic resize of [B, C, H, W] to ``size`` (no-op at the same size)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True)


def quantize_8bit(x: torch.Tensor) -> torch.Tensor:
    """What the reference resize does to an image before resizing it: clamp to [-1, 1], map to [0, 255] and
    truncate to 8 bits (``astype(uint8)`` floors non-negative values), then back to [-1, 1]."""
    levels = torch.floor((x.clamp(-1, 1) + 1) / 2 * 255)
    return levels / 255 * 2 - 1


UPSAMPLE_MODES = ("factor-crop", "exact")


def upsample_previous(x: torch.Tensor, size: Tuple[int, int], factor: float, mode: str = "factor-crop",
                      quantize: bool = True) -> torch.Tensor:
    """A coarser scale's output [B, C, h, w] made into the next scale's previous image of ``size``.

    ``mode="factor-crop"`` follows the reference code (``draw_concat``): resize by ``1 / factor`` (each side
    ``ceil(side / factor)``) and keep the top-left ``size``; ``"exact"`` resizes straight to ``size``.
    ``quantize`` clamps and 8-bit quantises first (:func:`quantize_8bit`) and clamps the result to [-1, 1], as
    the reference's ``imresize`` (uint8 in, ``norm`` out) does; without it the values pass unclamped."""
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"unknown upsample mode {mode!r}; choose one of {UPSAMPLE_MODES}")
    if quantize:
        x = quantize_8bit(x)
    if mode == "factor-crop" and factor < 1.0:
        up = resized_size(*x.shape[-2:], 1.0 / factor)
        up = (max(up[0], size[0]), max(up[1], size[1]))  # never short of the target (float rounding)
        x = resize(x, up)[..., :size[0], :size[1]]
    else:
        x = resize(x, size)
    return x.clamp(-1, 1) if quantize else x


def real_pyramid(image: torch.Tensor, geometry: PyramidGeometry) -> List[torch.Tensor]:
    """The real image at every scale, coarsest first, each resized from the finest one."""
    return [resize(image, size).clamp(-1, 1) for size in geometry.sizes]
