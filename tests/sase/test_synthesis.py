"""SASEExcite: shapes, gradients, spatial adaptivity, pinned sizes of the authors' InceptionBlock."""

import pytest
import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm

from sase.synthesis import GroupedSpectralNorm, SASEExcite


def _params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _stat_buffers(m: nn.Module) -> int:
    """Spectral-norm vectors and BN running statistics (not the BN step counters)."""
    return sum(b.numel() for n, b in m.named_buffers() if not n.endswith("num_batches_tracked"))


def _inputs(c_in=64, c_out=16, h=4, size=(16, 12), batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, c_in, h, h, generator=g), torch.randn(batch, c_out, *size, generator=g)


# Counts of Torment123/SLIM_code InceptionBlock(ch_in, ., ch_out, ., groups=4, reduction=16):
# FastGAN-SLIM-256/models.py (no noise) and FastGAN-SLIM-1024/models.py (+1: NoiseInjection).
# Stat buffers: the InceptionBlock's buffers minus its 16 num_batches_tracked scalars.
@pytest.mark.parametrize("c_in,c_out,dilation,noise,params,stat_buffers", [
    (512, 64, 2, False, 15_524, 2_308),
    (256, 32, 2, False, 4_052, 1_156),
    (128, 16, 4, False, 1_100, 580),
    (512, 64, 2, True, 15_525, 2_308),
    (256, 32, 2, True, 4_053, 1_156),
    (128, 16, 4, True, 1_101, 580),
])
def test_matches_inception_block_size(c_in, c_out, dilation, noise, params, stat_buffers):
    m = SASEExcite(c_in, c_out, groups=4, reduction=16, dilation=dilation, mask_noise=noise)
    assert _params(m) == params
    assert _stat_buffers(m) == stat_buffers
    plain = SASEExcite(c_in, c_out, dilation=dilation, mask_noise=noise, spectral_norm=False)
    assert _params(plain) == params  # spectral norm adds buffers only
    assert _stat_buffers(plain) == 4 * 2 * (c_in // 16)  # 4 BNs x (mean, var) x G * c_r channels


def test_shapes_and_non_square_target():
    m = SASEExcite(64, 16, groups=4, reduction=4)
    xs, xt = _inputs()
    assert m(xs, xt).shape == xt.shape
    assert m.masks(xs, (16, 12)).shape == (2, 4, 16, 12)
    assert m.channel_vectors(xs).shape == (2, 4, 16)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    m = SASEExcite(64, 16, groups=4, reduction=4, mask_noise=True).train()
    xs, xt = _inputs()
    m(xs, xt).square().mean().backward()
    bad = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
           or p.grad.abs().sum() == 0]
    assert not bad


def test_excitation_varies_over_space():
    torch.manual_seed(0)
    m = SASEExcite(64, 16, groups=4, reduction=4).eval()
    xs, _ = _inputs()
    s = m.excitation(xs, (16, 16))
    # Small at initialisation (masks start near 0.5), but far above float noise.
    assert s.std(dim=(2, 3)).min() > 1e-4
    assert m.masks(xs, (16, 16)).std(dim=(2, 3)).min() > 1e-4


def test_one_group_is_spatially_constant():
    torch.manual_seed(0)
    m = SASEExcite(64, 16, groups=1, reduction=4).eval()
    xs, _ = _inputs()
    s = m.excitation(xs, (16, 16))
    e = m.channel_vectors(xs)[:, 0]  # (B, C_out)
    torch.testing.assert_close(s, (e + 1)[:, :, None, None].expand_as(s), rtol=1e-4, atol=1e-4)


def test_constant_masks_give_a_channel_excitation():
    torch.manual_seed(0)
    m = SASEExcite(64, 16, groups=4, reduction=4, spectral_norm=False).eval()
    last = m.mask_branch[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([-1.0, 0.0, 0.5, 2.0]))
    xs, _ = _inputs()
    s = m.excitation(xs, (8, 8))
    w = torch.sigmoid(last.bias)
    expected = (w[None, :, None] * m.channel_vectors(xs)).sum(1) / (w.sum() + 1e-6) + 1  # (B, C_out)
    torch.testing.assert_close(s, expected[:, :, None, None].expand_as(s))


def test_deterministic_under_seed():
    xs, xt = _inputs()
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        m = SASEExcite(64, 16, groups=4, reduction=4, mask_noise=True).train()
        with torch.no_grad():
            m.mask_noise_scale.fill_(0.5)
        outs.append(m(xs, xt))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_grouped_spectral_norm_is_per_group():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 12, 3, groups=4)
    sn = GroupedSpectralNorm(conv.weight, groups=4)
    for _ in range(30):
        w = sn(conv.weight.detach())
    sigmas = torch.linalg.matrix_norm(w.reshape(4, 3, -1), ord=2)
    torch.testing.assert_close(sigmas, torch.ones(4), rtol=1e-3, atol=1e-3)


def test_grouped_spectral_norm_with_one_group_matches_torch():
    torch.manual_seed(0)
    ref = spectral_norm(nn.Conv2d(6, 5, 3))
    ours = GroupedSpectralNorm(ref.parametrizations.weight.original, groups=1)
    ours._u.copy_(ref.parametrizations.weight[0]._u[None])
    ours._v.copy_(ref.parametrizations.weight[0]._v[None])
    torch.testing.assert_close(ours(ref.parametrizations.weight.original.detach()), ref.weight.detach())


@pytest.mark.parametrize("kwargs", [dict(c_in=30, c_out=8, groups=4), dict(c_in=32, c_out=8, reduction=16)])
def test_rejects_impossible_widths(kwargs):
    with pytest.raises(ValueError):
        SASEExcite(**kwargs)
