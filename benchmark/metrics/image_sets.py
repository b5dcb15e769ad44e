"""Image sets written as PNG folders, for a check with another tool (torch-fidelity's ``fidelity`` CLI).

``save_image_set`` writes uint8 [b, C, H, W] batches as ``000000.png``, ``000001.png``, ... (grey for one
channel, RGB for three).  Nothing here measures anything: the synthesis task calls it with the very images
its last FID evaluation streamed, regenerated from the same seed under the same protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import torch
from PIL import Image


def save_image_set(batches: Iterable[torch.Tensor], folder: Path) -> int:
    """Write every image of ``batches`` into ``folder`` (created); returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    for batch in batches:
        if batch.dtype != torch.uint8 or batch.dim() != 4 or batch.shape[1] not in (1, 3):
            raise ValueError(f"expected uint8 images [B, 1 or 3, H, W], got {batch.dtype} {tuple(batch.shape)}")
        for img in batch.cpu():
            array = img[0].numpy() if img.shape[0] == 1 else np.ascontiguousarray(img.permute(1, 2, 0).numpy())
            Image.fromarray(array).save(folder / f"{n:06d}.png")
            n += 1
    return n
