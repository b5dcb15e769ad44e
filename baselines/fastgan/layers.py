"""Building blocks of FastGAN (Liu et al., "Towards Faster and Stabilized GAN Training
for High-fidelity Few-shot Image Synthesis", ICLR 2021).

Our own implementation, written from the paper and a reading of the published code
(GitHub ``odegeasslbc/FastGAN-pytorch``, ``models.py``); no code is copied from it.
Facts kept from the published code, because parameter counts and training behaviour
depend on them: every conv carries spectral norm and has no bias; BN is affine; the
up blocks use nearest upsampling, a 3x3 conv to twice the channels, BN and GLU; the
noise injections hold one learned scalar, initialised to zero.

Initialisation follows the published training script (conv weights N(0, 0.02), BN
weights N(1, 0.02), BN biases 0), but is done as each layer is built, before spectral
norm is attached: the power iteration then starts from the final weights, so a model
is usable in eval mode straight away (initialising afterwards leaves stale singular
vectors, which can make a fresh 1024 px model output NaN in eval mode).  Spectral norm
is torch's current parametrization, not the older hook the published code used, so
the published checkpoints' key names differ from ours.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm

__all__ = [
    "CONV_INIT_STD", "NoiseInjection", "ResidualDownBlock", "SkipLayerExcitation", "batch_norm2d",
    "down_block", "sn_conv2d", "sn_conv_transpose2d", "up_block",
]

CONV_INIT_STD = 0.02


def _spectral_normed(layer: nn.Module) -> nn.Module:
    nn.init.normal_(layer.weight, 0.0, CONV_INIT_STD)
    return spectral_norm(layer)


def sn_conv2d(c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int = 0,
              bias: bool = False) -> nn.Module:
    """A spectral-normalised ``nn.Conv2d`` (FastGAN's convs have no bias)."""
    return _spectral_normed(nn.Conv2d(c_in, c_out, kernel_size, stride, padding, bias=bias))


def sn_conv_transpose2d(c_in: int, c_out: int, kernel_size: int, stride: int = 1, padding: int = 0,
                        bias: bool = False) -> nn.Module:
    """A spectral-normalised ``nn.ConvTranspose2d``."""
    return _spectral_normed(nn.ConvTranspose2d(c_in, c_out, kernel_size, stride, padding, bias=bias))


def batch_norm2d(channels: int) -> nn.BatchNorm2d:
    """``nn.BatchNorm2d`` with FastGAN's initialisation: weight N(1, 0.02), bias 0."""
    bn = nn.BatchNorm2d(channels)
    nn.init.normal_(bn.weight, 1.0, 0.02)
    return bn


class NoiseInjection(nn.Module):
    """``x + w * n`` with one N(0, 1) map n per image, shared by all channels; w starts at 0.

    The noise comes from torch's global generator, so ``torch.manual_seed`` fixes it.
    """

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        return x + self.weight * torch.randn(b, 1, h, w, device=x.device, dtype=x.dtype)


class SkipLayerExcitation(nn.Module):
    """FastGAN's SLE: ``x_big * sigmoid(conv1x1(swish(conv4x4(avgpool4(x_small)))))``.

    One gate per channel and image, computed from a low-resolution feature map.
    """

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4),
            sn_conv2d(c_in, c_out, 4),  # (B, c_out, 1, 1)
            nn.SiLU(),
            sn_conv2d(c_out, c_out, 1),
            nn.Sigmoid(),
        )

    def forward(self, x_small: torch.Tensor, x_big: torch.Tensor) -> torch.Tensor:
        return x_big * self.gate(x_small)


def up_block(c_in: int, c_out: int, with_noise: bool = False) -> nn.Sequential:
    """2x nearest upsampling then [3x3 conv to 2 c_out, (noise), BN, GLU].

    ``with_noise`` gives FastGAN's heavier block: a second conv stage, and noise
    injection after each conv.
    """
    layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")]
    stages = [(c_in, c_out), (c_out, c_out)] if with_noise else [(c_in, c_out)]
    for cin, cout in stages:
        layers.append(sn_conv2d(cin, 2 * cout, 3, padding=1))
        if with_noise:
            layers.append(NoiseInjection())
        layers += [batch_norm2d(2 * cout), nn.GLU(dim=1)]
    return nn.Sequential(*layers)


def down_block(c_in: int, c_out: int) -> nn.Sequential:
    """4x4 stride-2 conv, BN, LeakyReLU(0.2): halves the resolution."""
    return nn.Sequential(sn_conv2d(c_in, c_out, 4, 2, 1), batch_norm2d(c_out), nn.LeakyReLU(0.2))


class ResidualDownBlock(nn.Module):
    """FastGAN's discriminator block: the mean of a two-conv path and a pooled 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.main = nn.Sequential(
            down_block(c_in, c_out),
            sn_conv2d(c_out, c_out, 3, padding=1), batch_norm2d(c_out), nn.LeakyReLU(0.2),
        )
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2), sn_conv2d(c_in, c_out, 1), batch_norm2d(c_out), nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.shortcut(x)) / 2
