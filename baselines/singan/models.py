"""SinGAN's per-scale generator and critic.

Source: Rott Shaham, Dekel & Michaeli, "SinGAN" (ICCV 2019), and the facts of the
published code, GitHub ``tamarott/SinGAN`` (``SinGAN/models.py``, ``config.py``,
``training.py``).  Our own implementation; no code is taken from that repository.

Each scale has one fully convolutional generator and one WGAN critic, both five
blocks deep (``num_layer`` = 5): a head block, three body blocks and a tail.  A block
is Conv(kernel 3, stride 1, padding 0, with bias) - BatchNorm - LeakyReLU(0.2), so
each block trims one pixel per side; inputs are zero-padded by 5 px beforehand
(done by the trainer, as in the published code).

Widths follow the published rule: the head maps to ``nfc``; body block ``i``
(1..3) has ``N_i = int(nfc / 2**i)`` and maps ``max(2 N_i, min_nfc) -> max(N_i,
min_nfc)``; the tail reads ``max(N_3, min_nfc)`` channels.  At scale ``n`` both
``nfc`` and ``min_nfc`` are the initial values times ``2 ** floor(n / 4)``, capped at
128 (:meth:`SinGANArch.at_scale`).  With the defaults (32, 32) every block is 32 wide.

The generator ends in Conv -> 3 channels and tanh and, as SinGAN does, adds the
(centre-cropped) upsampled previous-scale image: ``G(x, prev) = tail(...) + prev``.
``residual=False`` drops that sum (the authors' SASE-SinGAN form for scales > 0).
``excite`` is an optional module ``excite(source, target) -> target`` applied to the
body's output before the tail, with the head's output as source; SASE-SinGAN passes
its SASE block here (:mod:`sase.singan`).  The critic ends in Conv -> 1 channel: a
map of patch scores.

Initialisation as in the published code: conv weights N(0, 0.02), BatchNorm
weights N(1, 0.02) and biases 0; conv biases keep PyTorch's default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

__all__ = ["ConvBlock", "SinGANArch", "SinGANCritic", "SinGANGenerator", "init_singan_weights"]


@dataclass(frozen=True)
class SinGANArch:
    """Widths and depth of one scale's networks (defaults: the published ones)."""

    nfc: int = 32
    min_nfc: int = 32
    num_layer: int = 5
    kernel: int = 3
    nc: int = 3  # image channels
    double_every: int = 4  # widths double every this many scales ...
    max_width: int = 128  # ... up to this

    def at_scale(self, scale: int) -> "SinGANArch":
        """The widths at scale ``scale`` (0 = coarsest)."""
        k = 2 ** math.floor(scale / self.double_every)
        return replace(self, nfc=min(self.nfc * k, self.max_width), min_nfc=min(self.min_nfc * k, self.max_width))

    def body_widths(self) -> List[Tuple[int, int]]:
        """(in, out) channels of each body block."""
        out = []
        for i in range(1, self.num_layer - 1):
            n = int(self.nfc / 2 ** i)
            out.append((max(2 * n, self.min_nfc), max(n, self.min_nfc)))
        return out

    @property
    def tail_in(self) -> int:
        return self.body_widths()[-1][1] if self.num_layer > 2 else self.nfc

    @property
    def pad(self) -> int:
        """Zero padding per side that keeps the output at the input's size (5 at the defaults)."""
        return (self.kernel - 1) * self.num_layer // 2


class ConvBlock(nn.Sequential):
    """Conv (padding 0) - BatchNorm - LeakyReLU(0.2)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=1, padding=0)
        self.norm = nn.BatchNorm2d(c_out)
        self.act = nn.LeakyReLU(0.2)


def _trunk(arch: SinGANArch) -> Tuple[nn.Module, nn.Module]:
    head = ConvBlock(arch.nc, arch.nfc, arch.kernel)
    body = nn.Sequential(*[ConvBlock(i, o, arch.kernel) for i, o in arch.body_widths()])
    return head, body


def init_singan_weights(module: nn.Module) -> None:
    """The published init, applied to every conv and BatchNorm under ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def center_crop(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The centre of ``x`` with ``like``'s height and width."""
    dh, dw = (x.shape[-2] - like.shape[-2]) // 2, (x.shape[-1] - like.shape[-1]) // 2
    return x[..., dh: dh + like.shape[-2], dw: dw + like.shape[-1]]


class SinGANGenerator(nn.Module):
    """One scale's generator: ``forward(x, prev) -> image`` (both inputs padded by ``arch.pad``)."""

    def __init__(self, arch: SinGANArch = SinGANArch(), residual: bool = True, excite: Optional[nn.Module] = None):
        super().__init__()
        self.residual = residual
        self.head, self.body = _trunk(arch)
        self.excite = excite
        self.tail = nn.Sequential(nn.Conv2d(arch.tail_in, arch.nc, arch.kernel, padding=0), nn.Tanh())
        init_singan_weights(self)

    def forward(self, x: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        source = self.head(x)  # (B, nfc, H+8, W+8) for an (H+10, W+10) input
        target = self.body(source)  # (B, C, H+2, W+2)
        if self.excite is not None:
            target = self.excite(source, target)
        out = self.tail(target)  # (B, nc, H, W)
        return out + center_crop(prev, out) if self.residual else out


class SinGANCritic(nn.Module):
    """One scale's WGAN critic: (B, nc, H, W) -> patch scores (B, 1, H-10, W-10)."""

    def __init__(self, arch: SinGANArch = SinGANArch()):
        super().__init__()
        self.head, self.body = _trunk(arch)
        self.tail = nn.Conv2d(arch.tail_in, 1, arch.kernel, padding=0)
        init_singan_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(self.head(x)))
