"""Few-shot image sets for the synthesis suite, held in memory as uint8 ``[N, C, S, S]``.

* Embedded default: ``fmnist-100shot-<class>``, the first 100 images (a fixed,
  seeded draw) of one Fashion-MNIST class, padded from 28 to 32 px.  Sneakers are
  the default: a class with clear structure (sole, laces, toe) that a small GAN
  can learn on a CPU in minutes, and whose failure modes are easy to see.
* ``--data PATH``: a flat folder of images (the 100-shot Obama / Grumpy cat /
  Panda, AnimalFace sets are distributed this way).  Every image is centre-cropped
  to a square and resized to the preset's size, so mixed sizes are accepted (and
  counted in the log); a folder with no images, an unreadable file or a single
  image is a :class:`UserError` naming the problem.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from benchmark.data import fashion_mnist
from benchmark.data.image_folder import IMG_EXTENSIONS
from benchmark.data.images import load_image
from benchmark.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FewShotSet:
    images: torch.Tensor  # uint8 [N, C, S, S]
    name: str  # recorded as the run's dataset


def fmnist_class(class_name: str, n: int, img_size: int, seed: int = 0, root: Optional[str] = None) -> FewShotSet:
    """``n`` train images of one Fashion-MNIST class, as a fixed seeded draw."""
    names = {c.lower().replace("/", "-").replace(" ", "-"): i for i, c in enumerate(fashion_mnist.CLASSES)}
    key = class_name.lower()
    if key not in names:
        raise UserError(f"unknown Fashion-MNIST class {class_name!r}; choose one of: {', '.join(names)}")
    images, labels = fashion_mnist.load_split("train", root)
    idx = torch.nonzero(labels == names[key]).flatten()
    pick = idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed))[:n]]
    x = images[pick].unsqueeze(1)
    return FewShotSet(_to_size(x, img_size), f"fmnist-{n}shot-{key}")


def image_folder_flat(path: str | Path, img_size: int, channels: int = 3) -> FewShotSet:
    """Every image of a flat folder, centre-cropped square and resized to ``img_size``."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise UserError(f"few-shot data path {root} is not a folder; pass --data PATH to a folder of images")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise UserError(f"{root} holds no images ({', '.join(IMG_EXTENSIONS)}); a few-shot set is a flat folder")
    if len(files) < 2:
        raise UserError(f"{root} holds a single image; few-shot training needs at least 2 (100 is typical)")
    arrays, sizes = [], set()
    for f in files:
        img = _open(f, channels)
        sizes.add(img.size)
        arrays.append(np.asarray(_square(img).resize((img_size, img_size), Image.BICUBIC)))
    if len(sizes) > 1:
        log.info("%s: %d different image sizes, all centre-cropped and resized to %d px", root, len(sizes), img_size)
    x = torch.from_numpy(np.stack(arrays))
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    return FewShotSet(x.contiguous(), f"folder:{root.name}")


def _open(path: Path, channels: int) -> Image.Image:
    """Any mode Pillow reads, as 8-bit grey or RGB (16-bit, alpha, EXIF rotation: see data/images.py)."""
    return load_image(path, "L" if channels == 1 else "RGB")


def _square(img: Image.Image) -> Image.Image:
    w, h = img.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return img.crop((left, top, left + s, top + s))


def _to_size(x: torch.Tensor, size: int) -> torch.Tensor:
    h = x.shape[-1]
    if h == size:
        return x.contiguous()
    if size > h and size - h <= 8:
        p = size - h
        return F.pad(x, (p // 2, p - p // 2, p // 2, p - p // 2)).contiguous()
    y = F.interpolate(x.float(), size=(size, size), mode="bicubic", align_corners=False, antialias=size < h)
    return y.round().clamp(0, 255).to(torch.uint8)
