"""Supervised training and evaluation of one image classifier.

The loop is plain PyTorch: one optimiser step per batch (under autocast and a
grad scaler when the :class:`~benchmark.train.precision.Execution` asks), the lr
schedule stepped per batch, evaluation on the held-out split after each epoch.

Nothing is read back from the device per step, so the host can queue steps ahead
of a GPU: the loss is summed on the device (float64, the same value a host sum
gives) and read every ``runtime.log_every_steps`` steps, before each checkpoint
and at the epoch end; evaluation sums its counts on the device too.  A NaN or
infinite loss therefore raises :class:`~benchmark.errors.TrainingDiverged` (the
run is recorded as ``diverged``) at the first read-back after it, not at the
step itself; no checkpoint is written after it.  The fp16 ``GradScaler`` still
syncs once per step (its inf check), as PyTorch's does.  Progress is reported
through the ``progress`` callback factory the caller passes in (the CLI passes
tqdm bars), moved at the same intervals; the library itself prints nothing.

Resume: a :class:`~benchmark.train.resume.Checkpointer` saves model, optimiser,
scheduler, scaler, every RNG, the position in the epoch (the loader restarts
there through ``set_epoch(epoch, start_step)``), the running loss sums and the
history every ``every_steps`` steps and at each epoch end; :func:`fit` starts from
the checkpoint when there is one.  On CPU the resumed run is bit-identical to an
uninterrupted one (tested by SIGKILLing a real run).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Optional

import torch
import torch.nn.functional as F

from benchmark.config import Recipe
from benchmark.digest import tensor_digest
from benchmark.errors import TrainingDiverged
from benchmark.train.augment import TargetMaker
from benchmark.train.optim import build_optimizer, build_scheduler
from benchmark.train.precision import Execution
from benchmark.train.resume import Checkpointer

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


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DDP and ``torch.compile`` wrappers."""
    while True:
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def state_digest(model: torch.nn.Module) -> str:
    """SHA-256 (first 16 hex digits) of every parameter and buffer: equal digests mean bit-equal weights."""
    return tensor_digest(unwrap(model).state_dict())[:16]


def _cpu_exec(device) -> Execution:
    return Execution(str(device), None, False, False, True)


@torch.no_grad()
def evaluate(model: torch.nn.Module, batches: Iterable, device: torch.device,
             reduce: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
             execution: Optional[Execution] = None) -> EvalResult:
    """Top-1/top-5 (percent) and mean loss over ``batches``; ``reduce`` sums across ranks."""
    ex = execution or _cpu_exec(device)
    model.eval()
    sums, n = torch.zeros(3, dtype=torch.float64, device=device), 0  # correct1, correct5, loss_sum: on the device
    for x, y in batches:
        x, y = ex.to_input(x), y.to(device, non_blocking=True)
        with ex.autocast():
            logits = model(x).float()
        # topk_correct's counts (k capped at the number of classes), kept on the device: no sync per batch
        hit = logits.topk(min(5, logits.shape[1]), dim=1).indices.eq(y[:, None])
        loss = F.cross_entropy(logits, y, reduction="sum")
        sums += torch.stack([hit[:, :1].any(dim=1).sum().float(), hit.any(dim=1).sum().float(), loss]).double()
        n += len(y)
    totals = reduce(torch.cat([sums.cpu(), torch.tensor([n], dtype=torch.float64)]))
    n = max(1.0, float(totals[3]))
    return EvalResult(100.0 * float(totals[0]) / n, 100.0 * float(totals[1]) / n, float(totals[2]) / n, int(totals[3]))


@dataclass
class Position:
    """Where training stands: epochs done, steps done in the current epoch, its running sums, the history."""

    epoch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    seen: int = 0
    history: List[Dict[str, float]] = field(default_factory=list)


class Trainer:
    """One classifier's optimiser, schedule, scaler and position; saves and restores all of it."""

    def __init__(self, model: torch.nn.Module, recipe: Recipe, steps_per_epoch: int, execution: Execution,
                 lr_scale: float = 1.0, targets: Optional[TargetMaker] = None,
                 checkpointer: Optional[Checkpointer] = None) -> None:
        self.model, self.recipe, self.ex = model, recipe, execution
        self.steps_per_epoch = steps_per_epoch
        self.opt = build_optimizer(unwrap(model), recipe, recipe.lr * lr_scale)
        self.sched = build_scheduler(self.opt, recipe, steps_per_epoch, lr_scale)
        self.scaler = execution.scaler()
        self.targets = targets or TargetMaker(recipe, num_classes=0)
        self.ckpt = checkpointer or Checkpointer(None, 0)
        self.pos = Position()
        self.ema = None
        if recipe.model_ema > 0:
            from timm.utils import ModelEmaV3

            self.ema = ModelEmaV3(unwrap(model), decay=recipe.model_ema, stochastic_rounding=False)

    def state_dict(self) -> Dict[str, Any]:
        p = self.pos
        return {"model": unwrap(self.model).state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(), "scaler": self.scaler.state_dict() if self.scaler else None,
                "position": {"epoch": p.epoch, "step": p.step, "loss_sum": p.loss_sum, "seen": p.seen},
                "history": p.history, "recipe": self.recipe.name,
                "ema": self.ema.module.state_dict() if self.ema is not None else None}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        unwrap(self.model).load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.pos = Position(**state["position"], history=list(state["history"]))
        if self.ema is not None and state.get("ema") is not None:
            self.ema.module.load_state_dict(state["ema"])

    def resume(self) -> bool:
        return self.ckpt.load_into(self) is not None  # a state that does not fit: a fresh start

    def save(self) -> None:
        self.ckpt.save(self.state_dict())

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimiser step; returns the loss as a 0-d tensor on the device, not read back (no host sync)."""
        x, y = self.ex.to_input(x), y.to(self.ex.device, non_blocking=True)
        x, target = self.targets(x, y)
        with self.ex.autocast():
            loss = self.targets.loss(self.model(x).float(), target)
        self.opt.zero_grad(set_to_none=True)
        if self.scaler:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.opt)
        else:
            loss.backward()
        if self.recipe.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.recipe.grad_clip)
        if self.scaler:
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            self.opt.step()
        self.sched.step()
        if self.ema is not None:
            self.ema.update(unwrap(self.model))
        return loss.detach()

    def train_epoch(self, batches: Iterable, bar: Progress) -> Dict[str, float]:
        """Train from ``self.pos`` to the end of the epoch; checkpoints at the recipe's interval.

        The loss sum stays on the device (float64, summed in the same order as a host sum, so the value is
        the same) and is read back every ``execution.log_every`` steps, before each checkpoint and at the
        end: that is when the progress bar moves and when a non-finite loss is caught.
        """
        self.model.train()
        p, fresh, t0 = self.pos, 0, time.perf_counter()
        log = _LossLog(p, bar, self.ex.device)
        for x, y in batches:
            n = len(y)
            log.add(self.step(x, y), n)
            p.seen, p.step, fresh = p.seen + n, p.step + 1, fresh + n
            due = self.ckpt.due(p.epoch * self.steps_per_epoch + p.step)
            if due or p.step % self.ex.log_every == 0:
                log.read(fresh / (time.perf_counter() - t0))
            if due:
                self.save()
        log.read(fresh / max(time.perf_counter() - t0, 1e-9))
        dt = time.perf_counter() - t0
        return {"train_loss": p.loss_sum / max(1, p.seen), "train_epoch_s": dt,
                "train_img_per_s": fresh / max(dt, 1e-9), "lr": self.opt.param_groups[0]["lr"]}


class _LossLog:
    """The epoch's running loss sum on the device; :meth:`read` syncs it into the position and the bar."""

    def __init__(self, pos: Position, bar: Progress, device: str) -> None:
        self.pos, self.bar = pos, bar
        self.sum = torch.tensor(pos.loss_sum, dtype=torch.float64, device=device)
        self.pending, self.since = 0, (pos.loss_sum, pos.seen)

    def add(self, loss: torch.Tensor, n: int) -> None:
        self.sum += loss.double() * n  # the host did loss_sum + float(loss) * n: the same two float64 ops
        self.pending += 1

    def read(self, img_per_s: float) -> None:
        """Read the sum back (one sync), refuse a non-finite loss, move the bar by the steps since last time."""
        p, total = self.pos, float(self.sum)
        if not math.isfinite(total):
            raise TrainingDiverged(f"the training loss became {total} at or before step {p.step} of epoch "
                                   f"{p.epoch + 1} (checked every few steps)")
        p.loss_sum = total
        if self.pending:
            window = (total - self.since[0]) / max(1, p.seen - self.since[1])
            self.bar.update(self.pending)
            self.bar.set_postfix(loss=f"{window:.3f}", img_s=f"{img_per_s:.0f}")
        self.pending, self.since = 0, (total, p.seen)


TIMING_KEYS = ("train_epoch_s", "train_img_per_s")  # history fields that measure the machine, not the run


def fit(model: torch.nn.Module, train: Iterable, val: Iterable, recipe: Recipe, device: torch.device,
        progress: ProgressFactory = Progress, lr_scale: float = 1.0,
        reduce: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
        on_epoch: Optional[Callable[[int, Dict], None]] = None, execution: Optional[Execution] = None,
        checkpointer: Optional[Checkpointer] = None, targets: Optional[TargetMaker] = None) -> List[Dict[str, float]]:
    """Train for ``recipe.epochs`` (from the checkpoint, if any) and return the per-epoch history."""
    ex = execution or _cpu_exec(device)
    trainer = Trainer(model, recipe, len(train), ex, lr_scale, targets, checkpointer)
    trainer.resume()
    p = trainer.pos
    while p.epoch < recipe.epochs:
        if hasattr(train, "set_epoch"):
            train.set_epoch(p.epoch, p.step)
        bar = progress(total=len(train), initial=p.step, desc=f"epoch {p.epoch + 1}/{recipe.epochs}", unit="batch",
                       leave=False)
        try:
            stats = trainer.train_epoch(train, bar)
        finally:
            bar.close()
        ev = evaluate(unwrap(model), val, device, reduce, ex)
        row = {"epoch": p.epoch + 1, **stats, "val_loss": ev.loss, "top1": ev.top1, "top5": ev.top5,
               "val_samples": ev.samples}
        if trainer.ema is not None:
            ev_ema = evaluate(trainer.ema.module, val, device, reduce, ex)
            row.update(top1_ema=ev_ema.top1, top5_ema=ev_ema.top5)
        p.history.append(row)
        p.epoch, p.step, p.loss_sum, p.seen = p.epoch + 1, 0, 0.0, 0
        trainer.save()
        if on_epoch:
            on_epoch(p.epoch - 1, row)
    return p.history
