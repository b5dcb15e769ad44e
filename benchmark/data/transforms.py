"""A recipe's data augmentations, from timm: RandAugment and random erasing (Mixup/CutMix, which act on
labels too, live with the training step in :mod:`benchmark.train.augment`).

The in-memory path (Fashion-MNIST) applies RandAugment per image through PIL, exactly as timm's ImageFolder
transforms do, and random erasing on the normalised batch.  The randomness
comes from Python's, NumPy's and torch's global generators, seeded per run and saved in checkpoints, so a
resumed run draws the same augmentations.

An ImageFolder gets timm's ``create_transform`` (:func:`folder_transforms`) with the recipe's RandAugment,
random erasing, colour jitter and interpolation.  The in-memory path does not resize, and its RandAugment keeps
timm's default interpolation (bilinear or bicubic, drawn per op).  Every transform here pickles (no local
functions), so DataLoader workers can start under the forkserver and spawn methods too.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import numpy as np
import torch

from benchmark.config import Recipe


def pillow_posterize_compat() -> None:
    """Let timm's RandAugment posterize to 0 bits on Pillow >= 12, which refuses ``bits=0``.

    timm's ``PosterizeIncreasing`` asks for 0 bits at the top of its magnitude range (m10, or m9 with
    ``mstd``); Pillow up to 11 returned an all-zero image for that.  We return the same all-zero image, so
    the recipe behaves as it did when DeiT was trained.  Idempotent.
    """
    from timm.data import auto_augment as aa

    if aa.posterize is posterize_compat:
        return
    for name, fn in list(aa.NAME_TO_OP.items()):
        if fn is aa.posterize:
            aa.NAME_TO_OP[name] = posterize_compat
    aa.posterize = posterize_compat


def posterize_compat(img, bits_to_keep, **kwargs):
    """timm's ``posterize`` op, with Pillow 11's all-zero image at 0 bits (module level: RandAugment's ops hold
    it, and a DataLoader worker started by forkserver or spawn unpickles it by name)."""
    from PIL import Image, ImageOps

    if bits_to_keep >= 8:
        return img
    if bits_to_keep <= 0:
        return Image.new(img.mode, img.size)
    return ImageOps.posterize(img, bits_to_keep)


def per_image_transform(recipe: Recipe, img_size: int) -> Optional[Callable[[torch.Tensor], torch.Tensor]]:
    """RandAugment on one uint8 image tensor ([H, W] or [C, H, W]), or None when the recipe has none."""
    if not recipe.randaugment:
        return None
    pillow_posterize_compat()
    return TensorRandAugment(recipe.randaugment, img_size)


class TensorRandAugment:
    """timm's RandAugment ``spec`` on one uint8 image tensor through PIL (grey or RGB), shape kept."""

    def __init__(self, spec: str, img_size: int) -> None:
        self.spec, self.img_size = spec, img_size

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        from PIL import Image

        grey = x.dim() == 2 or x.shape[0] == 1
        arr = x.reshape(x.shape[-2:]).numpy() if grey else x.permute(1, 2, 0).numpy()
        ra = _randaug(self.spec, self.img_size, 1 if grey else 3)
        out = torch.from_numpy(np.asarray(ra(Image.fromarray(arr))).copy())
        if x.dim() == 2:
            return out
        return out.unsqueeze(0) if grey else out.permute(2, 0, 1)


def folder_transforms(recipe: Optional[Recipe], img_size: int, augment: bool) -> Tuple[Any, Any]:
    """timm's train and eval transforms of an ImageFolder under ``recipe`` (None: timm's defaults).

    Training: random-resized crop and flip, then the recipe's RandAugment (timm then skips colour jitter),
    else its colour jitter (0: none), then random erasing; the crop and RandAugment's geometry use the recipe's
    ``interpolation``.  Evaluation: resize to ``img_size / 0.875`` with that interpolation, then a centre crop
    (DeiT's, Swin's, PVT's and torchvision's 256 -> 224).
    """
    from timm.data import create_transform

    if recipe is None:
        return create_transform(img_size, is_training=augment), create_transform(img_size, is_training=False)
    if recipe.randaugment:
        pillow_posterize_compat()
    train = create_transform(img_size, is_training=augment, auto_augment=recipe.randaugment,
                             re_prob=recipe.random_erasing, re_mode="pixel", color_jitter=recipe.color_jitter or None,
                             interpolation=recipe.interpolation)
    val = create_transform(img_size, is_training=False, interpolation=recipe.interpolation, crop_pct=EVAL_CROP_PCT)
    return train, val


EVAL_CROP_PCT = 0.875  # timm's default; the papers' resize to 256 then crop 224


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
