"""How long a plan will take on *this* machine, printed before the first run starts.

Machines of one kind differ by 3x (a newcomer's 2-core machine ran the default suite 3x slower than ours),
so a fixed number in a README misleads.  Each estimate times a few real training steps of each model here
(a bare loop: forward, loss, backward, step, on random inputs of the preset's shape and batch), and scales
by the number of steps the preset asks for.  It ignores evaluation and profiling (a few percent at the
default presets), so it is a lower bound, said as such.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F

from benchmark.models import MODELS, model_channels

FASHION_MNIST_TRAIN = 60_000
CALIBRATION_STEPS = 3


def _seconds_per_step(step: Callable[[], None]) -> float:
    step()  # warm-up: allocations, lazy initialisation
    t0 = time.perf_counter()
    for _ in range(CALIBRATION_STEPS):
        step()
    return (time.perf_counter() - t0) / CALIBRATION_STEPS


def recognition_seconds(plan) -> Optional[Dict[str, float]]:
    """Seconds of training per model (all its seeds) of a recognition plan on in-memory data; None otherwise."""
    if plan.preset.data.name != "fashion_mnist":
        return None  # an ImageFolder's size is only known once it is scanned
    return {name: _classifier_step(name, plan) * _steps(name, plan) * len(plan.seeds) for name in plan.models}


def _recipe(name: str, plan):
    """The recipe ``name`` trains under (its row of a per-family table applied)."""
    return plan.preset.recipe.for_model(MODELS.get(name).family, name)


def _steps(name: str, plan) -> int:
    recipe = _recipe(name, plan)
    steps = (plan.preset.data.train_subset or FASHION_MNIST_TRAIN) // recipe.batch_size
    if recipe.max_steps_per_epoch:
        steps = min(steps, recipe.max_steps_per_epoch)
    return steps * recipe.epochs


def _classifier_step(name: str, plan) -> float:
    from benchmark.tasks.recognition import build_model

    preset, recipe, entry = plan.preset, _recipe(name, plan), MODELS.get(name)
    torch.manual_seed(0)
    size, chans = preset.data.img_size, model_channels(entry, preset.data.name)
    model = build_model(name, 10, chans, recipe.drop_path, size).to(plan.device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(recipe.batch_size, chans, size, size, device=plan.device)
    y = torch.randint(0, 10, (recipe.batch_size,), device=plan.device)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _seconds_per_step(step)


def synthesis_seconds(plan) -> Optional[Dict[str, float]]:
    """Seconds of training iterations per model (all its seeds) of a synthesis plan (evaluations excluded)."""
    return {name: _gan_step(name, plan) * plan.preset.recipe.iterations * len(plan.seeds) for name in plan.models}


def _gan_step(name: str, plan) -> float:
    """One FastGAN iteration: D on real images with its decoders, D on detached fakes, one D step; then D on
    fakes and one G step (DiffAugment and the reconstruction loss left out)."""
    preset, recipe = plan.preset, plan.preset.recipe
    size, nc = preset.data.img_size, getattr(preset.data, "channels", 1)
    torch.manual_seed(0)
    G, D = MODELS.get(name).build(size, ngf=recipe.ngf, ndf=recipe.ndf, nz=recipe.nz, nc=nc)
    G, D = G.to(plan.device), D.to(plan.device)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr=1e-6), torch.optim.Adam(D.parameters(), lr=1e-6)
    z = torch.randn(recipe.batch_size, recipe.nz, device=plan.device)
    real = torch.randn(recipe.batch_size, nc, size, size, device=plan.device).clamp(-1, 1)

    def step() -> None:
        fake = G(z)
        logits, recons = D(real, reconstruct=True)
        loss_d = logits.mean() + sum(r.float().mean() for r in _flat(recons)) - D([f.detach() for f in fake]).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = -D(fake).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    return _seconds_per_step(step)


def _flat(out):
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in _flat(o)] if isinstance(out, (list, tuple)) else []


def one_shot_seconds(plan) -> Optional[Dict[str, float]]:
    """Seconds of training per model (all its photos and seeds) of a one-shot plan: a short iteration (one
    critic and one generator step, the trainer's own code on fresh networks) timed at every scale of each
    photo's pyramid, times the recipe's steps per iteration and iterations per scale.  Photos of one
    geometry are timed once."""
    from benchmark.data.single_image import load_single_image
    from benchmark.runner import data_units
    from benchmark.tasks.one_shot import build_one_shot

    recipe = plan.preset.recipe
    photos = [load_single_image(plan.preset.data, unit) for unit in data_units(plan.suite, plan.preset,
                                                                               plan.data_path)]
    out = {}
    for name in plan.models:
        factory = build_one_shot(name, nfc=recipe.nfc, min_nfc=recipe.min_nfc)
        timed: Dict[tuple, float] = {}
        for photo in photos:
            sizes = tuple(photo.geometry.sizes)
            if sizes not in timed:
                timed[sizes] = sum(_singan_short_iteration(factory, photo, k, recipe) for k in range(len(sizes)))
        per_pyramid = sum(timed[tuple(p.geometry.sizes)] for p in photos)
        out[name] = per_pyramid * max(recipe.d_steps, recipe.g_steps) * recipe.iters_per_scale * len(plan.seeds)
    return out


def _singan_short_iteration(factory, photo, scale: int, recipe) -> float:
    """Seconds of one critic and one generator step at ``scale`` (the coarser scales frozen, as in training),
    on the threads this process has."""
    import dataclasses

    from benchmark.train.singan import time_threads

    geometry = dataclasses.replace(photo.geometry, sizes=photo.geometry.sizes[:scale + 1])
    threads = torch.get_num_threads()
    return time_threads(factory, photo.image, geometry, recipe, (threads,), steps=CALIBRATION_STEPS, rounds=1)[threads]
