"""SASE-SinGAN: SinGAN with the synthesis SASE block in every generator from scale 1 on.

Source: Shen & Wu (arXiv 2112.14804) and the authors' SinGAN fork, GitHub
``Torment123/SLIM_code`` (``SLIM-SinGAN/SinGAN/models.py``, ``training.py``,
``config.py``).  Our own implementation; no code is taken from that repository.

Facts of that code, which this module reproduces:

* scale 0 is SinGAN's generator, unchanged;
* from scale 1 on, the generator holds the synthesis SASE block with
  ``C_in = C_out = nfc``, G = 4, r = 1 (so ``c_r = c_g = nfc / 4``), dilation 5 for
  scales 1-3 and 8 above (``--dil_val_small`` / ``--dil_val_big``); its source is the
  head block's output, its target the body's output, and the excited target goes to
  the tail;
* the block has no spectral norm and no mask noise, and its channel branch has no
  BatchNorm (``Linear - ReLU - Linear``): SinGAN trains on one image, and a BatchNorm1d
  over a batch of one would fail.  Our :class:`sase.synthesis.SASEExcite` has that
  BatchNorm (the FastGAN fork's form), so :class:`SinGANSASE` builds the same module and
  swaps the channel branch for the BatchNorm-free one;
* the generator of scales > 0 returns the tail's output *without* SinGAN's residual
  "+ upsampled previous image" (the previous image still enters through the input
  ``noise_amp * z + prev``).  That is the default here (``sase_singan``); the residual
  form, which differs from SinGAN only by the SASE block, is ``residual=True``
  (``sase_singan_residual``);
* the critic is SinGAN's, unchanged; the trainer is SinGAN's.

Initialisation: SinGAN's ``weights_init`` is applied to the whole generator, SASE
block included (conv weights N(0, 0.02), BN weights N(1, 0.02)); linear layers keep
PyTorch's default.
"""

from __future__ import annotations

import torch.nn as nn

from baselines.singan import SinGANArch, SinGANFactory
from sase.synthesis import GroupedLinear, SASEExcite

__all__ = ["SinGANSASE", "build_sase_singan", "sase_dilation"]

GROUPS = 4
REDUCTION = 1
DILATION_SMALL, DILATION_BIG, SMALL_UP_TO = 5, 8, 3


class SinGANSASE(SASEExcite):
    """The synthesis SASE block as SASE-SinGAN configures it: no spectral norm, no BN in the channel branch."""

    def __init__(self, channels: int, groups: int = GROUPS, reduction: int = REDUCTION, dilation: int = 5):
        super().__init__(channels, channels, groups=groups, reduction=reduction, dilation=dilation,
                         spectral_norm=False, mask_noise=False)
        c_g = channels // groups
        c_r = c_g // reduction
        self.channel_branch = nn.Sequential(GroupedLinear(groups, c_g, c_r), nn.ReLU(),
                                            GroupedLinear(groups, c_r, channels))


def sase_dilation(scale: int) -> int:
    """The mask branch's dilation at ``scale`` (>= 1): 5 up to scale 3, 8 above."""
    return DILATION_SMALL if scale <= SMALL_UP_TO else DILATION_BIG


def _sase_from_scale1(scale: int, arch: SinGANArch):
    return SinGANSASE(arch.nfc, dilation=sase_dilation(scale)) if scale >= 1 else None


def build_sase_singan(nfc: int = 32, min_nfc: int = 32, nc: int = 3, residual: bool = False) -> SinGANFactory:
    """SASE-SinGAN; ``residual=False`` is the authors' form, ``True`` keeps SinGAN's residual sum."""
    name = "sase_singan_residual" if residual else "sase_singan"
    return SinGANFactory(SinGANArch(nfc=nfc, min_nfc=min_nfc, nc=nc), residual=residual,
                         excite=_sase_from_scale1, name=name)
