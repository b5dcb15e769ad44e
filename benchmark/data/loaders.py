"""One entry point from a :class:`~benchmark.config.DataSpec` to train/val batch iterables.

Both kinds of data yield ``(images float [B, C, S, S], labels int64 [B])``:
Fashion-MNIST from memory (:class:`TensorBatches`), an ImageFolder through a
``torch.utils.data.DataLoader`` with timm's train/eval transforms and, under
torch.distributed, a ``DistributedSampler``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

import torch

from benchmark.config import DataSpec
from benchmark.data import fashion_mnist, image_folder
from benchmark.data.batches import TensorBatches
from benchmark.errors import UserError


@dataclass
class Loaders:
    train: Iterable
    val: Iterable
    num_classes: int
    dataset: str  # name recorded in the results
    val_samples: int


def build_loaders(spec: DataSpec, batch_size: int, in_chans: int, seed: int,
                  data_path: Optional[str] = None, max_steps: Optional[int] = None,
                  rank: int = 0, world: int = 1) -> Loaders:
    if spec.name == "fashion_mnist":
        return _fashion_mnist(spec, batch_size, in_chans, seed, data_path, max_steps, rank, world)
    if spec.name == "image_folder":
        if not data_path:
            raise UserError("this preset trains on an ImageFolder: pass --data PATH (with train/ and val/)")
        return _image_folder(spec, batch_size, seed, data_path, max_steps, rank, world)
    raise UserError(f"unknown dataset kind {spec.name!r}; choose fashion_mnist or image_folder")


def _fashion_mnist(spec, batch_size, in_chans, seed, data_path, max_steps, rank, world) -> Loaders:
    xs, ys = fashion_mnist.load_split("train", data_path)
    xt, yt = fashion_mnist.load_split("test", data_path)
    if spec.train_subset:
        idx = fashion_mnist.stratified_subset(ys, spec.train_subset, seed=0)
        xs, ys = xs[idx], ys[idx]
    if spec.val_subset:
        idx = fashion_mnist.stratified_subset(yt, spec.val_subset, seed=0)
        xt, yt = xt[idx], yt[idx]
    common = dict(img_size=spec.img_size, in_chans=in_chans, rank=rank, world=world)
    train = TensorBatches(xs, ys, batch_size, shuffle=True, augment=spec.augment, seed=seed,
                          max_steps=max_steps, **common)
    val = TensorBatches(xt, yt, max(batch_size, 256), **common)
    return Loaders(train, val, 10, "fashion_mnist", val.num_samples)


def _image_folder(spec, batch_size, seed, data_path, max_steps, rank, world) -> Loaders:
    from timm.data import create_transform

    root = image_folder.check_root(data_path)
    train_samples, classes = image_folder.scan_split(root, "train")
    val_samples, val_classes = image_folder.scan_split(root, "val")
    if val_classes != classes:
        raise UserError(f"{root}/val has classes {val_classes[:5]}... but train/ has {classes[:5]}...; "
                        "both splits must hold the same class folders")
    train_tf = create_transform(spec.img_size, is_training=spec.augment)
    val_tf = create_transform(spec.img_size, is_training=False)
    train_ds = image_folder.NamedImageDataset(train_samples, train_tf)
    val_ds = image_folder.NamedImageDataset(val_samples, val_tf)
    train = _dataloader(train_ds, batch_size, True, seed, spec.num_workers, rank, world, max_steps)
    val = _dataloader(val_ds, batch_size, False, seed, spec.num_workers, rank, world, None)
    return Loaders(train, val, len(classes), f"image_folder:{root.name}", len(val_ds))


def _dataloader(ds, batch_size, shuffle, seed, workers, rank, world, max_steps) -> Any:
    from torch.utils.data import DataLoader, DistributedSampler

    g = torch.Generator().manual_seed(seed)
    sampler = (DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed,
                                  drop_last=False) if world > 1 else None)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                        num_workers=workers, generator=g, persistent_workers=workers > 0,
                        pin_memory=torch.cuda.is_available(), drop_last=shuffle)
    return _Capped(loader, max_steps) if max_steps else loader


class _Capped:
    """A DataLoader limited to ``max_steps`` batches per epoch (smoke presets)."""

    def __init__(self, loader, max_steps: int) -> None:
        self.loader, self.max_steps = loader, max_steps

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.loader.sampler, "set_epoch"):
            self.loader.sampler.set_epoch(epoch)

    def __len__(self) -> int:
        return min(len(self.loader), self.max_steps)

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if i >= self.max_steps:
                break
            yield batch
