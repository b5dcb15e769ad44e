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
With ``repeats > 1`` (repeated augmentation) the training order is that of timm's
``RepeatAugSampler`` (:mod:`benchmark.data.repeat_aug`), which also sets the epoch's length.

``device`` stages the set on that device once (images and labels) and prepares
every batch there (indexing, padding, shift/flip, normalisation), so a GPU is
not fed through the host at every step.  The random draws still come from the
same seeded CPU generators (the flip mask travels as a small pinned copy), so
the batches are those of the host path.  A recipe's per-image transform (PIL
RandAugment) or batch transform (random erasing) runs on the host; the prepared
batch then goes to the device as one pinned, non-blocking copy.
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
    device: Optional[str] = None  # stage the set on this device and prepare batches there (None: host)
    repeats: int = 1  # repeated augmentation (recipe.repeated_aug): timm's sampler makes the training order

    def __post_init__(self) -> None:
        self.epoch, self.start_step = 0, 0
        on_host = self.device is None or self.per_image is not None or self.per_batch is not None
        self._home = torch.device("cpu") if on_host else torch.device(self.device)
        self._x = self.images.to(self._home)
        self._y = self.labels.to(self.device or "cpu")

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        self.epoch, self.start_step = epoch, start_step

    @property
    def _usable(self) -> int:
        n = len(self.labels)
        return n - n % self.world if self.shuffle else n

    @property
    def num_samples(self) -> int:
        if self._repeated:
            return self._repeat_sampler().epoch_size
        return len(range(self.rank, self._usable, self.world))

    @property
    def _repeated(self) -> bool:
        return self.shuffle and self.repeats > 1

    def _repeat_sampler(self):
        from benchmark.data.repeat_aug import ResumableRepeatAugSampler

        sampler = ResumableRepeatAugSampler(range(len(self.labels)), self.world, self.rank, self.repeats, self.seed)
        sampler.set_epoch(self.epoch)
        return sampler

    def __len__(self) -> int:
        steps = -(-self.num_samples // self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps

    def _order(self) -> torch.Tensor:
        n = len(self.labels)
        if self._repeated:  # each image `repeats` times in a row of the shuffled order, this rank's share
            return torch.tensor(list(self._repeat_sampler()), dtype=torch.long)
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        return order[:self._usable][self.rank::self.world]

    def __iter__(self) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        order = self._order()
        orders = {order.device: order}
        for dev in {self._x.device, self._y.device} - {order.device}:
            orders[dev] = order.to(dev)
        bx, by = orders[self._x.device], orders[self._y.device]
        for step in range(self.start_step, len(self)):
            lo, hi = step * self.batch_size, (step + 1) * self.batch_size
            g = torch.Generator().manual_seed((self.seed * 7_919 + self.epoch + 1) * 1_000_003 + step)
            x = self._prepare(self._x[bx[lo:hi]], g)
            if self.device is not None and x.device != self._y.device:
                x = to_device(x, self._y.device)
            yield x, self._y[by[lo:hi]]

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


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``x`` on ``device``: from pinned memory and non-blocking when that is a GPU."""
    if device.type == "cuda" and x.device.type == "cpu":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def random_shift_flip(x: torch.Tensor, g: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Batched augmentation: horizontal flip of half the batch and a random shift of up to 2 px.

    ``g`` is a CPU generator whatever the device of ``x``: the same seed gives the same draws anywhere.
    """
    flip = to_device(torch.rand(x.shape[0], generator=g) < 0.5, x.device)
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dx, dy = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=g))
    return torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
