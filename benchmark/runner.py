"""Run a suite: one run per (model, seed), each ending in exactly one record.

The runner owns what every task shares: the run id, the run folder with the
resolved config written before training, the environment, wall time, the status
(``completed``, ``failed``, ``diverged``, ``interrupted``) and the atomic write of
the record.  What a run *measures* is the task's business: the task function named by the suite's
:class:`benchmark.spec.TaskSpec`.  A
failing model becomes a ``failed`` record with its error and the suite goes on.

Nothing is lost on a crash: a run's record is first written as ``interrupted``
and replaced when the run ends, so a SIGKILLed run shows as interrupted, never
as a result.  Starting the same command again finds each (model, seed) by its
``run_key`` (a hash of the resolved config): a completed run is kept and not
repeated (``rerun=True`` measures again), an interrupted one resumes in its own
run folder from its last checkpoint.

Under ``torchrun`` every rank runs every task; rank 0 alone decides run ids,
writes config, checkpoints and records, and shows progress.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import hashlib
import importlib
import json
import logging
import os
import subprocess
import time
import traceback
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from benchmark import config as cfg
from benchmark.atomic import atomic_write_text, clean_stale_temps
from benchmark.errors import TrainingDiverged, UserError
from benchmark.lock import RunLock
from benchmark.models import MODELS
from benchmark.names import MAX_PART, ensure_under, safe_part
from benchmark.recipes import recipe_id
from benchmark.results import RecordIndex, records_dir, write_record
from benchmark.train.classify import Progress
from benchmark.train.distributed import DistContext

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
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the task's own CLI options
    dist: DistContext = DistContext()

    @property
    def checkpoint_path(self) -> Path:
        return Path(self.run_dir) / "checkpoints" / "last.pt"


TaskFn = Callable[[RunContext], Dict[str, Any]]


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
    parts = "-".join(safe_part(p) for p in (suite, preset, model))  # names are data, never paths
    tail = f"-s{int(seed)}-{uuid.uuid4().hex[:6]}"
    parts = parts[:MAX_PART - len(stamp) - 1 - len(tail)].rstrip("-.")  # a long model name: one path part still
    return f"{stamp}-{parts}{tail}"


def check_models(suite: cfg.Suite, models: Sequence[str]) -> None:
    if not models:
        raise UserError(f"no models to run; pass --models with names from the {suite.name} suite (see `list`)")
    for name in models:
        entry = MODELS.get(name)
        if entry.suite != suite.name:
            raise UserError(f"model {name!r} belongs to the {entry.suite} suite, not {suite.name}; `python -m "
                            "benchmark list` names each suite's models")


def check_locks(plan: "Plan") -> None:
    """Refuse at once, before anything is timed or trained, when another process holds one of the plan's runs
    (each run still takes its lock when it starts: this only moves the refusal to the front)."""
    if not (Path(plan.results_dir) / "locks").exists():
        return  # nothing has ever run here
    for model, seed, key in plan_keys(plan):
        RunLock(plan.results_dir, key, f"{plan.suite.name} {model} seed {seed}").acquire().release()


def plan_keys(plan: "Plan"):
    """(model, seed, run key) of every run of ``plan``."""
    for seed in plan.seeds:
        for data in data_units(plan.suite, plan.preset, plan.data_path):
            for model in plan.models:
                yield model, seed, run_key(plan.suite, plan.preset, model, seed, data, plan.device, plan.options)


def completed_runs(plan: "Plan") -> Dict[str, int]:
    """How many of each model's runs in ``plan`` already have a completed record (and would be kept, not
    trained again); all zero under ``rerun``.  For the estimate printed before a resumed suite."""
    done = {model: 0 for model in plan.models}
    if plan.rerun:
        return done
    known = RecordIndex(plan.results_dir).refresh()
    for model, _, key in plan_keys(plan):
        previous = find_previous(known, plan.suite.name, key)
        done[model] += bool(previous and previous["status"] == "completed")
    return done


def data_units(suite: cfg.Suite, preset: cfg.Preset, data_path: Optional[str]) -> List[Optional[str]]:
    """The data of each run: ``[data_path]``, or what the task spec's ``units`` makes of it (one-shot: one
    unit per image of a folder, or per photo of the preset's embedded set)."""
    from benchmark.spec import load_specs

    spec = load_specs().get(suite.task)
    if not spec.units:
        return [data_path]
    module, _, name = spec.units.partition(":")
    return list(getattr(importlib.import_module(module), name)(preset, data_path))


def _data_id(data_path: Optional[str]) -> Optional[str]:
    if not data_path:
        return None
    path = Path(data_path).expanduser()
    return str(path.resolve()) if path.exists() else str(data_path)  # e.g. "skimage:coffee"


def _option_id(value: Any) -> Any:
    """A task option as the run key sees it: a file by its content (e.g. Inception weights), else as given."""
    if isinstance(value, (str, os.PathLike)) and value and Path(value).expanduser().is_file():
        from benchmark.digest import file_sha256

        return "sha256:" + file_sha256(Path(value).expanduser())
    return value


KEY_NEUTRAL = cfg.KEY_NEUTRAL  # the table lives beside the dataclasses it is about (benchmark.config)


def _key_preset(preset: cfg.Preset) -> Dict[str, Any]:
    """The preset as the run key sees it: without ``seeds`` and without fields at their neutral value."""
    resolved = {k: v for k, v in cfg.to_dict(preset).items() if k != "seeds"}
    if preset.key_description:  # the text the keys were made with, before the description was edited
        resolved["description"] = resolved.pop("key_description")
    for path, neutral in KEY_NEUTRAL.items():
        *parents, leaf = path.split(".")
        node = resolved
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node and node[leaf] == neutral:
            del node[leaf]
    return resolved


def _outputs() -> frozenset:
    """The task options that only say where to write something (``Option.measures=False``)."""
    from benchmark.spec import load_specs

    return frozenset(o.dest for spec in load_specs().values() for o in spec.options if not o.measures)


def run_key(suite: cfg.Suite, preset: cfg.Preset, model: str, seed: int, data_path: Optional[str],
            device: str, options: Optional[Mapping[str, Any]] = None) -> str:
    """What makes two runs the same run: the resolved config, the data, the kind of device and the task
    options that change a measurement (a file option by its content: other FID weights are another run)."""
    content = {"suite": suite.name, "preset": _key_preset(preset), "model": model, "seed": seed,
               "data": _data_id(data_path), "device": device.split(":")[0]}
    chosen = {k: _option_id(v) for k, v in sorted((options or {}).items()) if v is not None and k not in _outputs()}
    if chosen:  # only when set: the keys of runs without options stay as they were
        content["options"] = chosen
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:20]


def find_previous(records: Sequence[Dict[str, Any]], suite: str, key: str,
                  rerun: bool = False) -> Optional[Dict[str, Any]]:
    """The record this run continues: the newest completed one (kept), else the newest interrupted one
    (resumed).  With ``rerun`` completed runs are ignored, and only an interrupted run newer than all of
    them (an interrupted re-run) is resumed."""
    same = sorted((r for r in records if r.get("suite") == suite and r.get("run_key") == key),
                  key=lambda r: r.get("started_at", ""))
    done = [r for r in same if r["status"] == "completed"]
    open_ = [r for r in same if r["status"] == "interrupted"]
    if done and not rerun:
        return done[-1]
    if open_ and (not done or open_[-1].get("started_at", "") >= done[-1].get("started_at", "")):
        return open_[-1]
    return None


@dataclass(frozen=True)
class Plan:
    """What ``run`` was asked to do: every (model, seed) of one suite at one resolved preset."""

    suite: cfg.Suite
    preset: cfg.Preset
    models: Sequence[str]
    seeds: Sequence[int]
    results_dir: Path
    data_path: Optional[str] = None
    device: str = "cpu"
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    rerun: bool = False
    jobs: int = 1  # runs side by side (CPU worker processes); 1: one after another in this process
    cost_hint: Mapping[str, float] = dataclasses.field(default_factory=dict)  # model -> estimated seconds


def plan_size(plan: Plan) -> int:
    """How many runs ``plan`` asks for (one per data unit, model and seed)."""
    return len(data_units(plan.suite, plan.preset, plan.data_path)) * len(plan.models) * len(plan.seeds)


def task_for(suite: cfg.Suite) -> TaskFn:
    from benchmark.spec import load_specs

    return load_specs().get(suite.task).run_fn()


def run_plan(plan: Plan, progress: Callable[..., Progress] = Progress,
             on_record: Optional[Callable[[Dict[str, Any]], None]] = None,
             dist: DistContext = DistContext()) -> List[Dict[str, Any]]:
    """Run every (model, seed) of ``plan``; return the records (also written under ``results_dir``)."""
    return run_suite(plan.suite, plan.preset, plan.models, plan.seeds, plan.results_dir, plan.data_path,
                     plan.device, progress, plan.options, on_record, plan.rerun, dist, plan.jobs, plan.cost_hint)


def plan_units(suite: cfg.Suite, preset: cfg.Preset, models: Sequence[str], seeds: Sequence[int],
               results_dir: Path, data_path: Optional[str], device: str, options: Mapping[str, Any],
               rerun: bool = False) -> List[Unit]:
    """The runs of a suite in the order they start: data-major, then seed-major, then model.  A verdict
    compares models over the seeds of one data unit (one-shot: one photo), so an interrupted suite leaves
    whole photos, each with whole seed sets (every model of a seed)."""
    return [Unit(suite, preset, model, seed, unit, results_dir, device, dict(options), rerun)
            for unit in data_units(suite, preset, data_path)  # one run per image for one-shot folders
            for seed in seeds
            for model in models]


def run_suite(suite: cfg.Suite, preset: cfg.Preset, models: Sequence[str], seeds: Sequence[int],
              results_dir: Path, data_path: Optional[str] = None, device: str = "cpu",
              progress: Callable[..., Progress] = Progress, options: Optional[Mapping[str, Any]] = None,
              on_record: Optional[Callable[[Dict[str, Any]], None]] = None, rerun: bool = False,
              dist: DistContext = DistContext(), jobs: int = 1,
              cost_hint: Optional[Mapping[str, float]] = None) -> List[Dict[str, Any]]:
    """Run every (model, seed); return the records (also written under ``results_dir``).

    ``jobs > 1`` runs that many units side by side in worker processes (:mod:`benchmark.parallel`); each
    unit still takes its run key's lock, so records and locks stay one per run.  Side by side, the models of
    each seed start longest first by ``cost_hint`` (model -> estimated seconds), so the longest run does not
    end the suite alone on one core."""
    check_models(suite, models)
    if jobs > 1 and cost_hint:
        models = sorted(models, key=lambda m: -float(cost_hint.get(m, 0.0)))  # stable: ties keep their order
    units = plan_units(suite, preset, models, seeds, Path(results_dir), data_path, device, options or {}, rerun)
    if jobs > 1 and len(units) > 1 and not dist.active:
        from benchmark.parallel import run_units_parallel

        return run_units_parallel(units, jobs, on_record)
    task = task_for(suite)
    index = RecordIndex(results_dir) if dist.is_main else None  # parsed once, then only new or changed files
    records = []
    for unit in units:
        record = run_unit(unit, task, index, progress, dist)
        records.append(record)
        if on_record and dist.is_main:
            on_record(record)
    return records


@dataclass(frozen=True)
class Unit:
    """One run to do: a (model, seed, data) of a suite at a resolved preset; picklable for worker processes."""

    suite: cfg.Suite
    preset: cfg.Preset
    model: str
    seed: int
    data: Optional[str]
    results_dir: Path
    device: str
    options: Mapping[str, Any]
    rerun: bool = False


def run_unit(u: Unit, task: TaskFn, index: Optional[RecordIndex], progress: Callable[..., Progress] = Progress,
             dist: DistContext = DistContext()) -> Dict[str, Any]:
    """Run ``u`` under its run key's lock (or keep its completed record); returns the record."""
    key = run_key(u.suite, u.preset, u.model, u.seed, u.data, u.device, u.options)
    # the lock first, then the records: another process may have finished this key meanwhile
    with RunLock(u.results_dir, key, f"{u.suite.name} {u.model} seed {u.seed}") if dist.is_main else nullcontext():
        known = index.refresh() if index is not None else []
        previous = find_previous(known, u.suite.name, key, u.rerun) if dist.is_main else None
        previous = dist.broadcast_object(previous)
        if previous and previous["status"] == "completed":
            log.info("%s seed %d already completed as %s; kept", u.model, u.seed, previous["run_id"])
            return {**previous, "skipped": True}
        resume_id = previous["run_id"] if previous else None
        run_id = dist.broadcast_object(resume_id or new_run_id(u.suite.name, u.model, u.preset.name, u.seed))
        run_dir = u.results_dir / "runs" / run_id
        if dist.is_main:
            ensure_under(u.results_dir, run_dir)
            clean_stale_temps(run_dir)
            clean_stale_temps(records_dir(u.results_dir, u.suite.name), recursive=False)
        ctx = RunContext(u.suite, u.preset, u.model, u.seed, run_id, run_dir, u.data, u.device,
                         progress if dist.is_main else Progress, dict(u.options), dist)
        record = run_one(task, ctx, key)
        done = find_previous(known, u.suite.name, key) if u.rerun and dist.is_main else None
        if done and done["status"] == "completed" and record["status"] == "completed":
            record = {**record, "supersedes": done["run_id"]}  # the run this re-run re-measures
            write_record(u.results_dir, record)
        return record


def run_one(task: TaskFn, ctx: RunContext, key: str = "") -> Dict[str, Any]:
    """Run ``task`` on ``ctx`` and write its record whatever happens (re-raising Ctrl-C after)."""
    base = {**_base_record(ctx), "run_key": key, "resumed": ctx.checkpoint_path.exists()}
    t0 = time.perf_counter()
    if ctx.dist.is_main:
        atomic_write_text(ctx.run_dir / "config.json", json.dumps(base["config"], indent=1) + "\n")
        note = "started; no final record was written yet (still running, or killed: run the same command to resume)"
        write_record(Path(ctx.run_dir).parents[1], {**base, "status": "interrupted", "error": note})
    try:
        measured = task(ctx)
        status, error = "completed", None
    except TrainingDiverged as e:
        measured, status, error = {}, "diverged", str(e)
    except KeyboardInterrupt:
        _finish(ctx, base, {}, "interrupted", "interrupted (Ctrl-C or SIGTERM); run the same command to resume", t0)
        raise
    except UserError:
        _drop_placeholder(ctx, base)
        raise
    except Exception as e:  # a failing model must not stop the suite; a full disk must
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise
        log.warning("run %s failed: %s", ctx.run_id, e)
        measured, status, error = {}, "failed", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
    return _finish(ctx, base, measured, status, error, t0)


def _drop_placeholder(ctx: RunContext, base: Dict[str, Any]) -> None:
    """A user error inside a fresh run leaves no record (a resumed run keeps its record, to resume later)."""
    if ctx.dist.is_main and not base["resumed"]:
        (records_dir(Path(ctx.run_dir).parents[1], ctx.suite.name) / f"{ctx.run_id}.json").unlink(missing_ok=True)


def _finish(ctx, base, measured, status, error, t0) -> Dict[str, Any]:
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    record = {**base, **measured, "status": status, "error": error,
              "wall_s": round(time.perf_counter() - t0, 2), "finished_at": now}
    if ctx.dist.is_main:
        write_record(Path(ctx.run_dir).parents[1], record)
    return record


def _base_record(ctx: RunContext) -> Dict[str, Any]:
    from benchmark.metrics.profile import env_info

    entry = MODELS.get(ctx.model)
    return {
        "run_id": ctx.run_id, "suite": ctx.suite.name, "task": ctx.suite.task, "model": ctx.model,
        "family": entry.family, "paper_name": entry.paper_name, "in_suite": entry.in_suite,
        "budget": getattr(entry, "budget", None), "ablation": getattr(entry, "ablation", None),
        "preset": ctx.preset.name, "recipe": ctx.preset.recipe.name, "recipe_id": recipe_id(ctx.preset.recipe),
        "seed": ctx.seed, "dataset": ctx.preset.data.name,
        "world_size": ctx.dist.world, "dist_backend": ctx.dist.backend,
        "parallel_jobs": int(os.environ.get("SASE_BENCH_JOBS", "1")),  # runs side by side on this machine
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(), "env": env_info(ctx.device),
        "config": {"suite": ctx.suite.name, "preset": cfg.to_dict(ctx.preset), "model": ctx.model,
                   "seed": ctx.seed, "data_path": ctx.data_path, "device": ctx.device, "world_size": ctx.dist.world,
                   "options": dict(ctx.options)},
    }
