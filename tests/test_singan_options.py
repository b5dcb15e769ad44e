"""SinGAN's recipe options where the published code and the paper's text differ: each changes what it says.

``rec_noise`` (scale 0's reconstruction noise redrawn every iteration, or drawn once), ``quantize_previous``
(the previous image clamped and 8-bit quantised before resizing) and ``upsample`` (resize by 1/factor then
crop, or straight to the size).  Defaults: the reference code's behaviour."""

from __future__ import annotations

import math

import pytest
import torch

import benchmark.train.singan as singan
from baselines.singan.geometry import quantize_8bit, resize, upsample_previous
from benchmark.data.single_image import OneShotData, load_single_image
from benchmark.errors import UserError
from benchmark.tasks import one_shot
from benchmark.train.singan import SinGANRecipe, cpu_threads, train_pyramid

# 4 scales: 25x38, 30x45, 36x54, 43x64; 38 px / factor 0.835 is 46 px, cropped to 45 (at 24 px nothing is cropped)
SMALL = OneShotData(images=("coffee",), max_size=64, min_size=25)
BASE = SinGANRecipe("options", iters_per_scale=3)


@pytest.fixture(autouse=True)
def one_thread():
    with cpu_threads(1):
        yield


def test_defaults_are_the_reference_codes():
    r = SinGANRecipe("x")
    assert (r.rec_noise, r.quantize_previous, r.upsample) == ("redraw", True, "factor-crop")
    for bad in ({"rec_noise": "once"}, {"upsample": "nearest"}):
        with pytest.raises(UserError, match="choose one of"):
            SinGANRecipe("x", **bad)


def test_quantize_8bit_truncates_to_255_levels_and_clamps():
    x = torch.tensor([-2.0, -1.0, 0.0, 0.999, 1.0, 3.0])
    q = quantize_8bit(x)
    levels = (q + 1) / 2 * 255
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    assert q.min() >= -1 and q.max() <= 1
    assert q[2] == pytest.approx(127 / 255 * 2 - 1)  # 0 -> 127.5 -> truncated to 127, as astype(uint8)
    assert torch.all(q <= x.clamp(-1, 1) + 1e-7)  # truncation never rounds up


def test_factor_crop_resizes_by_one_over_factor_then_keeps_the_top_left():
    x = torch.rand(1, 3, 12, 18) * 2 - 1
    out = upsample_previous(x, (14, 21), 0.8, "factor-crop", quantize=False)
    up = resize(x, (math.ceil(12 / 0.8), math.ceil(18 / 0.8)))  # 15 x 23
    assert out.shape[-2:] == (14, 21)
    assert torch.equal(out, up[..., :14, :21])
    exact = upsample_previous(x, (14, 21), 0.8, "exact", quantize=False)
    assert not torch.allclose(out, exact, atol=1e-3)
    q = upsample_previous(x * 3, (14, 21), 0.8, "factor-crop", quantize=True)
    assert q.min() >= -1 and q.max() <= 1
    with pytest.raises(ValueError, match="unknown upsample mode"):
        upsample_previous(x, (14, 21), 0.8, "nearest")


def _run(**options):
    data = load_single_image(SMALL)
    recipe = SinGANRecipe("options", iters_per_scale=3, **options)
    pyr, hist = train_pyramid(one_shot.build_one_shot("singan"), data.image, data.geometry, recipe, seed=0)
    return data, pyr, hist


def _first_draw(shape):
    gen = torch.Generator().manual_seed(0)
    return singan.make_noise(0, shape, 1, gen, "cpu")


def test_rec_noise_fixed_keeps_the_first_draw_and_redraw_keeps_another():
    _, fixed, _ = _run(rec_noise="fixed")
    _, redrawn, _ = _run()
    shape = tuple(fixed.reals[0].shape[-2:])
    assert torch.equal(fixed.z_rec[0], _first_draw(shape))
    assert not torch.equal(redrawn.z_rec[0], _first_draw(shape))
    assert redrawn.z_rec[0].shape == fixed.z_rec[0].shape


@pytest.mark.parametrize("option", [{"quantize_previous": False}, {"upsample": "exact"}])
def test_each_previous_image_option_changes_the_training(option):
    _, ref, ref_hist = _run()
    _, other, other_hist = _run(**option)
    assert ref.quantize != other.quantize or ref.upsample != other.upsample
    # scale 0 sees no previous image: identical; scale 1 starts from a different one
    assert ref_hist[0]["curve"] == other_hist[0]["curve"]
    with torch.no_grad():
        a, b = singan.draw_previous(ref, 1, "rec"), singan.draw_previous(other, 1, "rec")
    assert a.shape == b.shape and not torch.allclose(a, b, atol=1e-4)
    assert ref_hist[1]["curve"] != other_hist[1]["curve"]
