"""``python -m benchmark perf``: how fast the harness itself is, as ratios against a baseline run alongside.

Measurements, each side by side in one process (see the modules): :mod:`.loop` (our training step
vs a bare PyTorch loop), :mod:`.pipeline` (what the loaders deliver vs what the models consume),
:mod:`.decode` (JPEG decode and the DeiT train pipeline per CPU core, and the cores that feed a GPU),
:mod:`.fid` (second FID evaluation with cached real statistics vs the first), :mod:`.profile` (our
throughput protocol vs an independent plain timing loop) and, when present, :mod:`.gan_step` (the GAN
loop vs a bare G/D step).  :func:`run_perf` returns one JSON-ready dict with the environment, the targets
and whether each was met.  :data:`PARTS` lists the parts this installation has.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from typing import Any, Callable, Dict, Optional, Sequence

from benchmark.specs.recognition import NAME as RECOGNITION
from benchmark.train.classify import Progress

LOOP_TARGET = 0.95  # ours >= 0.95 x the bare loop's img/s
HAS_GAN = importlib.util.find_spec("benchmark.perf.gan_step") is not None
DEFAULT_SUITE = RECOGNITION  # the loop and data parts time the recognition harness
PARTS = ("loop", "data", "fid", "profile", "roofline", "decode") + (("gan",) if HAS_GAN else ())
PROFILE_CPU_BATCH = 32  # the profile part's batch on a CPU (timm's 256 on a GPU)


def run_perf(models: Sequence[str], device: str, steps: int, windows: int, parts: Sequence[str],
             workers: int, progress: Callable[..., Progress] = Progress,
             say: Optional[Callable[[str], None]] = None, batch: Optional[int] = None,
             precision: str = "auto", warmup: Optional[int] = None) -> Dict[str, Any]:
    """The ``parts`` asked for.  ``profile``: ``steps`` timed steps after ``warmup`` (default: timm's 10 on
    a GPU, 3 on a CPU) in ``windows`` interleaved rounds, at ``batch`` (default: 256 on a GPU, 32 on a CPU)."""
    from benchmark.metrics.profile import env_info
    from benchmark.runner import git_commit

    say = say or (lambda text: None)
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        from benchmark.errors import UserError

        raise UserError(f"unknown perf part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    out: Dict[str, Any] = {"kind": "harness-perf", "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(
        timespec="seconds"), "git_commit": git_commit(), "env": env_info(device), "device": device,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    if "loop" in parts or "data" in parts:
        out["loop"] = _loop(models, device, steps, windows, progress, say)
    if "data" in parts:
        out["data"] = _data(out["loop"], device, steps, workers, say)
    if "fid" in parts:
        out["fid"] = _fid(say)
    if "profile" in parts:
        out["profile"] = _profile(models, device, steps, windows, batch, precision, warmup, say)
    if "gan" in parts:
        out["gan"] = _gan(device, steps, windows, say)
    if "roofline" in parts:
        out["roofline"] = _roofline(models, device, steps, windows, say)
    if "decode" in parts:
        out["decode"] = _decode(say)
    return out


def _decode(say) -> Dict[str, Any]:
    """Images/s per CPU core of JPEG decode and of the DeiT train pipeline (:mod:`.decode`), and the cores that
    feed one GPU at a published ResNet-50 training rate."""
    from benchmark.perf.decode import measure_decode

    row = measure_decode()
    say(f"  decode: {row['decode_img_per_s']:.0f} img/s per core (torchvision {row['tv_decode_img_per_s']:.0f}), "
        f"DeiT pipeline {row['pipeline_img_per_s']:.0f} img/s per core")
    for gpu, need in row["cores_per_gpu"].items():
        say(f"  decode: {need['cores']:.0f} cores per {gpu} ({need['gpu_train_img_per_s']} img/s)")
    return row


def _roofline(models, device, steps, windows, say) -> Dict[str, Any]:
    """Achieved training GFLOP/s against the machine's fp32 GEMM peak (:mod:`.roofline`), on a CPU at one
    thread (what one of two side-by-side jobs gets) and at every thread."""
    from benchmark.parallel import available_cores
    from benchmark.perf.roofline import run_roofline

    if not device.startswith("cpu"):
        from benchmark.errors import UserError

        raise UserError("the roofline part measures a CPU; run it with --device cpu")
    counts = sorted({1, available_cores()})
    return run_roofline(models, counts, max(4, steps // 2), max(3, windows // 2), say)


def _profile(models, device, steps, windows, batch, precision, warmup, say) -> Dict[str, Any]:
    from benchmark.metrics.protocol import TIMM_BATCH, TIMM_WARMUP
    from benchmark.perf.profile import run_profile_part

    cuda = device.startswith("cuda")
    batch = batch or (TIMM_BATCH if cuda else PROFILE_CPU_BATCH)
    warmup = warmup if warmup is not None else (TIMM_WARMUP if cuda else 3)
    return run_profile_part(models, device, batch, warmup, steps, windows, precision=precision, say=say)


def _gan(device, steps, windows, say) -> Dict[str, Any]:
    """Iterations/s of our GAN training step (:mod:`.gan_step`): FastGAN and SASE-GAN at the paper's 256 px and
    widths on a GPU, at 32 px with width 16 (the default preset's scale) on a CPU; batch 8."""
    from benchmark.perf import gan_step

    size, width = (256, 64) if device.startswith("cuda") else (32, 16)
    rows = []
    for model in ("fastgan", "sase_gan"):
        row = gan_step.measure(model, size, 8, width, width, steps=steps, windows=windows, device=device)
        say(f"  gan {model:<10} {size} px, width {width}: {row['it_per_s']:.2f} it/s")
        rows.append(row)
    return {"what": "iterations/s of our GAN training step (benchmark.perf.gan_step; see it for what a step is)",
            "models": rows}


def _loop(models, device, steps, windows, progress, say) -> Dict[str, Any]:
    import benchmark.tasks  # noqa: F401
    from benchmark.perf.loop import measure_loop
    from benchmark.suites import SUITES

    preset = SUITES.get(DEFAULT_SUITE).preset("default")
    rows = []
    for name in models:
        row = measure_loop(name, preset, device, steps, windows, progress)
        say(f"  loop {name:<18} bare {row['bare_img_per_s']:7.0f} img/s  ours {row['ours_img_per_s']:7.0f} img/s  "
            f"ratio {row['ratio_ours_over_bare']:.3f}")
        rows.append(row)
    worst = min(r["ratio_ours_over_bare"] for r in rows)
    return {"preset": preset.name, "target": LOOP_TARGET, "worst_ratio": worst, "met": worst >= LOOP_TARGET,
            "models": rows}


def _data(loop, device, steps, workers, say) -> Dict[str, Any]:
    import timm

    import sase  # noqa: F401  registers sase_resnet50
    from benchmark.metrics import profile
    from benchmark.perf.pipeline import fashion_mnist_rate, image_folder_rate
    from benchmark.recipes import DEIT
    from benchmark.suites import SUITES

    preset = SUITES.get(DEFAULT_SUITE).preset("default")
    fm = fashion_mnist_rate(preset.data, preset.recipe, steps)
    fastest = max(r["ours_img_per_s"] for r in loop["models"])
    fm.update(consumer="fastest default model in training", consumer_img_per_s=fastest,
              ratio_loader_over_consumer=fm["loader_img_per_s"] / fastest)
    say(f"  data fashion_mnist: loader {fm['loader_img_per_s']:.0f} img/s vs model {fastest:.0f} img/s")
    batch = 32
    imf = image_folder_rate(DEIT, workers, batch, steps=30)
    consumers = {}
    for name in ("resnet50", "sase_resnet50"):
        model = timm.create_model(name)
        speed = profile.measure_throughput(model, (1, 3, 224, 224), 8, mode="train", device=device, warmup=1,
                                           iters=2, windows=2)
        consumers[name] = speed.img_per_s
    top = max(consumers.values())
    imf.update(consumer=f"training img/s at 224 px, batch 8, {device}", consumers_img_per_s=consumers,
               ratio_loader_over_consumer=imf["loader_img_per_s"] / top)
    say(f"  data image_folder ({workers} workers): loader {imf['loader_img_per_s']:.0f} img/s vs model {top:.1f} img/s")
    rows = [fm, imf]
    return {"target": "loader img/s >= model img/s (ratio >= 1)", "met": all(r["ratio_loader_over_consumer"] >= 1
                                                                            for r in rows), "loaders": rows}


def _fid(say) -> Dict[str, Any]:
    from benchmark.perf.fid import measure_fid_cache

    rows = []
    for n_real in (100, 6000):
        row = measure_fid_cache(n_real)
        say(f"  fid {n_real} real: first {row['first_s']:.2f} s, second {row['second_s']:.2f} s, ratio "
            f"{row['ratio_second_over_first']:.2f} (FID/KID {row['fid_kid_ratio']:.2f}, SWD {row['swd_ratio']:.2f})")
        rows.append(row)
    return {"what": "wall time of the second evaluation (real statistics cached) / the first", "runs": rows}
