"""One synthesis run: train a few-shot GAN with FastGAN's recipe, evaluate FID/KID/SWD, profile G.

Evaluation protocol (recorded with every value): the EMA generator in eval mode
generates ``fid_samples`` images, compared with the whole training set (few-shot
sets have no test split).  FID and KID use the feature extractor chosen by
:func:`benchmark.metrics.extractors.choose_extractor` (Inception-v3 when its weights
are here, else a named substitute); SWD needs no weights.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, Dict

import torch
from torchvision.utils import save_image

from benchmark.data.few_shot import FewShotSet, fmnist_class, image_folder_flat
from benchmark.errors import UserError
from benchmark.metrics import profile
from benchmark.metrics.extractors import choose_extractor
from benchmark.metrics.fidelity import evaluate_fidelity
from benchmark.metrics.memory import track_peak_memory
from benchmark.models import MODELS
from benchmark.paths import cache_dir
from benchmark.train import precision
from benchmark.train.gan import GANState, init_state, train_gan
from benchmark.train.recon import build_recon_loss
from benchmark.train.resume import Checkpointer, seed_everything

GRID = 64  # images in a sample grid (8 x 8)


def load_data(spec, data_path) -> FewShotSet:
    """The embedded Fashion-MNIST few-shot set, or ``--data``: a flat image folder (or an IDX folder)."""
    if data_path and not any(Path(data_path).glob("train-images-idx3-ubyte*")):
        return image_folder_flat(data_path, spec.img_size, spec.channels)
    if spec.name == "folder":
        raise UserError("this preset trains on a few-shot folder: pass --data PATH (a flat folder of images)")
    return fmnist_class(spec.subset or "sneaker", spec.shots or 100, spec.img_size, root=data_path)


@torch.no_grad()
def generate(G: torch.nn.Module, n: int, nz: int, seed: int, device, batch: int = 100) -> torch.Tensor:
    """``n`` images from ``G`` in eval mode, as uint8 [n, C, S, S] (outputs clamped to [-1, 1])."""
    G.eval()
    g = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, n, batch):
        z = torch.randn(min(batch, n - start), nz, generator=g).to(device)
        img = G(z)[0].float().clamp(-1, 1)
        out.append(img.add(1).mul(127.5).round().to(torch.uint8).cpu())
    return torch.cat(out)


def _paths(ctx) -> Dict[str, Path]:
    results = Path(ctx.run_dir).parents[1]
    return {"samples": ctx.run_dir / "samples", "grid": results / "samples" / f"{ctx.run_id}.png", "cache": cache_dir()}


def _callbacks(ctx, recipe, data: FewShotSet, device, paths, extractor, ckpt: Checkpointer):
    fixed_z = torch.randn(GRID, recipe.nz, generator=torch.Generator().manual_seed(ctx.seed + 12345))

    def sample(s: GANState) -> None:
        if not s.dist.is_main:
            return
        with torch.no_grad():
            s.G_ema.eval()
            img = s.G_ema(fixed_z.to(device))[0].float().clamp(-1, 1).cpu()
        paths["samples"].mkdir(parents=True, exist_ok=True)
        save_image(img.add(1).div(2), paths["samples"] / f"iter_{s.iteration:07d}.png", nrow=8, padding=1)

    def evaluate(s: GANState) -> Dict[str, Any]:
        out = None
        if s.dist.is_main:  # rank 0 evaluates its EMA generator; the others wait for the numbers
            fake = generate(s.G_ema, recipe.fid_samples, recipe.nz, ctx.seed + 777, device)
            res = evaluate_fidelity(fake, data.images, extractor, recipe.kid_subset_size, paths["cache"], ctx.seed)
            out = {"fid": res.fid, "kid": res.kid, "kid_std": res.kid_std, "swd": res.swd,
                   "fid_real_samples": res.real_samples, "kid_subset_size": res.kid_subset_size}
        return s.dist.broadcast_object(out)

    def checkpoint(s: GANState) -> None:
        ckpt.save({**s.state_dict(), "recipe": recipe.__dict__}, s.gen)

    return sample, evaluate, checkpoint


def run_synthesis(ctx) -> Dict[str, Any]:
    entry = MODELS.get(ctx.model)
    preset, recipe, dist = ctx.preset, ctx.preset.recipe, ctx.dist
    # GANs train in fp32, contiguous, eager: FastGAN's published numbers are fp32, and AMP changes GAN dynamics
    ex = precision.resolve(dataclasses.replace(preset.runtime, amp="none", channels_last="off", compile=False),
                           ctx.device)
    seed_everything(ctx.seed)  # the same initial weights on every rank
    data = load_data(preset.data, ctx.data_path)
    device = torch.device(ctx.device)
    nc, size = data.images.shape[1], preset.data.img_size
    G, D = entry.build(size, ngf=recipe.ngf, ndf=recipe.ndf, nz=recipe.nz, nc=nc)
    G, D = G.to(device), D.to(device)
    recon, recon_name = build_recon_loss(recipe.recon_loss, device)
    paths = _paths(ctx)
    extractor = _extractor(ctx, nc, paths)
    state = init_state(G, D, recipe, ctx.seed, dist)
    if dist.active:
        torch.manual_seed(ctx.seed + 1_000_003 * dist.rank)  # per-rank noise-injection draws
    ckpt = Checkpointer(ctx.checkpoint_path, 0, dist)
    saved = ckpt.load(state.gen)
    if saved is not None:
        state.load_state_dict(saved)
    sample, evaluate, checkpoint = _callbacks(ctx, recipe, data, device, paths, extractor, ckpt)
    with track_peak_memory(ctx.device) as memory:
        history = train_gan(state, data.images, recipe, recon, device, ctx.progress, evaluate, sample, checkpoint)
    if dist.is_main:
        _publish_grid(paths)
    final = history[-1]
    cost = measure_gan_cost(state.G_ema, D, recipe.nz, preset.profile, ctx.device) if dist.is_main else {}
    dist.barrier()
    return {"dataset": data.name, "train_images": len(data.images), "img_size": size,
            "iterations": state.iteration, "fid": final["fid"], "kid": final["kid"], "kid_std": final["kid_std"],
            "swd": final["swd"], "feature_extractor": extractor.name, "fid_samples": recipe.fid_samples,
            "fid_real_samples": final["fid_real_samples"], "kid_subset_size": final["kid_subset_size"],
            "fid_generator": "ema", "fid_mode": "eval", "recon_loss": recon_name,
            "sample_grid": str(paths["grid"].relative_to(paths["grid"].parents[1])), "history": history,
            "global_batch": recipe.batch_size * dist.world, "checkpoint_saves": ckpt.saves, **cost, **memory,
            **{f"train_{k}": v for k, v in ex.as_record().items()}}


def _extractor(ctx, nc: int, paths):
    """Rank 0 picks (and, the first time, trains and caches) the extractor; the others then read the cache."""
    if not ctx.dist.is_main:
        ctx.dist.barrier()
    extractor = choose_extractor(nc=nc, cache_dir=paths["cache"], inception_weights=ctx.inception_weights)
    if ctx.dist.is_main:
        ctx.dist.barrier()
    return extractor


def _publish_grid(paths) -> None:
    grids = sorted(paths["samples"].glob("iter_*.png"))
    if grids:
        paths["grid"].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(grids[-1], paths["grid"])


def measure_gan_cost(G, D, nz: int, spec, device: str) -> Dict[str, Any]:
    """Params of G and D, GMACs of G per image, generator images/s."""
    macs = profile.count_gmacs(G, (1, nz), device=device)
    speed = profile.measure_throughput(G, (1, nz), spec.infer_batch, mode="infer", device=device,
                                       warmup=spec.warmup, iters=spec.iters, windows=spec.windows)
    return {"params_g": profile.count_params(G), "params_d": profile.count_params(D),
            "params": profile.count_params(G), "gmacs_g": macs.gmacs, "gmacs": macs.gmacs,
            "flops_counter": macs.counter, "infer_img_per_s": speed.img_per_s, "device": speed.device,
            "precision": speed.precision, "infer_batch": speed.batch_size}
