"""Micro timm models for end-to-end tests (``timm:tiny_timm:NAME@FAMILY``): Swin's and ResNet's code at a few
thousand parameters, so a paper-preset run takes seconds on a CPU."""

from timm.models import register_model
from timm.models.resnet import BasicBlock, ResNet
from timm.models.swin_transformer import SwinTransformer


def _keep(kwargs, *names):
    return {k: kwargs[k] for k in names if k in kwargs}


@register_model
def test_swin_micro(pretrained=False, **kwargs):
    """Swin (timm's SwinTransformer, relative position bias tables and all), two stages, embed dim 16."""
    return SwinTransformer(embed_dim=16, depths=(1, 1), num_heads=(1, 2), window_size=4,
                           **_keep(kwargs, "num_classes", "in_chans", "drop_path_rate", "img_size"))


@register_model
def test_resnet_micro(pretrained=False, **kwargs):
    """ResNet (timm's), one basic block per stage, widths 8 to 64."""
    return ResNet(BasicBlock, [1, 1, 1, 1], channels=(8, 16, 32, 64), stem_width=8,
                  **_keep(kwargs, "num_classes", "in_chans", "drop_path_rate"))
