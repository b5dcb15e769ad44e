"""One recognition run: build the model, train and evaluate it, then profile its cost.

Accuracy comes from :mod:`benchmark.train.classify`; params, GMACs and throughput
from :mod:`benchmark.metrics.cost`, measured the same way for every model at
the evaluation resolution under the preset's stated throughput protocol.  Under ``torchrun`` the model is wrapped in
``DistributedDataParallel``, each rank trains on its shard with the learning rate
scaled by the global batch (as the recipe defines), and evaluation sums correct
counts over ranks so top-1 covers the validation set once.  Cost is measured on
rank 0 alone while the others wait, so the ranks do not compete for the device.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import timm
import torch

from benchmark.convergence import judge
from benchmark.data.loaders import build_loaders
from benchmark.errors import UserError
from benchmark.metrics.cost import classifier_cost
from benchmark.metrics.memory import track_peak_memory
from benchmark.models import MODELS, TIMM_PREFIX, model_channels
from benchmark.train import precision, tune
from benchmark.train.augment import TargetMaker
from benchmark.train.classify import fit, state_digest, unwrap
from benchmark.train.optim import lr_scale
from benchmark.train.resume import Checkpointer, seed_everything


def build_model(name: str, num_classes: int, in_chans: int, drop_path: float,
                img_size: Optional[int] = None) -> torch.nn.Module:
    """The classifier ``name`` from timm's registry.  A ``timm:NAME`` model (any timm model, see
    :func:`benchmark.models.timm_entry`) is built at ``img_size`` when it takes one (ViTs, Swin); the
    harness's registered models are built as registered."""
    extra = {"drop_path_rate": drop_path} if drop_path > 0 else {}
    if not name.startswith(TIMM_PREFIX):
        return timm.create_model(name, num_classes=num_classes, in_chans=in_chans, **extra)
    timm_name = MODELS.get(name).create_name  # imports the module that registers it, in any process
    if img_size is not None:
        try:
            return timm.create_model(timm_name, num_classes=num_classes, in_chans=in_chans,
                                     img_size=img_size, **extra)
        except TypeError as e:  # CNNs take any size and have no img_size argument
            if "img_size" not in str(e):
                raise
    return timm.create_model(timm_name, num_classes=num_classes, in_chans=in_chans, **extra)


def run_recognition(ctx) -> Dict[str, Any]:
    entry = MODELS.get(ctx.model)
    preset, dist = ctx.preset, ctx.dist
    recipe = preset.recipe.for_model(entry.family, ctx.model)  # with its row of the recipe's per-family table
    in_chans = model_channels(entry, preset.data.name)
    loaders = build_loaders(preset.data, recipe.batch_size, in_chans, ctx.seed, ctx.data_path,
                            recipe.max_steps_per_epoch, rank=dist.rank, world=dist.world, recipe=recipe,
                            device=ctx.device)
    require_training(recipe, loaders, dist.world)
    ex = precision.resolve(preset.runtime, ctx.device)
    torch.manual_seed(ctx.seed)  # the same initial weights on every rank
    model = build_model(ctx.model, loaders.num_classes, in_chans, recipe.drop_path,
                        preset.data.img_size).to(ctx.device)
    ex, tuning = _tune(ex, model, ctx, loaders.num_classes, (recipe.batch_size, in_chans,
                                                            preset.data.img_size, preset.data.img_size))
    model = ex.prepare(model)
    seed_everything(ctx.seed + 1_000 * dist.rank)  # then per-rank streams for augmentation and drop-path
    train_model = ex.maybe_compile(_ddp(model, dist, ctx.device))
    ckpt = Checkpointer(ctx.checkpoint_path, preset.runtime.ckpt_every_steps, dist)
    scale = lr_scale(recipe, dist.world)
    with track_peak_memory(ctx.device) as memory, tune.threads(tuning.get("cpu_threads")):
        history = fit(train_model, loaders.train, loaders.val, recipe, torch.device(ctx.device),
                      progress=ctx.progress, lr_scale=scale, reduce=dist.all_reduce_sum, execution=ex,
                      checkpointer=ckpt, targets=TargetMaker(recipe, loaders.num_classes))
    final = history[-1]
    cost = measure_cost(unwrap(model), in_chans, preset.data.img_size, preset.profile, ctx.device) \
        if dist.is_main else {}
    dist.barrier()
    ema = {k: final[k] for k in ("top1_ema", "top5_ema") if k in final}
    out = {"dataset": loaders.dataset, "top1": final["top1"], "top5": final["top5"], **best_epoch(history), **ema,
           "eval_samples": final["val_samples"], "val_set_size": loaders.val_samples,
           "eval_img_size": preset.data.img_size, "epochs": recipe.epochs, "history": history,
           "optimizer": recipe.optimizer, "num_classes": loaders.num_classes,
           "global_batch": recipe.batch_size * dist.world, "lr_effective": recipe.lr * scale,
           "weights_digest": state_digest(model), "checkpoint_saves": ckpt.saves, **ckpt.record(),
           **cost, **memory, **{f"train_{k}": v for k, v in ex.as_record().items()},
           "train_cpu_threads": tuning.get("cpu_threads"), "execution_tuning": tuning or None,
           "recipe_row": preset.recipe.row(entry.family, ctx.model) if preset.recipe.per_family else None}
    return {**out, **judge("recognition", out)}


def require_training(recipe, loaders, world: int) -> None:
    """A run that would take no optimiser step is a user error, raised before any model is built (it used to
    end as a ``completed`` record of an untrained model)."""
    if recipe.epochs < 1:
        raise UserError(f"recipe.epochs = {recipe.epochs}: nothing would train; pass --epochs N with N >= 1")
    if len(loaders.train) == 0:
        raise UserError(f"{loaders.dataset} gives no training step per epoch: each of the {world} process(es) gets "
                        f"fewer than one batch of {recipe.batch_size} training images, and the incomplete batch is "
                        "dropped (drop_last). Pass a smaller --batch-size (at most the training images per "
                        "process) or train on more images.")


def best_epoch(history) -> Dict[str, Any]:
    """The epoch of the highest validation top-1 (the first of equals) and its top-5: what DeiT's, Swin's and
    PVT's trainers log as their maximum accuracy, beside ``top1``, the last epoch's."""
    best = max(history, key=lambda row: row["top1"])
    return {"top1_best": best["top1"], "top1_best_epoch": best["epoch"], "top5_at_best": best["top5"]}


def _tune(ex, model, ctx, num_classes: int, shape):
    """The measured memory format and thread count on a CPU (:mod:`benchmark.train.tune`); else unchanged."""
    if not tune.tunable(ctx.preset.runtime, ctx.device) or ctx.dist.active:
        return ex, {}
    choice = tune.pinned(ctx.run_dir, lambda: tune.choose(model, ctx.model, shape, num_classes, tune.tuning_dir()))
    return tune.with_format(ex, choice), choice


def _ddp(model: torch.nn.Module, dist, device: str) -> torch.nn.Module:
    if not dist.active:
        return model
    ids = [torch.device(device).index or 0] if device.startswith("cuda") else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def measure_cost(model: torch.nn.Module, in_chans: int, img_size: int, spec, device: str) -> Dict[str, Any]:
    """Params, GMACs (batch 1) and train/inference img/s of ``model`` at ``img_size``: the shared
    :func:`benchmark.metrics.cost.classifier_cost`, under the preset's throughput protocol."""
    return classifier_cost(model, in_chans, img_size, spec, device)
