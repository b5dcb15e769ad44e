"""The published SIFID (issue 21 item 8): torchvision's Inception-v3 up to Conv2d_2b_3x3, input 2x-1; and which
extractor a one-shot run picks and records.  No download here: the network gets random weights."""

import types

import pytest
import torch

from benchmark.errors import UserError
from benchmark.metrics import sifid
from benchmark.specs.one_shot import PUBLISHED_SIFID, caveat


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return sifid.torchvision_inception(None)


def test_published_layer_has_64_channels_at_native_size(net):
    ext = sifid.published_spatial(net)
    assert ext.label == sifid.PUBLISHED_LABEL == PUBLISHED_SIFID == "inception-v3-torchvision:Conv2d_2b_3x3"
    assert ext.channels == 64 == net.Conv2d_2b_3x3.conv.out_channels
    fmap = ext.fn(torch.rand(2, 3, 43, 64) * 2 - 1)  # 43x64: the one-shot presets' finest scale
    assert fmap.shape == (2, 64, 19, 29)  # stride-2 3x3, 3x3, padded 3x3: before the first max-pool
    assert torch.isfinite(fmap).all() and fmap.min() >= 0  # after the block's ReLU


def test_published_input_is_2x_minus_1_of_the_8bit_image(net):
    seen = []
    hook = net.Conv2d_1a_3x3.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    try:
        x = torch.rand(1, 3, 24, 32) * 2 - 1
        sifid.published_spatial(net).fn(x)
    finally:
        hook.remove()
    u8 = ((x + 1) * 127.5).round()  # the image as saved, 0..255
    assert torch.allclose(seen[0], 2 * (u8 / 255) - 1, atol=1e-6)  # [0, 1] -> 2x - 1, no ImageNet re-normalising
    assert sifid.published_input(torch.tensor([-1.0, 1.0])).tolist() == [-1.0, 1.0]


def test_published_sifid_of_identical_images_is_zero(net):
    ext = sifid.published_spatial(net)
    img = torch.rand(1, 3, 40, 56) * 2 - 1
    same, _ = sifid.sifid_images(img, img.repeat(2, 1, 1, 1), ext)
    other, _ = sifid.sifid_images(img, torch.rand(2, 3, 40, 56) * 2 - 1, ext)
    assert abs(same) < 1e-6 < other


def test_weights_file_is_checked(tmp_path):
    with pytest.raises(UserError, match="not found"):
        sifid.check_torchvision_weights(tmp_path / "absent.pth")
    fake = tmp_path / "inception_v3_google-0cc3c7bd.pth"
    fake.write_bytes(b"not the weights")
    with pytest.raises(UserError, match="not torchvision's Inception-v3 file"):
        sifid.check_torchvision_weights(fake)


def _offline(monkeypatch, tmp_path, net, hub_has_weights: bool):
    """The chooser with a pretend weights file: the hash check and the loading are stubbed, nothing else."""
    hub = tmp_path / "hub" / "inception_v3_google-0cc3c7bd.pth"
    if hub_has_weights:
        hub.parent.mkdir(parents=True, exist_ok=True)
        hub.write_bytes(b"x")
    monkeypatch.setattr(sifid, "hub_torchvision_inception_path", lambda: hub)
    monkeypatch.setattr(sifid, "check_torchvision_weights", lambda path: path)
    monkeypatch.setattr(sifid, "torchvision_inception", lambda weights=None: net)
    substitute = sifid.SpatialExtractor("fmnist-cnn-test", sifid.SUBSTITUTE_LAYER, 32, lambda x: x)
    monkeypatch.setattr(sifid, "spatial_extractor", lambda choice: substitute)
    import benchmark.metrics.extractors as extractors
    monkeypatch.setattr(extractors, "choose_extractor", lambda **kw: kw)


def test_chooser_prefers_the_published_sifid(monkeypatch, tmp_path, net):
    _offline(monkeypatch, tmp_path, net, hub_has_weights=False)
    given = tmp_path / "w.pth"
    assert sifid.choose_spatial_extractor(tmp_path, sifid_weights=given).label == PUBLISHED_SIFID
    assert sifid.choose_spatial_extractor(tmp_path).label == "fmnist-cnn-test:body.stage2_relu"  # no weights
    with pytest.raises(UserError, match="not both"):
        sifid.choose_spatial_extractor(tmp_path, sifid_weights=given, inception_weights=given)
    _offline(monkeypatch, tmp_path, net, hub_has_weights=True)
    assert sifid.choose_spatial_extractor(tmp_path).label == PUBLISHED_SIFID  # found in the torch hub cache


def test_record_names_the_published_extractor(monkeypatch, tmp_path, net):
    from benchmark.data.single_image import OneShotData
    from benchmark.tasks import one_shot
    from benchmark.train.classify import Progress
    from benchmark.train.distributed import DistContext
    from benchmark.train.singan import SinGANRecipe, cpu_threads

    _offline(monkeypatch, tmp_path, net, hub_has_weights=False)
    preset = types.SimpleNamespace(data=OneShotData(images=("coffee",), max_size=24, min_size=12),
                                   recipe=SinGANRecipe("test", iters_per_scale=1, eval_samples=3, grid_samples=4))
    run_dir = tmp_path / "runs" / "r1"
    ctx = types.SimpleNamespace(preset=preset, model="singan", seed=0, run_id="r1", run_dir=run_dir, data_path=None,
                                device="cpu", progress=Progress, dist=DistContext(),
                                options={"sifid_weights": str(tmp_path / "w.pth")},
                                checkpoint_path=run_dir / "checkpoints" / "last.pt")
    with cpu_threads(1):
        rec = one_shot.run_one_shot(ctx)
    assert rec["sifid_extractor"] == PUBLISHED_SIFID and rec["sifid"] >= 0
    assert caveat(rec) == ""
    assert "not comparable" in caveat({"sifid_extractor": "inception-v3-compat:Conv2d_4a_3x3"})
    assert "substitute" in caveat({"sifid_extractor": "fmnist-cnn-c5e6ce44:body.stage2_relu"})
