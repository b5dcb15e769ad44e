"""FastGAN (Liu et al., ICLR 2021): our own implementation of the few-shot synthesis baseline.

``build_fastgan(img_size)`` gives the generator and discriminator; at 256 and 1024 px
with the defaults (ngf=64, ndf=64, nz=256) they match the published code parameter
for parameter.  32, 64 and 128 px variants, with any ``nc``, are for CPU runs
(e.g. Fashion-MNIST at 32 or 64 px, nc=1).  This package never imports ``benchmark``.
"""

from __future__ import annotations

from baselines.fastgan.diffaug import POLICIES, diff_augment
from baselines.fastgan.discriminator import FastGANDiscriminator, Reconstructions, crop_quarter
from baselines.fastgan.generator import SUPPORTED_SIZES, ExcitationFactory, FastGANGenerator, skip_pairs

__all__ = [
    "POLICIES", "SUPPORTED_SIZES", "ExcitationFactory", "FastGANDiscriminator", "FastGANGenerator",
    "Reconstructions", "build_fastgan", "crop_quarter", "diff_augment", "skip_pairs",
]


def build_fastgan(img_size: int, ngf: int = 64, ndf: int = 64, nz: int = 256, nc: int = 3,
                  tanh: bool | None = None) -> tuple[FastGANGenerator, FastGANDiscriminator]:
    """FastGAN's generator and discriminator for ``img_size`` px images with ``nc`` channels.

    ``tanh``: squash G's outputs (None: as published, only at 1024 px)."""
    return (FastGANGenerator(img_size, ngf=ngf, nz=nz, nc=nc, tanh=tanh),
            FastGANDiscriminator(img_size, ndf=ndf, nc=nc))
