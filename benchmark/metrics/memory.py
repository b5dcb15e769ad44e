"""Peak memory of a whole run: CUDA's allocator peak on GPUs, sampled process RSS on CPUs.

On CUDA the number is ``torch.cuda.max_memory_allocated`` since the run started.  On
CPU, PyTorch keeps no allocator statistics, so a daemon thread samples the
process's resident set size every ``interval`` seconds and keeps the maximum;
the record names which (``peak_mem_kind``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Dict, Iterator

import psutil
import torch


class _RssSampler(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval, self.peak = interval, 0
        self._stop_event = threading.Event()
        self._proc = psutil.Process()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, self._proc.memory_info().rss)


@contextmanager
def track_peak_memory(device: str, interval: float = 0.2) -> Iterator[Dict[str, object]]:
    """Yields a dict that holds ``peak_mem_mb`` and ``peak_mem_kind`` once the block exits."""
    out: Dict[str, object] = {}
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
        try:
            yield out
        finally:
            out.update(peak_mem_mb=torch.cuda.max_memory_allocated(dev) / 2**20,
                       peak_mem_kind="cuda-max-allocated")
        return
    sampler = _RssSampler(interval)
    sampler.start()
    try:
        yield out
    finally:
        out.update(peak_mem_mb=sampler.stop() / 2**20, peak_mem_kind=f"process-rss-sampled-{interval}s")
