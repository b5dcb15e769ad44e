"""FID evaluation cost: the second evaluation against the same real set (statistics cached) vs the first.

The generated set comes from an untrained small FastGAN generator (its FID is irrelevant here, only the
time).  The extractor is chosen, and trained and cached if needed, before any timing starts.  Two real
sets: the default preset's 100 sneakers, where the real side is a small part of the work, and all 6,000
Fashion-MNIST training sneakers, where it is most of it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Dict

import torch

from baselines.fastgan import build_fastgan
from benchmark.data.few_shot import fmnist_class
from benchmark.metrics.extractors import choose_extractor
from benchmark.metrics.fidelity import clear_caches, evaluate_fidelity
from benchmark.paths import cache_dir
from benchmark.tasks.synthesis import generate


def measure_fid_cache(n_real: int, n_fake: int = 1000, seed: int = 0) -> Dict[str, Any]:
    real = fmnist_class("sneaker", n_real, 32).images
    extractor = choose_extractor(nc=1, cache_dir=cache_dir())
    torch.manual_seed(seed)
    G, _ = build_fastgan(32, ngf=16, ndf=16, nz=64, nc=1)
    fake = generate(G, n_fake, 64, seed, "cpu")
    times, runs = [], []
    clear_caches()  # a cold start, as at the first evaluation of a run
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(2):
            t0 = time.perf_counter()
            runs.append(evaluate_fidelity(fake, real, extractor, 100, Path(tmp), seed))
            times.append(time.perf_counter() - t0)
    first, second = runs
    return {"real_images": n_real, "fake_images": n_fake, "feature_extractor": extractor.name,
            "first_s": times[0], "second_s": times[1], "ratio_second_over_first": times[1] / times[0],
            "fid_kid_first_s": first.fid_kid_s, "fid_kid_second_s": second.fid_kid_s,
            "fid_kid_ratio": second.fid_kid_s / first.fid_kid_s, "swd_first_s": first.swd_s,
            "swd_second_s": second.swd_s, "swd_ratio": second.swd_s / first.swd_s,
            "same_values": (first.fid, first.kid, first.swd) == (second.fid, second.kid, second.swd)}
