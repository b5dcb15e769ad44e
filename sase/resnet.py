"""SASE-ResNet: timm's ``ResNet`` with the 3x3 conv of each block replaced by :class:`SASEConv2d`.

Built the way timm builds its variants (``seresnet50`` is ``ResNet`` with ``attn_layer='se'``,
``skresnet`` swaps the block class): the SASE blocks subclass timm's ``BasicBlock`` / ``Bottleneck``
with the same constructor (plus ``sase_cfg``), and the registered functions hand them to timm's
``ResNet`` through ``build_model_with_cfg``.

* Bottleneck: the 3x3 conv (``conv2``, which carries the stride) becomes SASE.  If timm's
  ``cardinality`` > 1 it sets the value conv's groups, as it sets the 3x3 conv's groups in timm.
* Basic block (small variants): the first 3x3 conv (``conv1``, which carries the stride) becomes SASE,
  so that, as in the bottleneck, the grouped SASE conv is followed by BN-ReLU and a dense conv that
  mixes its groups.

Variants: ``sase_resnet26/50/101`` (224 px) and ``sase_resnet_s32`` (32 px, the size class of
``baselines.small.resnet_s32``) with its ablations in :data:`S32_ABLATIONS`.  Any variant also takes
``sase_cfg=SASEConfig(...)`` through ``timm.create_model``.  Our interpretation: see
:mod:`sase.recognition` and ``sase/README.md``.

Issue 10 adds:

* ``sase_resnet50_4x24d``: SASE-ResNet-50 matched to ResNet-50's params (25.65M vs 25.56M): timm's
  ``cardinality=4, base_width=24`` makes every bottleneck 1.5x as wide as ResNet-50's (value conv 4 groups,
  = G).  The base width is the multiple of 4 whose params are nearest ResNet-50's (the ladder rule).
  ``sase_resnet50`` (ResNet-50's widths, 17.2M) stays the drop-in reading.
* the SASE ladder ``sase_resnet_s32_<budget>`` and its ablations ``sase_resnet_s32_b1m_<ablation>``
  (rule and budgets in :mod:`baselines.ladder`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import torch.nn as nn
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.resnet import BasicBlock, Bottleneck, ResNet

from baselines.ladder import ABLATION_BUDGET, BUDGETS, RULES, SOLVED, ladder_name
from baselines.small import SMALL_CHANNELS, build_small_resnet, register_ladder
from sase.recognition import SASEConfig, SASEConv2d

__all__ = ["SASEBasicBlock", "SASEBottleneck", "S32_ABLATIONS", "LADDER_ABLATIONS", "build_sase_ladder_member"]


def _sase_from(conv, cfg: SASEConfig | None, device=None, dtype=None) -> SASEConv2d:
    """A SASE layer with ``conv``'s channels, stride and dilation (and its groups, if grouped)."""
    cfg = cfg or SASEConfig()
    if conv.groups > 1:
        cfg = dataclasses.replace(cfg, value_groups=conv.groups)
    return SASEConv2d(conv.in_channels, conv.out_channels, conv.stride[0], conv.dilation[0], cfg,
                      device=device, dtype=dtype)


class SASEBasicBlock(BasicBlock):
    """timm ``BasicBlock`` whose first 3x3 conv is a :class:`SASEConv2d`."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, cardinality=1, base_width=64,
                 reduce_first=1, dilation=1, first_dilation=None, act_layer=nn.ReLU, norm_layer=nn.BatchNorm2d,
                 attn_layer=None, aa_layer=None, drop_block=None, drop_path=None,
                 sase_cfg: SASEConfig | None = None, device=None, dtype=None) -> None:
        super().__init__(inplanes, planes, stride, downsample, cardinality, base_width, reduce_first,
                         dilation, first_dilation, act_layer, norm_layer, attn_layer,
                         aa_layer, drop_block, drop_path, device=device, dtype=dtype)
        self.conv1 = _sase_from(self.conv1, sase_cfg, device, dtype)


class SASEBottleneck(Bottleneck):
    """timm ``Bottleneck`` whose 3x3 conv is a :class:`SASEConv2d`."""

    def __init__(self, inplanes, planes, stride=1, downsample=None, cardinality=1, base_width=64,
                 reduce_first=1, dilation=1, first_dilation=None, act_layer=nn.ReLU, norm_layer=nn.BatchNorm2d,
                 attn_layer=None, aa_layer=None, drop_block=None, drop_path=None,
                 sase_cfg: SASEConfig | None = None, device=None, dtype=None) -> None:
        super().__init__(inplanes, planes, stride, downsample, cardinality, base_width, reduce_first,
                         dilation, first_dilation, act_layer, norm_layer, attn_layer,
                         aa_layer, drop_block, drop_path, device=device, dtype=dtype)
        self.conv2 = _sase_from(self.conv2, sase_cfg, device, dtype)


def _block_args(kwargs: dict[str, Any], cfg: SASEConfig) -> dict[str, Any]:
    cfg = kwargs.pop("sase_cfg", cfg)
    if not isinstance(cfg, SASEConfig):
        raise TypeError(f"sase_cfg must be a SASEConfig, got {type(cfg).__name__}")
    return dict(kwargs.pop("block_args", None) or {}, sase_cfg=cfg)


def _create_sase_resnet(variant: str, pretrained: bool, layers: tuple[int, ...], **kwargs: Any) -> ResNet:
    if pretrained:
        raise ValueError(f"{variant} has no pretrained weights (pretrained=False)")
    block_args = _block_args(kwargs, SASEConfig())
    return build_model_with_cfg(ResNet, variant, False, block=SASEBottleneck, layers=layers,
                                block_args=block_args, **kwargs)


def _create_sase_resnet_s32(variant: str, pretrained: bool, cfg: SASEConfig | None = None,
                            channels: tuple[int, ...] = SMALL_CHANNELS, **kwargs: Any) -> ResNet:
    if pretrained:
        raise ValueError(f"{variant} has no pretrained weights (pretrained=False)")
    block_args = _block_args(kwargs, cfg or S32_ABLATIONS[variant])
    return build_small_resnet(SASEBasicBlock, block_args=block_args, channels=channels, variant=variant, **kwargs)


def _cfg(**kwargs: Any) -> dict[str, Any]:
    return dict(url="", num_classes=1000, input_size=(3, 224, 224), pool_size=(7, 7), crop_pct=0.875,
                interpolation="bilinear", mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                first_conv="conv1", classifier="fc", **kwargs)



#: The small model and its ablations: each switches one open choice of the default.
S32_ABLATIONS: dict[str, SASEConfig] = {
    "sase_resnet_s32": SASEConfig(),
    "sase_resnet_s32_softmax": SASEConfig(mask_norm="softmax"),
    "sase_resnet_s32_sigmoid": SASEConfig(excite_sigmoid=True),
    "sase_resnet_s32_g1": SASEConfig(groups=1),
    "sase_resnet_s32_g2": SASEConfig(groups=2),
    "sase_resnet_s32_g8": SASEConfig(groups=8),
    "sase_resnet_s32_dense": SASEConfig(value_groups=1),
    "sase_resnet_s32_d1": SASEConfig(dilation=1),
}

#: The ablations of the ladder, by suffix (``sase_resnet_s32_b1m_softmax``): the same switches.
LADDER_ABLATIONS: dict[str, SASEConfig] = {
    name.removeprefix("sase_resnet_s32_"): cfg for name, cfg in S32_ABLATIONS.items() if name != "sase_resnet_s32"}
_LADDER = "sase_resnet_s32"
_LADDER_NAMES = [*(ladder_name(_LADDER, b) for b in BUDGETS),
                 *(ladder_name(_LADDER, ABLATION_BUDGET, a) for a in LADDER_ABLATIONS)]

_S32_CFG = dict(url="", num_classes=10, input_size=(1, 32, 32), pool_size=(1, 1), mean=(0.2860,),
                std=(0.3530,), first_conv="conv1", classifier="fc")
default_cfgs = generate_default_cfgs({
    **{name: _cfg() for name in ("sase_resnet26", "sase_resnet50", "sase_resnet101", "sase_resnet50_4x24d")},
    # 32 px grey-scale (Fashion-MNIST padded to 32 px, with its train mean and std)
    **{name: dict(_S32_CFG) for name in (*S32_ABLATIONS, *_LADDER_NAMES)},
})


def build_sase_ladder_member(widths: tuple[int, ...], ablation: str = "", variant: str | None = None,
                             **kwargs: Any) -> ResNet:
    """The SASE ladder's model at stage ``widths``; ``ablation`` is a key of :data:`LADDER_ABLATIONS`."""
    cfg = LADDER_ABLATIONS[ablation] if ablation else SASEConfig()
    variant = variant or ladder_name(_LADDER, ABLATION_BUDGET, ablation)
    return _create_sase_resnet_s32(variant, False, cfg, channels=widths, **kwargs)


def _register_sase_ladder() -> None:
    rule = RULES[_LADDER]
    members = [(b, "", k) for b, k in SOLVED.get(_LADDER, {}).items()]
    members += [(ABLATION_BUDGET, a, SOLVED[f"{_LADDER}_{a}"][ABLATION_BUDGET])
                for a in LADDER_ABLATIONS if f"{_LADDER}_{a}" in SOLVED]
    for budget, ablation, k in members:
        name, widths = ladder_name(_LADDER, budget, ablation), rule.widths(k)
        what = f"ablation {ablation!r}" if ablation else "default SASEConfig"
        register_ladder(name, functools.partial(build_sase_ladder_member, widths, ablation, name),
                        f"SASE-ResNet ladder at budget {budget}, {what}: stage widths {widths} (k={k}).", __name__)


@register_model
def sase_resnet26(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """SASE-ResNet-26: SASE bottlenecks [2, 2, 2, 2]."""
    return _create_sase_resnet("sase_resnet26", pretrained, (2, 2, 2, 2), **kwargs)


@register_model
def sase_resnet50(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """SASE-ResNet-50: SASE bottlenecks [3, 4, 6, 3], ResNet-50 widths, value conv groups = G = 4."""
    return _create_sase_resnet("sase_resnet50", pretrained, (3, 4, 6, 3), **kwargs)


@register_model
def sase_resnet50_4x24d(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """SASE-ResNet-50 matched to ResNet-50's params: bottlenecks 1.5x wider (cardinality 4, base width 24)."""
    kwargs = dict(kwargs, cardinality=4, base_width=24)
    return _create_sase_resnet("sase_resnet50_4x24d", pretrained, (3, 4, 6, 3), **kwargs)


@register_model
def sase_resnet101(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """SASE-ResNet-101: SASE bottlenecks [3, 4, 23, 3]."""
    return _create_sase_resnet("sase_resnet101", pretrained, (3, 4, 23, 3), **kwargs)


@register_model
def sase_resnet_s32(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """SASE-ResNet, small input: ``resnet_s32`` with SASE basic blocks (default SASEConfig)."""
    return _create_sase_resnet_s32("sase_resnet_s32", pretrained, **kwargs)


@register_model
def sase_resnet_s32_softmax(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Ablation: softmax over the G mask logits instead of sigmoid + ratio."""
    return _create_sase_resnet_s32("sase_resnet_s32_softmax", pretrained, **kwargs)


@register_model
def sase_resnet_s32_sigmoid(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Ablation: sigmoid on the excitation vectors e_g."""
    return _create_sase_resnet_s32("sase_resnet_s32_sigmoid", pretrained, **kwargs)


@register_model
def sase_resnet_s32_g1(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Ablation: G = 1 (the mask cancels: a per-image, un-gated SE; dense value conv)."""
    return _create_sase_resnet_s32("sase_resnet_s32_g1", pretrained, **kwargs)


@register_model
def sase_resnet_s32_g2(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Ablation: G = 2 (value conv groups follow G)."""
    return _create_sase_resnet_s32("sase_resnet_s32_g2", pretrained, **kwargs)


@register_model
def sase_resnet_s32_g8(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Ablation: G = 8 (value conv groups follow G)."""
    return _create_sase_resnet_s32("sase_resnet_s32_g8", pretrained, **kwargs)


@register_model
def sase_resnet_s32_dense(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Ablation: dense (ungrouped) 3x3 value conv, G = 4."""
    return _create_sase_resnet_s32("sase_resnet_s32_dense", pretrained, **kwargs)


@register_model
def sase_resnet_s32_d1(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Ablation: undilated (d = 1) 3x3 convs in the spatial branch."""
    return _create_sase_resnet_s32("sase_resnet_s32_d1", pretrained, **kwargs)


_register_sase_ladder()
