"""How close training comes to this machine's peak: achieved GFLOP/s against a large fp32 GEMM's.

*Peak*: a 2048x2048 fp32 matrix product (``torch.mm``), at one thread and at every thread this process
has: the most a CPU core's vector units deliver through PyTorch's BLAS.  *Achieved*: the FLOPs of one
training step, counted by PyTorch's own counter (``torch.utils.flop_counter.FlopCounterMode``: convolutions,
matrix products and attention, forward and backward; 2 FLOPs per multiply-add; elementwise work and the
optimiser step count zero), with one correction: torch 2.14's formula for a convolution's backward ignores
``groups`` (it counted PVT's depthwise convolutions' backward 60x too high, 210% of peak), so
:func:`conv_backward_flops` replaces it (each requested gradient costs what the forward convolution costs,
groups included), times steps per second (median of timed windows after a warm-up).  The
fraction of peak is the figure to steer by: the rest goes to memory traffic, small kernels and Python.

Rows: every small recognition model of the deciding preset (batch 64, 32 px, in each memory format), and
one FastGAN / SASE-GAN iteration at the default synthesis sizes.  Measured on whatever else runs on the
machine: ``load_average_at_start`` in the result says how idle it was.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from benchmark.train.tune import threads as using_threads

GEMM_N = 2048


def gemm_gflops(threads: int, n: int = GEMM_N, reps: int = 6) -> float:
    """fp32 GEMM GFLOP/s (2 n^3 per product; best of three windows of ``reps`` products) on ``threads``."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    with using_threads(threads):
        a @ b  # warm-up
        best = min(_seconds(lambda: a @ b, reps) for _ in range(3))
    return 2 * n ** 3 * reps / best / 1e9


def _seconds(fn: Callable[[], Any], reps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return time.perf_counter() - t0


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


def conv_backward_flops(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                        _output_padding, _groups, output_mask, out_shape, **_) -> int:
    """FLOPs of ``aten.convolution_backward``: the forward convolution's FLOPs (2 per multiply-add, groups
    included through the weight's shape) once for the input's gradient and once for the weight's, each when
    asked for.  A forward convolution does N x (output positions) x (weight elements) multiply-adds; for a
    transposed one the input positions take the output's place."""
    positions = _prod(x_shape[2:]) if transposed else _prod(grad_out_shape[2:])
    forward = 2 * int(x_shape[0]) * positions * _prod(w_shape)
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def counted_flops(step: Callable[[], Any]) -> int:
    """FLOPs of one call of ``step`` as PyTorch's flop counter sees them (forward and backward), with the
    grouped-convolution backward corrected (:func:`conv_backward_flops`)."""
    counter = FlopCounterMode(display=False,
                              custom_mapping={torch.ops.aten.convolution_backward: conv_backward_flops})
    with counter:
        step()
    return int(counter.get_total_flops())


def steps_per_second(step: Callable[[], Any], steps: int, windows: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        step()
    return steps / statistics.median(_seconds(step, steps) for _ in range(windows))


def classifier_step(name: str, batch: int = 64, size: int = 32, channels_last: bool = False) -> Callable[[], Any]:
    """One AdamW training step of the registered classifier ``name`` on a fixed random batch (1 channel)."""
    from benchmark.tasks.recognition import build_model

    torch.manual_seed(0)
    model = build_model(name, 10, 1, 0.0).train()
    x, y = torch.randn(batch, 1, size, size), torch.randint(0, 10, (batch,))
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def row(what: str, step: Callable[[], Any], unit_per_step: int, threads: int, peak: float, steps: int,
        windows: int, **extra: Any) -> Dict[str, Any]:
    with using_threads(threads):
        flops = counted_flops(step)
        rate = steps_per_second(step, steps, windows)
    achieved = flops * rate / 1e9
    return {"what": what, "threads": threads, "gflop_per_step": flops / 1e9, "steps_per_s": rate,
            "items_per_s": rate * unit_per_step, "achieved_gflops": achieved, "peak_gflops": peak,
            "fraction_of_peak": achieved / peak, **extra}


def run_roofline(models: Sequence[str], thread_counts: Sequence[int], steps: int, windows: int,
                 say: Callable[[str], None] = lambda s: None) -> Dict[str, Any]:
    peaks = {n: gemm_gflops(n) for n in thread_counts}
    for n, p in peaks.items():
        say(f"  roofline peak: fp32 GEMM {GEMM_N}x{GEMM_N} on {n} thread(s): {p:.0f} GFLOP/s")
    rows: List[Dict[str, Any]] = []
    for n in thread_counts:
        for name in models:
            for cl in (False, True):
                fmt = "channels_last" if cl else "contiguous"
                r = row(name, classifier_step(name, channels_last=cl), 64, n, peaks[n], steps, windows,
                        kind="classifier", memory_format=fmt, batch=64, img_size=32)
                say(f"  roofline {name:<22} {fmt:<13} {n} thr: {r['items_per_s']:6.0f} img/s, "
                    f"{r['achieved_gflops']:5.1f} GFLOP/s = {100 * r['fraction_of_peak']:4.1f}% of peak")
                rows.append(r)
        rows += _gan_rows(n, peaks[n], steps, windows, say)
    return {"what": __doc__.split("\n\n")[0], "counter": "torch.utils.flop_counter.FlopCounterMode "
            "(2 FLOPs per multiply-add; forward + backward)", "gemm": {str(k): v for k, v in peaks.items()},
            "rows": rows}


def _gan_rows(threads: int, peak: float, steps: int, windows: int, say) -> List[Dict[str, Any]]:
    from benchmark.perf.gan_step import make_step

    out = []
    for model in ("fastgan", "sase_gan"):
        step = make_step(model, 32, 8, 16, 16, nz=64)
        r = row(f"{model} iteration", step, 8, threads, peak, max(2, steps // 4), windows, kind="gan",
                img_size=32, batch=8, widths=16, channels=3)
        say(f"  roofline {model:<22} iteration     {threads} thr: {r['steps_per_s']:6.2f} it/s, "
            f"{r['achieved_gflops']:5.1f} GFLOP/s = {100 * r['fraction_of_peak']:4.1f}% of peak")
        out.append(r)
    return out
