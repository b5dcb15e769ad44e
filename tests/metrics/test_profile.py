"""Tests for benchmark.metrics.profile: pinned parameter counts, GMACs with attention, throughput."""

import dataclasses
import functools
import math
import socket

import pytest
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.models.swin_transformer import WindowAttention

import baselines  # noqa: F401  (registers the small-input variants)
from benchmark.config import ProfileSpec
from benchmark.errors import UserError
from benchmark.metrics.cost import classifier_cost, generator_cost, throughput_fields
from benchmark.metrics.profile import (
    Throughput,
    ThroughputProtocol,
    count_gmacs,
    count_gmacs_torch,
    count_params,
    device_name,
    env_info,
    measure,
    measure_throughput,
)
from benchmark.metrics.protocol import resolve_protocol
from benchmark.profile_cmd import profile_models

IMAGE_224 = (1, 3, 224, 224)
IMAGE_32 = (1, 1, 32, 32)

# timm 1.0.31, pretrained=False; published GMACs: ResNet-50 4.1, Swin-T 4.5, PVTv2-b2 4.0.
PINNED_PARAMS = {
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "seresnet50": 28_088_024,
    "swin_tiny_patch4_window7_224": 28_288_354,
    "pvt_v2_b2": 25_362_856,
}
EXPECTED_GMACS = {"resnet50": 4.11, "swin_tiny_patch4_window7_224": 4.51, "pvt_v2_b2": 4.05}


@functools.cache
def model(name: str) -> nn.Module:
    """timm model by name; ``<swin>:fused`` is that Swin with fused attention
    (timm enables fused attention for Swin only with TIMM_FUSED_ATTN=2)."""
    torch.manual_seed(0)
    base, _, fused = name.partition(":")
    net = timm.create_model(base, pretrained=False)
    for module in net.modules() if fused else ():
        if isinstance(module, WindowAttention):
            module.fused_attn = True
    return net


@functools.cache
def gmacs(name: str, count_attention: bool = True) -> float:
    shape = IMAGE_32 if "_s32" in name else IMAGE_224
    return count_gmacs(model(name), shape, count_attention=count_attention).gmacs


class Attention(nn.Module):
    def forward(self, q: torch.Tensor) -> torch.Tensor:
        k = torch.ones(1, 3, 7, 4)
        v = torch.ones(1, 3, 7, 6)
        return F.scaled_dot_product_attention(q, k, v)


class TinyGenerator(nn.Module):
    """Latent (B, 16) -> two images, like FastGAN's (full size, 128 px) outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 8 * 4 * 4)
        self.up = nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.up(self.fc(z).view(-1, 8, 4, 4))
        return img, F.avg_pool2d(img, 2)


@pytest.mark.parametrize("name", sorted(PINNED_PARAMS))
def test_params_are_pinned(name):
    assert count_params(model(name)) == PINNED_PARAMS[name]


def test_params_count_frozen_parameters_but_not_buffers():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    net[0].weight.requires_grad_(False)
    assert count_params(net) == 4 * 9 + 4 + 4 + 4


@pytest.mark.parametrize("name", sorted(EXPECTED_GMACS))
def test_gmacs_of_224_models_match_published(name):
    assert gmacs(name) == pytest.approx(EXPECTED_GMACS[name], abs=0.02)


def test_gmacs_record_counter_and_unsupported_ops():
    result = count_gmacs(model("pvt_v2_s32"), IMAGE_32)
    assert result.counter == "fvcore-macs+sdpa" and "aten::gelu" in result.unsupported_ops
    assert "aten::scaled_dot_product_attention" not in result.unsupported_ops


def test_sdpa_handle_counts_attention_matmuls_exactly():
    q = torch.ones(1, 3, 5, 4)
    expected = 1 * 3 * 5 * 7 * (4 + 6) / 1e9
    assert count_gmacs(Attention(), q).gmacs == pytest.approx(expected, rel=1e-9)
    assert count_gmacs_torch(Attention(), q).gmacs == pytest.approx(expected, rel=1e-9)
    stock = count_gmacs(Attention(), q, count_attention=False)
    assert stock.gmacs == 0 and stock.unsupported_ops == {"aten::scaled_dot_product_attention": 1}


def test_sdpa_handle_adds_swin_attention():
    swin = "swin_tiny_patch4_window7_224"
    assert gmacs(f"{swin}:fused") - gmacs(f"{swin}:fused", count_attention=False) > 0.1  # ~0.14 GMACs
    assert gmacs(f"{swin}:fused") == pytest.approx(gmacs(swin), rel=1e-9)  # same cost as explicit attention


def test_both_counters_see_fused_attention():
    assert gmacs("swin_s32:fused") == pytest.approx(gmacs("swin_s32"), rel=1e-9)
    fused, explicit = (count_gmacs_torch(model(n), IMAGE_32).gmacs for n in ("swin_s32:fused", "swin_s32"))
    assert fused == pytest.approx(explicit, rel=1e-9)
    assert gmacs("pvt_v2_s32") > gmacs("pvt_v2_s32", count_attention=False)


@pytest.mark.parametrize("name", ["resnet_s32", "seresnet_s32", "swin_s32", "pvt_v2_s32"])
def test_fvcore_agrees_with_torch_flop_counter(name):
    # fvcore also counts norm layers, FlopCounterMode does not: +0.6% (ResNets) to +1.9% (Swin).
    # At 224 px (too slow for this file on 2 cores) the gap is +0.4% to +0.6%.
    assert gmacs(name) == pytest.approx(count_gmacs_torch(model(name), IMAGE_32).gmacs, rel=0.03)


def test_counting_keeps_the_model_mode_and_accepts_a_latent_tensor():
    gen = TinyGenerator().train()
    z = torch.randn(1, 16)
    fv, pt = count_gmacs(gen, z), count_gmacs_torch(gen, (1, 16))
    assert fv.gmacs == pytest.approx(pt.gmacs, rel=1e-9) and fv.gmacs > 0
    assert gen.training


def test_inputs_must_be_batch_one():
    for bad in [(3, 224, 224), (2, 1, 32, 32), torch.zeros(2, 16)]:
        with pytest.raises(UserError, match="batch-1"):
            count_gmacs(TinyGenerator(), bad)


def fast_throughput(net, inputs, **kwargs) -> Throughput:
    return measure_throughput(net, inputs, batch_size=4, warmup=1, iters=2, windows=2, **kwargs)


@pytest.mark.parametrize("mode", ["infer", "train"])
def test_throughput_is_finite_and_leaves_the_model_alone(mode):
    net = timm.create_model("resnet_s32").eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    result = fast_throughput(net, IMAGE_32, mode=mode)
    assert math.isfinite(result.img_per_s) and result.img_per_s > 0 and not result.oom
    assert len(result.window_img_per_s) == 2 and result.peak_mem_mb >= 0
    assert (result.mode, result.batch_size, result.precision, result.memory_format) == (mode, 4, "fp32", "contiguous")
    assert result.device == device_name("cpu")
    assert not net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_throughput_trains_a_generator_with_tuple_outputs_in_bf16_channels_last():
    result = fast_throughput(TinyGenerator(), (1, 16), mode="train", precision="bf16")
    assert result.img_per_s > 0
    result = fast_throughput(timm.create_model("resnet_s32"), IMAGE_32, precision="bf16", channels_last=True)
    assert result.img_per_s > 0 and result.memory_format == "channels_last"


def test_out_of_memory_is_reported_not_shrunk():
    class Hungry(nn.Module):
        def forward(self, x):
            raise torch.OutOfMemoryError("no room")

    result = measure_throughput(Hungry(), (1, 4), batch_size=64)
    assert result.oom and math.isnan(result.img_per_s) and result.batch_size == 64


@pytest.mark.parametrize("kwargs, match", [
    (dict(mode="eval"), "infer, train"), (dict(precision="fp8"), "fp32, tf32, bf16, fp16"),
    (dict(batch_size=0), "batch_size"), (dict(channels_last=True), "4-D"),
])
def test_throughput_rejects_bad_arguments(kwargs, match):
    kwargs = {"batch_size": 2, **kwargs}
    with pytest.raises(UserError, match=match):
        measure_throughput(TinyGenerator(), (1, 16), warmup=0, iters=1, windows=1, **kwargs)


def test_env_info_names_versions_and_device_but_not_the_host():
    info = env_info("cpu")
    assert info["torch"] == torch.__version__ and info["timm"] == timm.__version__
    assert {"python", "torch_cuda_build", "cudnn", "torch_fidelity", "cpu", "device", "gpu_driver"} <= set(info)
    assert info["device"] == info["cpu"] != ""
    assert info["cpu_count"] >= 1 and info["machine"].startswith(f"{info['cpu']} x{info['cpu_count']} | ")
    host = socket.gethostname()
    assert len(host) < 4 or all(host not in str(v) for v in info.values())


class TinyClassifier(nn.Module):
    """(B, 1, 8, 8) images -> (B, 10) logits."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean((2, 3)))


PROTOCOL_FIELDS = {"precision", "tf32", "cudnn_benchmark", "deterministic_algorithms", "memory_format", "compile",
                   "warmup_steps", "timed_steps", "timing_windows", "timing"}
PLATFORM_FIELDS = {"device", "gpu_driver", "torch", "cuda", "cudnn", "machine"}
SPEC = ProfileSpec(infer_batch=2, train_batch=3, warmup=1, iters=1, windows=1)


def test_protocol_defaults_follow_timm_and_resolve_per_device():
    p = resolve_protocol("cpu")
    assert (p.precision, p.tf32, p.cudnn_benchmark, p.memory_format, p.compile) == ("fp32", False, False,
                                                                                    "contiguous", False)
    assert (p.batch_size, p.warmup, p.steps, p.windows) == (256, 10, 40, 1)  # timm benchmark.py's defaults
    spec = ProfileSpec()
    assert (spec.precision, spec.cudnn_benchmark, spec.warmup, spec.iters, spec.windows) == ("auto", "auto", 10, 40, 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(precision="tf32"), "tf32 needs a CUDA GPU"), (dict(precision="fp16"), "fp16 needs a CUDA GPU"),
    (dict(cudnn_benchmark="on"), "cudnn_benchmark=on needs a CUDA GPU"),
    (dict(cudnn_benchmark=True), "cudnn_benchmark=on needs a CUDA GPU"),
    (dict(cudnn_benchmark="maybe"), "auto, on or off"), (dict(memory_format="nhwc"), "memory format"),
])
def test_cpu_refuses_gpu_only_options_with_a_clear_error(kwargs, match):
    with pytest.raises(UserError, match=match):
        resolve_protocol("cpu", **kwargs)
    with pytest.raises(UserError, match=match):
        classifier_cost(TinyClassifier(), 1, 8, dataclasses.replace(SPEC, **kwargs), "cpu")


def test_bf16_autocast_is_allowed_on_cpu():
    assert resolve_protocol("cpu", precision="bf16").tf32 is False


def test_a_row_cannot_exist_without_precision_tf32_and_cudnn_settings():
    with pytest.raises(TypeError):
        ThroughputProtocol(memory_format="contiguous", compile=False, batch_size=1, warmup=0, steps=1, windows=1)
    full = dict(precision="fp32", tf32=False, cudnn_benchmark=False, memory_format="contiguous", compile=False,
                batch_size=1, warmup=0, steps=1, windows=1)
    for key in ("tf32", "cudnn_benchmark"):
        with pytest.raises(TypeError, match=key):
            ThroughputProtocol(**{**full, key: None})
    with pytest.raises(UserError, match="contradicts"):
        ThroughputProtocol(**{**full, "tf32": True})  # fp32 means strict IEEE: TF32 off
    with pytest.raises(TypeError):
        Throughput(img_per_s=1.0, mode="infer", peak_mem_mb=0.0, oom=False, platform={})
    with pytest.raises(TypeError, match="ThroughputProtocol"):
        Throughput(img_per_s=1.0, mode="infer", protocol=None, peak_mem_mb=0.0, oom=False, platform={})
    with pytest.raises(TypeError, match="Throughput"):
        throughput_fields({"infer_img_per_s": 1.0})


def test_every_cost_row_records_protocol_platform_and_batch_sizes():
    row = classifier_cost(TinyClassifier(), 1, 8, SPEC, "cpu")
    assert PROTOCOL_FIELDS | PLATFORM_FIELDS | {"params", "gmacs", "flops_counter", "infer_img_per_s",
                                                "train_img_per_s", "oom"} <= set(row)
    assert (row["infer_batch"], row["train_batch"], row["precision"], row["tf32"]) == (2, 3, "fp32", False)
    assert row["timing"] == "sync-every-step" and row["deterministic_algorithms"] is False
    gan = generator_cost(TinyGenerator(), TinyClassifier(), 16, SPEC, "cpu")
    assert PROTOCOL_FIELDS | PLATFORM_FIELDS | {"params", "params_d", "gmacs", "infer_img_per_s"} <= set(gan)
    assert "params_g" not in gan and "gmacs_g" not in gan and gan["train_img_per_s"] is None


def test_profile_command_rows_carry_the_protocol():
    [row] = profile_models(["resnet_s32"], None, 2, "cpu", spec=dataclasses.replace(SPEC, precision="bf16"))
    assert PROTOCOL_FIELDS | PLATFORM_FIELDS <= set(row) and row["precision"] == "bf16" and row["batch_size"] == 2


def test_measurement_sets_backend_flags_and_restores_them():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append((torch.backends.cudnn.benchmark, torch.are_deterministic_algorithms_enabled()))
            return x * 2

    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark,
              torch.are_deterministic_algorithms_enabled())
    torch.use_deterministic_algorithms(True, warn_only=True)  # as a deterministic training run leaves it
    try:
        result = measure(Spy(), (1, 4), "infer", resolve_protocol("cpu", batch_size=2, warmup=1, steps=1))
        assert result.protocol.precision == "fp32" and set(seen) == {(False, False)}
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(before[3])
    after = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    assert after == before[:3]


def test_a_hand_built_gpu_protocol_is_refused_on_cpu():
    gpu = ThroughputProtocol(precision="tf32", tf32=True, cudnn_benchmark=True, memory_format="contiguous",
                             compile=False, batch_size=2, warmup=0, steps=1, windows=1)
    with pytest.raises(UserError, match="needs a CUDA GPU"):
        measure(TinyClassifier(), (1, 1, 8, 8), "infer", gpu, "cpu")
