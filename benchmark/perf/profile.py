"""Our throughput protocol against an independent plain-PyTorch timing of the same model, batch and settings.

*Ours* is :func:`benchmark.metrics.profile.measure` under a :class:`~benchmark.metrics.protocol.ThroughputProtocol`
(timm's clock: a GPU sync after every step).  *Plain* is :func:`plain_img_per_s`, written separately the
obvious way: model and input on the device in the same precision and memory format, the same backend flags,
``warmup`` steps, one sync, ``steps`` timed steps, one sync.  Both build their own copy of the same model.
They run in one process, interleaved round by round (ours first in odd rounds, plain first in even ones), so
a drift of the machine hits both; the headline is the median over rounds of ours / plain.  The target band is
0.97-1.03: outside it, our protocol adds or hides time that a plain loop does not.
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import Any, Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as F

from benchmark.metrics import profile
from benchmark.metrics.protocol import ThroughputProtocol, resolve_protocol

PAPER_MODELS = ("resnet50", "seresnet50", "sase_resnet50", "swin_tiny_patch4_window7_224", "pvt_v2_b2")
TARGET_BAND = (0.97, 1.03)


def plain_img_per_s(model: torch.nn.Module, x: torch.Tensor, mode: str, protocol: ThroughputProtocol) -> float:
    """Images/s of ``mode`` steps on a copy of ``model``: warm up, sync, time ``protocol.steps`` steps, sync."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled())
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = protocol.tf32
    torch.backends.cudnn.benchmark = protocol.cudnn_benchmark
    torch.backends.cudnn.deterministic = False
    torch.use_deterministic_algorithms(False)
    try:
        net = copy.deepcopy(model).to(x.device)
        if protocol.memory_format == "channels_last":
            net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        fn = torch.compile(net) if protocol.compile else net
        step = _plain_train(net, fn, x, protocol) if mode == "train" else _plain_infer(net, fn, x, protocol)
        for _ in range(protocol.warmup):
            step()
        _sync(x.device)
        t0 = time.perf_counter()
        for _ in range(protocol.steps):
            step()
        _sync(x.device)
        return protocol.batch_size * protocol.steps / (time.perf_counter() - t0)
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
         torch.backends.cudnn.deterministic) = saved[:4]
        torch.use_deterministic_algorithms(saved[4])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _plain_infer(net, fn, x, protocol) -> Callable[[], None]:
    net.eval()

    def step() -> None:
        with torch.inference_mode(), torch.autocast(x.device.type, dtype=protocol.amp_dtype,
                                                    enabled=protocol.amp_dtype is not None):
            fn(x)
    return step


def _plain_train(net, fn, x, protocol) -> Callable[[], None]:
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-4, momentum=0.9, nesterov=True)
    scaler = torch.amp.GradScaler(x.device.type, enabled=protocol.precision == "fp16")
    target = None

    def step() -> None:
        nonlocal target
        opt.zero_grad(set_to_none=True)
        with torch.autocast(x.device.type, dtype=protocol.amp_dtype, enabled=protocol.amp_dtype is not None):
            logits = fn(x)
        if target is None:
            target = torch.arange(len(x), device=x.device) % logits.shape[1]
        scaler.scale(F.cross_entropy(logits.float(), target)).backward()
        scaler.step(opt)
        scaler.update()
    return step


def compare_model(name: str, model: torch.nn.Module, shape: tuple, mode: str, protocol: ThroughputProtocol,
                  device: str, rounds: int) -> Dict[str, Any]:
    """Interleaved rounds of ours and plain for one model and mode; the median ratio over rounds."""
    x = profile.example_batch(shape, protocol.batch_size, torch.device(device))
    pairs = []
    for r in range(rounds):
        first_ours = r % 2 == 0
        a = _ours(model, shape, mode, protocol, device) if first_ours else plain_img_per_s(model, x, mode, protocol)
        b = plain_img_per_s(model, x, mode, protocol) if first_ours else _ours(model, shape, mode, protocol, device)
        pairs.append((a, b) if first_ours else (b, a))
    ratios = [o / p for o, p in pairs]
    ratio = statistics.median(ratios)
    return {"model": name, "mode": mode, "img_size": shape[-1], "batch_size": protocol.batch_size,
            "ours_img_per_s": statistics.median(o for o, _ in pairs),
            "plain_img_per_s": statistics.median(p for _, p in pairs), "ratio_ours_over_plain": ratio,
            "ratio_per_round": ratios, "rounds": rounds,
            "in_band": TARGET_BAND[0] <= ratio <= TARGET_BAND[1]}


def _ours(model, shape, mode, protocol, device) -> float:
    result = profile.measure(model, shape, mode, protocol, device)
    if result.oom:
        raise torch.OutOfMemoryError(f"out of memory at batch {protocol.batch_size} ({mode})")
    return result.img_per_s


def run_profile_part(models: Sequence[str], device: str, batch: int, warmup: int, steps: int, rounds: int,
                     precision: str = "auto", channels_last: bool = False, img_size: Optional[int] = None,
                     modes: Sequence[str] = ("infer", "train"),
                     say: Callable[[str], None] = lambda text: None) -> Dict[str, Any]:
    """Ours vs plain for every model and mode; one JSON-ready dict with the protocol and the worst ratio."""
    from benchmark.profile_cmd import build_classifier, model_shape

    protocol = resolve_protocol(device, precision, "channels_last" if channels_last else "contiguous",
                                "auto", False, batch, warmup, steps, 1)
    rows = []
    for name in models:
        chans, size = model_shape(name, img_size)
        torch.manual_seed(0)
        model = build_classifier(name, size, chans)
        for mode in modes:
            row = compare_model(name, model, (1, chans, size, size), mode, protocol, device, rounds)
            say(f"  profile {name:<30} {mode:<5} ours {row['ours_img_per_s']:9.1f}  plain "
                f"{row['plain_img_per_s']:9.1f} img/s  ratio {row['ratio_ours_over_plain']:.3f}")
            rows.append(row)
        del model
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    ratios = [r["ratio_ours_over_plain"] for r in rows]
    return {"what": "img/s of our protocol / an independent plain timing loop, same model, batch and settings",
            "target_band": list(TARGET_BAND), "protocol": {**protocol.as_record(), "batch_size": batch},
            "plain_timing": "sync before and after the timed steps only", "min_ratio": min(ratios),
            "max_ratio": max(ratios), "met": all(r["in_band"] for r in rows), "models": rows}
