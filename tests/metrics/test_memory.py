import subprocess
import sys
import textwrap

# in a fresh process: in a long test session, glibc may serve a large allocation from heap pages that are
# already resident, so the RSS would not grow and the test would measure the session, not the tracker
CODE = textwrap.dedent("""
    import time
    import torch
    from benchmark.metrics.memory import track_peak_memory
    with track_peak_memory("cpu", interval=0.01) as base:
        pass
    with track_peak_memory("cpu", interval=0.01) as mem:
        big = torch.ones(64 * 2**20 // 4)  # 64 MiB
        big.add_(1)
        time.sleep(0.5)  # let the sampler thread run even on a busy machine
        del big
    assert mem["peak_mem_kind"].startswith("process-rss"), mem
    assert mem["peak_mem_mb"] >= base["peak_mem_mb"] + 32, (base, mem)
""")


def test_cpu_peak_rss_sees_a_large_allocation():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
