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
  uses a noise map at the coarsest scale and zero noise above it; the published code
  redraws that map every iteration (before the iteration's noise) and keeps the last
  draw, the paper calls it fixed (recipe ``rec_noise``: ``redraw``, the default, or
  ``fixed``);
* the noise at scale 0 is one channel repeated on 3, above it 3 channels, with
  amplitude 1 at scale 0 and ``0.1 * RMSE(real, upsampled reconstruction)`` above;
* inputs are zero-padded by 5 px (noise and previous image) and the generator's
  output is the image's size; the previous scale's output becomes this scale's
  previous image as the code's ``draw_concat`` makes it: clamped and 8-bit quantised
  (its ``imresize`` works on uint8; recipe ``quantize_previous``), resized by
  ``1 / factor`` and cropped to the scale's size (recipe ``upsample``:
  ``factor-crop``, the default, or ``exact``, straight to the size).

Deviations, on purpose (each small):

* the published generator steps reuse the last critic step's ``fake`` (a stale graph,
  which recent PyTorch rejects after the first optimiser step); we regenerate ``fake``
  from the same noise and previous image at every generator step;
* resizing is antialiased bicubic (``F.interpolate``) instead of SinGAN's ``imresize``
  port (the same cubic kernel; it differs in the border handling: reflection there);
* every random draw (noise maps, GP mixing weight) comes from one ``torch.Generator``.

Speed, with the same maths and the same random draws: an iteration's ``d_steps`` random "previous" images
are drawn first, in the order above, and run through the frozen coarser scales as one batch
(:func:`critic_inputs`); the current scale's G still runs once per critic step, since it is in train mode
and its BatchNorm normalises over the batch.  Losses are read back to the host only at the learning
curve's sampled iterations (:func:`curve_every`).  A oneDNN convolution rounds a batch of 3 differently
(1e-7) from three batches of 1, and a GAN under Adam magnifies any rounding difference within a few
iterations, as running on two threads instead of one does; ``tests/test_singan_speed.py`` therefore
compares the loss sequences with oneDNN off, where they agree to rounding.

Resume: after each scale, the trained generators, the last critic, the reconstruction
noise, the noise amplitudes, the history and every RNG are saved atomically
(:class:`~benchmark.train.resume.Checkpointer`); a killed run restarts the scale it was
in, and on CPU ends bit-identical to an uninterrupted one.  A NaN or infinite loss
raises :class:`~benchmark.errors.TrainingDiverged`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from baselines.singan import SinGANFactory
from baselines.singan.geometry import real_pyramid, upsample_previous
from benchmark.config import SinGANRecipe  # noqa: F401  (re-exported: the recipe of this trainer)
from benchmark.errors import TrainingDiverged
from benchmark.train.classify import Progress
from benchmark.train.resume import Checkpointer
from benchmark.train.tune import threads as cpu_threads  # noqa: F401  (re-exported; one thread-count helper)


@dataclass
class Pyramid:
    """The trained scales: generators (eval mode, frozen), reconstruction noise and noise amplitudes."""

    reals: List[torch.Tensor]
    generators: List[nn.Module] = field(default_factory=list)
    z_rec: List[torch.Tensor] = field(default_factory=list)  # unpadded, [1, 3, h, w]
    noise_amps: List[float] = field(default_factory=list)
    pad: int = 5
    factor: float = 1.0  # the pyramid's scale factor (geometry.scale_factor), for ``upsample="factor-crop"``
    upsample: str = "exact"  # how a scale's output becomes the next one's previous image (see upsample_previous)
    quantize: bool = False  # ... and whether it is 8-bit quantised first (the reference code's imresize)

    @classmethod
    def of(cls, reals: List[torch.Tensor], geometry, recipe: SinGANRecipe, pad: int = 5) -> "Pyramid":
        """An untrained pyramid on ``reals`` whose previous images follow ``recipe``."""
        return cls(reals=reals, pad=pad, factor=geometry.scale_factor, upsample=recipe.upsample,
                   quantize=recipe.quantize_previous)

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
    noise = [make_noise(k, tuple(pyr.reals[k].shape[-2:]), batch, gen, device) if mode == "rand"
             else pyr.z_rec[k].expand(batch, -1, -1, -1) for k in range(upto)]
    return run_frozen(pyr, noise, batch, keep)


def run_frozen(pyr: Pyramid, noise: List[torch.Tensor], batch: int,
               keep: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
    """Run the trained scales ``0 .. len(noise) - 1`` on ``noise`` (one [batch, 3, h, w] map per scale),
    each output resized to the next scale: the previous image of scale ``len(noise)``.

    The trained generators are frozen and in eval mode (BatchNorm uses its running statistics), so
    each image of the batch is computed as it would be alone."""
    device = pyr.reals[0].device
    x = torch.zeros(batch, 3, *pyr.reals[0].shape[-2:], device=device)
    for k, z in enumerate(noise):
        x = run_scale(pyr.generators[k], pyr.noise_amps[k], z, x, pyr.pad)
        if keep is not None:
            keep.append(x)
        x = upsample_previous(x, tuple(pyr.reals[k + 1].shape[-2:]), pyr.factor, pyr.upsample, pyr.quantize)
    return x


def critic_inputs(pyr: Pyramid, upto: int, steps: int, gen: torch.Generator):
    """The random previous images and GP mixing weights of ``steps`` critic steps of scale ``upto``.

    The draws come from ``gen`` in the order in which ``steps`` rounds of ``draw_previous(pyr, upto,
    "rand", 1, gen)`` then ``gradient_penalty``'s ``torch.rand(1)`` take them (each step: the noise of
    scales 0 .. upto-1, then its mixing weight); the frozen scales then run once on all ``steps`` images
    as one batch instead of once per step.  Returns ([steps, 3, h, w] previous images, ``steps``
    mixing weights)."""
    device = pyr.reals[0].device
    noise: List[List[torch.Tensor]] = [[] for _ in range(upto)]
    weights = []
    for _ in range(steps):
        for k in range(upto):
            noise[k].append(make_noise(k, tuple(pyr.reals[k].shape[-2:]), 1, gen, device))
        weights.append(torch.rand(1, generator=gen).to(device))
    with torch.no_grad():
        prev = run_frozen(pyr, [torch.cat(z) for z in noise], steps)
    return prev, weights


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, gen: Optional[torch.Generator] = None,
                     weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """WGAN-GP as SinGAN computes it: one mixing weight (``weight``, else drawn from ``gen``); norm over
    channels per pixel, mean over pixels."""
    a = weight if weight is not None else torch.rand(1, generator=gen).to(real.device)
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


@dataclass
class _Scale:
    """What one iteration of a scale's training needs (built by :func:`train_scale`)."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    real: torch.Tensor
    amp: float
    z_rec: torch.Tensor
    prev_rec: torch.Tensor
    redraw_rec: bool = False  # scale 0 under rec_noise="redraw": a new z_rec every iteration


def _iteration(sc: _Scale, pyr: Pyramid, recipe: SinGANRecipe, gen: torch.Generator) -> torch.Tensor:
    """One training iteration of scale ``pyr.trained``: ``d_steps`` critic steps, ``g_steps`` generator
    steps.  Returns the last critic, adversarial and reconstruction losses as one detached tensor [3]
    (no read-back to the host here)."""
    n, real, p, G, D = pyr.trained, sc.real, pyr.pad, sc.G, sc.D
    if sc.redraw_rec:  # the published trainer: drawn before the iteration's noise
        sc.z_rec = make_noise(0, tuple(real.shape[-2:]), 1, gen, real.device)
    z = make_noise(n, tuple(real.shape[-2:]), 1, gen, real.device)
    # every critic step's random previous image in one batched pass through the frozen scales; G itself
    # runs per step (it is in train mode: its BatchNorm statistics are those of one image, as published)
    prevs, weights = critic_inputs(pyr, n, recipe.d_steps, gen)
    D.requires_grad_(True)
    for j in range(recipe.d_steps):
        prev = prevs[j:j + 1]
        with torch.no_grad():
            fake = run_scale(G, sc.amp, z, prev, p)
        sc.opt_d.zero_grad(set_to_none=True)
        loss_d = -D(real).mean() + D(fake).mean() + recipe.gp_weight * gradient_penalty(D, real, fake,
                                                                                        weight=weights[j])
        loss_d.backward()
        sc.opt_d.step()
    D.requires_grad_(False)
    for _ in range(recipe.g_steps):
        sc.opt_g.zero_grad(set_to_none=True)
        adv = -D(run_scale(G, sc.amp, z, prev, p)).mean()
        rec = recipe.alpha * F.mse_loss(run_scale(G, sc.amp, sc.z_rec, sc.prev_rec, p), real)
        (adv + rec).backward()
        sc.opt_g.step()
    D.requires_grad_(True)
    return torch.stack([loss_d.detach(), adv.detach(), rec.detach()])


def curve_every(iters_per_scale: int) -> int:
    """The learning curve's sampling interval: about 50 points per scale (every iteration below 100)."""
    return max(1, iters_per_scale // 50)


def train_scale(G: nn.Module, D: nn.Module, pyr: Pyramid, recipe: SinGANRecipe, gen: torch.Generator,
                bar: Progress) -> Dict[str, Any]:
    """Train scale ``pyr.trained`` and append it to ``pyr``; returns that scale's history entry.

    The entry's ``curve`` samples the last critic, adversarial and reconstruction losses every
    :func:`curve_every` iterations and at the last one (``iter`` counts completed iterations, 1-based).
    Losses are read back to the host only at those points; a non-finite loss at any iteration is
    remembered on the device and raises :class:`TrainingDiverged` at the next point."""
    n, real = pyr.trained, pyr.reals[pyr.trained]
    size, device = tuple(real.shape[-2:]), real.device
    t0 = time.perf_counter()
    redraw = n == 0 and recipe.rec_noise == "redraw"  # then each iteration draws it (first: before its noise)
    fixed = n == 0 and not redraw
    z_rec = make_noise(0, size, 1, gen, device) if fixed else torch.zeros(1, 3, *size, device=device)
    prev_rec = draw_previous(pyr, n, "rec")  # constant for the scale: computed once
    amp = 1.0 if n == 0 else recipe.noise_amp * float(torch.sqrt(F.mse_loss(real, prev_rec)))
    opt_g, opt_d, scheds = _optimizers(G, D, recipe)
    sc = _Scale(G, D, opt_g, opt_d, real, amp, z_rec, prev_rec, redraw_rec=redraw)
    G.train()
    D.train()
    every, total = curve_every(recipe.iters_per_scale), recipe.iters_per_scale
    curve: List[Dict[str, Any]] = []
    finite = torch.ones((), dtype=torch.bool, device=device)
    checked = 0
    for it in range(total):
        last = _iteration(sc, pyr, recipe, gen)
        finite = finite & torch.isfinite(last).all()
        for s in scheds:
            s.step()
        bar.update(1)
        if (it + 1) % every == 0 or it + 1 == total:
            values = last.tolist()
            losses = {"critic": values[0], "generator": values[1], "reconstruction": values[2]}
            if not bool(finite):
                raise TrainingDiverged(f"SinGAN scale {n}, iterations {checked}-{it}: a loss became non-finite "
                                       f"(last: {losses})")
            _check_finite(n, it, **losses)
            checked = it + 1
            curve.append({"iter": it + 1, **losses})
            bar.set_postfix(scale=n, d=f"{losses['critic']:.3f}", rec=f"{losses['reconstruction']:.4f}")
    pyr.generators.append(G.eval().requires_grad_(False))
    pyr.z_rec.append(sc.z_rec)  # under "redraw" at scale 0: the last draw, as the published trainer keeps
    pyr.noise_amps.append(amp)
    return {"scale": n, "size": list(size), "noise_amp": amp, "loss_d": losses["critic"],
            "loss_g": losses["generator"], "rec": losses["reconstruction"], "seconds": time.perf_counter() - t0,
            "curve": curve}


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


def _restore_all_or_nothing(saved: Dict[str, Any], factory: SinGANFactory, pyr: Pyramid, device) -> Dict[str, Any]:
    """:func:`_restore`, or ``pyr`` left empty when the state does not fit (a fresh start)."""
    try:
        D, history = _restore(saved, factory, pyr, device)
    except BaseException:
        pyr.generators, pyr.z_rec, pyr.noise_amps = [], [], []
        raise
    return {"D": D, "history": history}


def time_threads(factory: SinGANFactory, image: torch.Tensor, geometry, recipe: SinGANRecipe,
                 candidates: Sequence[int], steps: int = 1, rounds: int = 2, pad: int = 5) -> Dict[int, float]:
    """Seconds per short iteration (one critic step and one generator step: a third of an iteration)
    at the finest scale of ``geometry``, for each intra-op thread count in ``candidates``.

    Runs the trainer's own iteration on throwaway, freshly initialised networks (the coarser scales
    frozen, as in training) with a private noise generator; the global RNG and the thread count are
    left as found.  One warm-up pass per count, then ``rounds`` rounds that alternate the counts
    (``steps`` timed iterations each); the result is each count's best round.  A count whose warm-up
    took over 0.5 s and over 3x the fastest one's is not timed again (its warm-up time stands).  At the
    one-shot ``default`` geometry (43x64 px) a pass takes about 0.1 s on one thread; on a busy machine the
    first pass on two threads alone has taken 3-7 s."""
    reals = real_pyramid(image, geometry)
    last = len(reals) - 1
    short = dataclasses.replace(recipe, d_steps=1, g_steps=1)
    before = torch.get_num_threads()
    best = {int(n): math.inf for n in candidates}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        pyr = Pyramid.of(reals, geometry, recipe, pad=pad)
        for k in range(last):
            pyr.generators.append(factory.generator(k).eval().requires_grad_(False))
            pyr.z_rec.append(torch.zeros(1, 3, *reals[k].shape[-2:]))
            pyr.noise_amps.append(1.0 if k == 0 else recipe.noise_amp)
        G, D = factory.generator(last), factory.critic(last)
        opt_g, opt_d, _ = _optimizers(G, D, recipe)
        real = reals[last]
        sc = _Scale(G.train(), D.train(), opt_g, opt_d, real, recipe.noise_amp, torch.zeros_like(real),
                    draw_previous(pyr, last, "rec"))
        gen = torch.Generator().manual_seed(0)
        warm: Dict[int, float] = {}
        try:
            for r in range(rounds + 1):  # round 0 warms up (allocations, kernel choice)
                for n in best:
                    if r and warm[n] > max(3 * min(warm.values()), 0.5):
                        best[n] = warm[n]  # hopeless (a busy core): not timed again, to keep this cheap
                        continue
                    torch.set_num_threads(n)
                    k = steps if r else 1
                    t0 = time.perf_counter()
                    for _ in range(k):
                        _iteration(sc, pyr, short, gen).tolist()
                    dt = (time.perf_counter() - t0) / k
                    if r:
                        best[n] = min(best[n], dt)
                    else:
                        warm[n] = dt
        finally:
            torch.set_num_threads(before)
    return best


def train_pyramid(factory: SinGANFactory, image: torch.Tensor, geometry, recipe: SinGANRecipe, seed: int,
                  device="cpu", progress: Callable[..., Progress] = Progress,
                  checkpoint_path: Optional[Path] = None,
                  on_scale_end: Optional[Callable[[int], None]] = None) -> tuple[Pyramid, List[Dict[str, Any]]]:
    """Train every scale of ``factory`` on ``image`` [1, 3, H, W] in [-1, 1]; resume from ``checkpoint_path``.

    Seeding: the global torch RNG (weight init) is seeded with ``seed``, and one
    ``torch.Generator`` seeded with ``seed`` draws every noise map and GP weight.
    ``on_scale_end(scale)`` is called after each scale's checkpoint is written."""
    device = torch.device(device)
    pyr = Pyramid.of([r.to(device) for r in real_pyramid(image, geometry)], geometry, recipe, pad=factory.arch.pad)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    ckpt = Checkpointer(checkpoint_path, 0)
    restored: Dict[str, Any] = {"D": None, "history": []}
    ckpt.load(gen, apply=lambda saved: restored.update(_restore_all_or_nothing(saved, factory, pyr, device)))
    D, history = restored["D"], restored["history"]
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
