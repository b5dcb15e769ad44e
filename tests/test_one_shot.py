"""One-shot suite below the harness: data errors, a tiny pyramid trained on CPU, resume by scale, seeding."""

import types

import numpy as np
import pytest
import torch
from PIL import Image

from benchmark.data.single_image import SKIMAGE_PHOTOS, OneShotData, list_units, load_single_image, load_unit
from benchmark.errors import TrainingDiverged, UserError
from benchmark.metrics.extractors import CNNSpec, FashionCNN
from benchmark.metrics.sifid import sifid_images, substitute_spatial
from benchmark.tasks import one_shot
from benchmark.train.classify import Progress
from benchmark.train.distributed import DistContext
from benchmark.train.singan import SinGANRecipe, cpu_threads, train_pyramid

TINY = OneShotData(images=("coffee",), max_size=24, min_size=12)  # 400x600 -> scales 12x18, 14x21, 16x24
RECIPE = SinGANRecipe("test", iters_per_scale=2, eval_samples=6, grid_samples=4)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is many times faster than two on a shared machine (see cpu_threads)."""
    with cpu_threads(1):
        yield


def _extractor():
    torch.manual_seed(0)
    return substitute_spatial("test-cnn", FashionCNN(CNNSpec()), 0.286, 0.353)


def _train(ckpt=None, on_scale_end=None, seed=0, model="sase_singan"):
    data = load_single_image(TINY)
    factory = one_shot.build_one_shot(model)
    return train_pyramid(factory, data.image, data.geometry, RECIPE, seed, checkpoint_path=ckpt,
                         on_scale_end=on_scale_end)


def _sifid(pyr):
    from benchmark.train.singan import sample

    data = load_single_image(TINY)
    return sifid_images(data.image, sample(pyr, 4, torch.Generator().manual_seed(1)), _extractor())[0]


def test_embedded_photos_load():
    assert {"astronaut", "coffee", "chelsea", "rocket", "motorcycle"} <= set(SKIMAGE_PHOTOS)
    data = load_single_image(TINY)
    assert data.image.shape == (1, 3, 16, 24) and data.orig_size == (400, 600)
    assert -1 <= float(data.image.min()) < float(data.image.max()) <= 1
    assert data.geometry.sizes == ((12, 18), (14, 21), (16, 24))


def test_data_path_file_folder_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(rng.integers(0, 255, (50, 30), dtype=np.uint8)).save(tmp_path / "b.png")  # grey
    (tmp_path / "notes.txt").write_text("not an image")
    assert [u.name for u in list_units(tmp_path)] == ["a.png", "b.png"]  # full names: cat.png != cat.jpg
    img = load_single_image(TINY, tmp_path / "b.png")
    assert img.image.shape[1] == 3 and max(img.image.shape[-2:]) == 24
    with pytest.raises(UserError, match="one image"):
        load_single_image(TINY, tmp_path)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="unreadable"):
        load_unit(list_units(tmp_path / "bad.png")[0], TINY)
    Image.fromarray(rng.integers(0, 255, (8, 60, 3), dtype=np.uint8)).save(tmp_path / "tiny.png")
    with pytest.raises(UserError, match="min_size"):
        load_single_image(TINY, tmp_path / "tiny.png")
    with pytest.raises(UserError, match="does not exist"):
        list_units(tmp_path / "missing.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        list_units(tmp_path / "empty")


def test_seeded_resume_by_scale(tmp_path):
    full, hist = _train()
    assert len(full.generators) == 3 and [h["scale"] for h in hist] == [0, 1, 2]

    class Killed(Exception):
        pass

    def kill_after_scale_1(scale):
        if scale == 1:
            raise Killed

    ckpt = tmp_path / "last.pt"
    with pytest.raises(Killed):
        _train(ckpt, kill_after_scale_1)
    assert torch.load(ckpt, weights_only=True)["scales_done"] == 2
    resumed, hist2 = _train(ckpt)
    assert [h["scale"] for h in hist2] == [0, 1, 2]
    for a, b in zip(full.generators, resumed.generators):
        for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), k
    again, _ = _train()
    assert _sifid(full) == _sifid(again) == _sifid(resumed)
    other, _ = _train(seed=1)
    assert _sifid(other) != _sifid(full)


def test_nan_raises_diverged(monkeypatch):
    monkeypatch.setattr(torch.nn.functional, "mse_loss", lambda a, b: (a - b).pow(2).mean() * float("nan"))
    with pytest.raises(TrainingDiverged):
        _train(model="singan")


def test_run_one_shot_record(tmp_path, monkeypatch):
    monkeypatch.setattr(one_shot, "_spatial_extractor", lambda ctx, paths: _extractor())
    preset = types.SimpleNamespace(data=TINY, recipe=RECIPE)
    run_dir = tmp_path / "runs" / "r1"
    ctx = types.SimpleNamespace(preset=preset, model="singan", seed=0, run_id="r1", run_dir=run_dir, data_path=None,
                                device="cpu", progress=Progress, dist=DistContext(), options={},
                                checkpoint_path=run_dir / "checkpoints" / "last.pt")
    rec = one_shot.run_one_shot(ctx)
    assert rec["image"] == "coffee" and rec["dataset"] == "skimage-photos" and rec["num_scales"] == 3
    assert rec["sifid_extractor"] == "test-cnn:body.stage2_relu" and np.isfinite(rec["sifid"])
    assert rec["structure_metric"] == "ssim_coarse" and -1 <= rec["ssim_coarse"] <= 1
    assert rec["params_per_scale"] == [29_763] * 3 and rec["params"] == 3 * 29_763
    assert rec["params_d"] == 3 * 29_185 and len(rec["gmacs_per_scale"]) == 3 and rec["gmacs"] > 0
    assert len(rec["time_per_scale_s"]) == 3 and rec["diversity"] >= 0
    assert rec["cpu_threads"] == 1 and rec["cpu_threads_timing"]["threads_available"] == 1  # see one_thread
    assert [[c["iter"] for c in h["curve"]] for h in rec["history"]] == [[1, 2]] * 3
    assert (tmp_path / rec["sample_grid"]).is_file() and (tmp_path / rec["pyramid_picture"]).is_file()
    with pytest.raises(UserError, match="unknown model 'nope'"):
        one_shot.build_one_shot("nope")
    with pytest.raises(UserError, match="not a one-shot model"):
        one_shot.build_one_shot("resnet_s32")
