"""SASE-GAN: FastGAN with SASE in place of its higher skip-layer excitations.

Source: Shen & Wu (arXiv 2112.14804) and the authors' FastGAN fork, GitHub
``Torment123/SLIM_code`` (``FastGAN-SLIM-256`` and ``FastGAN-SLIM-1024``, ``models.py``).
Placement as in that code: the 4->64 SLE stays; at 256 px SASE replaces the 8->128
(512 -> 64 channels) and 16->256 (256 -> 32) SLEs with G=4, r=16, d=2; at 1024 px
it also replaces the 32->512 SLE (128 -> 16, d=4), and all three SASE modules add
learned-scale noise to their mask logits.  The discriminator is FastGAN's, unchanged.
With ngf=64 and nz=256 the generator matches the authors' parameter for parameter
(28,486,942 at 256 px, 28,503,687 at 1024 px).

What is ours: the generator is FastGAN's (:class:`baselines.fastgan.FastGANGenerator`)
given a different excitation factory, not a copied class.  The rule "SASE on every
skip whose source is at least 8 px" also defines the small CPU variants (at 32 and
64 px: SLE 4->16 or 4->32, SASE 8->32 or 8->64).
"""

from __future__ import annotations

import torch.nn as nn

from baselines.fastgan import FastGANDiscriminator, FastGANGenerator
from baselines.fastgan.layers import SkipLayerExcitation
from sase.synthesis import SASEExcite

__all__ = ["build_sase_gan", "sase_excitation"]

SASE_FROM_SIZE = 8


def sase_excitation(groups: int = 4, reduction: int = 16, mask_noise: bool = False):
    """An excitation factory for :class:`FastGANGenerator`: SASE from 8 px sources up, SLE below.

    Dilation is 2 for sources under 32 px and 4 from 32 px, as in the authors' 1024 px model.
    """

    def make(c_in: int, c_out: int, src_size: int, dst_size: int) -> nn.Module:
        if src_size < SASE_FROM_SIZE:
            return SkipLayerExcitation(c_in, c_out)
        return SASEExcite(c_in, c_out, groups=groups, reduction=reduction,
                          dilation=4 if src_size >= 32 else 2, mask_noise=mask_noise)

    return make


def build_sase_gan(img_size: int, ngf: int = 64, ndf: int = 64, nz: int = 256, nc: int = 3,
                   groups: int = 4, reduction: int = 16,
                   mask_noise: bool | None = None,
                   tanh: bool | None = None) -> tuple[FastGANGenerator, FastGANDiscriminator]:
    """SASE-GAN's generator and FastGAN's discriminator for ``img_size`` px images.

    ``mask_noise`` defaults to the authors' choice: on at 1024 px, off below.  ``tanh`` too (None: only at
    1024 px; the authors' 256 px script has a ``--with_tanh`` switch, on for Panda).
    """
    noise = img_size == 1024 if mask_noise is None else mask_noise
    excitation = sase_excitation(groups=groups, reduction=reduction, mask_noise=noise)
    return (FastGANGenerator(img_size, ngf=ngf, nz=nz, nc=nc, excitation=excitation, tanh=tanh),
            FastGANDiscriminator(img_size, ndf=ndf, nc=nc))
