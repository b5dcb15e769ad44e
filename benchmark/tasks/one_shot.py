"""One one-shot run: train a SinGAN-style pyramid on one photo, then measure it.

Evaluation protocol (recorded with every value): after training, ``eval_samples``
random samples (random noise at every scale, a generator seeded from the run's seed)
are compared with the training image at the finest scale:

* ``sifid``: SIFID (:mod:`benchmark.metrics.sifid`), mean over the samples, with the
  extractor and layer in ``sifid_extractor``: the published SIFID
  (``inception-v3-torchvision:Conv2d_2b_3x3``, torchvision's ImageNet Inception-v3) when
  its weights are here (``--sifid-weights`` or the torch hub cache), else torch-fidelity's
  Inception-v3 at ``Conv2d_4a_3x3`` with ``--inception-weights``, else the named
  substitute (see that module's :func:`~benchmark.metrics.sifid.choose_spatial_extractor`);
* ``ssim_coarse`` (the structure metric, named in ``structure_metric``) and
  ``patch_swd`` (:mod:`benchmark.metrics.structure`), both weight-free;
* ``diversity`` (:mod:`benchmark.metrics.diversity`), SinGAN's measure;
* ``rec_rmse``: RMSE (in [-1, 1] units) of the reconstruction from the fixed noise.

Cost: parameters and fvcore GMACs of each scale's generator at its own input size
(batch 1, padded input), and their sums (one sample runs every scale once); the
critic's parameters.  Wall time of each scale's training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn as nn

from baselines.singan import SinGANFactory
from benchmark.atomic import atomic_write_text
from benchmark.convergence import judge
from benchmark.data.single_image import OneShotData, SingleImage, load_single_image
from benchmark.errors import UserError
from benchmark.metrics import profile
from benchmark.metrics.diversity import pixel_diversity
from benchmark.metrics.environment import device_name
from benchmark.metrics.sifid import SpatialExtractor, choose_spatial_extractor, sifid_images
from benchmark.metrics.structure import patch_swd, ssim_coarse
from benchmark.models import MODELS
from benchmark.paths import cache_dir
from benchmark.specs.one_shot import NAME as ONE_SHOT
from benchmark.train import tune
from benchmark.train.resume import seed_everything
from benchmark.train.singan import (
    Pyramid,
    SinGANRecipe,
    cpu_threads,
    reconstruct,
    sample,
    sample_per_scale,
    time_threads,
    train_pyramid,
)
from benchmark.train.singan_pictures import save_pyramid_picture, save_sample_grid

STRUCTURE_METRIC = "ssim_coarse"


def build_one_shot(name: str, nfc: int = 32, min_nfc: int = 32, nc: int = 3) -> SinGANFactory:
    """The per-scale model factory of a registered one-shot model."""
    entry = MODELS.get(name)
    if entry.suite != ONE_SHOT or entry.build is None:
        raise UserError(f"{name!r} is not a one-shot model; see `python -m benchmark list`")
    return entry.build(nfc=nfc, min_nfc=min_nfc, nc=nc)


PAD = 5  # SinGAN pads each scale's input by 5 px on every side (five 3x3 convs without padding)


def one_input(g: nn.Module) -> nn.Module:
    """``g`` wrapped to take one input, for fvcore."""
    return _OneInput(g)


class _OneInput(nn.Module):
    """``G(x, x)``: one input for fvcore; the previous image only enters a crop and a sum (no MACs)."""

    def __init__(self, g: nn.Module):
        super().__init__()
        self.g = g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(x, x)


def measure_pyramid_cost(factory: SinGANFactory, pyr: Pyramid, device: str) -> Dict[str, Any]:
    """Params and GMACs per scale (generator at its padded input size) and in total; critic params."""
    params, gmacs, counter = [], [], None
    for k, g in enumerate(pyr.generators):
        h, w = pyr.reals[k].shape[-2:]
        macs = profile.count_gmacs(_OneInput(g), (1, 3, h + 2 * pyr.pad, w + 2 * pyr.pad), device=device)
        params.append(profile.count_params(g))
        gmacs.append(macs.gmacs)
        counter = macs.counter
    params_d = [profile.count_params(factory.critic(k)) for k in range(len(pyr.generators))]
    return {"params": sum(params), "params_per_scale": params, "params_d": sum(params_d),
            "params_d_per_scale": params_d, "gmacs": sum(gmacs), "gmacs_per_scale": gmacs,
            "flops_counter": counter}


def _spatial_extractor(ctx, paths) -> SpatialExtractor:
    """The published SIFID when torchvision's Inception-v3 weights are here, else the next choice of
    :func:`~benchmark.metrics.sifid.choose_spatial_extractor` (rank 0 first: it may write a cache)."""
    if not ctx.dist.is_main:
        ctx.dist.barrier()
    extractor = choose_spatial_extractor(paths["cache"], ctx.options.get("sifid_weights"),
                                         ctx.options.get("inception_weights"))
    if ctx.dist.is_main:
        ctx.dist.barrier()
    return extractor


def _paths(ctx) -> Dict[str, Path]:
    results = Path(ctx.run_dir).parents[1]
    return {"grid": results / "samples" / f"{ctx.run_id}.png",
            "pyramid": results / "samples" / f"{ctx.run_id}-pyramid.png", "cache": cache_dir()}


def evaluate_pyramid(pyr: Pyramid, data: SingleImage, recipe: SinGANRecipe, extractor: SpatialExtractor,
                     seed: int) -> Dict[str, Any]:
    """SIFID, structure, diversity and reconstruction error of a trained pyramid (seeded samples)."""
    real = data.image
    fakes = sample(pyr, recipe.eval_samples, torch.Generator().manual_seed(seed + 777))
    sifid_mean, _ = sifid_images(real, fakes, extractor)
    rec = reconstruct(pyr)
    return {"sifid": sifid_mean, "sifid_extractor": extractor.label, "sifid_samples": len(fakes),
            "structure_metric": STRUCTURE_METRIC, STRUCTURE_METRIC: ssim_coarse(real, fakes, data.geometry.sizes[0]),
            "patch_swd": patch_swd(real, fakes, seed + 778), "diversity": pixel_diversity(fakes, real),
            "rec_rmse": float((rec - real).pow(2).mean().sqrt())}


def save_pictures(pyr: Pyramid, data: SingleImage, recipe: SinGANRecipe, model: str, seed: int,
                  paths: Dict[str, Path]) -> None:
    grid = sample(pyr, recipe.grid_samples, torch.Generator().manual_seed(seed + 12345))
    (h, w), last = data.geometry.sizes[-1], data.geometry.num_scales - 1
    title = (f"{model}, seed {seed}, {data.name}\n{len(grid)} samples at scale {last} ({h}x{w} px), "
             f"{recipe.iters_per_scale:,} iterations per scale")
    save_sample_grid(grid, paths["grid"], title=title)
    steps = sample_per_scale(pyr, torch.Generator().manual_seed(seed + 12346))
    save_pyramid_picture([r.cpu() for r in pyr.reals], steps, paths["pyramid"],
                         f"{model} on {data.name}, seed {seed}, {recipe.iters_per_scale:,} iterations per scale")


def choose_threads(ctx, factory: SinGANFactory, data: SingleImage,
                   recipe: SinGANRecipe) -> Tuple[Optional[int], Optional[Dict[str, Any]]]:
    """The intra-op thread count to train with on a CPU, and the timings behind it (``None``s elsewhere).

    The candidates are one thread and every thread this process was given (``torch.get_num_threads()``
    when the task starts; the runner sets it per job): :func:`benchmark.train.singan.time_threads`
    times a short iteration at the finest scale with each, and the faster wins.  The thread count
    changes the floating-point rounding (a GAN's losses then drift apart), so the choice is kept in the
    machine's tuning cache (:func:`benchmark.train.tune.tuning_dir`), keyed by model, geometry, threads
    available, CPU and torch, as the recognition task keeps its own, and pinned in the run's folder: every
    seed runs the same way and a resumed run goes on as it began."""
    if not str(ctx.device).startswith("cpu"):
        return None, None
    saved = tune.pinned(ctx.run_dir, lambda: _measure_threads(ctx, factory, data, recipe))
    return int(saved["cpu_threads"]), {k: v for k, v in saved.items() if k != "cpu_threads"}


def _measure_threads(ctx, factory: SinGANFactory, data: SingleImage, recipe: SinGANRecipe) -> Dict[str, Any]:
    available = torch.get_num_threads()
    if available <= 1:
        return {"cpu_threads": 1, "threads_available": available, "s_per_iteration": {},
                "how": "one thread available"}
    (h, w), scales = data.geometry.sizes[-1], data.geometry.num_scales
    key = tune.cache_key(f"one-shot-threads:{ctx.model}", (scales, h, w, recipe.nfc, recipe.min_nfc), available)
    path = tune.tuning_dir() / f"{key}.json"
    if path.is_file():
        try:
            return {**json.loads(path.read_text()), "cached": path.name}
        except (OSError, ValueError):
            pass  # a damaged cache entry is measured again
    secs = time_threads(factory, data.image, data.geometry, recipe, (1, available))
    timing = {"cpu_threads": min(secs, key=secs.get), "model": ctx.model, "task": "one-shot",
              "threads_available": available, "s_per_iteration": {str(n): round(t, 4) for n, t in secs.items()},
              "size": [h, w], "num_scales": scales,
              "how": "finest scale, 1 critic + 1 generator step of fresh networks; best of 2 alternating rounds"}
    atomic_write_text(path, json.dumps(timing, indent=1) + "\n")
    return timing


def run_one_shot(ctx) -> Dict[str, Any]:
    spec: OneShotData = ctx.preset.data
    recipe: SinGANRecipe = ctx.preset.recipe
    seed_everything(ctx.seed)
    data = load_single_image(spec, ctx.data_path)
    factory = build_one_shot(ctx.model, nfc=recipe.nfc, min_nfc=recipe.min_nfc)
    paths = _paths(ctx)
    extractor = _spatial_extractor(ctx, paths)
    threads, thread_timing = choose_threads(ctx, factory, data, recipe)
    with cpu_threads(threads):
        pyr, history = train_pyramid(factory, data.image, data.geometry, recipe, ctx.seed, ctx.device,
                                     ctx.progress, ctx.checkpoint_path if ctx.dist.is_main else None)
    record: Dict[str, Any] = {}
    if ctx.dist.is_main:  # one image, one process: the other ranks train the same pyramid and wait
        record = evaluate_pyramid(pyr, data, recipe, extractor, ctx.seed)
        save_pictures(pyr, data, recipe, ctx.model, ctx.seed, paths)
        record.update(measure_pyramid_cost(factory, pyr, ctx.device))
    ctx.dist.barrier()
    h, w = data.geometry.sizes[-1]
    results = paths["grid"].parents[1]
    out = {"dataset": data.dataset, "image": data.name, "img_h": h, "img_w": w,
            "orig_h": data.orig_size[0], "orig_w": data.orig_size[1], "num_scales": data.geometry.num_scales,
            "scale_sizes": [list(s) for s in data.geometry.sizes], "scale_factor": data.geometry.scale_factor,
            "iters_per_scale": recipe.iters_per_scale, "lr_decay_at": recipe.lr_decay_at, **record,
            "time_per_scale_s": [round(e["seconds"], 3) for e in history],
            "train_s_per_scale": sum(e["seconds"] for e in history) / max(1, len(history)), "history": history,
            "device": device_name(ctx.device), "precision": "fp32", "cpu_threads": threads,
            "cpu_threads_timing": thread_timing,
            "sample_grid": str(paths["grid"].relative_to(results)),
            "pyramid_picture": str(paths["pyramid"].relative_to(results))}
    return {**out, **judge(ONE_SHOT, out)}

