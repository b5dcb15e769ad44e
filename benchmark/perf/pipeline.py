"""Data pipeline: images/s a loader delivers on its own, to compare with what the model consumes.

Two loaders: the in-memory Fashion-MNIST batches of the default preset, and an ImageFolder at 224 px
through a ``DataLoader`` with ``num_workers`` processes and the paper preset's DeiT transforms
(RandomResizedCrop, flip, RandAugment, random erasing).  The ImageFolder is written to a temporary folder
as JPEGs cut from the photos shipped inside scikit-image (real photographs, decoded for real).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, Dict

import numpy as np
import torch

from benchmark.config import DataSpec, Recipe
from benchmark.data.loaders import build_loaders

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina", "cat")


def loader_img_per_s(loader, steps: int, warmup: int = 4) -> float:
    """Images/s of iterating ``loader`` for ``steps`` batches after ``warmup`` batches (workers started)."""
    loader.set_epoch(0)
    it = iter(loader)
    for _ in range(warmup):
        next(it)
    n, t0 = 0, time.perf_counter()
    for _ in range(steps):
        x, _ = next(it)
        n += len(x)
    return n / (time.perf_counter() - t0)


def write_photo_folder(root: Path, per_class: int = 160, size: int = 320, seed: int = 0) -> Path:
    """``root/train/<photo>/*.jpg`` and ``root/val/...``: random crops of scikit-image's photos."""
    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(seed)
    for name in PHOTOS:
        img = np.asarray(getattr(skimage.data, name)())
        img = np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3]
        for split, n in (("train", per_class), ("val", 4)):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                crop = min(size, *img.shape[:2])
                y = int(rng.integers(0, img.shape[0] - crop + 1))
                x = int(rng.integers(0, img.shape[1] - crop + 1))
                Image.fromarray(img[y:y + crop, x:x + crop]).save(folder / f"{i:04d}.jpg", quality=90)
    return root


def image_folder_rate(recipe: Recipe, workers: int, batch: int, steps: int) -> Dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_photo_folder(Path(tmp))
        spec = DataSpec("image_folder", img_size=224, num_workers=workers)
        loaders = build_loaders(spec, batch, 3, 0, str(root), recipe=recipe)
        rate = loader_img_per_s(loaders.train, min(steps, len(loaders.train) - 4))
    return {"loader": "image_folder", "img_size": 224, "workers": workers, "batch_size": batch,
            "transforms": f"timm train transform, RandAugment {recipe.randaugment}, "
                          f"random erasing {recipe.random_erasing}", "loader_img_per_s": rate,
            "source": "JPEG crops of scikit-image photos"}


def fashion_mnist_rate(spec: DataSpec, recipe: Recipe, steps: int) -> Dict[str, Any]:
    loaders = build_loaders(spec, recipe.batch_size, 1, 0, None, recipe=recipe)
    torch.manual_seed(0)
    return {"loader": "fashion_mnist (in memory)", "img_size": spec.img_size, "workers": 0,
            "batch_size": recipe.batch_size, "loader_img_per_s": loader_img_per_s(loaders.train, steps)}
