"""Model cost: parameter count, GMACs with attention counted, and throughput.

Why MACs: fvcore counts one fused multiply-add as one "flop", so its totals are
multiply-accumulates.  The ResNet, Swin and PVT papers report the same quantity
under the name "FLOPs"; we label it GMACs so that nobody doubles or halves it.

Why a handle for attention: fvcore silently counts 0 for
``aten::scaled_dot_product_attention``.  timm's PVT v2 (and Swin when
``TIMM_FUSED_ATTN=2``) call it, while the Swin and PVT papers count the two
attention matmuls.  :func:`count_gmacs` registers a handle that counts them, so
a model costs the same whether it runs fused or explicit attention.
Softmax, GELU and elementwise ops stay uncounted, for every model alike.

:func:`count_gmacs_torch` is an independent cross-check with PyTorch's own
``FlopCounterMode`` (which reports 2 x MACs and does not see the fused CPU
attention kernel, so it runs attention on the MATH backend, which decomposes
into counted ``bmm`` calls).

Inputs: ``inputs`` is either the shape of one batch-1 input, e.g.
``(1, 3, 224, 224)`` or a latent ``(1, 256)``, or such a tensor.  Random inputs
come from a seeded generator.  Costs are counted in eval mode at batch 1.

Throughput is measured under a :class:`~benchmark.metrics.protocol.ThroughputProtocol` (precision, TF32,
cuDNN autotuning, memory format, compile, batch, warm-up and timed steps; defaults from timm's
``benchmark.py``), which every :class:`Throughput` carries.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from fvcore.nn import FlopCountAnalysis
from fvcore.nn.jit_handles import get_shape
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from benchmark.errors import UserError
from benchmark.metrics.environment import cpu_model, device_name, env_info, platform_fields  # noqa: F401  (re-exported)
from benchmark.metrics.protocol import (
    PRECISIONS,  # noqa: F401  (re-exported)
    TIMM_BATCH,
    TIMM_STEPS,
    TIMM_WARMUP,
    ThroughputProtocol,
    backend_flags,
    check_device,
    resolve_protocol,
)

logger = logging.getLogger(__name__)

Inputs = tuple[int, ...] | torch.Tensor

SDPA_OP = "aten::scaled_dot_product_attention"
MODES = ("infer", "train")


@dataclass(frozen=True)
class GMacs:
    """Multiply-accumulates of one batch-1 forward pass, in units of 10^9.

    ``counter`` names how they were counted; ``unsupported_ops`` maps each op the
    counter saw but counted as 0 to its number of calls (empty when not known).
    """

    gmacs: float
    counter: str
    unsupported_ops: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Throughput:
    """Images (or samples) per second of one mode under one :class:`ThroughputProtocol`.

    ``protocol`` is required: a figure without its precision, TF32 and cuDNN settings cannot exist.
    ``img_per_s`` is the median over timed windows (``window_img_per_s``).
    ``peak_mem_mb`` is the extra peak memory (MiB) the measurement needed on top of
    what was allocated before it: model copy, inputs, activations, gradients,
    optimizer state.  On CUDA it is ``torch.cuda.max_memory_allocated`` minus the
    allocation at the start.  On CPU it is the growth of the process's peak RSS
    (``getrusage``), a lower bound: 0 when an earlier peak was already higher.
    ``oom`` is True when the batch did not fit; then ``img_per_s`` is NaN.
    ``platform`` is :func:`~benchmark.metrics.environment.platform_fields` of the device.
    """

    img_per_s: float
    mode: str
    protocol: ThroughputProtocol
    peak_mem_mb: float
    oom: bool
    platform: dict
    window_img_per_s: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.protocol, ThroughputProtocol):
            raise TypeError(f"Throughput needs a ThroughputProtocol, got {type(self.protocol).__name__}")
        _check_choice("mode", self.mode, MODES)

    @property
    def batch_size(self) -> int:
        return self.protocol.batch_size

    @property
    def precision(self) -> str:
        return self.protocol.precision

    @property
    def memory_format(self) -> str:
        return self.protocol.memory_format

    @property
    def device(self) -> str:
        return str(self.platform["device"])


def count_params(model: nn.Module) -> int:
    """Exact number of parameters, trainable or not; buffers (BN statistics) excluded."""
    return sum(p.numel() for p in model.parameters())


def sdpa_macs(inputs: list, outputs: list) -> int:
    """fvcore handle: MACs of Q @ K^T and attn @ V inside scaled_dot_product_attention.

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, d_v); the batch dims of q
    (batch x heads) also cover grouped-query attention.
    """
    q, k, v = (get_shape(value) for value in inputs[:3])
    *batch, lq, d = q
    lk, dv = k[-2], v[-1]
    return math.prod(batch) * lq * lk * (d + dv)


def count_gmacs(model: nn.Module, inputs: Inputs, device: str | torch.device | None = None,
                count_attention: bool = True) -> GMacs:
    """GMACs of one batch-1 forward pass with fvcore, attention matmuls included.

    ``device`` must be the model's (default); counts do not depend on it.
    ``count_attention=False`` drops the attention handle (fvcore's stock count).
    """
    x = _count_input(model, inputs, device)
    with _evaluating(model), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        analysis = FlopCountAnalysis(model, x)
        if count_attention:
            analysis.set_op_handle(**{SDPA_OP: sdpa_macs})
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        total = analysis.total()
        unsupported = dict(analysis.unsupported_ops())
    logger.debug("fvcore counted 0 for %s", unsupported)
    return GMacs(total / 1e9, "fvcore-macs+sdpa" if count_attention else "fvcore-macs", unsupported)


def count_gmacs_torch(model: nn.Module, inputs: Inputs, device: str | torch.device | None = None) -> GMacs:
    """Cross-check: GMACs from ``torch.utils.flop_counter.FlopCounterMode`` (flops / 2).

    Attention runs on the MATH backend so that it decomposes into counted matmuls;
    the fused CPU kernel would count 0.  FlopCounterMode does not report unsupported ops.
    """
    x = _count_input(model, inputs, device)
    counter = FlopCounterMode(display=False)
    with _evaluating(model), torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        model(x)
    return GMacs(counter.get_total_flops() / 2e9, "torch-flopcounter/2+math-sdpa")


def measure_throughput(model: nn.Module, inputs: Inputs, batch_size: int = TIMM_BATCH, mode: str = "infer",
                       device: str | torch.device | None = None, precision: str = "auto",
                       channels_last: bool = False, warmup: int = TIMM_WARMUP, iters: int = TIMM_STEPS,
                       windows: int = 1, cudnn_benchmark: str | bool = "auto",
                       compile: bool = False) -> Throughput:
    """:func:`measure` under the protocol these arguments resolve to (defaults: timm's; see
    :mod:`benchmark.metrics.protocol`).  ``iters`` is the number of timed steps per window."""
    device = _resolve_device(model, device)
    protocol = resolve_protocol(device, precision, "channels_last" if channels_last else "contiguous",
                                cudnn_benchmark, compile, batch_size, warmup, iters, windows)
    return measure(model, inputs, mode, protocol, device)


def measure(model: nn.Module, inputs: Inputs, mode: str, protocol: ThroughputProtocol,
            device: str | torch.device | None = None) -> Throughput:
    """Median images/s over the protocol's timed windows, after its warm-up steps.

    ``mode='infer'``: eval-mode forward under ``inference_mode``.  ``mode='train'``:
    zero the gradients, forward, loss (cross-entropy on (B, C) logits, else the sum of
    output means), backward and a Nesterov SGD step (timm's benchmark optimiser).  Both
    run on a deep copy moved to ``device`` (default: the model's), so the caller's
    weights, buffers and mode are untouched.  bf16/fp16 use autocast (fp16 training
    also a GradScaler).  The GPU is synchronised after every step (timm's clock).  The
    batch size is never shrunk: an out-of-memory error returns ``oom=True`` and NaN img/s.
    """
    _check_choice("mode", mode, MODES)
    device = _resolve_device(model, device)
    check_device(protocol, device)
    result = functools.partial(Throughput, mode=mode, protocol=protocol, platform=platform_fields(device))
    oom = False
    with _peak_memory_mb(device) as peak:
        try:
            with backend_flags(protocol):
                rates = _measure(model, inputs, mode, protocol, device)
        except torch.OutOfMemoryError:
            oom = True
    if oom:
        logger.warning("out of memory at batch %d (%s, %s) on %s", protocol.batch_size, mode, protocol.precision,
                       device)
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return result(img_per_s=math.nan, peak_mem_mb=peak(), oom=True)
    return result(img_per_s=statistics.median(rates), peak_mem_mb=peak(), oom=False,
                  window_img_per_s=tuple(rates))


def example_batch(inputs: Inputs, batch_size: int, device: torch.device, seed: int = 0) -> torch.Tensor:
    """A batch built from a batch-1 shape (seeded normal noise) or a batch-1 tensor (repeated)."""
    shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else tuple(inputs)
    if not shape or shape[0] != 1 or any(int(s) != s or s < 1 for s in shape):
        raise UserError(f"inputs must be a batch-1 shape or tensor like (1, 3, 224, 224) or (1, 256), got {shape}")
    if isinstance(inputs, torch.Tensor):
        return inputs.to(device).expand(batch_size, *shape[1:]).contiguous()
    generator = torch.Generator().manual_seed(seed)
    return torch.randn((batch_size, *shape[1:]), generator=generator).to(device)


def _measure(model: nn.Module, inputs: Inputs, mode: str, protocol: ThroughputProtocol,
             device: torch.device) -> list[float]:
    """Timed windows of ``mode`` steps on a deep copy of ``model``; img/s per window."""
    clone = copy.deepcopy(model).to(device)
    x = example_batch(inputs, protocol.batch_size, device)
    if protocol.memory_format == "channels_last":
        if x.dim() != 4:
            raise UserError(f"channels_last needs 4-D image inputs (N, C, H, W), got shape {tuple(x.shape)}")
        clone, x = clone.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    dtype = protocol.amp_dtype
    autocast = functools.partial(torch.autocast, device.type, dtype=dtype, enabled=dtype is not None)
    run = torch.compile(clone) if protocol.compile else clone
    if mode == "train":
        step = _train_step(clone, run, x, autocast, protocol.precision == "fp16")
    else:
        step = _infer_step(clone, run, x, autocast)
    for _ in range(protocol.warmup):
        step()
    _synchronize(device)
    rates = []
    for _ in range(protocol.windows):
        start = time.perf_counter()
        for _ in range(protocol.steps):
            step()
            _synchronize(device)
        rates.append(protocol.batch_size * protocol.steps / (time.perf_counter() - start))
    return rates


def _infer_step(model: nn.Module, run: Callable, x: torch.Tensor, autocast: Callable) -> Callable[[], None]:
    model.eval()

    def step() -> None:
        with torch.inference_mode(), autocast():
            run(x)
    return step


def _train_step(model: nn.Module, run: Callable, x: torch.Tensor, autocast: Callable,
                scale: bool) -> Callable[[], None]:
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, nesterov=True)
    scaler = torch.amp.GradScaler(x.device.type, enabled=scale)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            out = run(x)
        scaler.scale(_loss(out)).backward()
        scaler.step(optimizer)
        scaler.update()
    return step


def _loss(out: object) -> torch.Tensor:
    """Cross-entropy for (B, C) logits (targets fixed, their values don't affect cost); else sum of means."""
    if isinstance(out, torch.Tensor) and out.dim() == 2:
        targets = torch.arange(out.shape[0], device=out.device) % out.shape[1]
        return F.cross_entropy(out.float(), targets)
    tensors = [t for t in _tensors(out) if t.is_floating_point()]
    if not tensors:
        raise UserError(f"model output has no floating-point tensor to train on: {type(out).__name__}")
    return sum(t.float().mean() for t in tensors)


def _tensors(out: object) -> Iterator[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, (list, tuple)):
        for item in out:
            yield from _tensors(item)
    elif isinstance(out, dict):
        for item in out.values():
            yield from _tensors(item)


@contextlib.contextmanager
def _evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the duration, then each submodule's own mode back."""
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes.items():
            module.training = training


@contextlib.contextmanager
def _peak_memory_mb(device: torch.device) -> Iterator[Callable[[], float]]:
    """Yields a function giving the peak memory growth (MiB) since entering; see :class:`Throughput`."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        yield lambda: (torch.cuda.max_memory_allocated(device) - start) / 2**20
    else:
        start = _max_rss_bytes()
        yield lambda: max(0, _max_rss_bytes() - start) / 2**20


def _max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # kilobytes on Linux, bytes on macOS


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _resolve_device(model: nn.Module, device: str | torch.device | None) -> torch.device:
    """``device`` if given, else the device of the model's first parameter or buffer (cpu if none)."""
    if device is not None:
        return torch.device(device)
    tensor = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def _count_input(model: nn.Module, inputs: Inputs, device: str | torch.device | None) -> torch.Tensor:
    """Batch-1 input on the model's device; counting never moves (mutates) the model."""
    own = _resolve_device(model, None)
    if device is not None and torch.device(device).type != own.type:
        raise UserError(f"the model is on {own}, not {device}: move it first (counts do not depend on the device)")
    return example_batch(inputs, 1, own)


def _check_choice(name: str, value: str, choices: object) -> None:
    if value not in choices:
        raise UserError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
