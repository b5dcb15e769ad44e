"""DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN
Training", NeurIPS 2020), the ``color`` and ``translation`` policies FastGAN trains with.

Our own implementation of the published operations:

* ``color``: per image, brightness ``x + (u - 0.5)``, then saturation
  ``mean_c + (x - mean_c) * 2u``, then contrast ``mean + (x - mean) * (u + 0.5)``,
  with a fresh u ~ U(0, 1) for each (``mean_c`` over channels, ``mean`` over the image).
* ``translation``: per image, an integer shift in [-t, t] along each axis,
  t = round(size / 8) (halves up), with zeros filling the vacated pixels.

All of it is differentiable with respect to ``x``.  What is ours: the random numbers
come from an optional ``torch.Generator`` and are drawn on that generator's device
(then moved to ``x``'s), so a seeded generator gives the same augmentation on any device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["POLICIES", "diff_augment"]

POLICIES = ("color", "translation")
_TRANSLATION_RATIO = 0.125


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One U(0, 1) draw per image, shaped (B, 1, 1, 1) to broadcast over x."""
    device = generator.device if generator is not None else x.device
    u = torch.rand(x.shape[0], 1, 1, 1, generator=generator, device=device)
    return u.to(device=x.device, dtype=x.dtype)


def _color(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    x = x + (_uniform(x, generator) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = mean_c + (x - mean_c) * (2 * _uniform(x, generator))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * (_uniform(x, generator) + 0.5)


def _shift_axis(x: torch.Tensor, shifts: torch.Tensor, dim: int) -> torch.Tensor:
    """out[b, ..., i, ...] = x[b, ..., i + shifts[b], ...] along ``dim`` (2 or 3); zeros outside."""
    n, pad = x.shape[dim], int(shifts.abs().max())
    padding = [0, 0, pad, pad] if dim == 2 else [pad, pad]
    padded = F.pad(x, padding)
    index = torch.arange(n, device=x.device).view(1, n) + shifts.view(-1, 1) + pad  # (B, n)
    view = (x.shape[0], 1, n, 1) if dim == 2 else (x.shape[0], 1, 1, n)
    size = list(padded.shape)
    size[dim] = n
    return padded.gather(dim, index.view(view).expand(size))


def _translation(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    device = generator.device if generator is not None else x.device
    for dim in (2, 3):
        t = int(x.shape[dim] * _TRANSLATION_RATIO + 0.5)
        shifts = torch.randint(-t, t + 1, (x.shape[0],), generator=generator, device=device)
        x = _shift_axis(x, shifts.to(x.device), dim)
    return x


_OPS = {"color": _color, "translation": _translation}


def diff_augment(x: torch.Tensor, policy: Sequence[str] = POLICIES,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Augment a batch (B, C, H, W) with the named policies, in order.

    Raises ValueError for a policy name not in ``POLICIES``.
    """
    if isinstance(policy, str):
        raise ValueError(f"policy must be a sequence of names such as {POLICIES}, not the string {policy!r}")
    unknown = [p for p in policy if p not in _OPS]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown}; choose from {POLICIES}")
    for name in policy:
        x = _OPS[name](x, generator)
    return x.contiguous()
