"""Fashion-MNIST from Debian's ``dataset-fashion-mnist`` package, read from its IDX files.

The package installs ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` under
``/usr/share/datasets/fashion-mnist/``.  The 28x28 grey images are kept in memory
as uint8 and served by :class:`~benchmark.data.batches.TensorBatches`.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

from benchmark.errors import UserError

DEFAULT_ROOT = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
_FILES = {"train": "train", "test": "t10k"}


def _read_idx(path: Path) -> np.ndarray:
    """Parse one (optionally gzipped) IDX file into a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08 or len(data) < 4 + 4 * (magic & 0xFF):
        raise UserError(f"{path} is not a uint8 IDX file (magic {magic:#x}); reinstall dataset-fashion-mnist")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find(root: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    raise UserError(
        f"Fashion-MNIST file {stem}(.gz) not found in {root}. Install it with "
        "'apt-get install dataset-fashion-mnist' (or run scripts/setup.sh), or point "
        "--data / FASHION_MNIST_DIR at a folder holding the IDX files."
    )


def idx_files(root: Optional[Path] = None) -> Tuple[Path, ...]:
    """The four IDX files (train and test, images and labels) under ``root``; a clear error if one is missing."""
    root = Path(root) if root else DEFAULT_ROOT
    return tuple(_find(root, f"{prefix}-{kind}-ubyte") for prefix in ("train", "t10k")
                 for kind in ("images-idx3", "labels-idx1"))


def load_split(split: str, root: Optional[Path] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(images uint8 [N, 28, 28], labels int64 [N])`` of the ``train`` or ``test`` split."""
    root = Path(root) if root else DEFAULT_ROOT
    if not root.is_dir():
        raise UserError(f"Fashion-MNIST folder {root} does not exist; install 'dataset-fashion-mnist' "
                        "or pass --data PATH to a folder holding the IDX files")
    prefix = _FILES[split]
    images = _read_idx(_find(root, f"{prefix}-images-idx3-ubyte"))
    labels = _read_idx(_find(root, f"{prefix}-labels-idx1-ubyte"))
    if len(images) != len(labels):
        raise UserError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels in {root}")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def stratified_subset(labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n`` samples with classes as balanced as possible (fixed by ``seed``)."""
    g = torch.Generator().manual_seed(seed)
    classes = labels.unique()
    per_class = -(-n // len(classes))
    picks = [torch.nonzero(labels == c).flatten() for c in classes]
    picks = [p[torch.randperm(len(p), generator=g)[:per_class]] for p in picks]
    idx = torch.stack([p[i] for i in range(per_class) for p in picks if i < len(p)]) if picks else labels[:0]
    return idx[:n]
