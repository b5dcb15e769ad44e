"""The command line: ``run``, ``report``, ``profile``, ``perf`` and ``list``.

This is the only module that prints for the user.  A :class:`UserError` anywhere
below becomes a one-line message and exit code 2, with no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from benchmark.errors import UserError


def _csv(text: str) -> List[str]:
    """Comma-separated names, each once (a name given twice is one run, not two counted as two seeds)."""
    items = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not items:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r} (an empty list runs "
                                         "nothing; leave the option out for the default)")
    return items


def _preset_help() -> str:
    from benchmark.suites import SUITES

    return "; ".join(f"{name}: {', '.join(p.name for p in SUITES.get(name).presets)}" for name in SUITES.names())


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--jobs takes a positive integer, got {text!r}") from None
    if not 1 <= n <= 256:
        raise argparse.ArgumentTypeError(f"--jobs must be between 1 and 256, got {text!r}")
    return n


def _seeds(text: str) -> List[int]:
    try:
        seeds = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"--seeds takes comma-separated integers, got {text!r}")
    if any(s < 0 or s >= 2**63 for s in seeds):
        raise argparse.ArgumentTypeError(f"--seeds must be between 0 and 2**63 - 1, got {text!r}")
    return list(dict.fromkeys(seeds))


def _positive(cast, flag: str):
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a positive {cast.__name__}, got {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{flag} must be positive, got {text!r}")
        return value

    return parse


#: run's timm-style shortcuts: flag -> the ``--set`` key it stands for.
SHORTCUTS = {"--epochs": "recipe.epochs", "--batch-size": "recipe.batch_size", "--lr": "recipe.lr",
             "--amp": "runtime.amp"}
#: Tasks whose runs follow ``runtime.amp`` (the GAN tasks force fp32, so there --amp would change nothing but the key).
AMP_TASKS = ("recognition",)


def shortcut_sets(args, preset, task: str, device: str) -> dict:
    """``--set`` items for the shortcuts given (``--epochs 5`` -> ``recipe.epochs=5``); a shortcut whose field
    the task's recipe lacks, or one that contradicts a ``--set`` of the same key, is a :class:`UserError`."""
    sets = {}
    explicit = _parse_sets(getattr(args, "set", []) or [])
    for flag, key in SHORTCUTS.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is None:
            continue
        section, _, name = key.partition(".")
        owner = getattr(preset, section)
        if not hasattr(owner, name) or (flag == "--amp" and task not in AMP_TASKS):
            fields = [f.name for f in dataclasses.fields(owner)]
            near = [] if flag == "--amp" else [f for f in fields if f.startswith(name.split("_")[0]) or
                                                (name == "epochs" and f in ("iterations", "iters_per_scale"))]
            hint = "; perhaps " + " and ".join(f"--set {section}.{f}=..." for f in near[:2]) if near else ""
            why = "its runs train in fp32" if flag == "--amp" else f"its recipe has no {name}"
            raise UserError(f"{flag} does not apply to the {task} task ({why}){hint}")
        if flag == "--amp" and value != "none" and not device.startswith("cuda"):
            raise UserError(f"--amp {value} needs CUDA; on {device} the comparisons run in fp32")
        if key in explicit and str(explicit[key]) != str(value):
            raise UserError(f"{flag} {value} contradicts --set {key}={explicit[key]}; give one of them")
        sets[key] = str(value)
    return sets


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmark", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="verb", required=True)
    run = sub.add_parser("run", help="train, evaluate and profile every model of a suite")
    run.add_argument("--suite", required=True, help="a registered suite (see `list`)")
    run.add_argument("--preset", default="default",
                     help="a preset of the suite (default: default): " + _preset_help())
    run.add_argument("--models", type=_csv, default=None, help="comma-separated model names (default: the preset's)")
    run.add_argument("--data", default=None, help="data path (ImageFolder root, or Fashion-MNIST IDX folder)")
    run.add_argument("--seeds", type=_seeds, default=None,
                     help="comma-separated seeds (default: the preset's; see `list`)")
    run.add_argument("--results-dir", type=Path, default=Path("results"))
    run.add_argument("--device", default=None, help="cpu or cuda[:N] (default: cuda if available)")
    for flag, (opt, tasks) in _task_flags().items():  # options tasks add, e.g. --inception-weights
        run.add_argument(flag, dest=opt.dest, default=None, metavar="PATH" if opt.is_file else None,
                         help=f"{', '.join(tasks)}: {opt.help}")
    run.add_argument("--recipe", default=None,
                     help="a named recipe for every model (see `list`; default: the preset's)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a preset field, e.g. --set recipe.epochs=1 (repeatable)")
    shortcut = "timm's name for --set recipe.{} (a new recipe identity, as with --set)"
    run.add_argument("--epochs", type=_positive(int, "--epochs"), default=None, metavar="N",
                     help=shortcut.format("epochs=N") + "; recipes with epochs only (recognition)")
    run.add_argument("--batch-size", type=_positive(int, "--batch-size"), default=None, metavar="N",
                     help=shortcut.format("batch_size=N") + ", per process")
    run.add_argument("--lr", type=_positive(float, "--lr"), default=None, metavar="LR",
                     help=shortcut.format("lr=LR") + "; the base lr, before any batch scaling the recipe defines")
    run.add_argument("--amp", nargs="?", const="fp16", default=None, choices=["fp16", "bf16", "none"],
                     help="mixed precision: --set runtime.amp=fp16 (bare --amp, timm's default dtype), bf16 or none; "
                          "CUDA only, recognition only (the GAN tasks train in fp32)")
    run.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                     help="runs side by side, each in its own process with cores/N threads (default: one per "
                          "CPU core on a CPU, at most one per run; 1 on a GPU or under torchrun)")
    run.add_argument("--rerun", action="store_true",
                     help="measure again runs that already have a completed record with the same config")
    rep = sub.add_parser("report", help="render tables and plots from the results store")
    rep.add_argument("--results-dir", type=Path, default=Path("results"))
    rep.add_argument("--reference", type=Path, default=None, metavar="PATH",
                     help="committed reference runs to set yours beside (default: results/reference when it "
                          "exists and is not the folder being rendered; 'none' to leave it out)")
    prof = sub.add_parser("profile", help="params, GMACs and inference img/s; no data, no training")
    prof.add_argument("--models", type=_csv, required=True)
    prof.add_argument("--img-size", type=int, default=None, help="input size (default: the model's)")
    prof.add_argument("--batch-size", type=int, default=32)
    prof.add_argument("--train", action="store_true", help="also measure training img/s")
    prof.add_argument("--device", default=None)
    prof.add_argument("--json", action="store_true", help="one JSON object per line")
    prof.add_argument("--precision", default="auto", choices=["auto", "fp32", "tf32", "bf16", "fp16"],
                      help="auto: tf32 on CUDA (timm's benchmark.py), fp32 on CPU; fp32 is strict IEEE (TF32 off)")
    prof.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    prof.add_argument("--cudnn-benchmark", default="auto", choices=["auto", "on", "off"])
    prof.add_argument("--compile", action="store_true", help="torch.compile the measured model")
    prof.add_argument("--warmup", type=int, default=10, help="warm-up steps (timm: 10)")
    prof.add_argument("--steps", type=int, default=40, help="timed steps per window (timm: 40)")
    prof.add_argument("--windows", type=int, default=1, help="timed windows; the median is reported")
    perf = sub.add_parser("perf", help="harness speed: our loop vs a bare loop, loaders vs models, FID cache, "
                                        "roofline (training GFLOP/s vs the machine's peak)")
    perf.add_argument("--models", type=_csv, default=None, help="default: the default recognition preset's")
    perf.add_argument("--parts", type=_csv, default=["loop", "data", "fid"],
                      help="any of loop, data, fid, profile (ours vs a plain timing loop), gan, roofline "
                           "(training GFLOP/s against the fp32 GEMM peak, CPU)")
    perf.add_argument("--batch-size", type=int, default=None, help="profile part: batch (256 on GPU, 32 on CPU)")
    perf.add_argument("--precision", default="auto", help="profile part: auto, fp32, tf32, bf16 or fp16")
    perf.add_argument("--steps", type=int, default=50, help="training steps per timed window (default 50)")
    perf.add_argument("--windows", type=int, default=8, help="timed windows per loop (default 8)")
    perf.add_argument("--workers", type=int, default=None, help="ImageFolder loader workers (default: CPU count)")
    perf.add_argument("--device", default=None)
    perf.add_argument("--out", type=Path, default=Path("results/perf"))
    sub.add_parser("list", help="the registered suites, presets, models and tasks")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    _TERMINATED.clear()
    _RUNS_STARTED.clear()
    signal.signal(signal.SIGTERM, _sigterm)  # schedulers preempt with SIGTERM: record, keep the checkpoint
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")  # fvcore's tracer
    warnings.filterwarnings("ignore", message="Grad strides do not match")  # DDP + depthwise convs: speed only
    try:
        return {"run": cmd_run, "report": cmd_report, "profile": cmd_profile, "list": cmd_list,
                "perf": cmd_perf}[args.verb](args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno not in _DISK_ERRORS:
            return _unexpected(args.verb)
        print(f"error: {_disk_message(e, args.verb)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted(args.verb), file=sys.stderr)
        return 130
    except Exception:
        return _unexpected(args.verb)


_TERMINATED: List[int] = []  # the SIGTERMs this command received
_RUNS_STARTED: List[bool] = []  # set once `run` has checked and estimated, and starts its runs


def _unexpected(verb: str) -> int:
    """Called while an unexpected exception is handled: re-raised (a bug), unless a SIGTERM came first (an
    import cut short by it surfaces as an ImportError, not as the KeyboardInterrupt it began as)."""
    if not _TERMINATED:
        raise  # noqa: PLE0704  the exception being handled
    print(_interrupted(verb), file=sys.stderr)
    return 130


def _interrupted(verb: str) -> str:
    if verb == "run" and not _RUNS_STARTED:
        return ("interrupted before any run started (while checking or estimating): nothing was recorded; run "
                "the same command again")
    if verb == "run":
        return ("interrupted: finished records are kept; the current run is recorded as 'interrupted' and the "
                "same command resumes it from its last checkpoint")
    if verb == "report":
        return "interrupted: the report was not changed (the previous one is kept); run `report` again"
    return f"interrupted: {verb} stopped before it finished; run it again"


_DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR)


def _disk_message(e: OSError, verb: str = "run") -> str:
    """One line for a write the file system refused: what, why, and what to do; written files are kept."""
    what = f"{e.filename}" if e.filename else "a file"
    if e.errno in (errno.ENOSPC, errno.EDQUOT) and verb == "report":
        return (f"no space left while writing {what} ({e.strerror}); the previous report is kept as it was. Free "
                "space there and run `report` again")
    if e.errno in (errno.ENOSPC, errno.EDQUOT) and verb != "run":
        return f"no space left while writing {what} ({e.strerror}); free space there and run the command again"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left while writing {what} ({e.strerror}); records already written are kept. Free "
                "space there (runs/*/checkpoints/last.pt of completed runs are the largest files; ~/.cache/sase-bench "
                "holds caches) and run the same command again: it resumes")
    return f"cannot write {what} ({e.strerror}); choose a writable folder (--results-dir, --out) or fix its permissions"


def _sigterm(signum, frame) -> None:
    _TERMINATED.append(signum)
    raise KeyboardInterrupt("SIGTERM")


def _device(name: Optional[str]) -> str:
    import re

    import torch

    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    match = re.fullmatch(r"(cpu|cuda)(?::(\d+))?", name.strip())
    if not match or (match.group(1) == "cpu" and match.group(2)):
        raise UserError(f"--device {name!r}: unknown device; use cpu, cuda or cuda:N")
    if match.group(1) == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    if match.group(2) and int(match.group(2)) >= torch.cuda.device_count():
        raise UserError(f"--device {name}: this machine has {torch.cuda.device_count()} GPU(s), "
                        f"numbered 0-{torch.cuda.device_count() - 1}")
    return name.strip()


def _check_results_dir(path: Path) -> None:
    """``path`` is (or can be made) a folder this process can write: checked by writing, not by guessing."""
    import tempfile

    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UserError(f"--results-dir {path}: is a file, not a folder; pass a folder")
    # probed where the folder is, or would be created: nothing is created here, so a user error found before
    # the runs start leaves no empty results folder behind (the runs create what they write)
    where = next(p for p in (path, *path.parents) if p.exists())
    try:
        if not where.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(where))
        fd, probe = tempfile.mkstemp(dir=where, prefix=".write-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UserError(f"--results-dir {path}: cannot write there ({e.strerror}); pass a writable folder") from None


def _tqdm(**kwargs):
    from tqdm.auto import tqdm

    return tqdm(dynamic_ncols=True, file=sys.stderr, **kwargs)


def _parse_sets(items: Sequence[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--set takes KEY=VALUE (e.g. recipe.epochs=1), got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def _specs():
    from benchmark.spec import load_specs

    return load_specs()


def _task_flags() -> dict:
    """flag -> (its first declaration, the tasks that take it): a flag shared by tasks is added once."""
    flags: dict = {}
    for spec in _specs().values():
        for opt in spec.options:
            flags.setdefault(opt.flag, (opt, []))[1].append(spec.name)
    return flags


def _task_options(spec, args) -> dict:
    """The values of the options ``spec`` declares; a file option must name a file."""
    values = {}
    for opt in spec.options:
        value = getattr(args, opt.dest, None)
        if value is not None and opt.is_file and not Path(value).is_file():
            raise UserError(f"{opt.flag} {value}: no such file")
        if value is not None:
            values[opt.dest] = value
    others = [flag for flag, (o, tasks) in _task_flags().items()
              if spec.name not in tasks and getattr(args, o.dest, None) is not None]
    if others:
        raise UserError(f"{', '.join(others)} does not apply to the {spec.name} task")
    return values


def _plan(args, device: str):
    from benchmark.config import override
    from benchmark.models import models_for
    from benchmark.recipes import recipe_for
    from benchmark.runner import Plan
    from benchmark.suites import SUITES

    suite = SUITES.get(args.suite)
    spec = _specs().get(suite.task)
    preset = suite.preset(args.preset)
    if args.recipe:
        preset = preset.with_recipe(recipe_for(suite.task, args.recipe))
    preset = override(preset, {**shortcut_sets(args, preset, suite.task, device), **_parse_sets(args.set)})
    if args.data is not None and not Path(args.data).expanduser().exists():
        raise UserError(f"--data {args.data}: no such file or folder")
    models = args.models if args.models is not None else models_for(suite.name, preset.model_scale)
    seeds = args.seeds if args.seeds is not None else list(preset.seeds)
    return Plan(suite, preset, models, seeds, args.results_dir, args.data, device,
                _task_options(spec, args), args.rerun, getattr(args, "jobs", None) or 1), spec


def cmd_run(args) -> int:
    from benchmark.parallel import default_jobs, threads_per_job
    from benchmark.runner import check_locks, check_models, plan_size, run_plan
    from benchmark.train.classify import Progress
    from benchmark.train.distributed import init_distributed, local_device, shutdown
    from benchmark.validate import check_run

    plan, spec = _plan(args, _device(args.device))
    check_models(plan.suite, plan.models)  # a typo or another task's model: exit 2 before anything is timed
    check_run(plan.preset, plan.data_path)  # impossible recipe values and broken data: exit 2, no record
    _check_results_dir(plan.results_dir)
    dist = init_distributed(plan.device)
    plan = dataclasses.replace(plan, device=local_device(plan.device, dist))
    total = plan_size(plan)
    if dist.is_main:
        check_locks(plan)  # a run another process holds: refused now, not after the estimate
    plan = dataclasses.replace(plan, jobs=min(args.jobs, total) if args.jobs else
                               default_jobs(plan.device, total, dist.active))
    say = _say if dist.is_main else _silent
    side = f"; {plan.jobs} side by side, {threads_per_job(plan.jobs)} thread(s) each" if plan.jobs > 1 else ""
    say(f"suite {plan.suite.name}, preset {plan.preset.name}, recipe {plan.preset.recipe.name}, device "
        f"{plan.device}{f', {dist.world} processes ({dist.backend})' if dist.active else ''}: "
        f"{len(plan.models)} model(s) x {len(plan.seeds)} seed(s): {total} run(s){side}")
    if dist.is_main:
        plan = dataclasses.replace(plan, cost_hint=_print_estimate(spec, plan) or {})
    counter = _Counter(total, plan.cost_hint, plan.models, total // max(1, len(plan.models)))
    _RUNS_STARTED.append(True)
    try:
        records = run_plan(plan, progress=_tqdm if dist.is_main and plan.jobs == 1 else Progress,
                           on_record=lambda r: _print_record(spec, r, counter.tick(r)), dist=dist)
    finally:
        shutdown(dist)
    failed = [r for r in records if r["status"] != "completed"]
    if dist.is_main:
        print(f"{len(records) - len(failed)}/{len(records)} runs completed; records in "
              f"{args.results_dir / 'records' / plan.suite.name}. Next: python -m benchmark report "
              f"--results-dir {args.results_dir}")
    return 1 if failed else 0


def _print_estimate(spec, plan):
    """A lower bound on the training time of the plan on this machine, from a few timed steps here; returns
    the seconds per model (the runner starts the longest first when runs go side by side), or None."""
    from benchmark.parallel import threads_per_job
    from benchmark.runner import completed_runs, plan_size
    from benchmark.train.tune import threads

    estimate = spec.estimate_fn()
    if estimate is None:
        return None
    runs, done = plan_size(plan), completed_runs(plan)
    if sum(done.values()) >= runs:
        return None  # nothing left to train: nothing to time
    _say("timing a few training steps of each model for the estimate ...")
    with threads(threads_per_job(plan.jobs) if plan.device.startswith("cpu") else None):
        per_model = estimate(plan)  # timed on the threads one job gets
    if per_model:
        _say(_estimate_line(per_model, runs, done, plan.jobs))
    return per_model


def _estimate_line(per_model: Mapping[str, float], runs: int, done: Mapping[str, int], jobs: int) -> str:
    """The estimate of the runs still to train: each model's timed total (all its runs) times the share of its
    runs not yet completed (one-shot photos of other sizes are averaged), divided over the runs side by side."""
    per_run = runs // max(1, len(per_model))
    left = sum(cost * (per_run - done.get(m, 0)) / max(1, per_run) for m, cost in per_model.items()) / jobs
    skipped = sum(done.values())
    side = f", {jobs} side by side" if jobs > 1 else ""
    todo = (f"the {runs - skipped} run(s) left of {runs} ({skipped} already completed, kept)" if skipped
            else f"{runs} run(s)")
    return (f"estimate on this machine: at least {left / 60:.1f} min of training for {todo}{side} (timed from a "
            "few steps of each model here; evaluation and profiling come on top)")


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _silent(text: str) -> None:
    pass


class _Counter:
    """``run 3/7`` and the suite's remaining time, extrapolated from the runs finished so far.

    With per-model estimates (``costs``: model -> seconds, from the estimate printed before the runs), each run
    counts by its estimated cost, so a skipped run, or a fast model finishing first, does not bend the
    extrapolation: remaining time = elapsed / (estimated cost of the runs trained here) * (estimated cost of
    the runs left).  Without them every run counts as one."""

    def __init__(self, total: int, costs: Optional[Mapping[str, float]] = None, models: Sequence[str] = (),
                 runs_per_model: int = 1) -> None:
        import time

        self.total, self.done, self.t0, self.clock = total, 0, time.monotonic(), time.monotonic
        self.costs = dict(costs) if costs and all(costs.get(m, 0) > 0 for m in models) else {}
        self.left = sum(self.costs[m] for m in models) * runs_per_model if self.costs else float(total)
        self.trained = 0.0

    def _cost(self, model: str) -> float:
        return float(self.costs.get(model, 1.0)) if self.costs else 1.0

    def tick(self, r: dict) -> str:
        self.done += 1
        cost = self._cost(r.get("model", ""))
        self.left = max(0.0, self.left - cost)
        self.trained += 0 if r.get("skipped") else cost
        if self.done >= self.total or not self.trained:
            return f"[{self.done}/{self.total}]"
        eta = (self.clock() - self.t0) / self.trained * self.left
        return f"[{self.done}/{self.total}, about {eta / 60:.0f} min left]"


def _print_record(spec, r: dict, count: str = "") -> None:
    head = f"  {count + ' ' if count else ''}{r['model']:<28} seed {r['seed']}:"
    if r.get("skipped"):
        print(f"{head} already completed in {r['run_id']}; kept (--rerun measures it again)", file=sys.stderr)
    elif r["status"] == "completed":
        print(f"{head} {spec.console(r)}  {r['wall_s']:.0f} s", file=sys.stderr)
    else:
        first = (r.get("error") or "").splitlines()[0] if r.get("error") else ""
        print(f"{head} {r['status'].upper()} {first}", file=sys.stderr)


def cmd_report(args) -> int:
    from benchmark.report.render import render_report, verdict_summary

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = render_report(args.results_dir, _reference(args))
    for message in dict.fromkeys(str(w.message) for w in caught):  # each once, in order
        print(f"warning: {message}", file=sys.stderr)
    print("\n".join(verdict_summary(out)))
    print(f"report written to {out}/README.md")
    return 0


def _reference(args) -> Optional[Path]:
    """The reference store to compare with, or None (the default one when it exists and is another folder)."""
    if args.reference is not None:
        if str(args.reference).lower() == "none":
            return None
        if not (args.reference / "records").is_dir():
            raise UserError(f"--reference {args.reference}: no records/ folder there")
        return args.reference
    default = Path("results") / "reference"
    if (default / "records").is_dir() and default.resolve() != Path(args.results_dir).resolve():
        return default
    return None


def cmd_profile(args) -> int:
    from benchmark.config import ProfileSpec
    from benchmark.profile_cmd import profile_models

    device = _device(args.device)
    spec = ProfileSpec(precision=args.precision, memory_format="channels_last" if args.channels_last else
                       "contiguous", cudnn_benchmark=args.cudnn_benchmark, compile=args.compile,
                       warmup=args.warmup, iters=args.steps, windows=args.windows)
    for row in profile_models(args.models, args.img_size, args.batch_size, device, args.train, spec):
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(_profile_line(row), flush=True)
    return 0


def _profile_line(row: dict) -> str:
    parts = [f"{row['model']:<32} {row['img_size']:>4}px", f"{row['params'] / 1e6:8.2f} M params",
             f"{row['gmacs']:8.3f} GMACs ({row['flops_counter']})"]
    if row.get("num_scales") is not None:  # a one-shot pyramid: cost only, no throughput
        parts.append(f"{row['num_scales']} scales, critics {row['params_d'] / 1e6:.3f} M params")
    for phase in ("infer", "train"):
        if row.get(f"{phase}_img_per_s") is not None:
            parts.append(f"{phase} {row[f'{phase}_img_per_s']:8.1f} img/s")
    if row.get("device") is not None:
        parts.append(f"[{row['device']}, {row['precision']}, batch {row['batch_size']}]")
    return "  ".join(parts)


def cmd_perf(args) -> int:
    import os

    from benchmark.metrics.profile import device_name
    from benchmark.models import models_for
    from benchmark.perf import DEFAULT_SUITE, PARTS, run_perf
    from benchmark.results import atomic_write_text

    bad = set(args.parts) - set(PARTS)
    if bad:
        raise UserError(f"--parts: unknown part(s) {', '.join(sorted(bad))}; choose from {', '.join(PARTS)}")
    device = _device(args.device)
    models = args.models or models_for(DEFAULT_SUITE, "small")
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    result = run_perf(models, device, args.steps, args.windows, args.parts, workers, progress=_tqdm, say=_say,
                      batch=args.batch_size, precision=args.precision)
    stamp = result["measured_at"][:10]
    slug = "".join(c if c.isalnum() else "-" for c in device_name(device)).strip("-")[:40]
    path = args.out / f"harness_{device.split(':')[0]}_{slug}_{stamp}.json"
    atomic_write_text(path, json.dumps(result, indent=1, default=str) + "\n")
    print(f"harness perf written to {path}")
    return 0


def _recipe_length(r) -> str:
    if hasattr(r, "epochs"):
        rows = f"; own rows for {', '.join(k for k, _ in r.per_family)}" if getattr(r, "per_family", None) else ""
        return f"{r.epochs} epochs, batch {r.batch_size} per process{rows}"
    if hasattr(r, "iterations"):
        return f"{r.iterations} iterations, batch {r.batch_size} per process"
    return f"{r.iters_per_scale} iterations per scale"


def cmd_list(args) -> int:
    from benchmark.models import MODELS
    from benchmark.recipes import RECIPES
    from benchmark.suites import SUITES

    for name in SUITES.names():
        suite = SUITES.get(name)
        print(f"suite {name} (task {suite.task}): {suite.description}")
        for p in suite.presets:
            seeds = ",".join(map(str, p.seeds))
            print(f"  preset {p.name:<9} {p.description} (seeds {seeds})")
    print("recipes (--recipe NAME):")
    for name, r in RECIPES.items():
        print(f"  {name:<24} {type(r).__name__:<12} {_recipe_length(r)}")
    from benchmark.models import models_for

    default = {m for n in SUITES.names() for m in models_for(n, SUITES.get(n).preset("default").model_scale)}
    print("models (suite, scale, family, input, params; * = run by the default preset):")
    for name, e in MODELS.items():
        flag = "  *" if name in default else ""
        params = f"{e.params / 1e6:.2f}M" if getattr(e, "params", None) else "-"
        print(f"  {name:<34} {e.suite:<12} {e.scale:<6} {e.family:<12} {e.in_chans}x{e.img_size:<5} "
              f"{params:>8}{flag}")
    return 0
