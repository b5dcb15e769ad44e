import pytest
import torch
from benchutil import FMNIST

from benchmark.config import DataSpec
from benchmark.data import fashion_mnist
from benchmark.data.batches import TensorBatches, fit
from benchmark.data.loaders import build_loaders
from benchmark.errors import UserError


def test_idx_reader_round_trip(tiny_idx):
    x, y = fashion_mnist.load_split("train", tiny_idx)
    assert x.shape == (200, 28, 28) and x.dtype == torch.uint8
    assert y.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


@pytest.mark.skipif(not (FMNIST / "train-images-idx3-ubyte.gz").exists(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_has_the_published_split():
    x, y = fashion_mnist.load_split("train")
    xt, yt = fashion_mnist.load_split("test")
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert torch.bincount(y).tolist() == [6000] * 10


def test_missing_fashion_mnist_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="dataset-fashion-mnist"):
        fashion_mnist.load_split("train", tmp_path / "nope")


def test_stratified_subset_is_balanced_and_seeded():
    labels = torch.arange(1000) % 10
    a = fashion_mnist.stratified_subset(labels, 50, seed=1)
    assert torch.bincount(labels[a]).tolist() == [5] * 10
    assert torch.equal(a, fashion_mnist.stratified_subset(labels, 50, seed=1))


def test_batches_shapes_channels_and_shards(tiny_idx):
    x, y = fashion_mnist.load_split("test", tiny_idx)
    b = TensorBatches(x, y, batch_size=32, img_size=32, in_chans=3)
    xb, yb = next(iter(b))
    assert xb.shape == (32, 3, 32, 32) and yb.shape == (32,)
    shards = [TensorBatches(x, y, 32, 32, rank=r, world=2) for r in range(2)]
    seen = torch.cat([yy for s in shards for _, yy in s])
    assert len(seen) == len(y) and sum(s.num_samples for s in shards) == len(y)


def test_shuffle_is_seeded_and_changes_per_epoch(tiny_idx):
    x, y = fashion_mnist.load_split("train", tiny_idx)
    a = TensorBatches(x, y, 50, 32, shuffle=True, augment=True, seed=3)
    b = TensorBatches(x, y, 50, 32, shuffle=True, augment=True, seed=3)
    first_a, first_b = next(iter(a)), next(iter(b))
    assert torch.equal(first_a[0], first_b[0]) and torch.equal(first_a[1], first_b[1])
    a.set_epoch(1)
    assert not torch.equal(next(iter(a))[1], first_a[1])


def test_fit_pads_small_and_resizes_large():
    assert fit(torch.ones(1, 1, 28, 28), 32).shape == (1, 1, 32, 32)
    assert fit(torch.ones(1, 1, 28, 28), 64).shape == (1, 1, 64, 64)


def test_image_folder_loads(image_folder):
    spec = DataSpec("image_folder", img_size=32, augment=True)
    loaders = build_loaders(spec, batch_size=4, in_chans=3, seed=0, data_path=str(image_folder))
    xb, yb = next(iter(loaders.train))
    assert xb.shape == (4, 3, 32, 32) and loaders.num_classes == 3 and loaders.val_samples == 9


@pytest.mark.parametrize("breakage, message", [
    ("missing", "does not exist"),
    ("no_train", "has no 'train/' folder"),
    ("empty_class", "holds no images"),
    ("corrupt", "unreadable image .*img0.png"),
])
def test_image_folder_bad_input(image_folder, breakage, message):
    import shutil

    root = image_folder
    if breakage == "missing":
        root = image_folder / "nope"
    elif breakage == "no_train":
        shutil.rmtree(image_folder / "train")
    elif breakage == "empty_class":
        for f in (image_folder / "train" / "class1").iterdir():
            f.unlink()
    elif breakage == "corrupt":
        (image_folder / "val" / "class2" / "img0.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match=message):
        build_loaders(DataSpec("image_folder", img_size=32), 4, 3, 0, str(root))
