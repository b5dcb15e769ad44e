"""Decode pipeline images/s per CPU core: how many cores keep one GPU fed on ImageNet at 224 px.

One process, one torch thread, no worker processes: what one DataLoader worker does per image, timed image
by image on JPEGs at ImageNet's common photo size (500 x 375 px crops of scikit-image's photos, quality
95; ImageNet's own average about 110 kB a file, 138 GB / 1.28M, so ours, smaller, decode a little faster).
Each rate is images per second of this process's CPU time (``time.process_time``), so a machine busy with
other work still gives a per-core figure; the wall-clock rate is kept beside it.  Three figures:

* ``decode``: our reader alone (:func:`benchmark.data.images.load_image`: PIL decode, EXIF, 8-bit RGB);
* ``tv_decode``: ``torchvision.io.decode_jpeg`` on the CPU (libjpeg-turbo), for comparison;
* ``pipeline``: an item of the harness's own ImageFolder dataset under the ``deit`` recipe's train transform
  (decode, RandomResizedCrop 224, flip, RandAugment ``rand-m9-mstd0.5-inc1``, to tensor, normalise, random
  erasing), built by :func:`benchmark.data.loaders.build_loaders`, so it follows whatever the loader builds;
* ``plain_pipeline``: the same under the ``resnet-sgd`` recipe's lighter transform.

Cores per GPU = a GPU's training images/s / ``pipeline`` images/s per core; the GPU figure is a published
one (:data:`GPU_TRAIN_IMG_PER_S`), not measured here.  Under a minute on a 2-core machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import torch

from benchmark.perf.pipeline import PHOTOS

SOURCES = tuple(p for p in PHOTOS if p != "retina")  # the retina scan is mostly flat black: too easy to decode
QUALITY = 95
SIZE = (375, 500)  # (h, w): the most common ImageNet photo size (Flickr's 500 px "medium")
#: published single-GPU training throughput of ResNet-50 at 224 px in mixed precision, img/s
GPU_TRAIN_IMG_PER_S = {
    "A100 80GB": (2470, "NVIDIA DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5/README.md, "
                        "'Training performance: NVIDIA DGX A100 (8x A100 80GB)', 1 GPU, mixed precision "
                        "(fp16 AMP; bf16 runs at the same tensor-core peak on an A100)"),
}


def write_jpegs(folder: Path, n: int, seed: int = 0) -> List[Path]:
    """``n`` JPEGs of :data:`SIZE` cut from scikit-image's photos (scaled up where a photo is smaller)."""
    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    for name in SOURCES:
        img = np.asarray(getattr(skimage.data, name)())
        img = np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3]
        scale = max(SIZE[0] / img.shape[0], SIZE[1] / img.shape[1], 1.0)
        if scale > 1.0:
            img = np.asarray(Image.fromarray(img).resize((round(img.shape[1] * scale) + 1,
                                                          round(img.shape[0] * scale) + 1)))
        photos.append(img)
    paths = []
    for i in range(n):
        img = photos[i % len(photos)]
        y = int(rng.integers(0, img.shape[0] - SIZE[0] + 1))
        x = int(rng.integers(0, img.shape[1] - SIZE[1] + 1))
        path = folder / f"{i:04d}.jpg"
        Image.fromarray(img[y:y + SIZE[0], x:x + SIZE[1]]).save(path, quality=QUALITY)
        paths.append(path)
    return paths


def per_second(fn: Callable[[int], Any], n: int, warmup: int = 8) -> Dict[str, float]:
    """Calls of ``fn(i)`` over ``i = 0..n-1`` per second of CPU time (``cpu``) and of wall time (``wall``),
    after ``warmup`` untimed calls."""
    for i in range(warmup):
        fn(i % n)
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(n):
        fn(i)
    return {"cpu": n / (time.process_time() - c0), "wall": n / (time.perf_counter() - t0)}


def measure_decode(n: int = 160) -> Dict[str, Any]:
    """The three rates of the module docstring, on ``n`` generated JPEGs, at one thread."""
    from torchvision.io import decode_jpeg, read_file

    from benchmark.config import DataSpec
    from benchmark.data.images import load_image
    from benchmark.data.loaders import build_loaders
    from benchmark.recipes import DEIT, RESNET_SGD

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            paths = write_jpegs(root / "train" / "photos", n)
            write_jpegs(root / "val" / "photos", 2, seed=1)
            spec = DataSpec("image_folder", img_size=224, num_workers=0)
            dataset = build_loaders(spec, 32, 3, 0, str(root), recipe=DEIT).train.loader.dataset
            plain = build_loaders(spec, 32, 3, 0, str(root), recipe=RESNET_SGD).train.loader.dataset
            torch.manual_seed(0)
            timed = {"decode": per_second(lambda i: load_image(paths[i], "RGB"), n),
                     "tv_decode": per_second(lambda i: decode_jpeg(read_file(str(paths[i]))), n),
                     "pipeline": per_second(lambda i: dataset[i], n),
                     "plain_pipeline": per_second(lambda i: plain[i], n)}
            kb = float(np.mean([p.stat().st_size for p in paths])) / 1024
    finally:
        torch.set_num_threads(threads)
    rates = {f"{k}_img_per_s": round(v["cpu"], 1) for k, v in timed.items()}
    wall = {f"{k}_img_per_s_wall": round(v["wall"], 1) for k, v in timed.items()}
    return {"images": n, "size_hw": list(SIZE), "jpeg_quality": QUALITY, "mean_file_kb": round(kb, 1),
            "threads": 1, "per": "second of CPU time of one thread",
            "transform": f"deit: RandAugment {DEIT.randaugment}, random erasing {DEIT.random_erasing}",
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            **rates, **wall, **cores_per_gpu(rates["pipeline_img_per_s"])}


def cores_per_gpu(per_core: float) -> Dict[str, Any]:
    """Cores that the measured per-core rate needs to feed each GPU of :data:`GPU_TRAIN_IMG_PER_S`."""
    return {"cores_per_gpu": {gpu: {"gpu_train_img_per_s": rate, "cores": round(rate / per_core, 1),
                                    "source": source}
                              for gpu, (rate, source) in GPU_TRAIN_IMG_PER_S.items()}}
