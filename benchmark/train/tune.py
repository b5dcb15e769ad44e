"""How a run executes on a CPU, chosen by measurement: memory format and thread count.

On the 2-core CPUs this project runs on, neither choice is the same for every model (measured, torch
2.14.1, fp32, batch 64 at 32 px): channels_last trains a 1M-param ResNet 1.2x (one thread) to 1.8x (two
threads) faster, and PVT 0.8x; two threads in one run are worth 1.0-1.5x one thread.  So when
``runtime.channels_last`` is ``auto`` on a CPU, :func:`choose` times a few forward/backward passes of a
copy of the model on a random batch for each candidate (memory format x thread count, up to the threads
this process was given) and the run uses the fastest.  None of this changes the maths: the same model,
data and recipe, only the kernels' layout and parallelism (results agree to floating-point tolerance).

The choice is measured once per (model, input, batch, threads available, machine, torch) and kept in the
machine's cache (:func:`tuning_dir`, ``~/.cache/sase-bench/tuning``), so every seed of a model runs the same
way whatever results folder it writes to; each run also pins its choice in its own folder
(:func:`pinned`), so a resumed run continues exactly as it started.  The record carries the choice and
the timings behind it (``execution_tuning``).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from benchmark.atomic import atomic_write_text
from benchmark.train.precision import Execution

FORMATS = ("contiguous", "channels_last")


def tuning_dir() -> Path:
    """Where this machine keeps its measured choices (beside the harness's other caches)."""
    from benchmark.paths import cache_dir

    return cache_dir() / "tuning"


def pinned(run_dir: Path, measure) -> Dict[str, Any]:
    """The choice pinned in ``run_dir/tuning.json`` (a resumed run), else ``measure()``, pinned there."""
    path = Path(run_dir) / "tuning.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass  # damaged: choose again
    choice = measure()
    atomic_write_text(path, json.dumps(choice, indent=1) + "\n")
    return choice


def candidates(threads: int) -> Tuple[Tuple[str, int], ...]:
    counts = (threads, 1) if threads > 1 else (1,)
    return tuple((fmt, n) for n in counts for fmt in FORMATS)


def cache_key(model_name: str, shape: Tuple[int, ...], threads: int) -> str:
    blob = json.dumps([model_name, list(shape), threads, platform.processor() or platform.machine(),
                       _cpu_name(), torch.__version__])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def time_candidate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, fmt: str, threads: int,
                   steps: int = 2) -> float:
    """Images/s of forward + backward (no optimiser step) of a copy of ``model`` in ``fmt`` on ``threads``."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        m = copy.deepcopy(model).train()
        if fmt == "channels_last":
            m, x = m.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        for i in range(steps + 1):  # the first pass warms up (allocations, kernel selection)
            if i == 1:
                t0 = time.perf_counter()
            F.cross_entropy(m(x), y).backward()
        return steps * len(y) / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(before)


def choose(model: torch.nn.Module, model_name: str, input_shape: Tuple[int, ...], num_classes: int,
           cache_dir: Optional[Path]) -> Dict[str, Any]:
    """The fastest (memory format, threads) for training ``model`` on batches of ``input_shape`` here."""
    threads = torch.get_num_threads()
    key = cache_key(model_name, input_shape, threads)
    path = Path(cache_dir) / f"{key}.json" if cache_dir else None
    if path is not None and path.is_file():
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            pass  # a damaged cache entry is measured again
    g = torch.Generator().manual_seed(0)
    x = torch.randn(*input_shape, generator=g)
    y = torch.randint(0, max(1, num_classes), (input_shape[0],), generator=g)
    rates = {f"{fmt}/{n}": time_candidate(model, x, y, fmt, n) for fmt, n in candidates(threads)}
    best = max(rates, key=rates.get)
    fmt, n = best.split("/")
    out = {"memory_format": fmt, "cpu_threads": int(n), "threads_available": threads,
           "img_per_s": {k: round(v, 1) for k, v in rates.items()}, "model": model_name,
           "input": list(input_shape), "how": "forward+backward of a copy, 1 warm-up + 2 timed passes each"}
    if path is not None:
        atomic_write_text(path, json.dumps(out, indent=1) + "\n")
    return out


def with_format(ex: Execution, choice: Dict[str, Any]) -> Execution:
    """``ex`` with the chosen memory format (the thread count is :func:`threads`, around training only)."""
    return dataclasses.replace(ex, channels_last=choice["memory_format"] == "channels_last")


@contextlib.contextmanager
def threads(n: Optional[int]):
    """Run with ``n`` intra-op threads (``None``: unchanged) and restore the count after, so that cost is
    profiled, and the next run tuned, with every thread this process was given."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tunable(runtime, device: str) -> bool:
    return runtime.channels_last == "auto" and torch.device(device).type == "cpu"
