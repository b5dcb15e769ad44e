"""The results store: one JSON record per run, written atomically, read into pandas.

Layout: ``RESULTS/records/<suite>/<run_id>.json``.  A record is a flat dict whose
scalar fields carry their units in their names (``params``, ``gmacs``,
``infer_img_per_s``, ``peak_mem_mb``, ``wall_s``) with provenance beside them
(``flops_counter``, ``device``, ``precision``), plus nested ``history``, ``env``
and ``config``.  :func:`load_records` is the one reader: the report, the notebooks
and the tests all use it.  This module imports no trainer and no model.

``recipe_id`` is always recomputed from the recipe the record's config stores (name plus a hash of its
content, :func:`benchmark.recipes.recipe_identity`), so old records, written when a registered recipe's id
was its bare name, group by the recipe they ran.  Likewise ``converged`` and the other convergence fields
of a completed record are recomputed from its learning curve under today's rule
(:func:`benchmark.convergence.rejudge`); the file keeps what the rule said when the run ended.

Reading never trusts a file: whatever a file holds (not UTF-8, not JSON, not an
object, a wrong type, a NaN metric, a metric outside the range its task spec declares (``top1 = 1e308``
or ``-5``), a run id that is a path), :func:`load_record_dicts`
skips it with one warning naming the file and the field, and goes on.  Each row gets
a derived ``machine`` (CPU model, threads, GPU) so throughput is never averaged
across machines, and :func:`count_once` keeps one row per measured thing.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any, Dict, List, Mapping

import pandas as pd

from benchmark.atomic import atomic_write_text  # noqa: F401  (re-exported: callers import it from here)
from benchmark.convergence import rejudge
from benchmark.names import ensure_under, safe_part

SCHEMA_VERSION = 1
STATUSES = ("completed", "failed", "diverged", "interrupted")
REQUIRED = ("schema_version", "run_id", "suite", "model", "dataset", "preset", "seed", "status")
NESTED = ("history", "env", "config")
# columns every frame has, whatever records it holds
COLUMNS = ("suite", "model", "family", "dataset", "preset", "recipe", "seed", "status", "error",
           "params", "gmacs", "flops_counter", "top1", "top5", "train_img_per_s", "infer_img_per_s",
           "device", "precision", "wall_s", "run_id", "finished_at", "machine", "device_kind")
# typed fields the report reads; None is allowed for the optional ones (shown as "-")
NAME_FIELDS = ("run_id", "suite", "model", "dataset", "preset", "status")
OPTIONAL_TEXT = ("recipe", "recipe_id", "family", "task", "paper_name", "device", "precision", "flops_counter",
                 "feature_extractor", "run_key", "started_at", "finished_at", "error", "git_commit",
                 "supersedes", "peak_mem_kind", "sample_grid", "convergence_what", "convergence_rule")
OPTIONAL_BOOL = ("converged",)  # benchmark.convergence: absent in records written before it
OPTIONAL_NUMBER = ("convergence_figure",)  # may be None (no figure); never NaN in JSON
INT_FIELDS = ("seed", "schema_version")
OPTIONAL_INT = ("world_size", "fid_samples")
METRICS = ("top1", "top5", "top1_best", "top5_at_best", "top1_ema", "top5_ema", "fid", "kid", "kid_std", "swd",
           "params", "params_g", "params_d", "gmacs", "gmacs_g", "wall_s", "peak_mem_mb", "lr_effective")
METRIC_SUFFIXES = ("_img_per_s",)
MAX_RECORD_BYTES = 32 * 2**20  # a record with a long history is ~100 kB; anything this big is not ours
# no metric measured here comes near this; it keeps the sums and squares of a table's seeds finite
MAX_MAGNITUDE = 1e15


class MalformedRecord(ValueError):
    """A record file that cannot be read, lacks required fields or holds a mistyped one."""


def records_dir(results_dir: str | Path, suite: str) -> Path:
    return Path(results_dir) / "records" / suite


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_metric_name(key: str) -> bool:
    return key in METRICS or key.endswith(METRIC_SUFFIXES)


def validate(record: Mapping[str, Any], metrics: bool = True) -> None:
    """Raise :class:`MalformedRecord` naming the first missing or mistyped field.

    ``metrics=False`` (used when writing) checks structure and names only: a run whose metric came out
    NaN is still written, so what happened is kept, and is then rejected, with a warning, when read.
    """
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise MalformedRecord(f"missing fields {missing}")
    for key in INT_FIELDS:
        if not _is_int(record[key]):
            raise MalformedRecord(f"field {key!r} must be an integer, got {record[key]!r:.60}")
    for key in NAME_FIELDS:
        if not isinstance(record[key], str) or not record[key]:
            raise MalformedRecord(f"field {key!r} must be a non-empty string, got {record[key]!r:.60}")
    if record["status"] not in STATUSES:
        raise MalformedRecord(f"status {record['status']!r} is not one of {STATUSES}")
    if record["schema_version"] > SCHEMA_VERSION:
        raise MalformedRecord(f"schema_version {record['schema_version']} is newer than this "
                              f"code's {SCHEMA_VERSION}; update sase-bench")
    for key in ("run_id", "suite"):  # they name files and folders
        if safe_part(record[key]) != record[key]:
            raise MalformedRecord(f"field {key!r} = {record[key]!r:.60} is not a safe name ([A-Za-z0-9._-])")
    for key in OPTIONAL_TEXT:
        if record.get(key) is not None and not isinstance(record[key], str):
            raise MalformedRecord(f"field {key!r} must be a string, got {record[key]!r:.60}")
    for key in OPTIONAL_INT:
        if record.get(key) is not None and not _is_int(record[key]):
            raise MalformedRecord(f"field {key!r} must be an integer, got {record[key]!r:.60}")
    for key in OPTIONAL_BOOL:
        if record.get(key) is not None and not isinstance(record[key], bool):
            raise MalformedRecord(f"field {key!r} must be true or false, got {record[key]!r:.60}")
    for key in OPTIONAL_NUMBER:
        if record.get(key) is not None and (isinstance(record[key], bool) or not isinstance(record[key], (int, float))):
            raise MalformedRecord(f"field {key!r} must be a number, got {record[key]!r:.60}")
    for key, kind in (("history", list), ("env", dict), ("config", dict)):
        if record.get(key) is not None and not isinstance(record[key], kind):
            raise MalformedRecord(f"field {key!r} must be a {kind.__name__}, got {type(record[key]).__name__}")
    if metrics:
        for key, value in record.items():
            if _is_metric_name(key) and value is not None:
                _check_number(key, value)
        _check_columns(record)


def _check_number(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedRecord(f"metric {key!r} must be a number, got {value!r:.60}")
    if not math.isfinite(value):
        raise MalformedRecord(f"metric {key!r} is {value!r}, not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise MalformedRecord(f"metric {key!r} = {value!r} is absurd (magnitude over {MAX_MAGNITUDE:g})")


def _check_columns(record: Mapping[str, Any]) -> None:
    """Each metric column of the record's task is a number within the range its spec declares (Column.valid)."""
    from benchmark.spec import load_specs  # light: data only

    specs = load_specs()
    task = record.get("task") or record.get("suite")
    for col in specs.get(task).columns if task in specs else ():
        value = record.get(col.field)
        if value is None:
            continue
        _check_number(col.field, value)
        if not col.in_range(value):
            low, high = col.valid
            raise MalformedRecord(f"metric {col.field!r} = {value!r} is outside its valid range [{low:g}, {high:g}]")


def record_path(results_dir: str | Path, record: Mapping[str, Any]) -> Path:
    """Where ``record`` lives; asserted to stay under ``results_dir``."""
    path = records_dir(results_dir, record["suite"]) / f"{record['run_id']}.json"
    ensure_under(results_dir, path)
    return path


def write_record(results_dir: str | Path, record: Dict[str, Any]) -> Path:
    """Validate and atomically write one run's record; returns its path."""
    record = {"schema_version": SCHEMA_VERSION, **record}
    validate(record, metrics=False)
    path = record_path(results_dir, record)
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    return path


def read_record(path: Path) -> Dict[str, Any]:
    """One record, validated; :class:`MalformedRecord` (never anything else) when the file is not one."""
    try:
        if not path.is_file():
            raise MalformedRecord("not a regular file")
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise MalformedRecord(f"larger than {MAX_RECORD_BYTES // 2**20} MiB")
        record = json.loads(path.read_bytes().decode("utf-8"))
    except MalformedRecord:
        raise
    except UnicodeDecodeError as e:
        raise MalformedRecord(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (OSError, ValueError, RecursionError) as e:
        raise MalformedRecord(f"cannot parse: {type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(record, dict):
        raise MalformedRecord(f"not a JSON object (a {type(record).__name__})")
    validate(record)
    return record


def iter_record_files(results_dir: str | Path) -> List[Path]:
    root = Path(results_dir) / "records"
    try:
        return sorted(root.glob("*/*.json")) if root.is_dir() else []
    except OSError as e:
        warnings.warn(f"cannot list records under {root}: {e}", stacklevel=2)
        return []


def load_record_dicts(results_dir: str | Path) -> List[Dict[str, Any]]:
    """Every valid record (with nested fields); each bad file is skipped with one warning naming it."""
    out = []
    for path in iter_record_files(results_dir):
        try:
            out.append(read_record(path))
        except MalformedRecord as e:
            warnings.warn(f"skipping malformed record {path}: {e}", stacklevel=2)
        except Exception as e:  # noqa: BLE001  the store must survive any file: never let one stop a report
            warnings.warn(f"skipping unreadable record {path}: {type(e).__name__}: {str(e)[:200]}", stacklevel=2)
    return out


class RecordIndex:
    """The valid records of a results dir, kept fresh cheaply: :meth:`refresh` re-parses only the files
    that are new or changed (size or mtime) since the last call.  The runner refreshes it after taking
    a run's lock, so it sees what another process wrote meanwhile without re-reading the whole store."""

    def __init__(self, results_dir: str | Path) -> None:
        self.results_dir = Path(results_dir)
        self._seen: Dict[Path, tuple] = {}
        self._records: Dict[Path, Dict[str, Any]] = {}

    def refresh(self) -> List[Dict[str, Any]]:
        files = iter_record_files(self.results_dir)
        for gone in set(self._seen) - set(files):
            self._seen.pop(gone, None)
            self._records.pop(gone, None)
        for path in files:
            try:
                st = path.stat()
            except OSError:
                continue
            stamp = (st.st_size, st.st_mtime_ns)
            if self._seen.get(path) == stamp:
                continue
            self._seen[path] = stamp
            self._records.pop(path, None)
            try:
                self._records[path] = read_record(path)
            except MalformedRecord as e:
                warnings.warn(f"skipping malformed record {path}: {e}", stacklevel=2)
            except Exception as e:  # noqa: BLE001  as in load_record_dicts
                warnings.warn(f"skipping unreadable record {path}: {type(e).__name__}: {str(e)[:200]}",
                              stacklevel=2)
        return [self._records[p] for p in files if p in self._records]


def machine_fingerprint(env: Any) -> str:
    """What a throughput was measured on: CPU model, its thread count, and the GPU(s) if any.

    From the record's ``env`` (:func:`benchmark.metrics.profile.env_info`).  ``env`` holds the threads
    torch used (``cpu_threads``), not the physical core count, so runs of one machine with another
    ``OMP_NUM_THREADS`` count as another machine: they measure another setting.
    """
    if not isinstance(env, dict) or not env.get("cpu"):
        return "unknown"
    parts = [str(env["cpu"])]
    if _is_int(env.get("cpu_threads")):
        parts.append(f"{env['cpu_threads']} threads")
    gpus = env.get("gpu_count")
    device = env.get("device")
    if _is_int(gpus) and gpus > 0:
        used = device if isinstance(device, str) and device and device != env["cpu"] else "GPU"
        parts.append(f"{gpus}x {used}")
    return " / ".join(parts)


def load_records(results_dir: str | Path = "results") -> pd.DataFrame:
    """One row per run, scalar fields as columns (``history``/``env``/``config`` left out).

    Always has the columns in :data:`COLUMNS` (NaN where a record lacks one), plus any
    other scalar field a record carries (e.g. synthesis metrics).  ``machine`` is derived
    from ``env`` by :func:`machine_fingerprint`.
    """
    return records_frame(load_record_dicts(results_dir))


def records_frame(records: List[Dict[str, Any]]) -> pd.DataFrame:
    """:func:`load_records`'s frame of records already read (the report reads the store once, so each bad
    file warns once)."""
    rows = [{**{k: v for k, v in r.items() if k not in NESTED}, "machine": machine_fingerprint(r.get("env")),
             "device_kind": device_kind(r), **_recipe_identity(r), **rejudge(r)}
            for r in records]
    frame = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.Series(dtype="object")
    return frame


def device_kind(record: Mapping[str, Any]) -> Any:
    """The kind of device a run computed on (``cpu``, ``cuda``, ``mps``), from the device its config names
    (``cuda:1`` -> ``cuda``); None when the config does not say.  Verdicts never pair arms of two kinds."""
    config = record.get("config")
    device = config.get("device") if isinstance(config, dict) else None
    return device.split(":")[0] if isinstance(device, str) and device else None


def _recipe_identity(record: Mapping[str, Any]) -> Dict[str, str]:
    """``{"recipe_id": name@hash}`` recomputed from the recipe the record's config stores, so that every record
    carries the content identity of :func:`benchmark.recipes.recipe_identity`, whatever it wrote: records
    written before issue 20 carry the bare name of a registered recipe (or ``name+hash`` for an override)
    and are grouped by the recipe they actually ran.  Empty (the record's own field is kept) when the config
    holds no recipe."""
    from benchmark.recipes import recipe_identity

    config = record.get("config")
    preset = config.get("preset") if isinstance(config, dict) else None
    recipe = preset.get("recipe") if isinstance(preset, dict) else None
    if not isinstance(recipe, dict) or not isinstance(recipe.get("name"), str):
        return {}
    return {"recipe_id": recipe_identity(recipe)}


# fields that say what a metric was measured with, chosen by task options or cached weights the runner's
# ``run_key`` does not see (``--inception-weights``, the substitute CNN): runs that differ in them measured
# different things, and neither supersedes the other (issue 20)
MEASURED_WITH = ("feature_extractor", "sifid_extractor")


def identity_columns(frame: pd.DataFrame) -> List[str]:
    """What makes two rows one measured thing; ``recipe_id`` (a recipe's content) when records carry it, and
    the feature extractor (:data:`MEASURED_WITH`) when they name one."""
    recipe = "recipe_id" if "recipe_id" in frame.columns else "recipe"
    return ["suite", "preset", recipe, "dataset", "model", "seed", "machine",
            *(c for c in MEASURED_WITH if c in frame.columns)]


def count_once(frame: pd.DataFrame) -> pd.DataFrame:
    """The completed rows a table or a verdict counts: one per run key (the runner's identity of a run:
    resolved config, model, seed, data), machine and feature extractor, or for records without a run key one
    per (suite, preset, recipe, dataset, model, seed, machine, feature extractor); the latest finished.  The
    extractor is part of both because ``run_key`` does not see the options that choose it: a ``--rerun`` with
    other FID features measures another setting and supersedes nothing.  A re-run supersedes the run it re-measures; ``--seeds 0,0`` or a model
    named twice count once.  ``superseded`` lists the run ids left out for each kept row.
    """
    done = frame[frame["status"] == "completed"].copy()
    if done.empty:
        out = done.copy()
        out["superseded"] = pd.Series(dtype="object")
        return out.reset_index(drop=True)
    cols = identity_columns(done)
    if "recipe_id" in cols:
        done["recipe_id"] = done["recipe_id"].where(done["recipe_id"].notna(), done["recipe"])
    for col in cols:
        if col not in done.columns:
            done[col] = None
    order = [c for c in ("finished_at", "started_at", "run_id") if c in done.columns]
    done = done.sort_values(order, key=lambda s: s.fillna("").astype(str), kind="stable")
    text = done[cols].astype(object).where(done[cols].notna(), "-").astype(str)  # pandas 3 keeps NaN in str
    keys = text.agg("\x1f".join, axis=1)
    if "run_key" in done.columns:  # the runner's own identity (config, model, seed, data), per machine
        keyed = done["run_key"].notna()
        measured = [text[c] for c in ("machine", *MEASURED_WITH) if c in text.columns]
        keys = keys.where(~keyed, done["run_key"].fillna("-").astype(str).str.cat(measured, sep="\x1f"))
    kept = done[~keys.duplicated(keep="last")].copy()
    dropped = done[keys.duplicated(keep="last")]
    gone = dropped.groupby(keys[dropped.index])["run_id"].agg(lambda s: ",".join(map(str, s)))
    kept["superseded"] = keys[kept.index].map(gone)  # NaN where nothing was superseded
    return kept.sort_index().reset_index(drop=True)
