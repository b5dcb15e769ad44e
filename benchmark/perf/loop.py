"""Training-loop overhead: our training step against a bare PyTorch loop, same model, batch and data.

*Ours* is :meth:`benchmark.train.classify.Trainer.train_epoch` fed by the preset's real loader (staged on
the device, as a run does): batch preparation, the recipe's target maker, scheduler, loss read-back and
progress every ``runtime.log_every_steps`` steps, and checkpoints at the preset's interval
(``runtime.ckpt_every_steps``, counted over the timed steps, so their cost is amortised at the real rate).
*Bare* is the loop anyone would write first: index a pre-normalised tensor already on the device with a
random permutation, forward, loss, backward, step; it never reads anything back.  Its tensor is one pass
of a second loader built with the public options for plain batches (no recipe, no augmentation).  Both start from the same weights and get one untimed
warm-up window; the timed windows alternate their order (bare first, then ours first, ...) so drifts in
machine speed hit both alike.  The headline ratio is the median over window pairs of bare time / ours time
(robust to a hiccup of the shared machine in one window); the ratio of total times is recorded beside it.
"""

from __future__ import annotations

import copy
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict

import torch
import torch.nn.functional as F

from benchmark.config import Preset
from benchmark.data.loaders import build_loaders
from benchmark.models import MODELS
from benchmark.tasks.recognition import build_model
from benchmark.train import precision
from benchmark.train.augment import TargetMaker
from benchmark.train.classify import Progress, Trainer
from benchmark.train.optim import build_optimizer
from benchmark.train.resume import Checkpointer


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bare_window(model, opt, images: torch.Tensor, labels: torch.Tensor, batch: int, steps: int,
                g: torch.Generator, ex) -> float:
    """Seconds for ``steps`` plain training steps on random batches of the in-memory tensors.

    Same precision and memory format as ours (autocast, channels_last input when the execution says so).
    """
    model.train()
    order = torch.randperm(len(labels), generator=g).to(images.device)
    scaler = ex.scaler()
    _sync(ex.device)
    t0 = time.perf_counter()
    for i in range(steps):
        idx = order[i * batch:(i + 1) * batch]
        x, y = ex.to_input(images[idx]), labels[idx].to(ex.device, non_blocking=True)
        with ex.autocast():
            loss = F.cross_entropy(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
    _sync(ex.device)
    return time.perf_counter() - t0


def ours_window(trainer: Trainer, loader, epoch: int, progress: Callable[..., Progress], device: str) -> float:
    loader.set_epoch(epoch)
    trainer.pos.epoch, trainer.pos.step = epoch, 0  # global step = epoch x steps + step: checkpoints fall due
    _sync(device)
    t0 = time.perf_counter()
    bar = progress(total=len(loader), desc="ours", unit="batch", leave=False)
    try:
        trainer.train_epoch(loader, bar)
    finally:
        bar.close()
    _sync(device)
    return time.perf_counter() - t0


def measure_loop(model_name: str, preset: Preset, device: str, steps: int, windows: int,
                 progress: Callable[..., Progress] = Progress) -> Dict[str, Any]:
    entry, recipe = MODELS.get(model_name), preset.recipe
    loaders = build_loaders(preset.data, recipe.batch_size, entry.in_chans, 0, None, steps, recipe=recipe,
                            device=device)
    torch.manual_seed(0)
    ex = precision.resolve(preset.runtime, device)
    ours_model = ex.prepare(build_model(model_name, loaders.num_classes, entry.in_chans, recipe.drop_path).to(device))
    bare_model = copy.deepcopy(ours_model)
    bare_opt = build_optimizer(bare_model, recipe, recipe.lr)
    images, labels = _plain_tensors(preset, recipe.batch_size, entry.in_chans, device)
    g = torch.Generator().manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Checkpointer(Path(tmp) / "last.pt", every_steps=preset.runtime.ckpt_every_steps)
        trainer = Trainer(ours_model, recipe, steps, ex, targets=TargetMaker(recipe, loaders.num_classes),
                          checkpointer=ckpt)
        bare = lambda: bare_window(bare_model, bare_opt, images, labels, recipe.batch_size, steps, g, ex)  # noqa: E731
        bare()  # warm-up, untimed
        ours_window(trainer, loaders.train, 0, Progress, device)
        pairs = []
        for w in range(1, windows + 1):
            if w % 2:
                tb = bare()
                to = ours_window(trainer, loaders.train, w, progress, device)
            else:
                to = ours_window(trainer, loaders.train, w, progress, device)
                tb = bare()
            pairs.append((tb, to))
    n_img = steps * recipe.batch_size
    total_bare, total_ours = sum(tb for tb, _ in pairs), sum(to for _, to in pairs)
    return {"model": model_name, "batch_size": recipe.batch_size, "steps_per_window": steps, "windows": windows,
            "bare_img_per_s": n_img * windows / total_bare, "ours_img_per_s": n_img * windows / total_ours,
            "ratio_ours_over_bare": statistics.median(tb / to for tb, to in pairs),
            "ratio_total_time": total_bare / total_ours, "ratio_per_window": [tb / to for tb, to in pairs],
            "checkpoint_every_steps": preset.runtime.ckpt_every_steps, "checkpoints_in_ours": ckpt.saves,
            "log_every_steps": ex.log_every, "data_on": str(images.device), **ex.as_record()}


def _plain_tensors(preset: Preset, batch: int, in_chans: int, device: str):
    """One pass of the training set, normalised and unaugmented, as two tensors on ``device``."""
    plain = build_loaders(dataclasses.replace(preset.data, augment=False), batch, in_chans, 0, None,
                          recipe=None, device=device).train
    batches = list(plain)
    return torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])
