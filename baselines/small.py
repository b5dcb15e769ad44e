"""Small-input variants of each recognition family, for 32 px inputs on a CPU.

Each variant keeps the trait that defines its family while staying small enough
that one epoch of Fashion-MNIST (60k images, padded to 32 px) takes a minute or
two on 2 CPU cores:

* ``resnet_s32``: timm's ``ResNet`` with basic blocks, one block per stage,
  residual stages at 16, 8, 4, 2 px (a 3x3 stride-2 stem replaces the 7x7 conv
  plus max-pool, which would shrink a 32 px image to 8 px before any stage).
* ``seresnet_s32``: the same network with SE gating in every block, exactly as
  timm builds ``seresnet*`` (``attn_layer='se'``).
* ``swin_s32``: timm's ``SwinTransformer`` with patch 2 and window 4 on 32 px:
  16x16 tokens, windowed attention with shifted windows, patch merging.
* ``pvt_v2_s32``: timm's ``PyramidVisionTransformerV2`` with three stages and
  spatial-reduction attention (sr ratio 2) in the first stage.  PVT v1 is not in
  timm; the suite uses PVT v2 as the PVT family (see the README).

Size ladders (issue 10, rule in :mod:`baselines.ladder`): ``<prefix>_<budget>``, e.g.
``resnet_s32_b1m``, is the family's ``*_s32`` model with its stage widths scaled to the budget.  Two
controls for SASE-ResNet exist only as ladders: ``resnext_s32_*`` (the ResNet whose first 3x3 conv of
each block is SASE's grouped value conv, :data:`VALUE_GROUPS` groups, and nothing else of SASE) and
``seresnext_s32_*`` (the same plus SE).  The SASE ladder is registered by :mod:`sase.resnet`.

All take ``in_chans=1`` by default (Fashion-MNIST is grey-scale) and build
through timm's own builders, so ``timm.create_model('resnet_s32')`` works after
``import baselines``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch.nn as nn
from timm.layers import get_attn
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.pvt_v2 import PyramidVisionTransformerV2
from timm.models.resnet import BasicBlock, ResNet
from timm.models.swin_transformer import SwinTransformer

from baselines.ladder import BUDGETS, RULES, SOLVED, ladder_name

SMALL_CHANNELS = (32, 64, 128, 256)
#: Groups of SASE's value conv (``sase.recognition.SASEConfig().resolved_value_groups``; a test checks).
VALUE_GROUPS = 4


def small_cfg(**overrides: Any) -> dict:
    """timm pretrained-config for an untrained 32 px, 1-channel, 10-class model (no weights, no URL)."""
    cfg = dict(url="", num_classes=10, input_size=(1, 32, 32), pool_size=None, crop_pct=1.0,
               interpolation="bilinear", mean=(0.2860,), std=(0.3530,), first_conv="", classifier="")
    cfg.update(overrides)
    return cfg


_RESNET_CFG = dict(first_conv="conv1", classifier="fc")
_CFG_KEYS = {"swin_s32": dict(first_conv="patch_embed.proj", classifier="head.fc"),
             "pvt_v2_s32": dict(first_conv="patch_embed.proj", classifier="head")}
#: The ladders this module registers (the SASE ladder is in ``sase.resnet``).
BASELINE_LADDERS = ("resnet_s32", "seresnet_s32", "resnext_s32", "seresnext_s32", "swin_s32", "pvt_v2_s32")

default_cfgs = generate_default_cfgs({
    **{f"{name}.untrained": small_cfg(**_RESNET_CFG) for name in ("resnet_s32", "seresnet_s32")},
    **{f"{name}.untrained": small_cfg(**cfg) for name, cfg in _CFG_KEYS.items()},
    **{f"{ladder_name(p, b)}.untrained": small_cfg(**_CFG_KEYS.get(p, _RESNET_CFG))
       for p in BASELINE_LADDERS for b in BUDGETS},
})


class GroupedBasicBlock(BasicBlock):
    """timm ``BasicBlock`` whose first 3x3 conv is grouped: the ResNeXt-style control of SASE-ResNet.

    ``conv1`` becomes exactly the value conv of :class:`sase.recognition.SASEConv2d` (same channels,
    stride, padding, dilation, ``value_groups`` groups, no bias), with no SASE branch around it.
    """

    def __init__(self, *args: Any, value_groups: int = VALUE_GROUPS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        c = self.conv1
        self.conv1 = nn.Conv2d(c.in_channels, c.out_channels, 3, c.stride, c.padding, c.dilation,
                               groups=value_groups, bias=False, device=c.weight.device, dtype=c.weight.dtype)


def build_small_resnet(block: Any = BasicBlock, block_args: dict | None = None,
                       channels: tuple[int, ...] = SMALL_CHANNELS, **kwargs: Any) -> ResNet:
    """timm ``ResNet`` with ``block`` in every stage and the small 32 px stem, stage widths ``channels``.

    ``block`` may be any timm-compatible residual block (basic, SE, SASE), which is how
    the families differ: variation is an argument, not a new network class.
    """
    kwargs.setdefault("in_chans", 1)
    kwargs.setdefault("num_classes", 10)
    variant = kwargs.pop("variant", "resnet_s32")
    model = build_model_with_cfg(
        ResNet, variant, False,
        block=block,
        layers=(1, 1, 1, 1),
        channels=channels,
        stem_type="deep",  # only so that timm sizes the first stage's input as 2 * stem_width
        stem_width=channels[0] // 2,
        block_args=block_args,
        **kwargs,
    )
    # 3x3 stride-2 stem (timm's 7x7 conv + max-pool would leave 8 px of a 32 px image)
    model.conv1 = nn.Conv2d(kwargs["in_chans"], channels[0], 3, stride=2, padding=1, bias=False)
    model.bn1 = nn.BatchNorm2d(channels[0])
    model.maxpool = nn.Identity()
    for info in model.feature_info:  # the stem now reduces by 2, not 4
        info["reduction"] //= 2
    return model


@register_model
def resnet_s32(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """ResNet family, small input: basic blocks [1, 1, 1, 1], widths 32-256."""
    assert not pretrained, "small-input variants have no pretrained weights"
    return build_small_resnet(BasicBlock, variant="resnet_s32", **kwargs)


@register_model
def seresnet_s32(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """SE-ResNet family, small input: ``resnet_s32`` with SE gating (timm ``attn_layer='se'``)."""
    assert not pretrained, "small-input variants have no pretrained weights"
    return build_small_resnet(BasicBlock, block_args=dict(attn_layer=get_attn("se")), variant="seresnet_s32", **kwargs)


def _swin(variant: str, **kwargs: Any) -> SwinTransformer:
    args = dict(img_size=32, patch_size=2, window_size=4, embed_dim=32, depths=(2, 2, 2),
                num_heads=(1, 2, 4), in_chans=1, num_classes=10, drop_path_rate=0.0)
    args.update(kwargs)
    return build_model_with_cfg(SwinTransformer, variant, False, **args)


def _pvt(variant: str, **kwargs: Any) -> PyramidVisionTransformerV2:
    args = dict(depths=(2, 2, 2), embed_dims=(48, 96, 192), num_heads=(1, 2, 4),
                sr_ratios=(2, 1, 1), mlp_ratios=(4.0, 4.0, 4.0), in_chans=1, num_classes=10)
    args.update(kwargs)
    return build_model_with_cfg(PyramidVisionTransformerV2, variant, False, **args)


@register_model
def swin_s32(pretrained: bool = False, **kwargs: Any) -> SwinTransformer:
    """Swin family, small input: patch 2, window 4, shifted windows, 3 stages at 16/8/4 tokens."""
    assert not pretrained, "small-input variants have no pretrained weights"
    return _swin("swin_s32", **kwargs)


@register_model
def pvt_v2_s32(pretrained: bool = False, **kwargs: Any) -> PyramidVisionTransformerV2:
    """PVT family (v2), small input: 3 stages at 8/4/2 tokens, spatial-reduction attention."""
    assert not pretrained, "small-input variants have no pretrained weights"
    return _pvt("pvt_v2_s32", **kwargs)


_SE = dict(attn_layer=get_attn("se"))
_RESNET_BLOCKS: dict[str, tuple[Any, dict]] = {
    "resnet_s32": (BasicBlock, {}),
    "seresnet_s32": (BasicBlock, _SE),
    "resnext_s32": (GroupedBasicBlock, {}),
    "seresnext_s32": (GroupedBasicBlock, _SE),
}


def build_ladder_member(prefix: str, widths: tuple[int, ...], variant: str | None = None, **kwargs: Any) -> nn.Module:
    """A baseline ladder's model (``prefix`` in :data:`BASELINE_LADDERS`) at the stage ``widths`` of its rule.

    ``variant`` names timm's pretrained config; by default the ladder's first member (same config).
    """
    variant = variant or ladder_name(prefix, next(iter(BUDGETS)))
    if prefix == "swin_s32":
        return _swin(variant, embed_dim=widths[0], **kwargs)
    if prefix == "pvt_v2_s32":
        return _pvt(variant, embed_dims=widths, **kwargs)
    block, block_args = _RESNET_BLOCKS[prefix]
    return build_small_resnet(block, block_args=dict(block_args), channels=widths, variant=variant, **kwargs)


def register_ladder(name: str, build: Callable[..., nn.Module], doc: str, module: str = __name__) -> None:
    """Register ``name`` in timm as an entry point that calls ``build(**kwargs)``.

    timm reads the model's pretrained config from ``default_cfgs`` of ``module``, which must hold ``name``.
    """

    def entry(pretrained: bool = False, **kwargs: Any) -> nn.Module:
        if pretrained:
            raise ValueError(f"{name} has no pretrained weights (pretrained=False)")
        return build(**kwargs)

    entry.__name__ = entry.__qualname__ = name
    entry.__doc__ = doc
    entry.__module__ = module
    register_model(entry)


def _register_baseline_ladders() -> None:
    for prefix in BASELINE_LADDERS:
        rule = RULES[prefix]
        for budget, k in SOLVED.get(prefix, {}).items():
            name, widths = ladder_name(prefix, budget), rule.widths(k)
            build = functools.partial(build_ladder_member, prefix, widths, name)
            register_ladder(name, build, f"{prefix} ladder at budget {budget}: stage widths {widths} (k={k}).")


_register_baseline_ladders()
