"""A recipe's data augmentations, from timm: RandAugment and random erasing (Mixup/CutMix, which act on
labels too, live with the training step in :mod:`benchmark.train.augment`).

The in-memory path (Fashion-MNIST) applies RandAugment per image through PIL, exactly as timm's ImageFolder
transforms do, and random erasing on the normalised batch.  The randomness
comes from Python's, NumPy's and torch's global generators, seeded per run and saved in checkpoints, so a
resumed run draws the same augmentations.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from benchmark.config import Recipe


def pillow_posterize_compat() -> None:
    """Let timm's RandAugment posterize to 0 bits on Pillow >= 12, which refuses ``bits=0``.

    timm's ``PosterizeIncreasing`` asks for 0 bits at the top of its magnitude range (m10, or m9 with
    ``mstd``); Pillow up to 11 returned an all-zero image for that.  We return the same all-zero image, so
    the recipe behaves as it did when DeiT was trained.  Idempotent.
    """
    from PIL import Image, ImageOps
    from timm.data import auto_augment as aa

    if getattr(aa.posterize, "_sase_compat", False):
        return

    def posterize(img, bits_to_keep, **kwargs):
        if bits_to_keep >= 8:
            return img
        if bits_to_keep <= 0:
            return Image.new(img.mode, img.size)
        return ImageOps.posterize(img, bits_to_keep)

    posterize._sase_compat = True
    for name, fn in list(aa.NAME_TO_OP.items()):
        if fn is aa.posterize:
            aa.NAME_TO_OP[name] = posterize
    aa.posterize = posterize


def per_image_transform(recipe: Recipe, img_size: int) -> Optional[Callable[[torch.Tensor], torch.Tensor]]:
    """RandAugment on one uint8 image tensor ([H, W] or [C, H, W]), or None when the recipe has none."""
    if not recipe.randaugment:
        return None
    from PIL import Image

    pillow_posterize_compat()

    def apply(x: torch.Tensor) -> torch.Tensor:
        grey = x.dim() == 2 or x.shape[0] == 1
        arr = x.reshape(x.shape[-2:]).numpy() if grey else x.permute(1, 2, 0).numpy()
        ra = _randaug(recipe.randaugment, img_size, 1 if grey else 3)
        out = torch.from_numpy(np.asarray(ra(Image.fromarray(arr))).copy())
        if x.dim() == 2:
            return out
        return out.unsqueeze(0) if grey else out.permute(2, 0, 1)

    return apply


_randaug_cache: dict = {}


def _randaug(spec: str, img_size: int, channels: int):
    from timm.data.auto_augment import rand_augment_transform

    key = (spec, img_size, channels)
    if key not in _randaug_cache:
        mean = (124, 116, 104)[:channels] if channels == 3 else (128,)
        hparams = {"translate_const": int(img_size * 0.45), "img_mean": mean}
        _randaug_cache[key] = rand_augment_transform(spec, hparams)
    return _randaug_cache[key]


def batch_erasing(recipe: Recipe) -> Optional[Callable[[torch.Tensor], torch.Tensor]]:
    """timm's RandomErasing (per-pixel normal fill) on a normalised batch, or None."""
    if recipe.random_erasing <= 0:
        return None
    from timm.data.random_erasing import RandomErasing

    return RandomErasing(probability=recipe.random_erasing, mode="pixel", device="cpu")
