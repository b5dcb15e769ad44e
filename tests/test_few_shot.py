import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.data.few_shot import fmnist_class, image_folder_flat
from benchmark.errors import UserError
from benchmark.train.real_batches import SamplerState, real_batch


def _write(folder, n, size=(40, 30), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(folder / f"im{i}.png")


def test_flat_folder_crops_and_resizes_mixed_sizes(tmp_path):
    _write(tmp_path / "a", 3, (40, 30))
    _write(tmp_path / "a", 1, (64, 64), "L")
    data = image_folder_flat(tmp_path / "a", 32, channels=3)
    assert data.images.shape == (3, 3, 32, 32) or data.images.shape == (4, 3, 32, 32)
    assert data.images.dtype == torch.uint8 and data.name == "folder:a"


@pytest.mark.parametrize("case, message", [
    ("empty", "holds no images"),
    ("single", "single image"),
    ("corrupt", "unreadable image .*im1.png"),
    ("missing", "is not a folder"),
])
def test_flat_folder_bad_input(tmp_path, case, message):
    folder = tmp_path / "set"
    folder.mkdir()
    if case == "single":
        _write(folder, 1)
    elif case == "corrupt":
        _write(folder, 3)
        (folder / "im1.png").write_bytes(b"nope")
    elif case == "missing":
        folder = tmp_path / "nothing"
    with pytest.raises(UserError, match=message):
        image_folder_flat(folder, 32)


def test_fmnist_class_and_sampling(tiny_idx):
    data = fmnist_class("sneaker", 10, 32, root=tiny_idx)
    assert data.images.shape == (10, 1, 32, 32) and data.name == "fmnist-10shot-sneaker"
    with pytest.raises(UserError, match="unknown Fashion-MNIST class"):
        fmnist_class("boots", 10, 32, root=tiny_idx)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a = real_batch(data.images, SamplerState(), 4, "permutation", True, g1)
    b = real_batch(data.images, SamplerState(), 4, "permutation", True, g2)
    assert torch.equal(a, b) and a.min() >= -1 and a.max() <= 1
