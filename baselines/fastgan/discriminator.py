"""FastGAN's discriminator (Liu et al., ICLR 2021), our own implementation.

Two branches each end in a 5x5 map of logits:

* the full-resolution branch brings the image to at most 256 px (stride-2 convs
  above 256 px, one 3x3 conv otherwise), then halves it with residual down blocks
  down to 8 px.  SLEs rescale the maps at 32, 16 and 8 px with those at 256, 128
  and 64 px.  A head (1x1 conv, BN, LeakyReLU, 4x4 conv) makes the logits.
* the small branch reads the image at ``aux_size`` (128 px as published) and
  halves it down to 8 px; a 4x4 conv makes the logits.

For real images, three small decoders (adaptive pool to 8 px, up blocks, 3x3 conv,
tanh) reconstruct ``aux_size`` images from the 8 px map of each branch and from a
random quarter of the 16 px map.  The published training compares them with LPIPS
against the real image, resized, and the same quarter of it (:func:`crop_quarter`).

At 256 and 1024 px with ndf=64 this matches the published code
(``odegeasslbc/FastGAN-pytorch``, ``models.py``) parameter for parameter.  Channels
at r px are ``ndf * 64 / r`` in the full branch (head: ``16 ndf``), ``ndf * 32 / r``
in the small branch, and ``ndf / 2`` times {16: 4, 32: 2, 64: 2, 128: 1} in the
decoders.

What is ours:

* The decoders' width scales with ``ndf`` (the published code fixes it at 32, which
  is ``ndf / 2`` for the published ndf=64); sizes below 256 px follow the same rules.
* The logits come back as one (B, 2, 5, 5) tensor (full branch, small branch)
  rather than a flat concatenation; hinge losses take the mean over it either way.
* The quarter to reconstruct is an argument, or drawn from a ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.fastgan.generator import check_img_size, default_aux_size
from baselines.fastgan.layers import (
    ResidualDownBlock,
    SkipLayerExcitation,
    batch_norm2d,
    down_block,
    sn_conv2d,
    up_block,
)

__all__ = ["FastGANDiscriminator", "Reconstructions", "crop_quarter"]

_MAX_BRANCH_SIZE = 256
_SLE_TARGETS = (32, 16, 8)  # each rescaled by the map 8x larger
_DECODER_MULTIPLIER = {16: 4, 32: 2, 64: 2, 128: 1}


class Reconstructions(NamedTuple):
    """The decoders' outputs for real images, each (B, nc, aux_size, aux_size)."""

    whole: torch.Tensor
    small: torch.Tensor
    part: torch.Tensor
    quarter: int  # 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right


def crop_quarter(x: torch.Tensor, quarter: int) -> torch.Tensor:
    """The quarter of ``x`` (B, C, H, W) that ``Reconstructions.part`` reconstructs."""
    if quarter not in range(4):
        raise ValueError(f"quarter must be 0, 1, 2 or 3, got {quarter}")
    h, w = x.shape[2] // 2, x.shape[3] // 2
    top, left = (quarter // 2) * h, (quarter % 2) * w
    return x[:, :, top:top + h, left:left + w]


def _decoder(c_in: int, out_size: int, nc: int, base: int) -> nn.Sequential:
    sizes = [r for r in _DECODER_MULTIPLIER if r <= out_size]
    ch = {8: c_in} | {r: max(1, int(_DECODER_MULTIPLIER[r] * base)) for r in sizes}
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(8),
        *[up_block(ch[r // 2], ch[r]) for r in sizes],
        sn_conv2d(ch[out_size], nc, 3, padding=1),
        nn.Tanh(),
    )


class FastGANDiscriminator(nn.Module):
    """Images -> logits (B, 2, 5, 5); with ``reconstruct=True`` also :class:`Reconstructions`.

    Args:
        img_size: resolution of the full-size images (one of the generator's sizes).
        ndf: width multiplier (64 in the paper).
        nc: image channels.
        aux_size: resolution of the small branch and the reconstructions
            (default 128, or ``img_size // 2`` below 256 px; at least 16).
    """

    def __init__(self, img_size: int = 256, ndf: int = 64, nc: int = 3, aux_size: int | None = None):
        super().__init__()
        check_img_size(img_size)
        self.img_size = img_size
        self.aux_size = aux_size or default_aux_size(img_size)
        if not 16 <= self.aux_size <= 128:
            raise ValueError(f"aux_size={self.aux_size} must lie between 16 and 128")

        def big(r: int) -> int:
            return max(1, ndf * 64 // r)

        def small(r: int) -> int:
            return max(1, ndf * 32 // r)

        top = min(img_size, _MAX_BRANCH_SIZE)
        if img_size <= _MAX_BRANCH_SIZE:
            stem: list[nn.Module] = [sn_conv2d(nc, big(top), 3, padding=1), nn.LeakyReLU(0.2)]
        else:
            stem = [sn_conv2d(nc, big(img_size // 2), 4, 2, 1), nn.LeakyReLU(0.2)]
            stem += [m for r in _halvings(img_size // 2, top) for m in down_block(big(2 * r), big(r))]
        self.stem = nn.Sequential(*stem)  # (B, big(top), top, top)
        self.downs = nn.ModuleDict({str(r): ResidualDownBlock(big(2 * r), big(r)) for r in _halvings(top, 8)})
        self.sles = nn.ModuleDict({
            str(r): SkipLayerExcitation(big(8 * r), big(r)) for r in _SLE_TARGETS if 8 * r <= top
        })
        self.head = nn.Sequential(
            sn_conv2d(big(8), big(4), 1), batch_norm2d(big(4)), nn.LeakyReLU(0.2), sn_conv2d(big(4), 1, 4),
        )

        a = self.aux_size
        self.small_branch = nn.Sequential(
            sn_conv2d(nc, small(a // 2), 4, 2, 1), nn.LeakyReLU(0.2),
            *[down_block(small(2 * r), small(r)) for r in _halvings(a // 2, 8)],
        )  # (B, small(8), 8, 8)
        self.small_head = sn_conv2d(small(8), 1, 4)

        base = max(1, ndf // 2)
        self.decode_whole = _decoder(big(8), a, nc, base)
        self.decode_small = _decoder(small(8), a, nc, base)
        self.decode_part = _decoder(big(16), a, nc, base)

    def image_pair(self, images: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch, or the generator's [full, aux] pair -> (full-size, aux-size) images.

        A single batch is resized with nearest interpolation, as in the published code.
        """
        if isinstance(images, torch.Tensor):
            full = images if images.shape[-1] == self.img_size else F.interpolate(images, size=self.img_size)
            return full, F.interpolate(images, size=self.aux_size)
        full, aux = images
        return full, aux

    def forward(self, images: torch.Tensor | Sequence[torch.Tensor], reconstruct: bool = False,
                quarter: int | None = None, generator: torch.Generator | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, Reconstructions]:
        """Logits (B, 2, 5, 5); with ``reconstruct``, also the decoders' images.

        ``quarter`` picks the quarter to reconstruct; if None it is drawn uniformly
        with ``generator`` (torch's global generator if that is None too).
        """
        full, aux = self.image_pair(images)
        x = self.stem(full)
        feats = {x.shape[-1]: x}
        for name, down in self.downs.items():
            x = down(x)  # (B, big(r), r, r)
            if name in self.sles:
                x = self.sles[name](feats[8 * int(name)], x)
            feats[int(name)] = x
        s = self.small_branch(aux)  # (B, small(8), 8, 8)
        logits = torch.cat([self.head(x), self.small_head(s)], dim=1)  # (B, 2, 5, 5)
        if not reconstruct:
            return logits
        if quarter is None:
            quarter = int(torch.randint(4, (1,), generator=generator))
        part = crop_quarter(feats[16], quarter)  # (B, big(16), 8, 8)
        return logits, Reconstructions(self.decode_whole(x), self.decode_small(s), self.decode_part(part), quarter)


def _halvings(start: int, stop: int) -> list[int]:
    """Resolutions reached by halving ``start`` down to ``stop``: (256, 8) -> [128, 64, 32, 16, 8]."""
    sizes = []
    while start > stop:
        start //= 2
        sizes.append(start)
    return sizes
