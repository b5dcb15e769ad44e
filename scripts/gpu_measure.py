"""The GPU measurement of issue 11 in one process tree; driven by ``scripts/gpu_measure.sh``.

Writes into ``--out`` (at most six files, each as soon as its part is done, so a timeout keeps what ran):

* ``env.json``: device, driver, torch/CUDA/cuDNN/timm versions, machine fingerprint, the settings used;
* ``timm.json``: timm's own ``benchmark.py`` (the file given by ``--timm-benchmark``), one fresh process per
  model and precision, ``--bench both``; our packages are imported first only so that ``sase_resnet50``
  is in timm's registry;
* ``ours.json``: ``python -m benchmark profile`` rows (:func:`benchmark.profile_cmd.profile_models`) under
  the same settings: timm's ``float32`` is our ``auto`` (TF32 on CUDA), timm's ``--amp --amp-dtype
  bfloat16`` is our ``bf16``;
* ``compare.json``: ours / timm img/s for every model, precision and mode (target 0.97-1.03);
* ``perf.json``: ``perf`` parts ``profile`` (ours vs a plain loop) and ``loop`` (training loop vs bare).

``--tiny`` shrinks everything (two models at 64 px, batch 2, 1 warm-up and 5 timed steps) so the whole path can be tried on
a CPU in a few minutes.  Timings are only meaningful on the GPU run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAPER = ("resnet50", "seresnet50", "sase_resnet50", "swin_tiny_patch4_window7_224", "pvt_v2_b2")
SMALL = ("resnet_s32", "seresnet_s32", "swin_s32", "pvt_v2_s32", "sase_resnet_s32")
PRECISIONS = {"fp32": (["--precision", "float32"], "auto"), "bf16": (["--amp", "--amp-dtype", "bfloat16"], "bf16")}
# runs timm's benchmark.py as __main__ after registering our models in timm's registry
WRAPPER = ("import runpy, sys; import baselines, sase; path = sys.argv[1]; sys.argv = [path] + sys.argv[2:]; "
           "runpy.run_path(path, run_name='__main__')")


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--timm-benchmark", type=Path, default=None, help="timm's benchmark.py (not in the wheel)")
    p.add_argument("--parts", default="timm,ours,perf-profile,perf-loop")
    p.add_argument("--device", default=None)
    p.add_argument("--tiny", action="store_true", help="a CPU-sized try of the whole path")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rounds", type=int, default=2, help="perf profile: interleaved rounds of ours vs plain")
    p.add_argument("--loop-steps", type=int, default=50)
    p.add_argument("--loop-windows", type=int, default=4)
    args = p.parse_args(argv)
    if args.tiny:
        # timm logs every steps // 5 steps: it needs at least 5 timed steps
        args.batch, args.warmup, args.steps, args.rounds, args.loop_steps, args.loop_windows = 2, 1, 5, 2, 2, 2
    return args


def main(argv=None) -> int:
    args = parse(argv)
    import torch

    import baselines  # noqa: F401  registers the *_s32 models
    import sase  # noqa: F401  registers sase_resnet50
    from benchmark.metrics.environment import env_info

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    models, img_size = (("resnet50", "sase_resnet50"), 64) if args.tiny else (PAPER, None)
    parts = set(args.parts.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {"models": list(models), "img_size": img_size or 224, "batch": args.batch, "warmup": args.warmup,
                "steps": args.steps, "rounds": args.rounds, "tiny": args.tiny, "device": device,
                "timm_benchmark": str(args.timm_benchmark) if args.timm_benchmark else None}
    _write(args.out / "env.json", {"env": env_info(device), "settings": settings,
                                   "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    timm_rows, ours_rows = [], []
    if "timm" in parts:
        timm_rows = run_timm(args, models, img_size, device)
        _write(args.out / "timm.json", timm_rows)
    if "ours" in parts:
        ours_rows = run_ours(args, models, img_size, device)
        _write(args.out / "ours.json", ours_rows)
    if timm_rows and ours_rows:
        _write(args.out / "compare.json", compare(timm_rows, ours_rows))
    perf_parts = [p.split("-", 1)[1] for p in sorted(parts) if p.startswith("perf-")]
    if perf_parts:
        _write(args.out / "perf.json", run_perf_parts(args, perf_parts, models, img_size, device))
    return 0


def run_timm(args, models, img_size, device) -> list:
    """timm's benchmark.py, one process per model and precision; its ``--result`` JSON plus our labels."""
    if args.timm_benchmark is None or not args.timm_benchmark.is_file():
        print(f"[gpu_measure] timm benchmark.py not found at {args.timm_benchmark}: skipping timm", file=sys.stderr)
        return []
    rows = []
    for precision, (flags, _) in PRECISIONS.items():
        for name in models:
            cmd = [sys.executable, "-c", WRAPPER, str(args.timm_benchmark), "--model", name, "--bench", "both",
                   "-b", str(args.batch), "--num-warm-iter", str(args.warmup), "--num-bench-iter", str(args.steps),
                   "--no-retry", "--device", device, *flags]
            if img_size:
                cmd += ["--img-size", str(img_size)]
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True)
            row = {"model": name, "precision": precision, "timm_args": cmd[4:], "returncode": out.returncode,
                   "wall_s": round(time.perf_counter() - t0, 1)}
            row.update(_timm_result(out.stdout) or {"error": out.stderr[-2000:]})
            print(f"[gpu_measure] timm {name} {precision}: infer {row.get('infer_samples_per_sec')} "
                  f"train {row.get('train_samples_per_sec')} img/s", file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def _timm_result(stdout: str):
    if "--result" not in stdout:
        return None
    return json.loads(stdout.split("--result", 1)[1])


def run_ours(args, models, img_size, device) -> list:
    from benchmark.config import ProfileSpec
    from benchmark.profile_cmd import profile_models

    rows = []
    for precision, (_, ours) in PRECISIONS.items():
        spec = ProfileSpec(warmup=args.warmup, iters=args.steps, windows=1, precision=ours)
        for row in profile_models(models, img_size, args.batch, device, train=True, spec=spec):
            row["compared_with_timm_precision"] = precision
            print(f"[gpu_measure] ours {row['model']} {row['precision']}: infer {row['infer_img_per_s']} "
                  f"train {row['train_img_per_s']} img/s", file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def compare(timm_rows: list, ours_rows: list) -> dict:
    """ours / timm for each model, precision and mode."""
    timm = {(r["model"], r["precision"]): r for r in timm_rows}
    out = []
    for r in ours_rows:
        t = timm.get((r["model"], r["compared_with_timm_precision"]), {})
        for mode in ("infer", "train"):
            theirs, ours = t.get(f"{mode}_samples_per_sec"), r.get(f"{mode}_img_per_s")
            out.append({"model": r["model"], "precision_timm": r["compared_with_timm_precision"],
                        "precision_ours": r["precision"], "tf32_ours": r["tf32"], "mode": mode,
                        "batch_size": r["batch_size"], "timm_img_per_s": theirs, "ours_img_per_s": ours,
                        "ratio_ours_over_timm": ours / theirs if theirs and ours else None})
    ratios = [o["ratio_ours_over_timm"] for o in out if o["ratio_ours_over_timm"] is not None]
    return {"target_band": [0.97, 1.03], "min_ratio": min(ratios, default=None), "max_ratio": max(ratios, default=None),
            "met": bool(ratios) and all(0.97 <= x <= 1.03 for x in ratios), "rows": out}


def run_perf_parts(args, parts, models, img_size, device) -> dict:
    from benchmark.models import models_for
    from benchmark.perf import run_perf

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    out = {}
    if "profile" in parts:
        from benchmark.perf.profile import run_profile_part

        out["profile"] = run_profile_part(list(models), device, args.batch, args.warmup, args.steps, args.rounds,
                                          img_size=img_size, say=say)
    if "loop" in parts:
        small = ["resnet_s32"] if args.tiny else list(models_for("recognition", "small"))
        out["loop"] = run_perf(small, device, args.loop_steps, args.loop_windows, ["loop"], 1, say=say)
    return out


def _write(path: Path, obj) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(obj, f, indent=1, default=str)
    Path(f.name).replace(path)
    print(f"[gpu_measure] wrote {path}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
