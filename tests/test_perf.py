"""The harness perf benchmark runs and writes what the closing note reports (timings are never asserted),
and the faster training loop (loss kept on the device, read back at intervals) computes what the per-step
host loop computed, bit for bit."""

import dataclasses
import json
import statistics

import pytest
import torch
import torch.nn.functional as F
from benchutil import run_cli

from benchmark.data.batches import TensorBatches
from benchmark.errors import TrainingDiverged, UserError
from benchmark.metrics.protocol import resolve_protocol
from benchmark.perf import PARTS, run_perf
from benchmark.perf.fid import measure_fid_cache
from benchmark.perf.profile import compare_model
from benchmark.recipes import ADAMW_SMOKE
from benchmark.train.classify import Progress, Trainer
from benchmark.train.optim import build_optimizer, build_scheduler
from benchmark.train.precision import Execution


@pytest.mark.slow
def test_perf_loop_writes_json(tmp_path):
    out = run_cli("perf", "--parts", "loop", "--models", "resnet_s32", "--steps", "2", "--windows", "2",
                  "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    [path] = tmp_path.glob("harness_cpu_*.json")
    result = json.loads(path.read_text())
    [row] = result["loop"]["models"]
    assert row["model"] == "resnet_s32" and row["ratio_ours_over_bare"] > 0 and len(row["ratio_per_window"]) == 2
    assert result["loop"]["target"] == 0.95 and "env" in result


def test_perf_rejects_unknown_parts(tmp_path):
    out = run_cli("perf", "--parts", "loop,speed", "--out", str(tmp_path))
    assert out.returncode == 2 and "unknown part" in out.stderr


def test_fid_second_evaluation_reuses_the_real_statistics():
    row = measure_fid_cache(n_real=20, n_fake=40)
    assert row["same_values"] and row["first_s"] > 0 and row["second_s"] > 0
    assert row["fid_kid_ratio"] > 0 and row["swd_ratio"] > 0


def _tiny_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10))


def _batches(device=None, **kwargs) -> TensorBatches:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (96, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(96) % 10
    return TensorBatches(images, labels, 16, 32, shuffle=True, augment=True, seed=1, device=device, **kwargs)


def _old_way_epoch(model, batches, recipe):
    """The loop as it was before the loss stayed on the device: ``loss.item()`` every step, summed on the host."""
    opt = build_optimizer(model, recipe, recipe.lr)
    sched = build_scheduler(opt, recipe, len(batches))
    model.train()
    loss_sum, seen, losses = 0.0, 0, []
    for x, y in batches:
        loss = F.cross_entropy(model(x).float(), y)
        value = loss.item()
        losses.append(value)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
        opt.step()
        sched.step()
        loss_sum, seen = loss_sum + value * len(y), seen + len(y)
    return loss_sum / seen


def test_device_side_loop_gives_the_same_losses_and_weights_as_the_per_step_host_loop():
    recipe = dataclasses.replace(ADAMW_SMOKE, max_steps_per_epoch=None, grad_clip=1.0)
    old_model, new_model = _tiny_net(), _tiny_net()
    old_batches = _batches()
    new_batches = _batches(device="cpu")  # staged "on the device": the CPU here
    reference = _old_way_epoch(old_model, old_batches, recipe)
    ex = Execution("cpu", None, False, False, True, log_every=4)
    trainer = Trainer(new_model, recipe, len(new_batches), ex)
    stats = trainer.train_epoch(new_batches, Progress())
    assert stats["train_loss"] == reference  # bit-equal, not approximately
    for a, b in zip(old_model.state_dict().values(), new_model.state_dict().values()):
        assert torch.equal(a, b)


def test_staged_batches_equal_host_batches():
    for (xa, ya), (xb, yb) in zip(_batches(), _batches(device="cpu")):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


class _Counting(Progress):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.updates, self.postfixes = [], 0

    def update(self, n=1):
        self.updates.append(n)

    def set_postfix(self, **_):
        self.postfixes += 1


def test_progress_moves_at_intervals_and_counts_every_step():
    batches = _batches()  # 6 steps
    ex = Execution("cpu", None, False, False, True, log_every=4)
    bar = _Counting()
    Trainer(_tiny_net(), dataclasses.replace(ADAMW_SMOKE, max_steps_per_epoch=None), len(batches), ex).train_epoch(
        batches, bar)
    assert bar.updates == [4, 2] and bar.postfixes == 2


def test_a_non_finite_loss_is_caught_at_the_next_read_back():
    class Exploding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.calls = _tiny_net(), 0

        def forward(self, x):
            self.calls += 1
            out = self.net(x)
            return out * float("nan") if self.calls == 2 else out

    model, batches = Exploding(), _batches()
    ex = Execution("cpu", None, False, False, True, log_every=4)
    trainer = Trainer(model, dataclasses.replace(ADAMW_SMOKE, max_steps_per_epoch=None), len(batches), ex)
    with pytest.raises(TrainingDiverged, match="nan at or before step 4"):
        trainer.train_epoch(batches, Progress())
    assert model.calls == 4  # detected at the first read-back after step 2, documented behaviour


def test_profile_part_compares_ours_with_a_plain_loop_and_records_the_protocol():
    protocol = resolve_protocol("cpu", batch_size=4, warmup=1, steps=2)
    row = compare_model("tiny", _tiny_net(), (1, 1, 16, 16), "train", protocol, "cpu", rounds=2)
    assert row["ours_img_per_s"] > 0 and row["plain_img_per_s"] > 0 and len(row["ratio_per_round"]) == 2
    assert row["ratio_ours_over_plain"] == pytest.approx(statistics.median(row["ratio_per_round"]))


def test_perf_parts_are_listed_and_unknown_ones_refused():
    assert {"loop", "data", "fid", "profile"} <= set(PARTS)
    with pytest.raises(UserError, match="unknown perf part"):
        run_perf(["resnet_s32"], "cpu", 1, 1, ["speed"], 1)


def test_roofline_counts_forward_and_backward_flops_and_relates_them_to_the_peak():
    import torch

    from benchmark.perf.roofline import counted_flops, gemm_gflops, row

    layer = torch.nn.Linear(32, 16, bias=False)
    x = torch.randn(8, 32, requires_grad=True)
    step = lambda: layer(x).sum().backward()  # noqa: E731
    assert counted_flops(step) == 3 * 2 * 8 * 32 * 16  # forward, grad of input, grad of weight
    r = row("linear", step, 8, 1, peak=10.0, steps=2, windows=1)
    assert r["achieved_gflops"] == pytest.approx(r["gflop_per_step"] * r["steps_per_s"])
    assert r["fraction_of_peak"] == pytest.approx(r["achieved_gflops"] / 10.0)
    assert r["items_per_s"] == pytest.approx(8 * r["steps_per_s"])
    assert gemm_gflops(1, n=64, reps=2) > 0


def test_roofline_counts_a_grouped_convolution_backward_as_twice_its_forward():
    import torch

    from benchmark.perf.roofline import counted_flops

    conv = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)  # depthwise
    x = torch.randn(2, 8, 5, 5, requires_grad=True)
    forward = 2 * 2 * 25 * 8 * 9  # N x positions x weight elements, 2 FLOPs per multiply-add
    assert counted_flops(lambda: conv(x).sum().backward()) == 3 * forward
