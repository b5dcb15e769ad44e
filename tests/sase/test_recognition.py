"""The recognition SASE layer (``sase.recognition``) and SASE-ResNet (``sase.resnet``)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import timm
import torch

import sase  # noqa: F401  (registers the models)
from sase.recognition import SASEConfig, SASEConv2d
from sase.resnet import S32_ABLATIONS, SASEBottleneck

RESNET50_PARAMS = 25_557_032  # timm resnet50


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny CPU tensors: one thread avoids OpenMP spin-waits when the cores are shared (100x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _layers(model: torch.nn.Module) -> list[SASEConv2d]:
    return [m for m in model.modules() if isinstance(m, SASEConv2d)]


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("stride,size,out", [(1, 8, 8), (2, 8, 4), (2, 9, 5)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_layer_keeps_channels_and_stride(stride, size, out, dilation):
    layer = SASEConv2d(16, 32, stride=stride, dilation=dilation)
    conv = torch.nn.Conv2d(16, 32, 3, stride, dilation, dilation)
    x = torch.randn(2, 16, size, size)
    assert layer(x).shape == conv(x).shape == (2, 32, out, out)
    assert layer.excitation(x).shape == (2, 32, out, out)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    layer = SASEConv2d(16, 16, stride=2)
    layer(torch.randn(2, 16, 8, 8)).square().mean().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_deterministic_under_seed():
    x = torch.randn(2, 16, 8, 8)
    outs = []
    for _ in range(2):
        torch.manual_seed(123)
        outs.append(SASEConv2d(16, 16).eval()(x))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_excitation_is_spatially_adaptive():
    torch.manual_seed(0)
    layer = SASEConv2d(16, 16).eval()
    x = torch.randn(2, 16, 8, 8)
    s = layer.excitation(x)  # (B, C, h, w)
    assert s.flatten(2).std(dim=2).min() > 1e-4  # every channel of every image varies across pixels
    w = layer.mask_weights(x)
    torch.testing.assert_close(w.sum(1), torch.ones_like(w.sum(1)), rtol=0, atol=1e-5)


def test_ratio_matches_formula():
    """s(p) = sum_g m_g(p) e_g / (sum_g m_g(p) + eps) + 1, out = value * s (the synthesis formula)."""
    torch.manual_seed(0)
    layer = SASEConv2d(8, 12).eval()
    x = torch.randn(2, 8, 5, 5)
    m, e = torch.sigmoid(layer.mask(x)), layer.excitations(x)
    s = torch.einsum("bghw,bgc->bchw", m, e) / (m.sum(1, keepdim=True) + 1e-6) + 1
    torch.testing.assert_close(layer(x), layer.value(x) * s)


def test_config_validates():
    with pytest.raises(ValueError, match="ratio"):
        SASEConfig(mask_norm="max")
    with pytest.raises(ValueError, match="groups"):
        SASEConfig(groups=0)
    with pytest.raises(ValueError, match="divisible"):
        SASEConv2d(10, 16, cfg=SASEConfig(groups=4))
    with pytest.raises(TypeError):
        SASEConfig(group=4)  # unknown keys are errors


def test_variants_switch_what_they_say():
    x = torch.randn(2, 1, 32, 32)
    for name, cfg in S32_ABLATIONS.items():
        model = timm.create_model(name).eval()
        layers = _layers(model)
        assert len(layers) == 4 and all(layer.cfg == cfg for layer in layers), name
        layer = layers[1]
        feats = model.layer1(model.act1(model.bn1(model.conv1(x))))  # input of layer2's SASE conv
        assert layer.mask[-1].out_channels == cfg.groups
        assert layer.value.groups == (1 if name.endswith("_dense") else cfg.groups)
        assert layer.mask[3].dilation == (cfg.dilation,) * 2
        e = layer.excitations(feats)
        assert bool(((e > 0) & (e < 1)).all()) == cfg.excite_sigmoid
        if cfg.mask_norm == "softmax":
            torch.testing.assert_close(layer.mask_weights(feats), torch.softmax(layer.mask(feats), 1))
        if cfg.groups == 1:  # the single mask cancels: one excitation per image
            s = layer.excitation(feats)
            torch.testing.assert_close(s, s[..., :1, :1].expand_as(s), rtol=1e-4, atol=1e-4)
    assert {"sase_resnet_s32_softmax", "sase_resnet_s32_sigmoid", "sase_resnet_s32_g1",
            "sase_resnet_s32_dense"} <= set(S32_ABLATIONS)


def test_cardinality_sets_value_groups():
    block = SASEBottleneck(64, 16, cardinality=8, base_width=8)  # width 64, timm's groups=8 3x3 conv
    assert block.conv2.value.groups == 8 and block.conv2.cfg.groups == 4


def test_registered_names():
    expected = {"sase_resnet26", "sase_resnet50", "sase_resnet101", "sase_resnet50_4x24d", *S32_ABLATIONS,
                "sase_resnet_s32_b300k", "sase_resnet_s32_b1m", "sase_resnet_s32_b3m", "sase_resnet_s32_b1m_dense"}
    assert expected <= set(timm.list_models("sase_resnet*"))


def test_sase_resnet50_no_larger_than_resnet50():
    model = timm.create_model("sase_resnet50")
    assert len(_layers(model)) == 16
    assert _n_params(model) <= _n_params(timm.create_model("resnet50")) == RESNET50_PARAMS
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 1000)


def test_sase_cfg_override_through_create_model():
    model = timm.create_model("sase_resnet_s32", sase_cfg=SASEConfig(groups=2))
    assert all(layer.cfg.groups == 2 for layer in _layers(model))
    with pytest.raises(ValueError, match="pretrained"):
        timm.create_model("sase_resnet_s32", pretrained=True)


@pytest.mark.parametrize("name", sorted(S32_ABLATIONS))
def test_small_variants_forward_backward(name):
    torch.manual_seed(0)
    model = timm.create_model(name)
    out = model(torch.randn(2, 1, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.logsumexp(1).mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname


def test_fvcore_counts_sase_math():
    from fvcore.nn import FlopCountAnalysis

    layer = SASEConv2d(16, 32).eval()
    fca = FlopCountAnalysis(layer, torch.randn(1, 16, 8, 8))
    fca.unsupported_ops_warnings(False)
    ops = fca.by_operator()
    assert ops["bmm"] == 32 * 4 * 8 * 8  # the excitation mix: C_out x G per pixel
    assert ops["conv"] > 0
    heavy = {"aten::bmm", "aten::matmul", "aten::einsum", "aten::_convolution", "aten::linear"}
    assert not heavy & set(fca.unsupported_ops())


def test_sase_never_imports_benchmark():
    code = "import sys, sase; assert not [m for m in sys.modules if m.split('.')[0] == 'benchmark']"
    subprocess.run([sys.executable, "-c", code], check=True)
