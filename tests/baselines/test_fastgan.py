"""FastGAN and SASE-GAN: published sizes, small-variant forward/backward, DiffAugment."""

import pytest
import torch
import torch.nn.functional as F

from baselines.fastgan import FastGANGenerator, build_fastgan, crop_quarter, diff_augment
from baselines.fastgan.layers import SkipLayerExcitation
from sase.gan import build_sase_gan
from sase.synthesis import SASEExcite


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ngf=64, ndf=64, nz=256 (the published train.py).  FastGAN: Generator / Discriminator of
# odegeasslbc/FastGAN-pytorch models.py.  SASE-GAN: Generator of Torment123/SLIM_code
# FastGAN-SLIM-256/models.py (256 px) and FastGAN-SLIM-1024/models.py (1024 px).
PUBLISHED = {
    ("fastgan", 256): (29_127_846, 11_526_160),
    ("fastgan", 1024): (29_176_512, 11_528_192),
    ("sase_gan", 256): (28_486_942, 11_526_160),
    ("sase_gan", 1024): (28_503_687, 11_528_192),
}
BUILDERS = {"fastgan": build_fastgan, "sase_gan": build_sase_gan}


# Where SASE sits (target size -> dilation); the 4->64 skip stays an SLE.
SASE_DILATIONS = {256: {"128": 2, "256": 2}, 1024: {"128": 2, "256": 2, "512": 4}}


@pytest.mark.parametrize("name,size", list(PUBLISHED))
def test_published_parameter_counts(name, size):
    g, d = BUILDERS[name](size)
    assert (_params(g), _params(d)) == PUBLISHED[(name, size)]
    sase = {k: m for k, m in g.skips.items() if isinstance(m, SASEExcite)}
    assert isinstance(g.skips["64"], SkipLayerExcitation)
    assert {k: m.mask_branch[3].dilation[0] for k, m in sase.items()} == (
        SASE_DILATIONS[size] if name == "sase_gan" else {})
    assert all((m.mask_noise_scale is not None) == (size == 1024) for m in sase.values())


SMALL = [("fastgan", 32, 1), ("sase_gan", 32, 1), ("sase_gan", 64, 3)]


@pytest.mark.parametrize("name,size,nc", SMALL)
def test_small_variant_forward_backward(name, size, nc):
    torch.manual_seed(0)
    g, d = BUILDERS[name](size, ngf=8, ndf=8, nz=16, nc=nc)
    fake = g(torch.randn(2, 16))
    assert [tuple(x.shape) for x in fake] == [(2, nc, size, size), (2, nc, size // 2, size // 2)]
    real = torch.rand(2, nc, size, size) * 2 - 1
    logits_real, rec = d(real, reconstruct=True, generator=torch.Generator().manual_seed(0))
    logits_fake = d(fake)
    assert logits_real.shape == logits_fake.shape == (2, 2, 5, 5)
    half = F.interpolate(real, size // 2)
    assert all(r.shape == half.shape for r in rec[:3])
    loss = (F.relu(1 - logits_real).mean() + F.relu(1 + logits_fake).mean()
            + F.l1_loss(rec.whole, half) + F.l1_loss(rec.small, half)
            + F.l1_loss(rec.part, F.interpolate(crop_quarter(real, rec.quarter), size // 2)))
    assert torch.isfinite(loss)
    loss.backward()
    for model in (g, d):
        bad = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
        assert not bad, bad[:5]
    with torch.no_grad():  # fresh running statistics and singular vectors are usable in eval mode
        assert all(torch.isfinite(x).all() for x in g.eval()(torch.randn(1, 16)))
        assert torch.isfinite(d.eval()(real[:1])).all()


def test_discriminator_resizes_a_single_batch():
    torch.manual_seed(0)
    _, d = build_fastgan(32, ngf=16, ndf=16, nz=32, nc=1)
    d.eval()
    x = torch.randn(2, 1, 64, 64)
    torch.testing.assert_close(d(x), d([F.interpolate(x, 32), F.interpolate(x, 16)]))


def test_crop_quarter_layout():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert [crop_quarter(x, q)[0, 0, 0, 0].item() for q in range(4)] == [0.0, 2.0, 8.0, 10.0]
    with pytest.raises(ValueError):
        crop_quarter(x, 4)


def test_outputs_use_tanh_only_at_1024_by_default():
    assert FastGANGenerator(1024, ngf=8, nz=8).tanh
    assert not any(FastGANGenerator(s, ngf=8, nz=8).tanh for s in (32, 256, 512))
    torch.manual_seed(0)
    g = FastGANGenerator(32, ngf=16, nz=32, tanh=True)
    assert all(x.abs().max() <= 1 for x in g(torch.randn(2, 32)))


def test_unsupported_size_lists_choices():
    with pytest.raises(ValueError, match="32, 64"):
        build_fastgan(48)


def test_diff_augment_shapes_and_determinism():
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    a = diff_augment(x, generator=torch.Generator().manual_seed(1))
    b = diff_augment(x, generator=torch.Generator().manual_seed(1))
    c = diff_augment(x, generator=torch.Generator().manual_seed(2))
    assert a.shape == x.shape
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)
    a.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_translation_shifts_and_zero_fills():
    x = torch.ones(64, 1, 16, 16)
    y = diff_augment(x, policy=["translation"], generator=torch.Generator().manual_seed(0))
    zeros = (y == 0).float()
    rows, cols = zeros.amin(dim=(1, 3)).sum(1), zeros.amin(dim=(1, 2)).sum(1)  # all-zero rows, cols
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    assert rows.max() == cols.max() == 2 and zeros.sum() > 0  # |shift| <= round(16 / 8), reached in 64 draws


def test_diff_augment_rejects_unknown_policy():
    with pytest.raises(ValueError, match="color"):
        diff_augment(torch.zeros(1, 1, 8, 8), policy=["cutout"])
