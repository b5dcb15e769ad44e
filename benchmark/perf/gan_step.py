"""Speed of our FastGAN training step: iterations/s of :func:`benchmark.train.gan.train_step`.

One step is everything the training loop does per iteration: a batch of real images from the in-memory
uint8 set (per-epoch permutation and random flip), z, G forward, DiffAugment (color, translation) of real and
fake images, the D step on real images (hinge plus the three decoders' reconstruction losses, summed over the
batch; L1 stands in for LPIPS, whose VGG weights cannot be downloaded here) and on fakes, the G step, the EMA
of G and the finite-loss check.  Not timed: evaluation, sample grids, checkpoints and the progress bar.

The models are FastGAN's (or SASE-GAN's) at ``size`` px with ``ngf``/``ndf`` widths, trained on random
images.  Each window times ``steps`` consecutive steps after ``warmup`` untimed ones; the result is the median
window.  This is the measurement compared with the official FastGAN code's step
(``results/perf/fastgan_step_vs_official_*.json``, which says how the official side was run);
``make_step`` gives a callable step for such side-by-side drivers.

    python -m benchmark.perf.gan_step --size 256 --batch 8 --steps 3 --windows 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any, Callable, Dict

import torch

from benchmark.config import GANRecipe
from benchmark.models import MODELS
from benchmark.train.gan import init_state, train_step
from benchmark.train.recon import build_recon_loss


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def make_step(model: str = "fastgan", size: int = 256, batch: int = 8, ngf: int = 64, ndf: int = 64,
              nz: int = 256, device: str = "cpu", seed: int = 0, n_images: int = 100) -> Callable[[], None]:
    """A zero-argument callable that runs one training step of ``model`` (weights, optimisers and data kept)."""
    torch.manual_seed(seed)
    G, D = MODELS.get(model).build(size, ngf=ngf, ndf=ndf, nz=nz, nc=3)
    G, D = G.to(device), D.to(device)
    recipe = GANRecipe(name="perf", batch_size=batch, ngf=ngf, ndf=ndf, nz=nz, recon_loss="l1")
    state = init_state(G, D, recipe, seed)
    recon, _ = build_recon_loss("l1", torch.device(device))
    images = torch.randint(0, 256, (n_images, 3, size, size), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(seed))
    G.train()
    D.train()
    return lambda: train_step(state, images, recipe, recon, torch.device(device))


def time_window(step: Callable[[], None], steps: int, device: str) -> float:
    """Seconds for ``steps`` consecutive calls of ``step``."""
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return time.perf_counter() - t0


def measure(model: str = "fastgan", size: int = 256, batch: int = 8, ngf: int = 64, ndf: int = 64,
            steps: int = 3, windows: int = 3, warmup: int = 1, device: str = "cpu") -> Dict[str, Any]:
    """Median iterations/s of our step over ``windows`` windows of ``steps`` steps."""
    step = make_step(model, size, batch, ngf, ndf, device=device)
    for _ in range(warmup):
        step()
    secs = [time_window(step, steps, device) for _ in range(windows)]
    return {"model": model, "img_size": size, "batch": batch, "ngf": ngf, "ndf": ndf, "device": device,
            "steps_per_window": steps, "windows_s": secs, "it_per_s": steps / statistics.median(secs)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="fastgan")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--ngf", type=int, default=64)
    p.add_argument("--ndf", type=int, default=64)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--windows", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args(argv)
    print(json.dumps(measure(a.model, a.size, a.batch, a.ngf, a.ndf, a.steps, a.windows, device=a.device),
                     indent=2))


if __name__ == "__main__":
    main()
