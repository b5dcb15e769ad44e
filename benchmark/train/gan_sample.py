"""Images from a GAN generator for evaluation: the protocol's BatchNorm mode, seeded, streamed in batches.

BatchNorm mode (``GANRecipe.eval_bn``, recorded as ``fid_mode``):

* ``train`` (the reference): both reference ``eval.py`` files (FastGAN's and the authors' SLIM fork) leave
  ``net_ig.eval()`` commented out, so the EMA generator generates with BN in train mode, normalising each
  batch of ``eval_batch`` (16 there) with its own statistics; spectral norm's power iteration runs too.  Our
  EMA generator's buffers (BN statistics, spectral-norm vectors) are restored afterwards, so generating
  leaves it exactly as it was.
* ``eval``: BN uses the running statistics.  The EMA generator keeps none of its own: :func:`update_ema`
  copies the raw generator's, which do not match the averaged weights (FastGAN-pytorch issues 4 and 34).
* ``recalibrate`` (``fid_mode`` ``recalibrated``): a copy of the generator whose BN statistics are
  re-estimated (reset, then a cumulative average over ``recal_batches`` train-mode batches of seeded noise),
  then eval mode.

Randomness: z comes from a ``torch.Generator`` seeded with ``seed``; the noise-injection layers draw from
torch's global RNG, which is seeded with ``seed`` while generating and restored afterwards (with Python's,
NumPy's and CUDA's), so the same seed gives the same images, and generating never moves the training stream.
:func:`generated_batches` yields uint8 CPU batches one at a time: memory is bounded by the batch, not by the
number of images.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Iterator

import torch

from benchmark.train.resume import capture_rng, restore_rng

FID_MODES = {"train": "train", "eval": "eval", "recalibrate": "recalibrated"}  # eval_bn -> recorded fid_mode
_BN = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)


@contextlib.contextmanager
def isolated_rng(seed: int) -> Iterator[None]:
    """Seed torch's global RNG (CPU and CUDA) with ``seed`` inside; every global RNG is restored on exit."""
    saved = capture_rng()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        restore_rng(saved)


@contextlib.contextmanager
def _restored_buffers(G: torch.nn.Module) -> Iterator[None]:
    saved = [b.detach().clone() for b in G.buffers()]
    was_training = G.training
    try:
        yield
    finally:
        with torch.no_grad():
            for b, v in zip(G.buffers(), saved):
                b.copy_(v)
        G.train(was_training)


def _recalibrated(G: torch.nn.Module, nz: int, batch: int, batches: int, seed: int, device) -> torch.nn.Module:
    net = copy.deepcopy(G)
    for m in net.modules():
        if isinstance(m, _BN):
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average: every batch weighs the same
    net.train()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _ in range(batches):
            net(torch.randn(batch, nz, generator=g).to(device))
    return net.eval()


@contextlib.contextmanager
def generation_mode(G: torch.nn.Module, mode: str, nz: int, batch: int, recal_batches: int, seed: int,
                    device) -> Iterator[torch.nn.Module]:
    """The module to generate with under ``mode`` (train | eval | recalibrate); ``G`` is left unchanged."""
    if mode not in FID_MODES:
        raise ValueError(f"unknown generation mode {mode!r}; choose one of {', '.join(FID_MODES)}")
    with _restored_buffers(G):
        if mode == "recalibrate":
            yield _recalibrated(G, nz, batch, recal_batches, seed, device)
        else:
            yield G.train(mode == "train")


def to_uint8(img: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] (clamped first) -> uint8 [0, 255] on the CPU."""
    return img.float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def generated_batches(G: torch.nn.Module, n: int, nz: int, seed: int, device, batch: int, mode: str = "train",
                      recal_batches: int = 50) -> Iterator[torch.Tensor]:
    """``n`` images of ``G`` as uint8 [b, C, S, S] CPU batches of at most ``batch``, generated lazily."""
    with isolated_rng(seed), generation_mode(G, mode, nz, batch, recal_batches, seed, device) as net:
        g = torch.Generator().manual_seed(seed)
        for start in range(0, n, batch):
            z = torch.randn(min(batch, n - start), nz, generator=g).to(device)
            with torch.no_grad():
                img = net(z)[0]
            yield to_uint8(img)
