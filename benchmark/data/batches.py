"""In-memory batch iterables: the fast path for small image sets held as tensors.

``TensorBatches`` shuffles with its own seeded ``torch.Generator``, pads/converts
on the fly and applies cheap batched augmentation (random shift, horizontal
flip), plus a recipe's per-image transform (RandAugment) and batch transform
(random erasing) when it has them.  It is what a ``DataLoader`` would do for data
already in memory, without the per-sample Python overhead.  With ``rank/world``
set it serves a disjoint shard: in evaluation order the shards cover the set
exactly once; shuffled (training) shards are cut to equal length, as DDP needs
the same number of steps on every rank.  ``set_epoch(epoch, start_step)``
resumes in the middle of an epoch: the order depends only on (seed, epoch) and
the shift/flip draws on (seed, epoch, step), so skipped batches cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Tuple

import torch
import torch.nn.functional as F


@dataclass
class TensorBatches:
    images: torch.Tensor  # uint8 [N, H, W] or [N, C, H, W]
    labels: torch.Tensor  # int64 [N]
    batch_size: int
    img_size: int
    in_chans: int = 1
    shuffle: bool = False
    augment: bool = False
    seed: int = 0
    max_steps: Optional[int] = None
    mean: float = 0.2860  # Fashion-MNIST train statistics
    std: float = 0.3530
    rank: int = 0
    world: int = 1
    per_image: Optional[Callable[[torch.Tensor], torch.Tensor]] = None  # uint8 image -> uint8 image
    per_batch: Optional[Callable[[torch.Tensor], torch.Tensor]] = None  # normalised batch -> batch

    def __post_init__(self) -> None:
        self.epoch, self.start_step = 0, 0

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        self.epoch, self.start_step = epoch, start_step

    @property
    def _usable(self) -> int:
        n = len(self.labels)
        return n - n % self.world if self.shuffle else n

    @property
    def num_samples(self) -> int:
        return len(range(self.rank, self._usable, self.world))

    def __len__(self) -> int:
        steps = -(-self.num_samples // self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps

    def _order(self) -> torch.Tensor:
        n = len(self.labels)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        return order[:self._usable][self.rank::self.world]

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        order = self._order()
        for step in range(self.start_step, len(self)):
            idx = order[step * self.batch_size:(step + 1) * self.batch_size]
            g = torch.Generator().manual_seed((self.seed * 7_919 + self.epoch + 1) * 1_000_003 + step)
            yield self._prepare(self.images[idx], g), self.labels[idx]

    def _prepare(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        if self.per_image is not None:
            x = torch.stack([self.per_image(img) for img in x])
        x = x.float().div_(255.0)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        x = fit(x, self.img_size)
        if self.augment:
            x = random_shift_flip(x, g)
        x = (x - self.mean) / self.std
        if self.per_batch is not None:
            x = self.per_batch(x)
        if self.in_chans != x.shape[1]:
            x = x.expand(-1, self.in_chans, -1, -1).contiguous()
        return x


def fit(x: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad (centred) to ``size`` when smaller by at most 8 px, else resize bilinearly."""
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    if size >= h and size - h <= 8 and h == w:
        p = size - h
        return F.pad(x, (p // 2, p - p // 2, p // 2, p - p // 2))
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=size < h)


def random_shift_flip(x: torch.Tensor, g: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Batched augmentation: horizontal flip of half the batch and a random shift of up to 2 px."""
    flip = torch.rand(x.shape[0], generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dx, dy = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=g))
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
