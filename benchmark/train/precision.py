"""Resolve a :class:`~benchmark.config.Runtime` on a device: autocast, grad scaler, memory format, compile.

On CPU everything resolves to fp32, contiguous, eager (CPU bf16 autocast exists, but the comparisons here
are fp32 on CPU).  On CUDA ``amp=auto`` picks bf16 where the GPU supports it and fp16 with a
``GradScaler`` elsewhere.  ``deterministic`` sets ``cudnn.benchmark = False`` and
``torch.use_deterministic_algorithms(True, warn_only=True)``.  ``compile`` with ``compile_mode=reduce-overhead``
replays the compiled model's kernels as CUDA graphs.  :meth:`Execution.as_record` is what the record keeps
(``compile_mode`` only when compiled), so every number says how it was produced.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional

import torch

from benchmark.config import Runtime
from benchmark.errors import UserError

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


@dataclass(frozen=True)
class Execution:
    device: str
    amp_dtype: Optional[torch.dtype]  # None: fp32
    channels_last: bool
    compile: bool
    deterministic: bool
    compile_mode: str = "default"  # torch.compile mode; reduce-overhead: CUDA graphs
    log_every: int = 50  # steps between reads of the loss from the device (progress, NaN check)

    @property
    def precision(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16-amp", torch.float16: "fp16-amp"}[self.amp_dtype]

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=torch.device(self.device).type, dtype=self.amp_dtype)

    def scaler(self) -> Optional[torch.amp.GradScaler]:
        return torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` in the chosen memory format (compiling is :meth:`maybe_compile`, after DDP wraps it)."""
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def maybe_compile(self, model: torch.nn.Module) -> torch.nn.Module:
        return torch.compile(model, mode=self.compile_mode) if self.compile else model

    def to_input(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x

    def as_record(self) -> Dict[str, Any]:
        mode = {"compile_mode": self.compile_mode} if self.compile else {}
        return {"precision": self.precision, "memory_format": "channels_last" if self.channels_last else
                "contiguous", "compiled": self.compile, **mode, "deterministic": self.deterministic}


def resolve(runtime: Runtime, device: str) -> Execution:
    cuda = torch.device(device).type == "cuda"
    amp = _amp(runtime.amp, cuda)
    if runtime.channels_last not in ("auto", "on", "off"):
        raise UserError(f"runtime.channels_last must be auto, on or off, got {runtime.channels_last!r}")
    channels_last = runtime.channels_last == "on" or (runtime.channels_last == "auto" and cuda)
    if runtime.compile_mode not in COMPILE_MODES:
        raise UserError(f"runtime.compile_mode must be one of {', '.join(COMPILE_MODES)}, got {runtime.compile_mode!r}")
    if runtime.log_every_steps < 1:
        raise UserError(f"runtime.log_every_steps must be at least 1, got {runtime.log_every_steps}")
    apply_determinism(runtime.deterministic)
    return Execution(device, amp, channels_last, runtime.compile, runtime.deterministic, runtime.compile_mode,
                     runtime.log_every_steps)


def _amp(name: str, cuda: bool) -> Optional[torch.dtype]:
    choices = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name == "auto":
        if not cuda:
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if name not in choices:
        raise UserError(f"runtime.amp must be auto, bf16, fp16 or none, got {name!r}")
    if choices[name] is not None and not cuda:
        raise UserError(f"runtime.amp={name} needs CUDA; on CPU the comparisons run in fp32 (runtime.amp=none)")
    return choices[name]


def apply_determinism(on: bool) -> None:
    torch.backends.cudnn.benchmark = not on
    torch.backends.cudnn.deterministic = on
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on, warn_only=True)
