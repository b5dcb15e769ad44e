"""Run a suite: one run per (model, seed), each ending in exactly one record.

The runner owns what every task shares: the run id, the run folder with the
resolved config written before training, the environment, wall time, the status
(``completed``, ``failed``, ``diverged``, ``interrupted``) and the atomic write of
the record.  What a run *measures* is the task's business (:data:`TASKS`).  A
failing model becomes a ``failed`` record with its error and the suite goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from benchmark import config as cfg
from benchmark.errors import TrainingDiverged, UserError
from benchmark.models import MODELS
from benchmark.registry import Registry
from benchmark.results import atomic_write_text, write_record
from benchmark.train.classify import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """Everything one run needs; built by the runner, consumed by a task."""

    suite: cfg.Suite
    preset: cfg.Preset
    model: str
    seed: int
    run_id: str
    run_dir: Path
    data_path: Optional[str]
    device: str
    progress: Callable[..., Progress] = Progress
    inception_weights: Optional[str] = None  # synthesis: a local Inception-v3 weights file for FID/KID


TaskFn = Callable[[RunContext], Dict[str, Any]]
TASKS: Registry[TaskFn] = Registry("task")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10, cwd=Path(__file__).resolve().parent)
        commit = out.stdout.strip() or "unknown"
        return commit + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def new_run_id(suite: str, model: str, preset: str, seed: int) -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{suite}-{preset}-{model}-s{seed}-{uuid.uuid4().hex[:6]}"


def check_models(suite: cfg.Suite, preset: cfg.Preset, models: Sequence[str]) -> None:
    for name in models:
        entry = MODELS.get(name)
        if entry.suite != suite.name:
            raise UserError(f"model {name!r} belongs to the {entry.suite} suite, not {suite.name}")


def run_suite(suite: cfg.Suite, preset: cfg.Preset, models: Sequence[str], seeds: Sequence[int],
              results_dir: Path, data_path: Optional[str] = None, device: str = "cpu",
              progress: Callable[..., Progress] = Progress, inception_weights: Optional[str] = None,
              on_record: Optional[Callable[[Dict[str, Any]], None]] = None) -> List[Dict[str, Any]]:
    """Run every (model, seed); return the records (also written under ``results_dir``)."""
    check_models(suite, preset, models)
    task = TASKS.get(suite.task)
    records = []
    for model in models:
        for seed in seeds:
            ctx = _context(suite, preset, model, seed, results_dir, data_path, device, progress, inception_weights)
            record = run_one(task, ctx)
            records.append(record)
            if on_record:
                on_record(record)
    return records


def _context(suite, preset, model, seed, results_dir, data_path, device, progress, inception) -> RunContext:
    run_id = new_run_id(suite.name, model, preset.name, seed)
    run_dir = Path(results_dir) / "runs" / run_id
    return RunContext(suite, preset, model, seed, run_id, run_dir, data_path, device, progress, inception)


def run_one(task: TaskFn, ctx: RunContext) -> Dict[str, Any]:
    """Run ``task`` on ``ctx`` and write its record whatever happens (re-raising Ctrl-C after)."""
    base = _base_record(ctx)
    atomic_write_text(ctx.run_dir / "config.json", json.dumps(base["config"], indent=1) + "\n")
    t0 = time.perf_counter()
    try:
        measured = task(ctx)
        status, error = "completed", None
    except TrainingDiverged as e:
        measured, status, error = {}, "diverged", str(e)
    except KeyboardInterrupt:
        _finish(ctx, base, {}, "interrupted", "interrupted by the user (Ctrl-C)", t0)
        raise
    except UserError:
        raise
    except Exception as e:  # a failing model must not stop the suite
        log.warning("run %s failed: %s", ctx.run_id, e)
        measured, status, error = {}, "failed", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
    return _finish(ctx, base, measured, status, error, t0)


def _finish(ctx, base, measured, status, error, t0) -> Dict[str, Any]:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    record = {**base, **measured, "status": status, "error": error,
              "wall_s": round(time.perf_counter() - t0, 2), "finished_at": now}
    write_record(Path(ctx.run_dir).parents[1], record)
    return record


def _base_record(ctx: RunContext) -> Dict[str, Any]:
    from benchmark.metrics.profile import env_info

    entry = MODELS.get(ctx.model)
    return {
        "run_id": ctx.run_id, "suite": ctx.suite.name, "task": ctx.suite.task, "model": ctx.model,
        "family": entry.family, "paper_name": entry.paper_name, "preset": ctx.preset.name,
        "recipe": ctx.preset.recipe.name, "seed": ctx.seed, "dataset": ctx.preset.data.name,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(), "env": env_info(ctx.device),
        "config": {"suite": ctx.suite.name, "preset": cfg.to_dict(ctx.preset), "model": ctx.model,
                   "seed": ctx.seed, "data_path": ctx.data_path, "device": ctx.device},
    }
