"""The throughput protocol: every setting that changes an img/s figure, resolved, validated and recorded.

The defaults follow timm's ``benchmark.py`` (huggingface/pytorch-image-models), so our figures and timm's
published benchmark CSVs can stand side by side:

* on CUDA it allows TF32 for matmuls (``torch.backends.cuda.matmul.allow_tf32``) and leaves cuDNN's
  convolutions at PyTorch's default, which already allows TF32; it turns ``cudnn.benchmark`` on;
* fp32 weights and inputs (``--amp --amp-dtype bfloat16`` for bf16 autocast), NCHW (``--channels-last``
  optional), no ``torch.compile``;
* batch 256, 10 warm-up steps, then 40 timed steps; it synchronises the GPU after every step and divides
  the images of all timed steps by the wall time from the first to the last synchronisation;
* inference in eval mode under ``torch.inference_mode``; training is forward, cross-entropy, backward and
  a Nesterov SGD step (lr 1e-4, momentum 0.9) with the gradients zeroed before each step.

Precision names: ``fp32`` is strict IEEE fp32 (TF32 off for matmuls and cuDNN), ``tf32`` is fp32 tensors
with TF32 tensor-core maths (timm's "float32" on a GPU), ``bf16`` and ``fp16`` are autocast (fp16 trains
with a ``GradScaler``; TF32 stays allowed on CUDA for what autocast leaves in fp32, as in timm).
``auto`` is ``tf32`` on CUDA and ``fp32`` elsewhere.  ``tf32``, ``fp16`` and an explicitly requested
``cudnn_benchmark`` need CUDA: on a CPU they are a :class:`~benchmark.errors.UserError`, never a silent
fallback.  During a measurement deterministic algorithms are off (training may have turned them on); the
previous backend flags come back afterwards.

A :class:`ThroughputProtocol` cannot be built without its precision, TF32 and cuDNN settings, and a
:class:`~benchmark.metrics.profile.Throughput` cannot be built without a protocol, so no throughput row
exists without them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from benchmark.errors import UserError

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
MEMORY_FORMATS = ("contiguous", "channels_last")
SWITCHES = ("auto", "on", "off")
AMP_DTYPES: dict[str, torch.dtype | None] = {"fp32": None, "tf32": None, "bf16": torch.bfloat16,
                                             "fp16": torch.float16}
TIMM_BATCH, TIMM_WARMUP, TIMM_STEPS = 256, 10, 40
TIMING = "sync-every-step"  # how a timed window is clocked (timm's way)


@dataclass(frozen=True)
class ThroughputProtocol:
    """How one throughput figure is measured.  Every field is required and checked on construction.

    ``tf32``: TF32 allowed for matmuls and cuDNN convolutions.  ``steps`` timed steps per window after
    ``warmup`` untimed ones; the figure is the median over ``windows`` windows.
    """

    precision: str
    tf32: bool
    cudnn_benchmark: bool
    memory_format: str
    compile: bool
    batch_size: int
    warmup: int
    steps: int
    windows: int

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise UserError(f"unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}")
        if self.memory_format not in MEMORY_FORMATS:
            raise UserError(f"unknown memory format {self.memory_format!r}; choose one of: "
                            f"{', '.join(MEMORY_FORMATS)}")
        for name in ("tf32", "cudnn_benchmark", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"ThroughputProtocol.{name} must be True or False, got {getattr(self, name)!r}")
        if (self.precision == "fp32" and self.tf32) or (self.precision == "tf32" and not self.tf32):
            raise UserError(f"precision {self.precision} with tf32={self.tf32} contradicts itself")
        for name, low in (("batch_size", 1), ("warmup", 0), ("steps", 1), ("windows", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UserError(f"{name} must be an integer >= {low}, got {value!r}")

    @property
    def amp_dtype(self) -> torch.dtype | None:
        return AMP_DTYPES[self.precision]

    def as_record(self) -> dict[str, object]:
        """The settings as flat record fields (batch sizes are added by the caller, per mode)."""
        return {"precision": self.precision, "tf32": self.tf32, "cudnn_benchmark": self.cudnn_benchmark,
                "deterministic_algorithms": False, "memory_format": self.memory_format, "compile": self.compile,
                "warmup_steps": self.warmup, "timed_steps": self.steps, "timing_windows": self.windows,
                "timing": TIMING}


def resolve_protocol(device: str | torch.device, precision: str = "auto", memory_format: str = "contiguous",
                     cudnn_benchmark: str | bool = "auto", compile: bool = False, batch_size: int = TIMM_BATCH,
                     warmup: int = TIMM_WARMUP, steps: int = TIMM_STEPS, windows: int = 1) -> ThroughputProtocol:
    """The protocol on ``device``: ``auto`` settings resolved, GPU-only requests refused on a CPU."""
    cuda = torch.device(device).type == "cuda"
    if precision == "auto":
        precision = "tf32" if cuda else "fp32"
    benchmark = _switch("cudnn_benchmark", cudnn_benchmark, default=cuda)
    tf32 = precision == "tf32" or (cuda and precision in ("bf16", "fp16"))
    protocol = ThroughputProtocol(precision=precision, tf32=tf32, cudnn_benchmark=benchmark,
                                  memory_format=memory_format, compile=bool(compile), batch_size=batch_size,
                                  warmup=warmup, steps=steps, windows=windows)
    check_device(protocol, device)
    return protocol


def check_device(protocol: ThroughputProtocol, device: str | torch.device) -> None:
    """Refuse, with a clear message, a protocol whose GPU-only settings ``device`` cannot honour."""
    kind = torch.device(device).type
    if kind == "cuda":
        return
    if protocol.precision in ("tf32", "fp16"):
        raise UserError(f"precision {protocol.precision} needs a CUDA GPU; on {kind} use fp32 or bf16")
    if protocol.cudnn_benchmark:
        raise UserError("cudnn_benchmark=on needs a CUDA GPU (cuDNN autotuning); leave it auto or off on a CPU")
    if protocol.tf32:
        raise UserError(f"TF32 needs a CUDA GPU; on {kind} it cannot be on")


def protocol_from_spec(spec, batch_size: int, device: str | torch.device) -> ThroughputProtocol:
    """The protocol a :class:`~benchmark.config.ProfileSpec` describes, at ``batch_size``."""
    return resolve_protocol(device, spec.precision, spec.memory_format, spec.cudnn_benchmark, spec.compile,
                            batch_size, spec.warmup, spec.iters, spec.windows)


@contextlib.contextmanager
def backend_flags(protocol: ThroughputProtocol) -> Iterator[None]:
    """TF32, cuDNN autotuning and (non-)determinism as the protocol says, restored on exit."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
             torch.backends.cudnn.deterministic, torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        torch.backends.cuda.matmul.allow_tf32 = protocol.tf32
        torch.backends.cudnn.allow_tf32 = protocol.tf32
        torch.backends.cudnn.benchmark = protocol.cudnn_benchmark
        torch.backends.cudnn.deterministic = False
        torch.use_deterministic_algorithms(False)
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
         torch.backends.cudnn.deterministic) = saved[:4]
        torch.use_deterministic_algorithms(saved[4], warn_only=saved[5])


def _switch(name: str, value: str | bool, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if value not in SWITCHES:
        raise UserError(f"{name} must be auto, on or off, got {value!r}")
    return default if value == "auto" else value == "on"
