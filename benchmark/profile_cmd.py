"""``python -m benchmark profile``: cost of models without data or training.

Recognition models are built from timm's registry (any timm name works; the
harness's registered models know their input channels and size).  Each row is
a flat dict from :mod:`benchmark.metrics.cost`: ``model``, ``img_size``, ``params``
(exact), ``gmacs`` with ``flops_counter``, ``infer_img_per_s`` (and
``train_img_per_s`` on request) with their batch sizes, the throughput protocol
(``precision``, ``tf32``, ``cudnn_benchmark``, ``memory_format``, ``compile``,
warm-up and timed steps) and the device with its driver, torch, CUDA and cuDNN
versions.  Each row leads with timm ``benchmark.py``'s keys (:func:`timm_keys`: ``infer_samples_per_sec``,
``param_count`` in millions, ...); ours follow as aliases.  The protocol is a :class:`~benchmark.config.ProfileSpec` (defaults:
timm's ``benchmark.py``); ``batch`` sets both of its batch sizes.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Dict, Iterator, Optional, Sequence, Tuple

import timm
import torch

from benchmark.config import ProfileSpec
from benchmark.errors import UserError
from benchmark.metrics.cost import classifier_cost, generator_cost
from benchmark.models import MODELS


def _resolve(name: str):
    if name in MODELS:
        return MODELS.get(name)
    if timm.is_model(name):
        return None
    MODELS.get(name)  # raises UserError listing the registered models


def build_classifier(name: str, img_size: int, in_chans: int) -> torch.nn.Module:
    """A timm classifier at ``img_size`` (models without an ``img_size`` argument take any size)."""
    if name in MODELS:
        name = MODELS.get(name).create_name  # ``timm:NAME[@FAMILY]`` -> NAME
    try:
        return timm.create_model(name, in_chans=in_chans, img_size=img_size)
    except TypeError:  # CNNs take any size and have no img_size argument
        return timm.create_model(name, in_chans=in_chans)


def model_shape(name: str, img_size: Optional[int] = None) -> Tuple[int, int]:
    """(input channels, input size) of a classifier: the registered model's, else 3 and 224."""
    entry = _resolve(name)
    return (entry.in_chans if entry else 3), img_size or (entry.img_size if entry else 224)


def profile_classifier(name: str, img_size: Optional[int], device: str, train: bool, spec: ProfileSpec) -> Dict:
    chans, size = model_shape(name, img_size)
    model = build_classifier(name, size, chans).to(device)
    return {"model": name, "img_size": size, "in_chans": chans,
            **_rounded(classifier_cost(model, chans, size, spec, device, train=train))}


def profile_gan(name: str, img_size: Optional[int], device: str, train: bool, spec: ProfileSpec) -> Dict:
    """Params of G and D, GMACs of G per image and generator img/s, at the published widths."""
    size = img_size or MODELS.get(name).img_size
    try:
        G, D = MODELS.get(name).build(size, ngf=64, ndf=64, nz=256, nc=3)
    except ValueError as e:
        raise UserError(f"{name}: {e}") from None
    return {"model": name, "img_size": size, **_rounded(generator_cost(G.to(device), D, 256, spec, device))}


def profile_one_shot(name: str, img_size: Optional[int], device: str, train: bool, spec: ProfileSpec) -> Dict:
    """Params and GMACs of every scale's generator, and in total, for a square image of ``img_size`` (default
    250: SinGAN's max size) under the published pyramid rule (min 25 px, factor 0.75); the critic's params."""
    from baselines.singan import pyramid_geometry
    from benchmark.metrics import profile
    from benchmark.tasks.one_shot import PAD, one_input

    size = img_size or 250
    try:
        geometry = pyramid_geometry(size, size, 250, 25, 0.75)
    except ValueError as e:  # smaller than the coarsest scale
        raise UserError(f"{name}: --img-size {size}: {e}") from None
    factory = MODELS.get(name).build(nfc=32, min_nfc=32, nc=3)
    params, gmacs = [], []
    for k, (h, w) in enumerate(geometry.sizes):
        G = factory.generator(k)
        gmacs.append(profile.count_gmacs(one_input(G), (1, 3, h + 2 * PAD, w + 2 * PAD), device=device).gmacs)
        params.append(profile.count_params(G))
    critic = sum(profile.count_params(factory.critic(k)) for k in range(len(geometry.sizes)))
    return {"model": name, "img_size": size, "num_scales": len(geometry.sizes), "params": sum(params),
            "params_per_scale": params, "params_d": critic, "gmacs": round(sum(gmacs), 4),
            "gmacs_per_scale": [round(g, 5) for g in gmacs], "flops_counter": "fvcore-macs",
            "scale_sizes": [list(s) for s in geometry.sizes]}


def profile_models(names: Sequence[str], img_size: Optional[int], batch: int, device: str,
                   train: bool = False, spec: Optional[ProfileSpec] = None) -> Iterator[Dict]:
    """One row per model; ``spec`` (default: timm's protocol) with both batch sizes set to ``batch``."""
    if batch < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch}")
    if img_size is not None and img_size < 8:
        raise UserError(f"--img-size must be at least 8, got {img_size}")
    spec = dataclasses.replace(spec or ProfileSpec(), infer_batch=batch, train_batch=batch)
    for name in names:
        try:
            yield timm_keys(_profiler(name)(name, img_size, device, train, spec))
        except (MemoryError, RuntimeError) as e:
            if not out_of_memory(e):
                raise
            raise UserError(f"{name}: out of memory at batch {batch} on {device} ({str(e).strip()[:120]}); "
                            "use a smaller --batch-size") from None


def out_of_memory(e: BaseException) -> bool:
    """``e`` says memory ran out: CPU (``MemoryError``, the allocator's RuntimeError) or CUDA."""
    text = str(e)
    return isinstance(e, (MemoryError, torch.OutOfMemoryError)) or "can't allocate memory" in text or \
        "out of memory" in text.lower()


def timm_keys(row: Dict) -> Dict:
    """``row`` with timm ``benchmark.py``'s keys first, ours after them (kept as aliases):
    ``infer_samples_per_sec`` (= ``infer_img_per_s``), ``infer_step_time`` (ms per batch, from it),
    ``infer_batch_size``, ``infer_img_size``, ``infer_gmacs`` (one image's forward pass, = ``gmacs``), the same
    ``train_*`` when training was timed, and ``param_count`` in millions (3 decimals; ``params`` is exact)."""
    out: Dict = {"model": row["model"]}
    for phase in ("infer", "train"):
        rate, batch = row.get(f"{phase}_img_per_s"), row.get(f"{phase}_batch")
        if rate is None:
            continue
        out[f"{phase}_samples_per_sec"] = rate
        if batch:
            out[f"{phase}_step_time"] = round(1000.0 * batch / rate, 3) if rate > 0 else None
            out[f"{phase}_batch_size"] = batch
        out[f"{phase}_img_size"] = row.get("img_size")
        if phase == "infer" and row.get("gmacs") is not None:
            out["infer_gmacs"] = row["gmacs"]
    if row.get("params") is not None:
        out["param_count"] = round(row["params"] / 1e6, 3)
    return {**out, **row}


def _rounded(row: Dict) -> Dict:
    out = dict(row)
    out["gmacs"] = round(out["gmacs"], 4)
    for key in ("infer_img_per_s", "train_img_per_s"):
        if out.get(key) is not None:
            out[key] = round(out[key], 2)
    out["batch_size"] = out["infer_batch"]  # the one batch size of a `profile` call
    return out


def _profiler(name: str):
    """The profiler the model's task spec names; a timm name that is not registered is a classifier."""
    if name not in MODELS:
        return profile_classifier
    from benchmark.spec import load_specs
    from benchmark.suites import SUITES

    spec = load_specs().get(SUITES.get(MODELS.get(name).suite).task)
    module, _, fn = (spec.profile or "benchmark.profile_cmd:profile_classifier").partition(":")
    return getattr(importlib.import_module(module), fn)
