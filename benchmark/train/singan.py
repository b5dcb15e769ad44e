"""SinGAN training: a pyramid of patch GANs trained coarse to fine on one image.

Source: Rott Shaham, Dekel & Michaeli, "SinGAN" (ICCV 2019), and the facts of the
published trainer, GitHub ``tamarott/SinGAN`` (``SinGAN/training.py``,
``functions.py``, ``config.py``; SASE-SinGAN's fork ``Torment123/SLIM_code`` keeps
it unchanged).  Our own implementation of the same procedure:

* scales are trained one after the other, coarsest first; a scale whose width equals
  the previous scale's starts from that scale's weights (G non-strictly: SASE-SinGAN's
  scale 1 takes scale 0's weights and a fresh SASE block), otherwise from the
  published init;
* per iteration one noise map is drawn, then ``d_steps`` critic steps (each with a
  fresh random "previous" image from the trained coarser scales) and ``g_steps``
  generator steps; Adam (lr 5e-4, betas (0.5, 0.999)) for both, lr x 0.1 at 80 % of
  the iterations (1600 of 2000);
* the critic's loss is WGAN-GP: ``-D(real) + D(fake) + 0.1 GP``, with one uniform
  mixing weight per step and the gradient norm taken over channels at each pixel,
  then averaged over pixels, as the published ``calc_gradient_penalty`` does;
* the generator's loss is ``-D(fake) + 10 MSE(G(z_rec), real)``: the reconstruction
  uses a fixed noise map at the coarsest scale and zero noise above it;
* the noise at scale 0 is one channel repeated on 3, above it 3 channels, with
  amplitude 1 at scale 0 and ``0.1 * RMSE(real, upsampled reconstruction)`` above;
* inputs are zero-padded by 5 px (noise and previous image) and the generator's
  output is the image's size; the previous scale's output is resized to this
  scale's size.

Deviations, on purpose (each small):

* the published code redraws scale 0's reconstruction noise every iteration and keeps
  the last draw; we draw it once, as the paper describes ("fixed noise map");
* the published generator steps reuse the last critic step's ``fake`` (a stale graph,
  which recent PyTorch rejects after the first optimiser step); we regenerate ``fake``
  from the same noise and previous image at every generator step;
* resizing is antialiased bicubic (``F.interpolate``) instead of SinGAN's ``imresize``
  port; the upsampled previous image is resized straight to the next scale's size
  instead of by 1/factor and then cropped;
* every random draw (noise maps, GP mixing weight) comes from one ``torch.Generator``.

Resume: after each scale, the trained generators, the last critic, the reconstruction
noise, the noise amplitudes, the history and every RNG are saved atomically
(:class:`~benchmark.train.resume.Checkpointer`); a killed run restarts the scale it was
in, and on CPU ends bit-identical to an uninterrupted one.  A NaN or infinite loss
raises :class:`~benchmark.errors.TrainingDiverged`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.singan import SinGANFactory
from baselines.singan.geometry import real_pyramid, resize
from benchmark.config import SinGANRecipe  # noqa: F401  (re-exported: the recipe of this trainer)
from benchmark.errors import TrainingDiverged
from benchmark.train.classify import Progress
from benchmark.train.resume import Checkpointer


@dataclass
class Pyramid:
    """The trained scales: generators (eval mode, frozen), reconstruction noise and noise amplitudes."""

    reals: List[torch.Tensor]
    generators: List[nn.Module] = field(default_factory=list)
    z_rec: List[torch.Tensor] = field(default_factory=list)  # unpadded, [1, 3, h, w]
    noise_amps: List[float] = field(default_factory=list)
    pad: int = 5

    @property
    def trained(self) -> int:
        return len(self.generators)


def make_noise(scale: int, size, batch: int, gen: torch.Generator, device) -> torch.Tensor:
    """SinGAN's noise: one channel repeated on 3 at scale 0, three channels above. [B, 3, h, w]."""
    channels = 1 if scale == 0 else 3
    z = torch.randn(batch, channels, *size, generator=gen)
    return z.expand(batch, 3, *size).to(device) if channels == 1 else z.to(device)


def _pad(x: torch.Tensor, p: int) -> torch.Tensor:
    return F.pad(x, (p, p, p, p))


def run_scale(G: nn.Module, amp: float, z: torch.Tensor, prev: torch.Tensor, p: int) -> torch.Tensor:
    """One generator pass: ``G(pad(amp z + prev), pad(prev))`` (padding both, as SinGAN does)."""
    return G(_pad(amp * z + prev, p), _pad(prev, p))


def draw_previous(pyr: Pyramid, upto: int, mode: str, batch: int = 1, gen: Optional[torch.Generator] = None,
                  keep: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
    """The image scale ``upto`` starts from: the trained scales run on random (``rand``) or the
    reconstruction (``rec``) noise, each output resized to the next scale.  Zeros at scale 0.

    ``keep`` collects every scale's output (before resizing), for the pyramid picture."""
    device = pyr.reals[0].device
    x = torch.zeros(batch, 3, *pyr.reals[0].shape[-2:], device=device)
    for k in range(upto):
        size = tuple(pyr.reals[k].shape[-2:])
        z = make_noise(k, size, batch, gen, device) if mode == "rand" else pyr.z_rec[k].expand(batch, -1, -1, -1)
        x = run_scale(pyr.generators[k], pyr.noise_amps[k], z, x, pyr.pad)
        if keep is not None:
            keep.append(x)
        x = resize(x, tuple(pyr.reals[k + 1].shape[-2:]))
    return x


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """WGAN-GP as SinGAN computes it: one mixing weight; norm over channels per pixel, mean over pixels."""
    a = torch.rand(1, generator=gen).to(real.device)
    mix = (a * real + (1 - a) * fake).requires_grad_(True)
    out = D(mix)
    (grad,) = torch.autograd.grad(out, mix, grad_outputs=torch.ones_like(out), create_graph=True)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


def _check_finite(scale: int, it: int, **losses: float) -> None:
    for name, v in losses.items():
        if not math.isfinite(v):
            raise TrainingDiverged(f"SinGAN scale {scale}, iteration {it}: {name} loss is {v}")


def _optimizers(G, D, recipe: SinGANRecipe):
    opt_g = torch.optim.Adam(G.parameters(), lr=recipe.lr_g, betas=(recipe.beta1, recipe.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=recipe.lr_d, betas=(recipe.beta1, recipe.beta2))
    scheds = [torch.optim.lr_scheduler.MultiStepLR(o, milestones=[recipe.decay_iter], gamma=recipe.lr_gamma)
              for o in (opt_g, opt_d)]
    return opt_g, opt_d, scheds


def train_scale(G: nn.Module, D: nn.Module, pyr: Pyramid, recipe: SinGANRecipe, gen: torch.Generator,
                bar: Progress) -> Dict[str, Any]:
    """Train scale ``pyr.trained`` and append it to ``pyr``; returns that scale's history entry."""
    n, real, p = pyr.trained, pyr.reals[pyr.trained], pyr.pad
    size, device = tuple(real.shape[-2:]), real.device
    t0 = time.perf_counter()
    z_rec = make_noise(0, size, 1, gen, device) if n == 0 else torch.zeros(1, 3, *size, device=device)
    prev_rec = draw_previous(pyr, n, "rec")
    amp = 1.0 if n == 0 else recipe.noise_amp * float(torch.sqrt(F.mse_loss(real, prev_rec)))
    opt_g, opt_d, scheds = _optimizers(G, D, recipe)
    G.train()
    D.train()
    for it in range(recipe.iters_per_scale):
        z = make_noise(n, size, 1, gen, device)
        D.requires_grad_(True)
        for _ in range(recipe.d_steps):
            with torch.no_grad():
                prev = draw_previous(pyr, n, "rand", 1, gen)
                fake = run_scale(G, amp, z, prev, p)
            opt_d.zero_grad(set_to_none=True)
            loss_d = -D(real).mean() + D(fake).mean() + recipe.gp_weight * gradient_penalty(D, real, fake, gen)
            loss_d.backward()
            opt_d.step()
        D.requires_grad_(False)
        for _ in range(recipe.g_steps):
            opt_g.zero_grad(set_to_none=True)
            adv = -D(run_scale(G, amp, z, prev, p)).mean()
            rec = recipe.alpha * F.mse_loss(run_scale(G, amp, z_rec, prev_rec, p), real)
            (adv + rec).backward()
            opt_g.step()
        for s in scheds:
            s.step()
        losses = {"critic": loss_d.item(), "generator": adv.item(), "reconstruction": rec.item()}
        _check_finite(n, it, **losses)
        bar.update(1)
        bar.set_postfix(scale=n, d=f"{losses['critic']:.3f}", rec=f"{losses['reconstruction']:.4f}")
    D.requires_grad_(True)
    pyr.generators.append(G.eval().requires_grad_(False))
    pyr.z_rec.append(z_rec)
    pyr.noise_amps.append(amp)
    return {"scale": n, "size": list(size), "noise_amp": amp, "loss_d": losses["critic"],
            "loss_g": losses["generator"], "rec": losses["reconstruction"], "seconds": time.perf_counter() - t0}


def _same_width(factory: SinGANFactory, n: int) -> bool:
    a, b = factory.arch.at_scale(n), factory.arch.at_scale(n - 1)
    return n > 0 and (a.nfc, a.min_nfc) == (b.nfc, b.min_nfc)


def _new_scale(factory: SinGANFactory, n: int, last_D: Optional[nn.Module], pyr: Pyramid, device):
    G, D = factory.generator(n).to(device), factory.critic(n).to(device)
    if _same_width(factory, n):  # the published warm start: previous scale's weights
        G.load_state_dict(pyr.generators[-1].state_dict(), strict=False)
        D.load_state_dict(last_D.state_dict())
    return G, D


def _state(pyr: Pyramid, D: nn.Module, history: List[Dict], recipe: SinGANRecipe) -> Dict[str, Any]:
    return {"scales_done": pyr.trained, "generators": [g.state_dict() for g in pyr.generators],
            "critic": D.state_dict(), "z_rec": [z.cpu() for z in pyr.z_rec], "noise_amps": list(pyr.noise_amps),
            "history": history, "recipe": dataclasses.asdict(recipe)}


def _restore(saved: Dict[str, Any], factory: SinGANFactory, pyr: Pyramid, device):
    for n, sd in enumerate(saved["generators"]):
        pyr.generators.append(factory.generator(n).to(device))
        pyr.generators[-1].load_state_dict(sd)
        pyr.generators[-1].eval().requires_grad_(False)
    pyr.z_rec = [z.to(device) for z in saved["z_rec"]]
    pyr.noise_amps = list(saved["noise_amps"])
    D = factory.critic(pyr.trained - 1).to(device)
    D.load_state_dict(saved["critic"])
    return D, list(saved["history"])


@contextlib.contextmanager
def cpu_threads(n: Optional[int]):
    """Run with ``n`` intra-op CPU threads (``None``: unchanged), restoring the count after.

    SinGAN's tensors are tiny (one image, 32 channels, tens of pixels a side): on a
    shared 2-core machine two threads were 10-30x slower than one (OpenMP workers
    waiting on each other), and one thread loses little even when the cores are free."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_pyramid(factory: SinGANFactory, image: torch.Tensor, geometry, recipe: SinGANRecipe, seed: int,
                  device="cpu", progress: Callable[..., Progress] = Progress,
                  checkpoint_path: Optional[Path] = None,
                  on_scale_end: Optional[Callable[[int], None]] = None) -> tuple[Pyramid, List[Dict[str, Any]]]:
    """Train every scale of ``factory`` on ``image`` [1, 3, H, W] in [-1, 1]; resume from ``checkpoint_path``.

    Seeding: the global torch RNG (weight init) is seeded with ``seed``, and one
    ``torch.Generator`` seeded with ``seed`` draws every noise map and GP weight.
    ``on_scale_end(scale)`` is called after each scale's checkpoint is written."""
    device = torch.device(device)
    pyr = Pyramid(reals=[r.to(device) for r in real_pyramid(image, geometry)], pad=factory.arch.pad)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    ckpt = Checkpointer(checkpoint_path, 0)
    saved = ckpt.load(gen)
    D, history = _restore(saved, factory, pyr, device) if saved is not None else (None, [])
    bar = progress(total=recipe.iters_per_scale * len(pyr.reals), desc=f"{factory.name} {geometry.sizes[-1]}")
    bar.update(recipe.iters_per_scale * pyr.trained)
    try:
        while pyr.trained < len(pyr.reals):
            G, D = _new_scale(factory, pyr.trained, D, pyr, device)
            history.append(train_scale(G, D, pyr, recipe, gen, bar))
            ckpt.save(_state(pyr, D, history, recipe), gen)
            if on_scale_end is not None:
                on_scale_end(pyr.trained - 1)
    finally:
        bar.close()
    return pyr, history


@torch.no_grad()
def sample(pyr: Pyramid, n: int, gen: torch.Generator, batch: int = 25) -> torch.Tensor:
    """``n`` random samples at the finest scale (random noise at every scale), [n, 3, H, W] in [-1, 1]."""
    out = []
    for start in range(0, n, batch):
        b = min(batch, n - start)
        last = pyr.trained - 1
        prev = draw_previous(pyr, last, "rand", b, gen)
        z = make_noise(last, tuple(pyr.reals[last].shape[-2:]), b, gen, prev.device)
        out.append(run_scale(pyr.generators[last], pyr.noise_amps[last], z, prev, pyr.pad).clamp(-1, 1).cpu())
    return torch.cat(out)


@torch.no_grad()
def sample_per_scale(pyr: Pyramid, gen: torch.Generator) -> List[torch.Tensor]:
    """One random sample followed through the pyramid: each scale's output, coarsest first."""
    keep: List[torch.Tensor] = []
    last = pyr.trained - 1
    prev = draw_previous(pyr, last, "rand", 1, gen, keep=keep)
    z = make_noise(last, tuple(pyr.reals[last].shape[-2:]), 1, gen, prev.device)
    keep.append(run_scale(pyr.generators[last], pyr.noise_amps[last], z, prev, pyr.pad))
    return [k.clamp(-1, 1).cpu() for k in keep]


@torch.no_grad()
def reconstruct(pyr: Pyramid) -> torch.Tensor:
    """The reconstruction of the real image (fixed noise at scale 0, none above), [1, 3, H, W]."""
    last = pyr.trained - 1
    prev = draw_previous(pyr, last, "rec")
    return run_scale(pyr.generators[last], pyr.noise_amps[last], pyr.z_rec[last], prev, pyr.pad).clamp(-1, 1).cpu()
