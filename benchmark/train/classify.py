"""Supervised training and evaluation of one image classifier.

The loop is plain PyTorch: one optimiser step per batch, the lr schedule stepped
per batch, evaluation on the held-out split after each epoch.  A NaN or infinite
loss raises :class:`~benchmark.errors.TrainingDiverged` so the run is recorded as
``diverged``.  Progress is reported through the ``progress`` callback factory the
caller passes in (the CLI passes tqdm bars); the library itself prints nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional

import torch
import torch.nn.functional as F

from benchmark.config import Recipe
from benchmark.errors import TrainingDiverged
from benchmark.metrics.accuracy import topk_correct
from benchmark.train.optim import build_optimizer, build_scheduler

ProgressFactory = Callable[..., "Progress"]


class Progress:
    """The do-nothing progress bar; the CLI substitutes tqdm."""

    def __init__(self, total: Optional[int] = None, desc: str = "", **_: object) -> None:
        self.total, self.desc = total, desc

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **_: object) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class EvalResult:
    top1: float  # percent
    top5: float  # percent
    loss: float
    samples: int


@torch.no_grad()
def evaluate(model: torch.nn.Module, batches: Iterable, device: torch.device,
             reduce: Callable[[torch.Tensor], torch.Tensor] = lambda t: t) -> EvalResult:
    """Top-1/top-5 (percent) and mean loss over ``batches``; ``reduce`` sums across ranks."""
    model.eval()
    totals = torch.zeros(4, dtype=torch.float64)  # correct1, correct5, loss_sum, n
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        logits = model(x).float()
        c1, c5 = topk_correct(logits, y)
        loss = F.cross_entropy(logits, y, reduction="sum").item()
        totals += torch.tensor([c1, c5, loss, len(y)], dtype=torch.float64)
    totals = reduce(totals)
    n = max(1.0, float(totals[3]))
    return EvalResult(100.0 * float(totals[0]) / n, 100.0 * float(totals[1]) / n, float(totals[2]) / n, int(totals[3]))


def train_one_epoch(model, batches, opt, sched, recipe: Recipe, device, bar: Progress) -> Dict[str, float]:
    model.train()
    loss_sum, seen, t0 = 0.0, 0, time.perf_counter()
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = F.cross_entropy(model(x), y, label_smoothing=recipe.label_smoothing)
        if not math.isfinite(loss.item()):
            raise TrainingDiverged(f"loss became {loss.item()} at step {sched.last_epoch}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        opt.step()
        sched.step()
        loss_sum += loss.item() * len(y)
        seen += len(y)
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
    dt = time.perf_counter() - t0
    return {"train_loss": loss_sum / max(1, seen), "train_epoch_s": dt, "train_img_per_s": seen / max(dt, 1e-9),
            "lr": opt.param_groups[0]["lr"]}


def fit(model: torch.nn.Module, train: Iterable, val: Iterable, recipe: Recipe, device: torch.device,
        progress: ProgressFactory = Progress, lr_scale: float = 1.0,
        reduce: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
        on_epoch: Optional[Callable[[int, Dict], None]] = None) -> List[Dict[str, float]]:
    """Train for ``recipe.epochs`` and return the per-epoch history (loss, top-1, top-5, lr, timing)."""
    opt = build_optimizer(model, recipe, recipe.lr * lr_scale)
    sched = build_scheduler(opt, recipe, len(train))
    history: List[Dict[str, float]] = []
    for epoch in range(recipe.epochs):
        if hasattr(train, "set_epoch"):
            train.set_epoch(epoch)
        bar = progress(total=len(train), desc=f"epoch {epoch + 1}/{recipe.epochs}", unit="batch", leave=False)
        try:
            stats = train_one_epoch(model, train, opt, sched, recipe, device, bar)
        finally:
            bar.close()
        ev = evaluate(model, val, device, reduce)
        row = {"epoch": epoch + 1, **stats, "val_loss": ev.loss, "top1": ev.top1, "top5": ev.top5,
               "val_samples": ev.samples}
        history.append(row)
        if on_epoch:
            on_epoch(epoch, row)
    return history
