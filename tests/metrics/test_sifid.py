"""SIFID against a direct numpy/scipy computation; the diversity and structure measures."""

import numpy as np
import pytest
import torch

from benchmark.metrics.diversity import pixel_diversity
from benchmark.metrics.extractors import CNNSpec, FashionCNN
from benchmark.metrics.sifid import (
    SUBSTITUTE_LAYER,
    feature_stats,
    frechet_distance,
    sifid,
    sifid_images,
    spatial_vectors,
    substitute_spatial,
)
from benchmark.metrics.structure import patch_swd, ssim_coarse


def _direct_fd(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance from first principles: Tr sqrt(S1 S2) = sum of sqrt of the eigenvalues of S1 S2."""
    m1, m2 = a.mean(0), b.mean(0)
    s1 = (a - m1).T @ (a - m1) / (len(a) - 1)
    s2 = (b - m2).T @ (b - m2) / (len(b) - 1)
    eig = np.linalg.eigvals(s1 @ s2)
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(eig.real, 0, None)).sum())


def test_frechet_matches_direct_computation():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(300, 6))
    fakes = [rng.normal(0.3, 1.2, size=(250, 6)) @ rng.normal(size=(6, 6)) for _ in range(3)]
    mean, values = sifid(real, fakes)
    direct = [_direct_fd(real, f) for f in fakes]
    assert values == pytest.approx(direct, rel=1e-6)
    assert mean == pytest.approx(np.mean(direct), rel=1e-6)


def test_stats_and_spatial_vectors():
    fmap = torch.arange(24.0).view(1, 2, 3, 4)
    v = spatial_vectors(fmap)
    assert v.shape == (12, 2) and v[5].tolist() == [5.0, 17.0]  # position (1, 1): channel 0 then 1
    mu, sigma = feature_stats(v)
    assert np.allclose(mu, v.mean(0)) and np.allclose(sigma, np.cov(v.T))
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)


def test_identical_images_and_extractor_name():
    torch.manual_seed(0)
    ext = substitute_spatial("test-cnn", FashionCNN(CNNSpec()), 0.286, 0.353)
    assert ext.label == f"test-cnn:{SUBSTITUTE_LAYER}" and ext.channels == 32
    img = torch.rand(1, 3, 40, 56) * 2 - 1
    assert ext.fn(img).shape == (1, 32, 20, 28)
    same, _ = sifid_images(img, img.repeat(2, 1, 1, 1), ext)
    other, _ = sifid_images(img, torch.rand(2, 3, 40, 56) * 2 - 1, ext)
    assert abs(same) < 1e-6 < other


def test_diversity_and_structure():
    torch.manual_seed(0)
    real = torch.rand(1, 3, 24, 32) * 2 - 1
    assert pixel_diversity(real.repeat(4, 1, 1, 1), real) == 0.0
    noisy = real + 0.3 * torch.randn(8, 3, 24, 32)
    assert 0 < pixel_diversity(noisy, real) < 2
    assert ssim_coarse(real, real.repeat(2, 1, 1, 1), (12, 16)) == pytest.approx(1.0)
    assert ssim_coarse(real, noisy, (12, 16)) < 1.0
    assert patch_swd(real, real.repeat(2, 1, 1, 1), 0) < patch_swd(real, noisy.clamp(-1, 1), 0)
