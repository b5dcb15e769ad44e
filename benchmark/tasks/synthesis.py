"""One synthesis run: train a few-shot GAN with FastGAN's recipe, evaluate FID/KID/SWD, profile G.

Evaluation protocol (recorded with every value), the reference code's by default: the
EMA generator generates ``fid_samples`` images in batches of ``eval_batch`` with
BatchNorm in train mode (``recipe.eval_bn``: train | eval | recalibrate, recorded as
``fid_mode``; see :mod:`benchmark.train.gan_sample`), compared with the whole training
set (few-shot sets have no test split).  Images are streamed into the metrics batch by
batch.  Every ``eval_every`` iterations and at the end the EMA generator is evaluated,
as the reference evaluates its saved checkpoints; the record keeps the best and the
last FID (and their iterations), and ``fid``/``kid``/``swd`` are those of the
checkpoint ``recipe.fid_select`` picks (recorded as ``fid_selection``).  Evaluation
runs on seeded RNGs that are restored afterwards, so two evaluations of one checkpoint
agree and training continues exactly as without them.  FID and KID use the feature
extractor chosen by :func:`benchmark.metrics.extractors.choose_extractor` (Inception-v3
when its weights are here, else a named substitute); SWD needs no weights.  What the
features see follows the reference's FID pipeline where the recipe says so
(``fid_gen_nearest``, ``fid_resize``: at 1024 px, samples nearest-resized to 512 px,
then both sets shrunk to 256 px, antialiased; recorded; see
:class:`benchmark.metrics.fidelity.FeatureResize`).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any, Dict

import torch

from benchmark.convergence import judge
from benchmark.data.few_shot import FewShotSet, fmnist_class, image_folder_flat
from benchmark.errors import UserError
from benchmark.metrics.cost import generator_cost
from benchmark.metrics.extractors import choose_extractor
from benchmark.metrics.fidelity import FeatureResize, evaluate_fidelity_stream
from benchmark.metrics.image_sets import save_image_set
from benchmark.metrics.memory import track_peak_memory
from benchmark.models import MODELS
from benchmark.paths import cache_dir
from benchmark.train import precision
from benchmark.train.gan import GANState, init_state, train_gan
from benchmark.train.gan_sample import FID_MODES, generated_batches, isolated_rng
from benchmark.train.grids import save_labelled_grid
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


def generate(G: torch.nn.Module, n: int, nz: int, seed: int, device, batch: int = 100,
             mode: str = "eval") -> torch.Tensor:
    """``n`` images from ``G`` as one uint8 [n, C, S, S] tensor (outputs clamped to [-1, 1]); for small sets.
    Evaluation streams them instead (:func:`evaluate_generator`)."""
    return torch.cat(list(generated_batches(G, n, nz, seed, device, batch, mode)))


def evaluate_generator(G: torch.nn.Module, recipe, real: torch.Tensor, extractor, cache: Path, seed: int,
                       gen_seed: int, device) -> Dict[str, Any]:
    """FID/KID/SWD of ``recipe.fid_samples`` images of ``G`` against ``real``, generated under the recipe's
    protocol and streamed; ``G`` and every RNG are left as they were."""
    with isolated_rng(gen_seed):
        batches = generated_batches(G, recipe.fid_samples, recipe.nz, gen_seed, device, recipe.eval_batch,
                                    recipe.eval_bn, recipe.recal_batches)
        res = evaluate_fidelity_stream(batches, recipe.fid_samples, real, extractor, recipe.kid_subset_size, cache,
                                       seed, resize=FeatureResize(recipe.fid_resize, recipe.fid_gen_nearest))
    return {"fid": res.fid, "kid": res.kid, "kid_std": res.kid_std, "swd": res.swd,
            "fid_real_samples": res.real_samples, "kid_subset_size": res.kid_subset_size,
            "kid_std_kind": res.kid_std_kind}


def select_checkpoint(history, how: str) -> Dict[str, Any]:
    """The evaluation ``how`` picks (best: lowest FID, the earliest on ties; last), plus best and last FIDs."""
    evals = [h for h in history if "fid" in h]
    if not evals:
        raise UserError("the run finished without an evaluation; set recipe.eval_every or run more iterations")
    best, last = min(evals, key=lambda h: h["fid"]), evals[-1]
    chosen = best if how == "best" else last
    return {"chosen": chosen, "fid_selection": how, "fid_iteration": chosen["iteration"], "fid_best": best["fid"],
            "fid_best_iteration": best["iteration"], "fid_last": last["fid"], "fid_last_iteration": last["iteration"]}


def keep_fid_images(G: torch.nn.Module, recipe, real: torch.Tensor, ctx, device) -> str:
    """The images of the last evaluation (regenerated from its seed, under its protocol) and the real set, as
    PNG folders under ``--fid-images DIR/<run id>/``; returns that folder.  At 1024 px the evaluation also
    resizes both sets (``fid_resize``) before the features: pass the same resize to another tool."""
    folder = Path(ctx.options["fid_images"]).expanduser() / ctx.run_id
    batches = generated_batches(G, recipe.fid_samples, recipe.nz, ctx.seed + 777, device, recipe.eval_batch,
                                recipe.eval_bn, recipe.recal_batches)
    save_image_set(batches, folder / "generated")
    save_image_set(real.split(256), folder / "real")
    return str(folder)


def _paths(ctx) -> Dict[str, Path]:
    results = Path(ctx.run_dir).parents[1]
    return {"samples": ctx.run_dir / "samples", "grid": results / "samples" / f"{ctx.run_id}.png", "cache": cache_dir()}


def _callbacks(ctx, recipe, data: FewShotSet, device, paths, extractor, ckpt: Checkpointer):
    def sample(s: GANState) -> None:
        if not s.dist.is_main:
            return
        seed = ctx.seed + 12345  # the same latents at every grid
        img = torch.cat(list(generated_batches(s.G_ema, GRID, recipe.nz, seed, device, recipe.eval_batch,
                                               recipe.eval_bn, recipe.recal_batches)))
        paths["samples"].mkdir(parents=True, exist_ok=True)
        title = f"{ctx.model}, seed {ctx.seed}\niteration {s.iteration:,} of {recipe.iterations:,} (EMA generator)"
        save_labelled_grid(img, paths["samples"] / f"iter_{s.iteration:07d}.png", title, nrow=8)

    def evaluate(s: GANState) -> Dict[str, Any]:
        out = None
        if s.dist.is_main:  # rank 0 evaluates its EMA generator; the others wait for the numbers
            out = evaluate_generator(s.G_ema, recipe, data.images, extractor, paths["cache"], ctx.seed,
                                     ctx.seed + 777, device)
            if ctx.options.get("fid_images") and s.iteration >= recipe.iterations:
                out["fid_images"] = keep_fid_images(s.G_ema, recipe, data.images, ctx, device)
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
    G, D = entry.build(size, ngf=recipe.ngf, ndf=recipe.ndf, nz=recipe.nz, nc=nc, tanh=recipe.tanh)
    G, D = G.to(device), D.to(device)
    recon, recon_name = build_recon_loss(recipe.recon_loss, device)
    paths = _paths(ctx)
    extractor = _extractor(ctx, nc, paths)
    state = init_state(G, D, recipe, ctx.seed, dist)
    if dist.active:
        torch.manual_seed(ctx.seed + 1_000_003 * dist.rank)  # per-rank noise-injection draws
    ckpt = Checkpointer(ctx.checkpoint_path, 0, dist)
    ckpt.load_into(state, state.gen)  # a state that does not fit: a fresh start, with a warning
    sample, evaluate, checkpoint = _callbacks(ctx, recipe, data, device, paths, extractor, ckpt)
    with track_peak_memory(ctx.device) as memory:
        history = train_gan(state, data.images, recipe, recon, device, ctx.progress, evaluate, sample, checkpoint)
    if dist.is_main:
        _publish_grid(paths)
    pick = select_checkpoint(history, recipe.fid_select)
    final = pick.pop("chosen")
    cost = generator_cost(state.G_ema, D, recipe.nz, preset.profile, ctx.device) if dist.is_main else {}
    dist.barrier()
    out = {"dataset": data.name, "train_images": len(data.images), "img_size": size,
           "iterations": state.iteration, "fid": final["fid"], "kid": final["kid"], "kid_std": final["kid_std"],
           "swd": final["swd"], "feature_extractor": extractor.name, "fid_samples": recipe.fid_samples,
           "fid_real_samples": final["fid_real_samples"], "kid_subset_size": final["kid_subset_size"],
           "fid_generator": "ema", "fid_mode": FID_MODES[recipe.eval_bn], "fid_gen_batch": recipe.eval_batch,
           "fid_gen_nearest": recipe.fid_gen_nearest, "fid_resize": recipe.fid_resize,
           "fid_images": history[-1].get("fid_images") if history else None,
           **pick, "kid_std_kind": final.get("kid_std_kind"), "recon_loss": recon_name,
           "recon_reduction": recipe.recon_reduction, "hflip": recipe.hflip, "sampling": recipe.sampling,
           "tanh": recipe.tanh, "lr": recipe.lr, "ema_decay": recipe.ema_decay,
           "ema_warmup": getattr(recipe, "ema_warmup", False),
           "sample_grid": str(paths["grid"].relative_to(paths["grid"].parents[1])), "history": history,
           "global_batch": recipe.batch_size * dist.world, "checkpoint_saves": ckpt.saves, **cost, **memory,
           **ckpt.record(), **{f"train_{k}": v for k, v in ex.as_record().items()}}
    return {**out, **judge("synthesis", out)}


def _extractor(ctx, nc: int, paths):
    """Rank 0 picks (and, the first time, trains and caches) the extractor; the others then read the cache."""
    if not ctx.dist.is_main:
        ctx.dist.barrier()
    extractor = choose_extractor(nc=nc, cache_dir=paths["cache"], inception_weights=ctx.options.get("inception_weights"))
    if ctx.dist.is_main:
        ctx.dist.barrier()
    return extractor


def _publish_grid(paths) -> None:
    grids = sorted(paths["samples"].glob("iter_*.png"))
    if grids:
        paths["grid"].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(grids[-1], paths["grid"])
