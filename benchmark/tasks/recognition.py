"""One recognition run: build the model, train and evaluate it, then profile its cost.

Accuracy comes from :mod:`benchmark.train.classify`; params, GMACs and throughput
from :mod:`benchmark.metrics.profile`, measured the same way for every model at
the evaluation resolution.
"""

from __future__ import annotations

from typing import Any, Dict

import timm
import torch

from benchmark.data.loaders import build_loaders
from benchmark.metrics import profile
from benchmark.metrics.memory import track_peak_memory
from benchmark.models import MODELS
from benchmark.train.classify import fit


def run_recognition(ctx) -> Dict[str, Any]:
    entry = MODELS.get(ctx.model)
    preset, recipe = ctx.preset, ctx.preset.recipe
    torch.manual_seed(ctx.seed)
    loaders = build_loaders(preset.data, recipe.batch_size, entry.in_chans, ctx.seed, ctx.data_path,
                            recipe.max_steps_per_epoch)
    device = torch.device(ctx.device)
    model = timm.create_model(ctx.model, num_classes=loaders.num_classes, in_chans=entry.in_chans).to(device)
    with track_peak_memory(ctx.device) as memory:
        history = fit(model, loaders.train, loaders.val, recipe, device, progress=ctx.progress)
    final = history[-1]
    cost = measure_cost(model, entry.in_chans, preset.data.img_size, preset.profile, ctx.device)
    return {"dataset": loaders.dataset, "top1": final["top1"], "top5": final["top5"],
            "eval_samples": final["val_samples"], "eval_img_size": preset.data.img_size,
            "epochs": recipe.epochs, "history": history, **cost, **memory}


def measure_cost(model: torch.nn.Module, in_chans: int, img_size: int, spec, device: str) -> Dict[str, Any]:
    """Params, GMACs (batch 1) and train/inference img/s of ``model`` at ``img_size``."""
    shape = (in_chans, img_size, img_size)
    macs = profile.count_gmacs(model, (1, *shape), device=device)
    common = dict(device=device, precision=spec.precision, warmup=spec.warmup, iters=spec.iters,
                  windows=spec.windows)
    infer = profile.measure_throughput(model, (1, *shape), spec.infer_batch, mode="infer", **common)
    train = profile.measure_throughput(model, (1, *shape), spec.train_batch, mode="train", **common)
    return {
        "params": profile.count_params(model), "gmacs": macs.gmacs, "flops_counter": macs.counter,
        "infer_img_per_s": infer.img_per_s, "train_img_per_s": train.img_per_s,
        "infer_batch": infer.batch_size, "train_batch": train.batch_size,
        "precision": infer.precision, "memory_format": infer.memory_format, "device": infer.device,
        "oom": bool(infer.oom or train.oom),
    }
