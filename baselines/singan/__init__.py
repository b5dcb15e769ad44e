"""SinGAN (Rott Shaham, Dekel & Michaeli, ICCV 2019): a pyramid of per-scale patch GANs.

:mod:`baselines.singan.geometry` computes the image pyramid, :mod:`baselines.singan.models`
holds one scale's generator and critic, and :class:`SinGANFactory` builds them scale by
scale (the trainer asks for scale ``n``'s pair when it gets there).  This package never
imports ``benchmark``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch.nn as nn

from baselines.singan.geometry import PyramidGeometry, pyramid_geometry, resized_size
from baselines.singan.models import (
    SinGANArch,
    SinGANCritic,
    SinGANGenerator,
    center_crop,
    init_singan_weights,
)

__all__ = ["ExciteFactory", "PyramidGeometry", "SinGANArch", "SinGANCritic", "SinGANFactory", "SinGANGenerator",
           "build_singan", "center_crop", "init_singan_weights", "pyramid_geometry", "resized_size"]

# (scale, that scale's arch) -> an excitation module for the generator, or None for none
ExciteFactory = Callable[[int, SinGANArch], Optional[nn.Module]]


@dataclass(frozen=True)
class SinGANFactory:
    """Builds the generator and critic of any scale.

    ``residual``: every scale's generator adds the upsampled previous image to its tail
    output (SinGAN).  With ``False`` only scale 0 does (its previous image is zero); this is
    the authors' SASE-SinGAN.  ``excite`` gives scale ``n``'s generator its excitation module.
    """

    arch: SinGANArch = SinGANArch()
    residual: bool = True
    excite: Optional[ExciteFactory] = None
    name: str = "singan"

    def generator(self, scale: int) -> SinGANGenerator:
        arch = self.arch.at_scale(scale)
        excite = self.excite(scale, arch) if self.excite is not None else None
        return SinGANGenerator(arch, residual=self.residual or scale == 0, excite=excite)

    def critic(self, scale: int) -> SinGANCritic:
        return SinGANCritic(self.arch.at_scale(scale))


def build_singan(nfc: int = 32, min_nfc: int = 32, nc: int = 3) -> SinGANFactory:
    """SinGAN as published: every scale adds the upsampled previous image, no excitation."""
    return SinGANFactory(SinGANArch(nfc=nfc, min_nfc=min_nfc, nc=nc), residual=True, name="singan")
