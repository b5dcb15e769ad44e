"""SASE for image synthesis: a two-input, spatially adaptive skip excitation.

Source: Shen & Wu, "SASE" (arXiv 2112.14804; v1/v2 called the module SLIM), and the
authors' FastGAN fork, GitHub ``Torment123/SLIM_code`` (``FastGAN-SLIM-256/models.py``
and ``FastGAN-SLIM-1024/models.py``, class ``InceptionBlock``).  This is our own
implementation; no code is taken from that repository.

Like FastGAN's skip-layer excitation, the module reads a low-resolution source
``x_s`` (B, C_in, h, w) and rescales a high-resolution target ``x_t`` (B, C_out, H, W).
``x_s`` is split into G channel groups of ``c_g = C_in / G`` channels; with
``c_r = c_g // r``, each group g yields

* a channel vector ``e_g`` (C_out): GAP, Linear(c_g->c_r), BatchNorm1d, ReLU,
  Linear(c_r->C_out), with no sigmoid;
* a spatial mask ``m_g`` (H x W): 1x1 conv(c_g->c_r), BN, ReLU, 2 x [3x3 conv with
  dilation d (c_r->c_r), BN, ReLU], 1x1 conv(c_r->1), sigmoid, nearest resize.

and the output is ``x_t * s`` with ``s(p) = sum_g m_g(p) e_g / (sum_g m_g(p) + 1e-6) + 1``.

As in the authors' code every conv and linear layer has a bias and spectral norm, and
every BN is affine; the parameter count equals ``InceptionBlock``'s (15,524 for
C_in 512 -> C_out 64, 4,052 for 256 -> 32, plus one for the mask noise).
``mask_noise=True`` adds the 1024 px fork's learned-scale noise to the mask logits
before the sigmoid: one N(0, 1) map per image, shared by the G groups, times a
scalar initialised to zero.

Initialisation is the one the authors' model gets from FastGAN's training script:
conv weights N(0, 0.02), BN weights N(1, 0.02) and biases 0, linear layers and conv
biases at PyTorch's defaults.  It is applied as each layer is built, before spectral
norm, so that the singular vectors start from the final weights.

What is ours:

* The G branches run batched (grouped convs, a grouped linear, one BN over all
  groups' channels) instead of G separate ``nn.Sequential``.  The maths is the same:
  BN statistics are per channel either way, and :class:`GroupedSpectralNorm`
  normalises each group's weight by its own largest singular value, exactly like G
  separate ``spectral_norm`` calls.  The only visible difference is the buffer
  layout (4 ``num_batches_tracked`` counters instead of 4G).
* The input and output sizes are read from the tensors instead of being fixed at
  construction.
* Spectral norm follows ``torch.nn.utils.parametrizations.spectral_norm`` (u then v,
  15 warm-up iterations); the authors used the older ``torch.nn.utils.spectral_norm``
  (v then u, no warm-up).  With the same weights and singular vectors the outputs agree.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize

__all__ = ["GroupedLinear", "GroupedSpectralNorm", "SASEExcite"]


class GroupedSpectralNorm(nn.Module):
    """Spectral norm applied group by group to a grouped layer's weight.

    The weight (G * out_g, in_g, ...) is viewed as G matrices (out_g, in_g * k * k);
    each is divided by its largest singular value, estimated by power iteration
    (one step per training forward, 15 at construction), as
    ``torch.nn.utils.parametrizations.spectral_norm`` does for a single matrix.
    Used as a parametrization, so it adds buffers (u, v per group) but no parameters.
    """

    def __init__(self, weight: torch.Tensor, groups: int, n_power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        if weight.shape[0] % groups:
            raise ValueError(f"weight rows {weight.shape[0]} are not divisible by groups={groups}")
        self.groups = groups
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        mats = self._as_group_matrices(weight.detach())
        self.register_buffer("_u", F.normalize(torch.randn_like(mats[:, :, 0]), dim=1, eps=eps))
        self.register_buffer("_v", F.normalize(torch.randn_like(mats[:, 0, :]), dim=1, eps=eps))
        self._power_method(mats, 15)

    def _as_group_matrices(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.reshape(self.groups, weight.shape[0] // self.groups, -1)

    @torch.no_grad()
    def _power_method(self, mats: torch.Tensor, steps: int) -> None:
        for _ in range(steps):
            self._u.copy_(F.normalize(torch.bmm(mats, self._v.unsqueeze(2)).squeeze(2), dim=1, eps=self.eps))
            self._v.copy_(F.normalize(torch.bmm(self._u.unsqueeze(1), mats).squeeze(1), dim=1, eps=self.eps))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        mats = self._as_group_matrices(weight)
        if self.training:
            self._power_method(mats.detach(), self.n_power_iterations)
        u = self._u.clone(memory_format=torch.contiguous_format)
        v = self._v.clone(memory_format=torch.contiguous_format)
        sigma = torch.einsum("go,goi,gi->g", u, mats, v)
        return (mats / sigma[:, None, None]).reshape(weight.shape)


class GroupedLinear(nn.Module):
    """G independent linear maps (in_g -> out_g) applied to the G chunks of a vector.

    (B, G * in_g) -> (B, G * out_g).  Weight (G * out_g, in_g), bias (G * out_g);
    initialised per group as ``nn.Linear`` is.
    """

    def __init__(self, groups: int, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.groups, self.in_features, self.out_features = groups, in_features, out_features
        self.weight = nn.Parameter(torch.empty(groups * out_features, in_features))
        self.bias = nn.Parameter(torch.empty(groups * out_features)) if bias else None
        bound = 1.0 / math.sqrt(in_features)
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # nn.Linear's default, per row
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.view(self.groups, self.out_features, self.in_features)
        y = torch.einsum("bgi,goi->bgo", x.view(x.shape[0], self.groups, self.in_features), w)
        y = y.reshape(x.shape[0], -1)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"groups={self.groups}, in_features={self.in_features}, out_features={self.out_features}"


def _batch_norm(bn: nn.modules.batchnorm._BatchNorm) -> nn.Module:
    nn.init.normal_(bn.weight, 1.0, 0.02)
    return bn


def _grouped_spectral_norm(module: nn.Module, groups: int, enabled: bool) -> nn.Module:
    if enabled:
        parametrize.register_parametrization(module, "weight", GroupedSpectralNorm(module.weight, groups))
    return module


class SASEExcite(nn.Module):
    """Spatially adaptive skip excitation: ``forward(x_s, x_t) -> x_t * s(x_s)``.

    Args:
        c_in: channels of the low-resolution source ``x_s``; divisible by ``groups``.
        c_out: channels of the high-resolution target ``x_t``.
        groups: G, the number of (mask, channel vector) pairs.
        reduction: r; the branch width is ``c_in // groups // reduction`` (at least 1).
        dilation: d of the two 3x3 convs in the mask branch (padding d keeps the size).
        spectral_norm: spectral norm on every conv and linear layer, per group.
        mask_noise: add learned-scale Gaussian noise to the mask logits (1024 px fork).
    """

    def __init__(self, c_in: int, c_out: int, groups: int = 4, reduction: int = 16, dilation: int = 2,
                 spectral_norm: bool = True, mask_noise: bool = False):
        super().__init__()
        if groups < 1 or c_in % groups:
            raise ValueError(f"c_in={c_in} must be a positive multiple of groups={groups}")
        c_g = c_in // groups
        c_r = c_g // reduction
        if c_r < 1:
            raise ValueError(f"c_in / groups / reduction = {c_in}/{groups}/{reduction} leaves no channels; "
                             f"lower reduction to at most {c_g}")
        self.groups, self.c_out = groups, c_out
        width = groups * c_r

        def conv(cin: int, cout: int, k: int = 1) -> nn.Module:
            layer = nn.Conv2d(cin, cout, k, padding=dilation if k > 1 else 0,
                              dilation=dilation if k > 1 else 1, groups=groups)
            nn.init.normal_(layer.weight, 0.0, 0.02)
            return _grouped_spectral_norm(layer, groups, spectral_norm)

        def linear(cin: int, cout: int) -> nn.Module:
            return _grouped_spectral_norm(GroupedLinear(groups, cin, cout), groups, spectral_norm)

        self.channel_branch = nn.Sequential(
            linear(c_g, c_r), _batch_norm(nn.BatchNorm1d(width)), nn.ReLU(), linear(c_r, c_out),
        )
        self.mask_branch = nn.Sequential(
            conv(c_in, width), _batch_norm(nn.BatchNorm2d(width)), nn.ReLU(),
            conv(width, width, 3), _batch_norm(nn.BatchNorm2d(width)), nn.ReLU(),
            conv(width, width, 3), _batch_norm(nn.BatchNorm2d(width)), nn.ReLU(),
            conv(width, groups),
        )
        self.mask_noise_scale = nn.Parameter(torch.zeros(1)) if mask_noise else None

    def channel_vectors(self, x_s: torch.Tensor) -> torch.Tensor:
        """(B, C_in, h, w) -> e: (B, G, C_out)."""
        return self.channel_branch(x_s.mean(dim=(2, 3))).view(x_s.shape[0], self.groups, self.c_out)

    def masks(self, x_s: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, C_in, h, w) -> m: (B, G, H, W) in [0, 1]."""
        logits = self.mask_branch(x_s)  # (B, G, h, w)
        if self.mask_noise_scale is not None:
            b, _, h, w = logits.shape
            logits = logits + self.mask_noise_scale * torch.randn(b, 1, h, w, device=logits.device,
                                                                  dtype=logits.dtype)
        return F.interpolate(torch.sigmoid(logits), size=size, mode="nearest")

    def excitation(self, x_s: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The multiplier s: (B, C_out, H, W); each pixel mixes the G vectors by its masks."""
        e = self.channel_vectors(x_s)  # (B, G, C_out)
        m = self.masks(x_s, size)  # (B, G, H, W)
        mixed = torch.einsum("bghw,bgc->bchw", m, e)  # (B, C_out, H, W)
        return mixed / (m.sum(dim=1, keepdim=True) + 1e-6) + 1

    def forward(self, x_source_lowres: torch.Tensor, x_target_highres: torch.Tensor) -> torch.Tensor:
        return x_target_highres * self.excitation(x_source_lowres, tuple(x_target_highres.shape[-2:]))
