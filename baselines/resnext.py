"""ResNeXt-style controls of SASE-ResNet-50 at paper scale (224 px, ImageNet-1k), built on timm's ``ResNet``.

SASE-ResNet-50's value path is a 4-group 3x3 conv (:mod:`sase.resnet`).  Almost all of its param saving
over ResNet-50 comes from that grouping, not from SASE: these controls keep the grouped conv and drop the
SASE branches, so that "SASE helps" can be told from "a grouped conv helps" (issue 10).

* ``resnext50_4x16d``: ResNet-50 with cardinality 4, base width 16, i.e. ResNet-50's widths and a 4-group
  3x3 conv in every bottleneck: exactly ``sase_resnet50``'s value convs, 17,069,096 params.
* ``seresnext50_4x16d``: the same plus SE (timm ``attn_layer='se'``), as ``seresnext50_32x4d`` is built.
* ``resnext50_4x24d`` / ``seresnext50_4x24d``: the controls of the param-matched ``sase_resnet50_4x24d``
  (bottlenecks 1.5x wider).

Names follow ResNeXt's ``<cardinality>x<base width>d``; none has pretrained weights.
"""

from __future__ import annotations

from typing import Any

from timm.models import build_model_with_cfg, generate_default_cfgs, register_model
from timm.models.resnet import Bottleneck, ResNet


def _cfg() -> dict:
    return dict(url="", num_classes=1000, input_size=(3, 224, 224), pool_size=(7, 7), crop_pct=0.875,
                interpolation="bilinear", mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                first_conv="conv1", classifier="fc")


default_cfgs = generate_default_cfgs({
    name: _cfg() for name in ("resnext50_4x16d", "seresnext50_4x16d", "resnext50_4x24d", "seresnext50_4x24d")})


def _create(variant: str, pretrained: bool, base_width: int, se: bool, **kwargs: Any) -> ResNet:
    if pretrained:
        raise ValueError(f"{variant} has no pretrained weights (pretrained=False)")
    args = dict(block=Bottleneck, layers=(3, 4, 6, 3), cardinality=4, base_width=base_width)
    if se:
        args["block_args"] = dict(attn_layer="se")
    return build_model_with_cfg(ResNet, variant, False, **dict(args, **kwargs))


@register_model
def resnext50_4x16d(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Grouped control of ``sase_resnet50``: ResNet-50 widths, 4-group 3x3 convs, no SASE branches."""
    return _create("resnext50_4x16d", pretrained, 16, False, **kwargs)


@register_model
def seresnext50_4x16d(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """``resnext50_4x16d`` plus SE: separates spatial adaptivity from plain channel excitation."""
    return _create("seresnext50_4x16d", pretrained, 16, True, **kwargs)


@register_model
def resnext50_4x24d(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """Grouped control of ``sase_resnet50_4x24d``: bottlenecks 1.5x wider, 4-group 3x3 convs."""
    return _create("resnext50_4x24d", pretrained, 24, False, **kwargs)


@register_model
def seresnext50_4x24d(pretrained: bool = False, **kwargs: Any) -> ResNet:
    """``resnext50_4x24d`` plus SE."""
    return _create("seresnext50_4x24d", pretrained, 24, True, **kwargs)
