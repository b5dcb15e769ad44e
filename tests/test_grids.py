"""Sample grids carry a title (model, seed, point of training) above images that keep their pixels."""

import numpy as np
import torch
from PIL import Image

from benchmark.train.grids import MIN_WIDTH_PX, save_labelled_grid
from benchmark.train.singan_pictures import save_sample_grid


def _grey(n: int, size: int = 8) -> torch.Tensor:
    return torch.full((n, 1, size, size), 128, dtype=torch.uint8)


def test_a_titled_grid_has_the_title_above_the_images(tmp_path):
    path = save_labelled_grid(_grey(4), tmp_path / "g.png", "fastgan, seed 3\niteration 1,000 of 1,000", nrow=2)
    img = np.asarray(Image.open(path).convert("L"))
    untitled = np.asarray(Image.open(save_labelled_grid(_grey(4), tmp_path / "u.png", "", nrow=2)).convert("L"))
    band = img.shape[0] - untitled.shape[0]
    assert img.shape[1] >= MIN_WIDTH_PX and band >= 30  # two lines of text
    assert img[:band].min() < 100  # text drawn in the band
    assert (untitled == 255).mean() < 0.5 and abs(int(np.median(untitled)) - 128) <= 1  # grey images, kept as is
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_long_title_shrinks_instead_of_being_clipped(tmp_path):
    title = "a_model_with_a_very_long_name_indeed, seed 123456789\n" + "x" * 120
    img = np.asarray(Image.open(save_labelled_grid(_grey(1), tmp_path / "g.png", title)).convert("L"))
    edges = np.concatenate([img[:30, :2], img[:30, -2:]])
    assert (edges == 255).all()  # nothing reaches the left or right border


def test_one_shot_grids_take_a_title(tmp_path):
    samples = torch.zeros(4, 3, 8, 8)
    path = save_sample_grid(samples, tmp_path / "s.png", title="singan, seed 0, coffee\n4 samples at scale 3")
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape[1] >= MIN_WIDTH_PX and img[:20].min() < 100
