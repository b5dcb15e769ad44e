"""An architecture of one's own, put into the comparison: ``--models timm:examples.my_net:my_net_b1m@MyNet``.

The harness builds recognition models by name from timm's registry, so one's own architecture needs
only ``@register_model`` on a function that takes timm's keyword arguments (``num_classes``, ``in_chans``,
``drop_path_rate``; ignore the rest) and returns an ``nn.Module`` mapping ``(B, in_chans, H, W)`` images to
``(B, num_classes)`` logits.  See ``docs/your-model.md``; ``tests/test_your_model.py`` runs this file.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from timm.models import register_model
from torch import nn


class MyNet(nn.Module):
    """A plain residual ConvNet: a 3x3 stem, then one stage per width, each halving the resolution."""

    def __init__(self, widths: Sequence[int] = (48, 96, 192, 384), num_classes: int = 1000, in_chans: int = 3,
                 drop_path_rate: float = 0.0) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_chans, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, prev = [], widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(
                nn.Conv2d(prev, w, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)))
            prev = w
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.head(x.mean((2, 3)))


@register_model
def my_net_b1m(pretrained: bool = False, **kwargs: Any) -> MyNet:
    """1,008,938 params at 10 classes and grey input: inside the ``b1m`` budget of the ladders (1M +-10%)."""
    assert not pretrained, "no pretrained weights"
    keep = {k: kwargs[k] for k in ("num_classes", "in_chans", "drop_path_rate") if k in kwargs}
    return MyNet(widths=(32, 64, 128, 224), **keep)
