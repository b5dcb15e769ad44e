"""SASE-SinGAN: parameter counts as the authors' SLIM-SinGAN code gives them; placement; forward."""

import math

import pytest
import torch

from baselines.singan import pyramid_geometry
from sase.singan import SinGANSASE, build_sase_singan

IMAGES = [(512, 512), (400, 600), (188, 250)]  # skimage astronaut, coffee, an image at max size


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def conv(c_in, c_out, k=3):
    return c_in * c_out * k * k + c_out


def published_net(nfc, min_nfc, out_ch, nc=3, num_layer=5):
    """SinGAN's G (out_ch 3) or D (out_ch 1), as in SLIM-SinGAN/SinGAN/models.py (unchanged from SinGAN)."""
    total, n = conv(nc, nfc) + 2 * nfc, nfc
    for i in range(num_layer - 2):
        n = int(nfc / 2 ** (i + 1))
        total += conv(max(2 * n, min_nfc), max(n, min_nfc)) + 2 * max(n, min_nfc)
    return total + conv(max(n, min_nfc), out_ch)


def published_widths(scale):
    return min(32 * 2 ** math.floor(scale / 4), 128), min(32 * 2 ** math.floor(scale / 4), 128)


def published_inception_block(ch, groups=4, reduction=1):
    """Torment123/SLIM_code SLIM-SinGAN InceptionBlock(ch_in=ch, ch_out=ch), per group:
    channel: Linear(c_g, c_r) - ReLU - Linear(c_r, ch); spatial: 1x1 conv, BN, 2 x (3x3 conv, BN), 1x1 conv -> 1."""
    c_g = ch // groups
    c_r = c_g // reduction
    channel = (c_g * c_r + c_r) + (c_r * ch + ch)
    spatial = conv(c_g, c_r, 1) + 2 * c_r + 2 * (conv(c_r, c_r, 3) + 2 * c_r) + conv(c_r, 1, 1)
    return groups * (channel + spatial)


PUBLISHED_BLOCK = {32: 6_628, 64: 25_540, 128: 100_228}
# (h, w) -> G total over all scales (nfc 32); the critic is SinGAN's
PUBLISHED_G_TOTAL = {(512, 512): 1_802_466, (400, 600): 700_372, (188, 250): 1_802_466}


def test_block_counts():
    for ch, n in PUBLISHED_BLOCK.items():
        assert published_inception_block(ch) == n
        assert _params(SinGANSASE(ch)) == n


@pytest.mark.parametrize("hw", IMAGES)
def test_pyramid_parameter_counts(hw):
    n = pyramid_geometry(*hw).num_scales
    for residual in (False, True):
        f = build_sase_singan(residual=residual)
        g = [_params(f.generator(k)) for k in range(n)]
        expected = [published_net(*published_widths(k), 3) + (published_inception_block(published_widths(k)[0])
                                                                if k >= 1 else 0) for k in range(n)]
        assert g == expected
        assert sum(g) == PUBLISHED_G_TOTAL[hw]
        assert sum(_params(f.critic(k)) for k in range(n)) == sum(published_net(*published_widths(k), 1)
                                                                   for k in range(n))


def test_placement_and_dilation():
    f = build_sase_singan()
    assert f.generator(0).excite is None
    dil = {k: f.generator(k).excite.mask_branch[3].dilation[0] for k in range(1, 7)}
    assert dil == {1: 5, 2: 5, 3: 5, 4: 8, 5: 8, 6: 8}
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in f.generator(1).modules())
    assert f.generator(0).residual and not f.generator(1).residual
    assert build_sase_singan(residual=True).generator(1).residual


def test_forward_authors_form_ignores_residual():
    torch.manual_seed(0)
    g = build_sase_singan().generator(2)
    x = torch.randn(1, 3, 35, 45)
    out = g(x, torch.randn(1, 3, 35, 45))  # train mode, batch 1 (SinGAN's setting)
    assert out.shape == (1, 3, 25, 35) and torch.isfinite(out).all()
    g.eval()
    with torch.no_grad():
        assert torch.equal(g(x, torch.zeros_like(x)), g(x, torch.ones_like(x)))
    r = build_sase_singan(residual=True).generator(2).eval()
    with torch.no_grad():
        assert not torch.equal(r(x, torch.zeros_like(x)), r(x, torch.ones_like(x)))
