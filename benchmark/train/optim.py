"""Optimiser and learning-rate schedule of a :class:`~benchmark.config.Recipe`.

Weight decay: two groups, decayed and not (in that order).  Norm weights and biases (1-d tensors, names
ending ``.bias``) are not decayed unless ``decay_norm_and_bias``; with ``model_no_weight_decay`` neither are the
names the model lists in ``no_weight_decay()`` (Swin's relative position bias tables): timm's
``param_groups_weight_decay`` rule, which DeiT, Swin and PVT train with.  timm's ``create_optimizer_v2`` would
put the no-decay group first (an interrupted run's optimiser state would no longer fit its checkpoint) and
ignores ``no_weight_decay()`` when norms and biases are decayed, so the groups are built here, to its rule.

The ``harness`` scheduler (the CPU recipes', and ``resnet-sgd``'s), stepped once per optimiser step:
``cosine`` (linear warm-up from 0, the first step at lr / warm-up steps, then cosine decay to 0 over the steps
after it) and ``step`` (linear warm-up, then the lr times ``lr_gamma`` at each milestone epoch; the classic
ResNet recipe).  The ``timm`` scheduler is timm's ``CosineLRScheduler`` (warm-up from ``warmup_lr``, the
cosine over all units, warm-up included, down to ``min_lr``), stepped as DeiT's and Swin's trainers step
it: after each unit (``schedule_per``: epoch for DeiT and PVT, step for Swin) with that unit's index, so unit
``t`` trains at the schedule's value for ``t - 1`` and the first two at ``warmup_lr``.  It is not the
harness's default: its warm-up starts at ``warmup_lr`` (0 for the CPU recipes: a wasted first step) and its
cosine counts the warm-up in, so it would change the CPU recipes' schedule.

The base lr is the recipe's ``lr`` times :func:`lr_scale`, the linear scaling rule over the global batch when
the recipe names a reference batch (``warmup_lr`` and ``min_lr`` too when ``scale_lr_bounds``, as Swin does).
"""

from __future__ import annotations

import bisect
import fnmatch
import math

import torch

from benchmark.config import Recipe
from benchmark.errors import UserError


def lr_scale(recipe: Recipe, world: int) -> float:
    """``global batch / lr_ref_batch``, or 1 when the recipe names no reference batch."""
    if not recipe.lr_ref_batch:
        return 1.0
    return recipe.batch_size * world / recipe.lr_ref_batch


def no_decay_names(model: torch.nn.Module, recipe: Recipe) -> set:
    """The parameter names (or ``fnmatch`` patterns, as timm reads them: XCiT lists ``pos_embed.*``) the model
    exempts from weight decay in ``no_weight_decay()``, when the recipe honours them; names are those of the
    plain module (unwrap DDP and ``torch.compile`` first)."""
    if not recipe.model_no_weight_decay or not hasattr(model, "no_weight_decay"):
        return set()
    return set(model.no_weight_decay())


def build_optimizer(model: torch.nn.Module, recipe: Recipe, lr: float) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    listed = no_decay_names(model, recipe)
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exempt = any(fnmatch.fnmatch(name, pattern) for pattern in listed)
        skip = exempt or (not recipe.decay_norm_and_bias and (p.ndim <= 1 or name.endswith(".bias")))
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


def build_scheduler(opt: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int, lr_scale: float = 1.0):
    """The recipe's schedule over ``opt`` (built with the base lr), stepped once per optimiser step."""
    if recipe.scheduler == "timm":
        return TimmSchedule(opt, recipe, steps_per_epoch, lr_scale)
    total = recipe.epochs * steps_per_epoch
    warmup = int(round(recipe.warmup_epochs * steps_per_epoch))
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, total, warmup))
    if recipe.schedule == "step":
        marks = [m * steps_per_epoch for m in recipe.milestones]
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_step(s, warmup, marks, recipe.lr_gamma))
    raise UserError(f"unknown schedule {recipe.schedule!r} in recipe {recipe.name!r}; choose cosine or step")


class TimmSchedule:
    """timm's ``CosineLRScheduler``, stepped once per optimiser step by the trainer and passed on to timm as
    DeiT's and Swin's trainers do: after each unit (an epoch, or a step) with that unit's index.  Its state (the
    steps done and timm's scheduler) goes into the checkpoint like a torch scheduler's."""

    def __init__(self, opt: torch.optim.Optimizer, recipe: Recipe, steps_per_epoch: int, lr_scale: float) -> None:
        from timm.scheduler import CosineLRScheduler

        self.steps_per_epoch, self.per_epoch, self.done = steps_per_epoch, recipe.schedule_per == "epoch", 0
        unit = 1 if self.per_epoch else steps_per_epoch
        bound = lr_scale if recipe.scale_lr_bounds else 1.0
        self.timm = CosineLRScheduler(opt, t_initial=max(1, recipe.epochs * unit), lr_min=recipe.min_lr * bound,
                                      warmup_t=int(recipe.warmup_epochs * unit), warmup_lr_init=recipe.warmup_lr * bound,
                                      t_in_epochs=self.per_epoch)

    def step(self) -> None:
        self.done += 1
        if not self.per_epoch:
            self.timm.step_update(self.done - 1)
        elif self.done % self.steps_per_epoch == 0:
            self.timm.step(self.done // self.steps_per_epoch - 1)

    def state_dict(self) -> dict:
        return {"done": self.done, "timm": self.timm.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.done = state["done"]
        self.timm.load_state_dict(state["timm"])
