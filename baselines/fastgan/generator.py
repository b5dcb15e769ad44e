"""FastGAN's generator (Liu et al., ICLR 2021), our own implementation.

From z (B, nz) a 4x4 transposed conv, BN and GLU make a 4 px map; up blocks then
double the resolution up to ``img_size``.  The blocks at 8, 32, 128 and 512 px are
the heavier ones (two convs and noise injection).  Skip excitations rescale the
map at resolution R with the map at R / ``skip_ratio``.  Channels per resolution
are ``ngf`` times {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 1/2, 512: 1/4,
1024: 1/8}.  The generator returns two images: the full-size one and an auxiliary
one at ``aux_size``.

At 256 and 1024 px with the published settings (ngf=64, nz=256) this matches the
published code (``odegeasslbc/FastGAN-pytorch``, ``models.py``) parameter for
parameter: skips 4->64, 8->128, 16->256 (and 32->512 above 256 px), the auxiliary
image at 128 px, tanh on the outputs only at 1024 px.

What is ours:

* The skip excitation is an argument: ``excitation(c_in, c_out, src_size, dst_size)``
  returns a module called as ``module(x_small, x_big)``.  FastGAN's SLE is the
  default; SASE-GAN passes its own (see :mod:`sase.gan`).
* Sizes below 128 px (the published code stops at 256), for CPU runs: the skip
  ratio becomes ``img_size // 8`` (so two skips, from 4 and 8 px, into the top two
  resolutions) and the auxiliary image is half-size.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn

from baselines.fastgan.layers import (
    SkipLayerExcitation,
    batch_norm2d,
    sn_conv2d,
    sn_conv_transpose2d,
    up_block,
)

__all__ = ["ExcitationFactory", "FastGANGenerator", "generator_channels", "sle_excitation", "skip_pairs"]

SUPPORTED_SIZES = (32, 64, 128, 256, 512, 1024)
_CHANNEL_MULTIPLIER = {4: 16, 8: 8, 16: 4, 32: 2, 64: 2, 128: 1, 256: 0.5, 512: 0.25, 1024: 0.125}
_NOISY_BLOCKS = (8, 32, 128, 512)
_LAST_SKIP = 512

ExcitationFactory = Callable[[int, int, int, int], nn.Module]


def check_img_size(img_size: int) -> None:
    if img_size not in SUPPORTED_SIZES:
        raise ValueError(f"img_size={img_size} is not supported; choose one of {SUPPORTED_SIZES}")


def generator_channels(size: int, ngf: int) -> int:
    """Channels of the generator's feature map at ``size`` px."""
    return max(1, int(_CHANNEL_MULTIPLIER[size] * ngf))


def default_skip_ratio(img_size: int) -> int:
    return min(16, img_size // 8)


def default_aux_size(img_size: int) -> int:
    return min(128, img_size // 2)


def skip_pairs(img_size: int, skip_ratio: int | None = None) -> list[tuple[int, int]]:
    """(source, target) resolutions of the skip excitations, e.g. 256 -> [(4, 64), (8, 128), (16, 256)]."""
    ratio = skip_ratio or default_skip_ratio(img_size)
    targets = [r for r in _CHANNEL_MULTIPLIER if 4 * ratio <= r <= min(img_size, _LAST_SKIP)]
    return [(r // ratio, r) for r in targets]


def sle_excitation(c_in: int, c_out: int, src_size: int, dst_size: int) -> nn.Module:
    """The default excitation factory: FastGAN's SLE at every skip."""
    return SkipLayerExcitation(c_in, c_out)


class FastGANGenerator(nn.Module):
    """z (B, nz) -> [image (B, nc, S, S), aux image (B, nc, A, A)], S = ``img_size``.

    Args:
        img_size: output resolution, one of ``SUPPORTED_SIZES``.
        ngf: width multiplier (64 in the paper).
        nz: latent size (256 in the paper's training script).
        nc: image channels (3 for RGB, 1 for grey).
        excitation: factory for the skip excitations (default: SLE everywhere).
        skip_ratio: resolution ratio of each skip (default 16, or ``img_size // 8`` below 128 px).
        aux_size: size of the second output (default 128, or ``img_size // 2`` below 256 px).
        tanh: squash outputs with tanh (default: only at 1024 px, as published).
    """

    def __init__(self, img_size: int = 256, ngf: int = 64, nz: int = 256, nc: int = 3,
                 excitation: ExcitationFactory = sle_excitation, skip_ratio: int | None = None,
                 aux_size: int | None = None, tanh: bool | None = None):
        super().__init__()
        check_img_size(img_size)
        self.img_size, self.nz = img_size, nz
        self.aux_size = aux_size or default_aux_size(img_size)
        if not 8 <= self.aux_size <= img_size:
            raise ValueError(f"aux_size={self.aux_size} must lie between 8 and img_size={img_size}")
        self.tanh = img_size == 1024 if tanh is None else tanh
        ch = {r: generator_channels(r, ngf) for r in _CHANNEL_MULTIPLIER if r <= img_size}

        self.init = nn.Sequential(
            sn_conv_transpose2d(nz, 2 * ch[4], 4), batch_norm2d(2 * ch[4]), nn.GLU(dim=1),
        )
        self.ups = nn.ModuleDict({
            str(r): up_block(ch[r // 2], ch[r], with_noise=r in _NOISY_BLOCKS) for r in ch if r > 4
        })
        self.skip_sources = dict((dst, src) for src, dst in skip_pairs(img_size, skip_ratio))
        self.skips = nn.ModuleDict({
            str(dst): excitation(ch[src], ch[dst], src, dst) for dst, src in self.skip_sources.items()
        })
        self.to_aux = sn_conv2d(ch[self.aux_size], nc, 1)
        self.to_img = sn_conv2d(ch[img_size], nc, 3, padding=1)

    def forward(self, z: torch.Tensor) -> list[torch.Tensor]:
        feats = {4: self.init(z.view(z.shape[0], -1, 1, 1))}  # (B, ch[4], 4, 4)
        x = feats[4]
        for name, up in self.ups.items():
            r = int(name)
            x = up(x)  # (B, ch[r], r, r)
            if r in self.skip_sources:
                x = self.skips[name](feats[self.skip_sources[r]], x)
            feats[r] = x
        img, aux = self.to_img(x), self.to_aux(feats[self.aux_size])
        if self.tanh:
            img, aux = torch.tanh(img), torch.tanh(aux)
        return [img, aux]
