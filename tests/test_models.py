"""Registry-driven: every registered recognition model gets a forward/backward test and a params check."""

import pytest
import timm
import torch
from timm.models.resnet import ResNet

from benchmark.models import MODELS

SMALL = [n for n, e in MODELS.items() if e.suite == "recognition" and e.scale == "small"]
PAPER = [n for n, e in MODELS.items() if e.suite == "recognition" and e.scale == "paper"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small CPU tensors: one thread avoids OpenMP spin-waits when the cores are shared (10-100x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _check_forward_backward(name: str, batch: int, classes: int) -> None:
    entry = MODELS.get(name)
    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=classes, in_chans=entry.in_chans)
    if entry.params is not None:  # the registry's figure is at the default classes: swap the linear head's share
        head = model.get_classifier()
        shift = (head.in_features + 1) * (model.pretrained_cfg["num_classes"] - classes)
        assert sum(p.numel() for p in model.parameters()) + shift == entry.params, name
    model.train()
    # ResNets pool globally: 64 px exercises every layer of a 224 px ResNet at a twelfth of the cost
    size = 64 if isinstance(model, ResNet) and entry.img_size > 64 else entry.img_size
    x = torch.randn(batch, entry.in_chans, size, size)
    out = model(x)
    assert out.shape == (batch, classes)
    assert torch.isfinite(out).all()
    out.float().logsumexp(1).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())]
    assert not missing, f"{name}: no finite gradient for {missing[:5]}"


@pytest.mark.parametrize("name", SMALL)
def test_small_model_forward_backward(name):
    _check_forward_backward(name, batch=2, classes=10)


@pytest.mark.parametrize("name", PAPER)
def test_paper_model_forward_backward(name):
    _check_forward_backward(name, batch=2, classes=5)


def test_small_models_have_family_traits():
    assert any("se" in n.lower() for n, _ in timm.create_model("seresnet_s32").named_modules())
    swin = timm.create_model("swin_s32")
    shifts = [blk.shift_size for stage in swin.layers for blk in stage.blocks]
    assert any(max(s) > 0 for s in shifts), "Swin variant must use shifted windows"
    pvt = timm.create_model("pvt_v2_s32")
    assert pvt.stages[0].blocks[0].attn.sr is not None, "PVT variant must use spatial-reduction attention"
