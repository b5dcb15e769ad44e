"""``python -m benchmark profile``: cost of models without data or training.

Recognition models are built from timm's registry (any timm name works; the
harness's registered models know their input channels and size).  Each row is
a flat dict: ``model``, ``img_size``, ``params`` (exact), ``gmacs`` with
``flops_counter``, ``infer_img_per_s`` (and ``train_img_per_s`` on request)
with ``device``, ``precision`` and ``batch_size``.
"""

from __future__ import annotations

from typing import Dict, Iterator, Optional, Sequence

import timm
import torch

from benchmark.errors import UserError
from benchmark.metrics import profile
from benchmark.models import MODELS
from benchmark.registry import Registry

Profiler = Registry("profiler")  # task -> fn(name, img_size, batch, device, train) -> row


def _resolve(name: str):
    if name in MODELS:
        return MODELS.get(name)
    if timm.is_model(name):
        return None
    MODELS.get(name)  # raises UserError listing the registered models


def _build_classifier(name: str, img_size: int, in_chans: int) -> torch.nn.Module:
    try:
        return timm.create_model(name, in_chans=in_chans, img_size=img_size)
    except TypeError:  # CNNs take any size and have no img_size argument
        return timm.create_model(name, in_chans=in_chans)


def profile_classifier(name: str, img_size: Optional[int], batch: int, device: str, train: bool) -> Dict:
    entry = _resolve(name)
    size = img_size or (entry.img_size if entry else 224)
    chans = entry.in_chans if entry else 3
    model = _build_classifier(name, size, chans).to(device)
    shape = (chans, size, size)
    macs = profile.count_gmacs(model, (1, *shape), device=device)
    infer = profile.measure_throughput(model, (1, *shape), batch, mode="infer", device=device)
    row = {"model": name, "img_size": size, "in_chans": chans, "params": profile.count_params(model),
           "gmacs": round(macs.gmacs, 4), "flops_counter": macs.counter,
           "infer_img_per_s": round(infer.img_per_s, 2), "train_img_per_s": None,
           "device": infer.device, "precision": infer.precision, "batch_size": batch,
           "memory_format": infer.memory_format}
    if train:
        row["train_img_per_s"] = round(
            profile.measure_throughput(model, (1, *shape), batch, mode="train", device=device).img_per_s, 2)
    return row


def profile_models(names: Sequence[str], img_size: Optional[int], batch: int, device: str,
                   train: bool = False) -> Iterator[Dict]:
    if batch < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch}")
    if img_size is not None and img_size < 8:
        raise UserError(f"--img-size must be at least 8, got {img_size}")
    for name in names:
        task = MODELS.get(name).suite if name in MODELS else "recognition"
        fn = Profiler.get(task) if task in Profiler else profile_classifier
        yield fn(name, img_size, batch, device, train)


Profiler.add("recognition", profile_classifier)


def profile_gan(name: str, img_size: Optional[int], batch: int, device: str, train: bool) -> Dict:
    """Params of G and D, GMACs of G per image and generator img/s, at the published widths."""
    size = img_size or MODELS.get(name).img_size
    try:
        G, D = MODELS.get(name).build(size, ngf=64, ndf=64, nz=256, nc=3)
    except ValueError as e:
        raise UserError(f"{name}: {e}") from None
    G = G.to(device)
    macs = profile.count_gmacs(G, (1, 256), device=device)
    speed = profile.measure_throughput(G, (1, 256), batch, mode="infer", device=device)
    return {"model": name, "img_size": size, "params": profile.count_params(G),  # the generator: what sampling costs
            "params_g": profile.count_params(G), "params_d": profile.count_params(D),
            "gmacs": round(macs.gmacs, 4), "gmacs_g": round(macs.gmacs, 4), "flops_counter": macs.counter,
            "infer_img_per_s": round(speed.img_per_s, 2), "train_img_per_s": None, "device": speed.device,
            "precision": speed.precision, "batch_size": batch, "memory_format": speed.memory_format}


Profiler.add("synthesis", profile_gan)
