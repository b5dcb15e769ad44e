"""Shared fixtures: a tiny Fashion-MNIST-format IDX folder and an ImageFolder tree, written by the tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_idx(tmp_path: Path) -> Path:
    """A Fashion-MNIST-shaped IDX folder: 200 train / 100 test images whose class is readable from the image."""
    rng = np.random.default_rng(0)
    root = tmp_path / "fmnist"
    root.mkdir()
    for prefix, n in (("train", 200), ("t10k", 100)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 30, size=(n, 28, 28))
        for i, c in enumerate(labels):
            images[i, c * 2: c * 2 + 6, 4:24] = 255  # a bright bar whose position is the class
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """An ImageNet-style tree of small PNGs: train/ and val/, 3 classes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "imagefolder"
    for split, n in (("train", 6), ("val", 3)):
        for c in range(3):
            d = root / split / f"class{c}"
            d.mkdir(parents=True)
            for i in range(n):
                arr = rng.integers(0, 255, size=(40, 48, 3), dtype=np.uint8)
                arr[..., c] = 255
                Image.fromarray(arr).save(d / f"img{i}.png")
    return root
