"""One entry point from a :class:`~benchmark.config.DataSpec` to train/val batch iterables.

Both kinds of data yield ``(images float [B, C, S, S], labels int64 [B])``:
Fashion-MNIST from memory (:class:`TensorBatches`), an ImageFolder through a
``torch.utils.data.DataLoader`` with timm's train/eval transforms (the recipe's
RandAugment, random erasing, colour jitter and interpolation), a ``DistributedSampler``
for training, or timm's repeated-augmentation sampler when the recipe repeats images
(:mod:`benchmark.data.repeat_aug`; both shuffled per epoch by ``set_epoch``, resumable
mid-epoch), and a padding-free
shard sampler for evaluation, so distributed top-1 counts every validation image
exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

import torch
from torch.utils.data import DistributedSampler, Sampler

from benchmark.config import DataSpec, Recipe
from benchmark.data import fashion_mnist, image_folder
from benchmark.data.batches import TensorBatches
from benchmark.data.mid_epoch import StartMidEpoch
from benchmark.data.repeat_aug import ResumableRepeatAugSampler
from benchmark.errors import UserError


@dataclass
class Loaders:
    train: Iterable
    val: Iterable
    num_classes: int
    dataset: str  # name recorded in the results
    val_samples: int  # the whole validation set, over all ranks


def build_loaders(spec: DataSpec, batch_size: int, in_chans: int, seed: int,
                  data_path: Optional[str] = None, max_steps: Optional[int] = None,
                  rank: int = 0, world: int = 1, recipe: Optional[Recipe] = None,
                  device: Optional[str] = None) -> Loaders:
    """Train/val batches.  ``device``: where training runs; in-memory sets are staged there once and
    ImageFolder batches come from pinned memory when it is a GPU.  ``recipe=None`` with ``spec.augment``
    off gives the plain, unaugmented batches."""
    if spec.name == "fashion_mnist":
        return _fashion_mnist(spec, batch_size, in_chans, seed, data_path, max_steps, rank, world, recipe, device)
    if spec.name == "image_folder":
        if not data_path:
            raise UserError("this preset trains on an ImageFolder: pass --data PATH (with train/ and val/)")
        return _image_folder(spec, batch_size, seed, data_path, max_steps, rank, world, recipe, device)
    raise UserError(f"unknown dataset kind {spec.name!r}; choose fashion_mnist or image_folder")


def _fashion_mnist(spec, batch_size, in_chans, seed, data_path, max_steps, rank, world, recipe, device) -> Loaders:
    from benchmark.data.transforms import batch_erasing, per_image_transform

    xs, ys = fashion_mnist.load_split("train", data_path)
    xt, yt = fashion_mnist.load_split("test", data_path)
    if spec.train_subset:
        idx = fashion_mnist.stratified_subset(ys, spec.train_subset, seed=0)
        xs, ys = xs[idx], ys[idx]
    if spec.val_subset:
        idx = fashion_mnist.stratified_subset(yt, spec.val_subset, seed=0)
        xt, yt = xt[idx], yt[idx]
    common = dict(img_size=spec.img_size, in_chans=in_chans, rank=rank, world=world, device=device)
    train = TensorBatches(xs, ys, batch_size, shuffle=True, augment=spec.augment, seed=seed, max_steps=max_steps,
                          per_image=recipe and per_image_transform(recipe, spec.img_size),
                          per_batch=recipe and batch_erasing(recipe), repeats=recipe.repeated_aug if recipe else 1,
                          **common)
    val = TensorBatches(xt, yt, max(batch_size, 256), **common)
    return Loaders(train, val, 10, fashion_mnist_name(spec), len(yt))


def fashion_mnist_name(spec: DataSpec) -> str:
    """The recorded dataset: ``fashion_mnist``, with the subset sizes when the preset takes subsets (a 10k
    training subset is another dataset: its runs must never share a table with full-data runs)."""
    def size(n: int) -> str:
        return f"{n // 1000}k" if n % 1000 == 0 else str(n)

    parts = [f"train{size(spec.train_subset)}" if spec.train_subset else "",
             f"val{size(spec.val_subset)}" if spec.val_subset else ""]
    return "-".join(["fashion_mnist", *(p for p in parts if p)])


def _image_folder(spec, batch_size, seed, data_path, max_steps, rank, world, recipe, device) -> Loaders:
    from benchmark.data.transforms import folder_transforms

    root = image_folder.check_root(data_path)
    train_samples, classes = image_folder.scan_split(root, "train")
    val_samples, val_classes = image_folder.scan_split(root, "val")
    if val_classes != classes:
        raise UserError(f"{root}/val has classes {val_classes[:5]}... but train/ has {classes[:5]}...; "
                        "both splits must hold the same class folders")
    train_tf, val_tf = folder_transforms(recipe, spec.img_size, spec.augment)
    train_ds = image_folder.NamedImageDataset(train_samples, train_tf)
    val_ds = image_folder.NamedImageDataset(val_samples, val_tf)
    pin = torch.cuda.is_available() if device is None else torch.device(device).type == "cuda"
    train = _dataloader(train_ds, batch_size, True, seed, spec.num_workers, rank, world, max_steps, pin,
                        repeats=recipe.repeated_aug if recipe else 1)
    val = _dataloader(val_ds, batch_size, False, seed, spec.num_workers, rank, world, None, pin)
    return Loaders(train, val, len(classes), f"image_folder:{root.name}", len(val_ds))


def _dataloader(ds, batch_size, shuffle, seed, workers, rank, world, max_steps, pin,
                repeats: int = 1) -> "EpochLoader":
    from torch.utils.data import DataLoader

    if shuffle and repeats > 1:  # repeated augmentation (recipe.repeated_aug): timm's sampler, seeded per run
        sampler = ResumableRepeatAugSampler(ds, num_replicas=world, rank=rank, repeats=repeats, seed=seed)
    else:
        sampler = (ResumableSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=seed) if shuffle
                   else ShardSampler(len(ds), rank, world))
    loader = DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=workers,
                        generator=torch.Generator().manual_seed(worker_seed(seed, rank)),
                        persistent_workers=workers > 0, pin_memory=pin, drop_last=shuffle)
    return EpochLoader(loader, batch_size, max_steps, drop_last=shuffle)


def worker_seed(seed: int, rank: int) -> int:
    """The seed of the generator a DataLoader draws its workers' base seed from (each worker then seeds
    ``random``, torch and NumPy with base + worker id): per rank, ``seed + 1000 x rank`` as the main process's
    streams (:mod:`benchmark.tasks.recognition`), so that no two ranks draw the same crops, flips and
    RandAugment ops; rank 0 keeps ``seed``, so a single-process run draws what it drew before."""
    return seed + 1_000 * rank


class ShardSampler(Sampler):
    """Indices ``rank, rank + world, ...`` in order: disjoint shards, no padding (evaluation)."""

    def __init__(self, n: int, rank: int, world: int) -> None:
        self.n, self.rank, self.world = n, rank, world

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.n, self.world))

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world))


class ResumableSampler(StartMidEpoch, DistributedSampler):
    """``DistributedSampler`` (seed + epoch shuffling, equal shards) that can start mid-epoch."""

    @property
    def epoch_size(self) -> int:
        """Samples of a whole epoch on this rank (``len`` is what is left of it after ``start``)."""
        return self.num_samples


RESUMABLE = (ResumableSampler, ResumableRepeatAugSampler)  # training samplers: set_epoch, start, epoch_size


class EpochLoader:
    """A DataLoader with ``set_epoch(epoch, start_step)``, a per-epoch cap, and a length in steps."""

    def __init__(self, loader, batch_size: int, max_steps: Optional[int], drop_last: bool) -> None:
        self.loader, self.batch_size, self.max_steps, self.drop_last = loader, batch_size, max_steps, drop_last
        self.start_step = 0

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        sampler = self.loader.sampler
        if isinstance(sampler, RESUMABLE):
            sampler.set_epoch(epoch)
            sampler.start = start_step * self.batch_size
        self.start_step = start_step

    def __len__(self) -> int:
        sampler = self.loader.sampler
        n = sampler.epoch_size if isinstance(sampler, RESUMABLE) else len(sampler)
        steps = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps

    def __iter__(self):
        total = len(self)
        for _, batch in zip(range(self.start_step, total), self.loader):
            yield batch
