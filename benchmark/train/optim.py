"""Optimiser and learning-rate schedule of a :class:`~benchmark.config.Recipe`.

Two schedules, both stepped once per optimiser step: ``cosine`` (linear warm-up, then cosine decay to 0;
DeiT and modern ResNet recipes) and ``step`` (linear warm-up, then the lr times ``lr_gamma`` at each
milestone epoch; the classic ResNet recipe).  The base lr is the recipe's ``lr`` times
:func:`lr_scale`, the linear scaling rule over the global batch when the recipe names a reference batch.
"""

from __future__ import annotations

import bisect
import math

import torch

from benchmark.config import Recipe
from benchmark.errors import UserError


def lr_scale(recipe: Recipe, world: int) -> float:
    """``global batch / lr_ref_batch``, or 1 when the recipe names no reference batch."""
    if not recipe.lr_ref_batch:
        return 1.0
    return recipe.batch_size * world / recipe.lr_ref_batch


def build_optimizer(model: torch.nn.Module, recipe: Recipe, lr: float) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        skip = not recipe.decay_norm_and_bias and (p.ndim <= 1 or name.endswith(".bias"))
        (no_decay if skip else decay).append(p)
    groups = [{"params": decay, "weight_decay": recipe.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=recipe.momentum, nesterov=recipe.nesterov)
    raise UserError(f"unknown optimizer {recipe.optimizer!r} in recipe {recipe.name!r}; choose adamw or sgd")


def warmup_cosine(step: int, total_steps: int, warmup_steps: int) -> float:
    """Multiplier of the base lr at ``step`` (0-based): linear warm-up, then cosine to 0."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_step(step: int, warmup_steps: int, milestone_steps, gamma: float) -> float:
    """Multiplier at ``step``: linear warm-up, then ``gamma`` per milestone passed."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    return gamma ** bisect.bisect_right(milestone_steps, step)


def build_scheduler(opt: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int):
    total = recipe.epochs * steps_per_epoch
    warmup = int(round(recipe.warmup_epochs * steps_per_epoch))
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, total, warmup))
    if recipe.schedule == "step":
        marks = [m * steps_per_epoch for m in recipe.milestones]
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_step(s, warmup, marks, recipe.lr_gamma))
    raise UserError(f"unknown schedule {recipe.schedule!r} in recipe {recipe.name!r}; choose cosine or step")
