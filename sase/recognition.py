"""Same-layer SASE convolution for recognition: OUR interpretation, not the authors' code.

SASE (spatially-adaptive squeeze-excitation; Shen & Wu, arXiv 2112.14804, called SLIM in v1/v2) is
known in detail only for synthesis (``Torment123/SLIM_code``): a low-resolution source ``x_s`` sets a
per-pixel channel excitation of a high-resolution target ``x_t``.  The paper also describes a
"same-layer" variant that replaces the convolutions of a ResNet and gives "ResNeXt-like" models, but
that code was never released.  This module is the suite's reading of it; every open choice is a field
of :class:`SASEConfig`, so it can be ablated (see ``sase/README.md`` for the registered variants).

:class:`SASEConv2d` replaces a 3x3 conv (same in/out channels, stride and dilation)::

    value = Conv3x3(x, stride, groups=value_groups)            # target: (B, C_out, h, w)
    e_g   = Lin(c_r->C_out) . ReLU . BN1d . Lin(c_g->c_r) . GAP(x_g)            # (B, G, C_out)
    m_g   = sigmoid . Conv1x1(c_r->1) . 2x[ReLU . BN . Conv3x3_d] . ReLU . BN . Conv1x1(c_g->c_r) (x_g)
    s(p)  = sum_g m_g(p) e_g / (sum_g m_g(p) + eps) + 1                          # (B, C_out, h, w)
    out   = value * s

Source and target are the same layer: the branches read the layer input ``x`` (split into G channel
groups ``x_g``, ``c_g = C_in / G``), the target is the value conv's output.  Where the synthesis module
computes masks at low resolution and resizes them up, here the layer may stride down: the spatial
branch reduces channels at input resolution and its first dilated 3x3 conv carries the layer's stride,
so the masks come out at exactly the value conv's output size (both use padding = dilation).

Choices that are ours (defaults in :class:`SASEConfig`):

* value path: a grouped 3x3 conv with ``value_groups = G`` (one value group per SASE group), the
  "ResNeXt-like" part, which also pays for the SASE branches (``value_groups=1`` is the dense ablation);
* ``c_r = max(c_g // r, min_reduced)``: r = 16 as in synthesis, but ResNet widths (64 in the first
  stage) would leave one channel per group, so ``c_r`` is floored;
* mask normalisation 'ratio' (the synthesis formula) or 'softmax' over the G mask logits;
* no sigmoid on ``e_g`` by default (as in synthesis); ``excite_sigmoid=True`` adds it.

With ``groups=1`` and 'ratio' (or 'softmax') normalisation the single mask cancels out, so the layer
degenerates to a per-image, un-gated SE on its input; the spatial branch then gets (near) zero
gradient.  That is the point of the G=1 ablation.

All G branches run as one grouped conv / grouped conv1d (no Python loop over groups) and the mixing is a
``bmm``, so fvcore counts the mask and excitation math.  fvcore counts zero for the elementwise ops
(sigmoid, softmax, division, the final multiply); those are O(C_out) per pixel, small next to the convs.
In training mode the channel branch's BatchNorm1d needs a batch of more than one image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK_NORMS = ("ratio", "softmax")


@dataclass(frozen=True)
class SASEConfig:
    """Hyperparameters of :class:`SASEConv2d`; defaults are the suite's SASE-ResNet choice."""

    groups: int = 4  # G: excitation vectors and masks per layer (synthesis: 4)
    reduction: int = 16  # r: c_r = c_g // r (synthesis: 16)
    min_reduced: int = 4  # floor on c_r (ours: ResNet widths would give c_r = 1)
    dilation: int = 2  # d of the spatial branch's two 3x3 convs (synthesis: 2)
    mask_norm: str = "ratio"  # 'ratio': m_g / (sum m + eps); 'softmax': softmax of logits over G
    excite_sigmoid: bool = False  # sigmoid on e_g (synthesis: none)
    value_groups: int | None = None  # groups of the 3x3 value conv; None -> G, 1 -> dense
    eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.mask_norm not in MASK_NORMS:
            raise ValueError(f"mask_norm must be one of {MASK_NORMS}, got {self.mask_norm!r}")
        for name in ("groups", "reduction", "min_reduced", "dilation"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.value_groups is not None and self.value_groups < 1:
            raise ValueError(f"value_groups must be None (= groups) or >= 1, got {self.value_groups}")

    @property
    def resolved_value_groups(self) -> int:
        return self.groups if self.value_groups is None else self.value_groups


def _conv_bn_relu(in_chs: int, out_chs: int, groups: int, kernel_size: int = 1, stride: int = 1,
                  dilation: int = 1, **dd) -> list[nn.Module]:
    pad = dilation * (kernel_size - 1) // 2
    return [nn.Conv2d(in_chs, out_chs, kernel_size, stride, pad, dilation, groups=groups, bias=False, **dd),
            nn.BatchNorm2d(out_chs, **dd), nn.ReLU(inplace=True)]


class SASEConv2d(nn.Module):
    """3x3 conv whose output gets a per-pixel mix of G channel excitations computed from its input."""

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, dilation: int = 1,
                 cfg: SASEConfig | None = None, device=None, dtype=None) -> None:
        super().__init__()
        dd = {"device": device, "dtype": dtype}
        cfg = cfg or SASEConfig()
        g, vg = cfg.groups, cfg.resolved_value_groups
        for what, chs in (("in_chs", in_chs), ("out_chs", out_chs)):
            if chs % g or chs % vg:
                raise ValueError(f"{what}={chs} must be divisible by groups={g} and value_groups={vg}")
        self.cfg = cfg
        self.in_chs, self.out_chs, self.stride = in_chs, out_chs, stride
        c_r = max(in_chs // g // cfg.reduction, cfg.min_reduced)
        self.reduced_chs = c_r

        self.value = nn.Conv2d(in_chs, out_chs, 3, stride, dilation, dilation, groups=vg, bias=False, **dd)
        # channel branch: G grouped linears as kernel-1 conv1d on the pooled input
        self.excite = nn.Sequential(
            nn.Conv1d(in_chs, g * c_r, 1, groups=g, bias=False, **dd),
            nn.BatchNorm1d(g * c_r, **dd),
            nn.ReLU(inplace=True),
            nn.Conv1d(g * c_r, g * out_chs, 1, groups=g, **dd),
        )
        # spatial branch: G grouped conv stacks; the first dilated conv carries the stride
        d = cfg.dilation
        self.mask = nn.Sequential(
            *_conv_bn_relu(in_chs, g * c_r, g, **dd),
            *_conv_bn_relu(g * c_r, g * c_r, g, 3, stride, d, **dd),
            *_conv_bn_relu(g * c_r, g * c_r, g, 3, 1, d, **dd),
            nn.Conv2d(g * c_r, g, 1, groups=g, **dd),
        )

    def excitations(self, x: torch.Tensor) -> torch.Tensor:
        """The G channel-excitation vectors e_g, (B, G, C_out)."""
        e = self.excite(F.adaptive_avg_pool2d(x, 1).flatten(2))  # (B, G*C_out, 1)
        e = e.view(x.shape[0], self.cfg.groups, self.out_chs)
        return torch.sigmoid(e) if self.cfg.excite_sigmoid else e

    def mask_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised mask weights m_g(p) / (sum_g m_g(p) + eps) or softmax, (B, G, h, w)."""
        logits = self.mask(x)  # (B, G, h, w)
        if self.cfg.mask_norm == "softmax":
            return torch.softmax(logits, dim=1)
        m = torch.sigmoid(logits)
        return m / (m.sum(dim=1, keepdim=True) + self.cfg.eps)

    def excitation(self, x: torch.Tensor) -> torch.Tensor:
        """The per-pixel excitation s, (B, C_out, h, w)."""
        w = self.mask_weights(x)
        s = torch.bmm(self.excitations(x).transpose(1, 2), w.flatten(2))  # (B, C_out, h*w)
        return s.view(*s.shape[:2], *w.shape[2:]) + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value(x) * self.excitation(x)  # (B, C_out, h, w)

    def extra_repr(self) -> str:
        return f"{self.in_chs}, {self.out_chs}, stride={self.stride}, c_r={self.reduced_chs}, cfg={self.cfg}"
