"""Tests for benchmark.metrics.swd: zero on identical sets, ordering, determinism, tiny 1-channel images."""

import pytest
import scipy.stats
import torch

from benchmark.errors import UserError
from benchmark.metrics.swd import (
    laplacian_pyramid,
    pyr_up,
    pyramid_resolutions,
    sliced_wasserstein_distance,
    wasserstein1_sorted,
)

FAST = dict(patches_per_image=32, num_directions=128)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _blobs(n: int, size: int = 32, channels: int = 1, seed: int = 0, sigma: float = 4.0) -> torch.Tensor:
    """uint8 images of one bright Gaussian blob at a random place: a set with real spatial structure."""
    g = _gen(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    centres = torch.rand(n, 2, generator=g) * (size - 8) + 4
    d2 = (yy - centres[:, 0, None, None]) ** 2 + (xx - centres[:, 1, None, None]) ** 2
    img = 255 * torch.exp(-d2 / (2 * sigma ** 2))
    return img[:, None].expand(n, channels, size, size).round().to(torch.uint8)


def _noisy(x: torch.Tensor, std: float, seed: int = 1) -> torch.Tensor:
    return (x.float() + std * torch.randn(x.shape, generator=_gen(seed))).clamp(0, 255).to(torch.uint8)


def test_identical_sets_give_zero():
    x = _blobs(40)
    assert sliced_wasserstein_distance(x, x, _gen(), **FAST).mean_x1e3 == 0.0


def test_noisier_and_different_sets_are_farther():
    a, b = _blobs(60, seed=0), _blobs(60, seed=1)
    same = sliced_wasserstein_distance(a, b, _gen(), **FAST).mean_x1e3
    noisy = sliced_wasserstein_distance(a, _noisy(b, 25.0), _gen(), **FAST).mean_x1e3
    other = sliced_wasserstein_distance(a, _blobs(60, seed=1, sigma=1.5), _gen(), **FAST).mean_x1e3
    assert 0 < same < noisy
    assert same < other


def test_seeded_determinism():
    a, b = _blobs(30, seed=0), _noisy(_blobs(30, seed=1), 10.0)
    r1 = sliced_wasserstein_distance(a, b, _gen(3), **FAST)
    r2 = sliced_wasserstein_distance(a, b, _gen(3), **FAST)
    r3 = sliced_wasserstein_distance(a, b, _gen(4), **FAST)
    assert r1 == r2
    assert r1 != r3


def test_one_channel_32px_levels_and_float_input():
    a, b = _blobs(20, size=32), _blobs(25, size=32, seed=2)
    r = sliced_wasserstein_distance(a, b, _gen(), **FAST)
    assert r.resolutions == (32, 16)
    assert len(r.per_level_x1e3) == 2 and all(v > 0 for v in r.per_level_x1e3)
    assert r.mean_x1e3 == pytest.approx(sum(r.per_level_x1e3) / 2)
    # uint8 and float in [0, 1] are the same images, so the same distance (patches are normalised)
    rf = sliced_wasserstein_distance(a.float() / 255, b.float() / 255, _gen(), **FAST)
    assert rf.mean_x1e3 == pytest.approx(r.mean_x1e3, rel=1e-4)


def test_rgb_and_resolutions():
    a = _blobs(8, size=64, channels=3)
    assert sliced_wasserstein_distance(a, _blobs(8, size=64, channels=3, seed=5), _gen(), **FAST).resolutions == (
        64, 32, 16)
    assert pyramid_resolutions(28) == [28]
    assert pyramid_resolutions(256) == [256, 128, 64, 32, 16]
    with pytest.raises(UserError):
        pyramid_resolutions(6)
    with pytest.raises(UserError, match="one shape"):
        sliced_wasserstein_distance(a, _blobs(8, size=32, channels=3), _gen())


def test_laplacian_pyramid_reconstructs():
    x = torch.rand(2, 3, 33, 30)
    levels = laplacian_pyramid(x, 3)
    rec = levels[-1]
    for lvl in reversed(levels[:-1]):
        rec = lvl + pyr_up(rec, lvl.shape[-2:])
    assert torch.allclose(rec, x, atol=1e-5)


def test_w1_matches_scipy_for_unequal_sizes():
    g = _gen(0)
    a, b = torch.randn(37, 3, generator=g, dtype=torch.float64), torch.randn(53, 3, generator=g, dtype=torch.float64) + 0.5
    got = wasserstein1_sorted(a.sort(0).values, b.sort(0).values)
    want = [scipy.stats.wasserstein_distance(a[:, j].numpy(), b[:, j].numpy()) for j in range(3)]
    assert torch.allclose(got, torch.tensor(want, dtype=torch.float64), atol=1e-12)


def test_cached_real_projections_give_the_same_value():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 255, (12, 1, 32, 32), dtype=torch.uint8, generator=g)
    b = torch.randint(0, 255, (7, 1, 32, 32), dtype=torch.uint8, generator=g)
    cache = {}
    first = sliced_wasserstein_distance(a, b, torch.Generator().manual_seed(1), b_cache=cache)
    assert len(cache) == len(first.per_level_x1e3)
    second = sliced_wasserstein_distance(a, b, torch.Generator().manual_seed(1), b_cache=cache)
    plain = sliced_wasserstein_distance(a, b, torch.Generator().manual_seed(1))
    assert first == second == plain


def test_an_explicit_device_gives_the_same_value_on_cpu():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 255, (6, 3, 16, 16), dtype=torch.uint8, generator=g)
    b = torch.randint(0, 255, (9, 3, 16, 16), dtype=torch.uint8, generator=g)
    plain = sliced_wasserstein_distance(a, b, torch.Generator().manual_seed(2))
    placed = sliced_wasserstein_distance(a, b, torch.Generator().manual_seed(2), device=torch.device("cpu"))
    assert plain == placed


def test_streamed_batches_give_the_same_value():
    from benchmark.metrics.swd import PatchCollector, compare, make_plan

    a, b = _blobs(37, channels=3, seed=2), _blobs(20, channels=3, seed=3)
    whole = sliced_wasserstein_distance(a, b, _gen(4), **FAST)
    plan = make_plan(a.shape[1:], 37, _gen(4), **FAST)
    stream = PatchCollector(plan)
    for start, stop in ((0, 5), (5, 21), (21, 37)):  # uneven batches, as a generator might yield them
        stream.add(a[start:stop])
    assert compare(plan, stream, b).per_level_x1e3 == whole.per_level_x1e3
    with pytest.raises(UserError, match="at most 37"):
        stream.add(a[:1])
