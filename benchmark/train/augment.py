"""Mixup/CutMix and label smoothing: the recipe's augmentations that act on labels, in the training step.

Mixup/CutMix (timm) mixes a batch and turns labels into soft targets, with the recipe's label smoothing
folded in.  The per-image transforms live in :mod:`benchmark.data.transforms`.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from benchmark.config import Recipe


class TargetMaker:
    """Mixes a batch (timm Mixup/CutMix) and returns soft targets; without mixing, hard labels."""

    def __init__(self, recipe: Recipe, num_classes: int) -> None:
        self.mixup = None
        self.smoothing = recipe.label_smoothing
        if recipe.mixup > 0 or recipe.cutmix > 0:
            from timm.data import Mixup

            self.mixup = Mixup(mixup_alpha=recipe.mixup, cutmix_alpha=recipe.cutmix,
                               label_smoothing=recipe.label_smoothing, num_classes=num_classes)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        if self.mixup is not None and len(y) % 2 == 0:  # timm mixes pairs: an odd last batch is left unmixed
            return self.mixup(x, y)
        return x, y

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.dim() == 2:  # soft targets from Mixup/CutMix
            return torch.sum(-target * F.log_softmax(logits, dim=-1), dim=-1).mean()
        return F.cross_entropy(logits, target, label_smoothing=self.smoothing)
