import torch

from benchmark.metrics.memory import track_peak_memory


def test_cpu_peak_rss_sees_a_large_allocation():
    with track_peak_memory("cpu", interval=0.01) as base:
        pass
    with track_peak_memory("cpu", interval=0.01) as mem:
        big = torch.ones(64 * 2**20 // 4)  # 64 MiB
        big.add_(1)
        import time

        time.sleep(0.5)  # let the sampler thread run even on a busy machine
        del big
    assert mem["peak_mem_kind"].startswith("process-rss")
    assert mem["peak_mem_mb"] >= base["peak_mem_mb"] + 32
