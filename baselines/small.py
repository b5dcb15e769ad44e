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

All take ``in_chans=1`` by default (Fashion-MNIST is grey-scale) and build
through timm's own builders, so ``timm.create_model('resnet_s32')`` works after
``import baselines``.
"""

from __future__ import annotations

from typing import Any

import torch.nn as nn
from timm.layers import get_attn
from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.pvt_v2 import PyramidVisionTransformerV2
from timm.models.resnet import BasicBlock, ResNet
from timm.models.swin_transformer import SwinTransformer

SMALL_CHANNELS = (32, 64, 128, 256)


def small_cfg(**overrides: Any) -> dict:
    """timm pretrained-config for an untrained 32 px, 1-channel, 10-class model (no weights, no URL)."""
    cfg = dict(url="", num_classes=10, input_size=(1, 32, 32), pool_size=None, crop_pct=1.0,
               interpolation="bilinear", mean=(0.2860,), std=(0.3530,), first_conv="", classifier="")
    cfg.update(overrides)
    return cfg


default_cfgs = generate_default_cfgs({
    "resnet_s32.untrained": small_cfg(first_conv="conv1", classifier="fc"),
    "seresnet_s32.untrained": small_cfg(first_conv="conv1", classifier="fc"),
    "swin_s32.untrained": small_cfg(first_conv="patch_embed.proj", classifier="head.fc"),
    "pvt_v2_s32.untrained": small_cfg(first_conv="patch_embed.proj", classifier="head"),
})


def build_small_resnet(block: Any = BasicBlock, block_args: dict | None = None, **kwargs: Any) -> ResNet:
    """timm ``ResNet`` with ``block`` in every stage and the small 32 px stem.

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
        channels=SMALL_CHANNELS,
        stem_type="deep",  # only so that timm sizes the first stage's input as 2 * stem_width
        stem_width=SMALL_CHANNELS[0] // 2,
        block_args=block_args,
        **kwargs,
    )
    # 3x3 stride-2 stem (timm's 7x7 conv + max-pool would leave 8 px of a 32 px image)
    model.conv1 = nn.Conv2d(kwargs["in_chans"], SMALL_CHANNELS[0], 3, stride=2, padding=1, bias=False)
    model.bn1 = nn.BatchNorm2d(SMALL_CHANNELS[0])
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


@register_model
def swin_s32(pretrained: bool = False, **kwargs: Any) -> SwinTransformer:
    """Swin family, small input: patch 2, window 4, shifted windows, 3 stages at 16/8/4 tokens."""
    assert not pretrained, "small-input variants have no pretrained weights"
    args = dict(img_size=32, patch_size=2, window_size=4, embed_dim=32, depths=(2, 2, 2),
                num_heads=(1, 2, 4), in_chans=1, num_classes=10, drop_path_rate=0.0)
    args.update(kwargs)
    return build_model_with_cfg(SwinTransformer, "swin_s32", False, **args)


@register_model
def pvt_v2_s32(pretrained: bool = False, **kwargs: Any) -> PyramidVisionTransformerV2:
    """PVT family (v2), small input: 3 stages at 8/4/2 tokens, spatial-reduction attention."""
    assert not pretrained, "small-input variants have no pretrained weights"
    args = dict(depths=(2, 2, 2), embed_dims=(48, 96, 192), num_heads=(1, 2, 4),
                sr_ratios=(2, 1, 1), mlp_ratios=(4.0, 4.0, 4.0), in_chans=1, num_classes=10)
    args.update(kwargs)
    return build_model_with_cfg(PyramidVisionTransformerV2, "pvt_v2_s32", False, **args)
