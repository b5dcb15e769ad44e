"""FastGAN's training loop (Liu et al., ICLR 2021), written for this harness.

One iteration: a batch of real images (per-epoch permutation and random flips, as the
reference loader: :mod:`benchmark.train.real_batches`); DiffAugment real and generated
images; D step on real images (hinge with a random margin, ``relu(U(0.8, 1) - D(x))``,
plus the reconstruction losses of its three decoders, each summed over the batch's
images as the reference does, or averaged: ``recipe.recon_reduction``) and on generated
ones (``relu(U(0.8, 1) + D(G(z)))``); G step (``-D(G(z))``); EMA of G's parameters (with a warm-up:
:func:`ema_decay_at`).
Every random draw comes from one seeded ``torch.Generator`` (the noise layers draw from
torch's global RNG, which checkpoints save too).  Evaluation, sample grids and
checkpoints happen at the recipe's intervals through the callbacks the task passes in;
the task's callbacks keep every RNG and buffer as they found them, so evaluating does
not change the training stream.

Under torchrun each rank draws its own batch and noise (its generator is seeded
with the rank) and the gradients of D and G are averaged over ranks before each
optimiser step.  DDP's reducer is not used here because FastGAN's discriminator
runs three forward passes (real with decoders, fake, fake for G) per backward
with different sub-modules active; an explicit all-reduce of the gradients is
the same arithmetic without that constraint.  BatchNorm statistics stay per rank,
as in DDP without SyncBatchNorm.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

from baselines.fastgan.diffaug import diff_augment
from baselines.fastgan.discriminator import crop_quarter
from benchmark.config import GANRecipe
from benchmark.errors import TrainingDiverged
from benchmark.train.classify import Progress
from benchmark.train.distributed import DistContext
from benchmark.train.real_batches import SamplerState, real_batch


@dataclass
class GANState:
    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: torch.nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    gen: torch.Generator
    iteration: int = 0
    dist: DistContext = DistContext()
    history: List[Dict[str, float]] = field(default_factory=list)
    sampler: SamplerState = field(default_factory=SamplerState)

    def state_dict(self) -> Dict:
        return {"G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(), "iteration": self.iteration,
                "history": self.history, "sampler": self.sampler.state_dict()}

    def load_state_dict(self, state: Dict) -> None:
        for name in ("G", "G_ema", "D", "opt_g", "opt_d"):
            getattr(self, name).load_state_dict(state[name])
        self.iteration, self.history = state["iteration"], list(state["history"])
        if "sampler" in state:
            self.sampler.load_state_dict(state["sampler"])


def init_state(G, D, recipe: GANRecipe, seed: int, dist: DistContext = DistContext()) -> GANState:
    """Fresh optimisers and EMA; G and D must already hold the same weights on every rank (seed first)."""
    dist.broadcast_module(G)
    dist.broadcast_module(D)
    betas = (recipe.beta1, recipe.beta2)
    return GANState(G, D, copy.deepcopy(G).eval().requires_grad_(False),
                    torch.optim.Adam(G.parameters(), lr=recipe.lr, betas=betas),
                    torch.optim.Adam(D.parameters(), lr=recipe.lr, betas=betas),
                    torch.Generator().manual_seed(seed + 1_000_003 * dist.rank), dist=dist)


def ema_decay_at(recipe: GANRecipe, t: int) -> float:
    """The EMA decay of update ``t`` (0-based: the iterations done before it): ``recipe.ema_decay``, or with
    ``recipe.ema_warmup`` ``min(ema_decay, (1 + t) / (10 + t))`` (0.1, 0.18, ..., 0.991 at t = 1,000, and
    0.999 from t = 8,990 on), so that an early EMA generator is an average of recent weights, not mostly
    the initial ones."""
    return min(recipe.ema_decay, (1 + t) / (10 + t)) if recipe.ema_warmup else recipe.ema_decay


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.lerp_(p.detach(), 1.0 - decay)
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


def _margin(pred: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return 0.8 + 0.2 * torch.rand(pred.shape, generator=g).to(pred.device)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    return x if x.shape[-1] == size else F.interpolate(x, size=size)


def d_real_loss(D, real: torch.Tensor, recon, g: torch.Generator, reduction: str = "sum") -> Dict[str, torch.Tensor]:
    """Hinge on real images plus the decoders' reconstruction losses (``recon`` gives one value per image,
    reduced over the batch by ``reduction``: sum, as the reference, or mean)."""
    quarter = int(torch.randint(4, (1,), generator=g))
    pred, rec = D(real, reconstruct=True, quarter=quarter)
    a = rec.whole.shape[-1]
    hinge = F.relu(_margin(pred, g) - pred).mean()
    per_image = (recon(rec.whole, _resize(real, a)) + recon(rec.small, _resize(real, a))
                 + recon(rec.part, _resize(crop_quarter(real, quarter), a)))
    return {"d_real": hinge, "d_recon": per_image.sum() if reduction == "sum" else per_image.mean()}


def train_step(s: GANState, images: torch.Tensor, recipe: GANRecipe, recon, device) -> Dict[str, float]:
    g, policy = s.gen, [p for p in recipe.diffaug.split(",") if p]
    real = real_batch(images, s.sampler, recipe.batch_size, recipe.sampling, recipe.hflip, g).to(device)
    z = torch.randn(recipe.batch_size, recipe.nz, generator=g).to(device)
    fake = s.G(z)  # [full, aux]
    real_aug = diff_augment(real, policy, generator=g)
    fake_aug = [diff_augment(f, policy, generator=g) for f in fake]

    s.opt_d.zero_grad(set_to_none=True)
    parts = d_real_loss(s.D, real_aug, recon, g, recipe.recon_reduction)
    pred_fake = s.D([f.detach() for f in fake_aug])
    parts["d_fake"] = F.relu(_margin(pred_fake, g) + pred_fake).mean()
    d_loss = parts["d_real"] + parts["d_recon"] + parts["d_fake"]
    d_loss.backward()
    s.dist.average_gradients(s.D)
    s.opt_d.step()

    s.opt_g.zero_grad(set_to_none=True)
    g_loss = -s.D(fake_aug).mean()
    g_loss.backward()
    s.dist.average_gradients(s.G)
    s.opt_g.step()
    update_ema(s.G_ema, s.G, ema_decay_at(recipe, s.iteration))
    s.iteration += 1
    out = {k: float(v.detach()) for k, v in parts.items()} | {"g_loss": float(g_loss.detach())}
    if not all(math.isfinite(v) for v in out.values()):
        raise TrainingDiverged(f"GAN loss became non-finite at iteration {s.iteration}: {out}")
    return out


def _due(it: int, every: int, total: int) -> bool:
    return it == total or (every > 0 and it % every == 0)


def train_gan(s: GANState, images: torch.Tensor, recipe: GANRecipe, recon, device,
              progress: Callable[..., Progress] = Progress,
              evaluate: Optional[Callable[[GANState], Dict]] = None,
              sample: Optional[Callable[[GANState], None]] = None,
              checkpoint: Optional[Callable[[GANState], None]] = None) -> List[Dict[str, float]]:
    """Train from ``s.iteration`` to ``recipe.iterations``; returns the evaluation history (``s.history``)."""
    s.G.train()
    s.D.train()
    history = s.history
    bar = progress(total=recipe.iterations, initial=s.iteration, desc="iterations", unit="it")
    t0, start = time.perf_counter(), s.iteration
    try:
        while s.iteration < recipe.iterations:
            losses = train_step(s, images, recipe, recon, device)
            bar.update(1)
            it = s.iteration
            rate = (it - start) * recipe.batch_size / (time.perf_counter() - t0)
            bar.set_postfix(d=f"{losses['d_real'] + losses['d_fake']:.3f}", g=f"{losses['g_loss']:.3f}",
                            img_s=f"{rate:.0f}")
            if sample and _due(it, recipe.sample_every, recipe.iterations):
                sample(s)
            if evaluate and _due(it, recipe.eval_every, recipe.iterations):
                history.append({"iteration": it, **losses, "train_img_per_s": rate, **evaluate(s)})
                s.G.train()
            if checkpoint and _due(it, recipe.ckpt_every, recipe.iterations):
                checkpoint(s)
    finally:
        bar.close()
    return history
