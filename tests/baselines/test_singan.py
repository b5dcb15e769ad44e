"""SinGAN: pyramid geometry and parameter counts as the published code gives them; forward shapes."""

import math

import pytest
import torch

from baselines.singan import SinGANArch, SinGANCritic, SinGANGenerator, build_singan, pyramid_geometry


def _params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# --- the published definition (tamarott/SinGAN SinGAN/models.py, config.py), restated from layer shapes ---
def conv(c_in, c_out, k=3):
    return c_in * c_out * k * k + c_out  # weight + bias


def bn(c):
    return 2 * c  # affine weight + bias


def published_net(nfc, min_nfc, out_ch, nc=3, num_layer=5):
    """Head ConvBlock(nc -> nfc), num_layer-2 body ConvBlocks, tail conv (-> 3 for G, -> 1 for D)."""
    total, n = conv(nc, nfc) + bn(nfc), nfc
    for i in range(num_layer - 2):
        n = int(nfc / 2 ** (i + 1))
        total += conv(max(2 * n, min_nfc), max(n, min_nfc)) + bn(max(n, min_nfc))
    return total + conv(max(n, min_nfc), out_ch)


def published_widths(scale, nfc_init=32, min_nfc_init=32):
    k = 2 ** math.floor(scale / 4)
    return min(nfc_init * k, 128), min(min_nfc_init * k, 128)


# (h, w) of the image file -> scale sizes (coarsest first) at max 250, min 25, factor 0.75
GEOMETRY = {
    (512, 512): [(26, 26), (33, 33), (42, 42), (54, 54), (70, 70), (90, 90), (117, 117), (150, 150),
                 (194, 194), (250, 250)],  # skimage astronaut
    (400, 600): [(25, 38), (33, 50), (44, 65), (57, 85), (75, 111), (98, 146), (128, 191), (167, 250)],  # coffee
    (188, 250): [(26, 34), (32, 42), (40, 53), (49, 66), (62, 82), (77, 102), (96, 128), (121, 160), (151, 200),
                 (188, 250)],  # an image already at max size
}
# (h, w) -> (G total, D total) over all scales, at nfc = min_nfc = 32
PUBLISHED_TOTALS = {(512, 512): (1_479_966, 1_468_426), (400, 600): (578_328, 571_400),
                    (188, 250): (1_479_966, 1_468_426)}
G_PER_WIDTH = {32: 29_763, 64: 114_819, 128: 450_819}
D_PER_WIDTH = {32: 29_185, 64: 113_665, 128: 448_513}


@pytest.mark.parametrize("hw", list(GEOMETRY))
def test_geometry_matches_published(hw):
    geo = pyramid_geometry(*hw)
    assert [tuple(s) for s in geo.sizes] == GEOMETRY[hw]
    assert max(geo.sizes[-1]) <= 250 and 0.74 < geo.scale_factor < 0.81


def test_geometry_small_preset_and_errors():
    assert pyramid_geometry(400, 600, 24, 12).sizes == ((12, 18), (14, 21), (16, 24))
    with pytest.raises(ValueError):
        pyramid_geometry(20, 300)


def test_per_width_counts_match_formula():
    for width, g in G_PER_WIDTH.items():
        assert published_net(width, width, 3) == g
        assert _params(SinGANGenerator(SinGANArch(nfc=width, min_nfc=width))) == g
        assert published_net(width, width, 1) == D_PER_WIDTH[width]
        assert _params(SinGANCritic(SinGANArch(nfc=width, min_nfc=width))) == D_PER_WIDTH[width]


def test_uneven_widths_follow_published_rule():
    arch = SinGANArch(nfc=64, min_nfc=16)  # body halves 64 -> 32 -> 16 -> 16
    assert arch.body_widths() == [(64, 32), (32, 16), (16, 16)]
    assert _params(SinGANGenerator(arch)) == published_net(64, 16, 3)


@pytest.mark.parametrize("hw", list(GEOMETRY))
def test_pyramid_parameter_counts(hw):
    f = build_singan()
    n = pyramid_geometry(*hw).num_scales
    g = [_params(f.generator(k)) for k in range(n)]
    d = [_params(f.critic(k)) for k in range(n)]
    assert g == [published_net(*published_widths(k), 3) for k in range(n)]
    assert d == [published_net(*published_widths(k), 1) for k in range(n)]
    assert (sum(g), sum(d)) == PUBLISHED_TOTALS[hw]


def test_forward_shapes_residual_and_init():
    torch.manual_seed(0)
    arch = SinGANArch()
    g, d = SinGANGenerator(arch), SinGANCritic(arch)
    x, prev = torch.randn(2, 3, 35, 45), torch.randn(2, 3, 35, 45)
    out = g(x, prev)
    assert out.shape == (2, 3, 25, 35) and torch.isfinite(out).all()
    g.residual = False
    plain = g(x, prev)
    assert torch.allclose(out - plain, prev[:, :, 5:30, 5:40])  # the residual is the centre-cropped prev
    assert d(out).shape == (2, 1, 15, 25)
    assert abs(float(g.head.norm.weight.detach().mean()) - 1) < 0.02 and float(g.head.conv.weight.detach().std()) < 0.03
    assert arch.pad == 5
