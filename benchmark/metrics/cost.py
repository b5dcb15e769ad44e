"""A model's cost, measured one way for every caller: params, GMACs and img/s under the stated protocol.

:func:`classifier_cost` (recognition runs and ``profile``) and :func:`generator_cost` (synthesis runs and
``profile``) return flat, JSON-ready dicts.  The throughput fields come from :func:`throughput_fields`,
which takes :class:`~benchmark.metrics.profile.Throughput` objects only, so every row carries its
protocol (precision, TF32, cuDNN autotuning, memory format, compile, warm-up and timed steps), its batch
sizes and the device with its GPU driver, torch, CUDA and cuDNN versions.

GAN rows: ``params`` and ``gmacs`` are the generator's (what sampling costs; GMACs per image), ``params_d``
the discriminator's; ``train_img_per_s`` is None (a GAN step is two models, timed by the perf part).
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark.metrics import profile
from benchmark.metrics.protocol import protocol_from_spec


def throughput_fields(infer: profile.Throughput, train: profile.Throughput | None = None) -> dict[str, Any]:
    """Row fields of an inference (and training) measurement: img/s, batch sizes, protocol, platform."""
    for t in (infer, train):
        if t is not None and not isinstance(t, profile.Throughput):
            raise TypeError(f"expected a Throughput, got {type(t).__name__}")
    if train is not None and _settings(train) != _settings(infer):
        raise ValueError(f"infer and train were measured under different protocols: {infer.protocol} vs "
                         f"{train.protocol}")
    return {"infer_img_per_s": infer.img_per_s, "train_img_per_s": train.img_per_s if train else None,
            "infer_batch": infer.batch_size, "train_batch": train.batch_size if train else None,
            **infer.protocol.as_record(), **infer.platform,
            "oom": bool(infer.oom or (train is not None and train.oom))}


def classifier_cost(model: torch.nn.Module, in_chans: int, img_size: int, spec, device: str,
                    train: bool = True) -> dict[str, Any]:
    """Params, GMACs (batch 1) and inference (and training) img/s of ``model`` at ``img_size``.

    ``spec`` is a :class:`~benchmark.config.ProfileSpec`; ``device`` must be where the model is.
    """
    shape = (1, in_chans, img_size, img_size)
    macs = profile.count_gmacs(model, shape, device=device)
    infer = profile.measure(model, shape, "infer", protocol_from_spec(spec, spec.infer_batch, device), device)
    fit = profile.measure(model, shape, "train", protocol_from_spec(spec, spec.train_batch, device), device) \
        if train else None
    return {"params": profile.count_params(model), "gmacs": macs.gmacs, "flops_counter": macs.counter,
            **throughput_fields(infer, fit)}


def generator_cost(G: torch.nn.Module, D: torch.nn.Module, nz: int, spec, device: str) -> dict[str, Any]:
    """Params of G (``params``) and D (``params_d``), GMACs of G per image, generator img/s."""
    macs = profile.count_gmacs(G, (1, nz), device=device)
    speed = profile.measure(G, (1, nz), "infer", protocol_from_spec(spec, spec.infer_batch, device), device)
    return {"params": profile.count_params(G), "params_d": profile.count_params(D), "gmacs": macs.gmacs,
            "flops_counter": macs.counter, **throughput_fields(speed)}


def _settings(t: profile.Throughput) -> tuple:
    return tuple(v for k, v in vars(t.protocol).items() if k != "batch_size")
