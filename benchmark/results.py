"""The results store: one JSON record per run, written atomically, read into pandas.

Layout: ``RESULTS/records/<suite>/<run_id>.json``.  A record is a flat dict whose
scalar fields carry their units in their names (``params``, ``gmacs``,
``infer_img_per_s``, ``peak_mem_mb``, ``wall_s``) with provenance beside them
(``flops_counter``, ``device``, ``precision``), plus nested ``history``, ``env``
and ``config``.  :func:`load_records` is the one reader: the report, the notebooks
and the tests all use it.  This module imports no trainer and no model.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, List

import pandas as pd

SCHEMA_VERSION = 1
STATUSES = ("completed", "failed", "diverged", "interrupted")
REQUIRED = ("schema_version", "run_id", "suite", "model", "dataset", "preset", "seed", "status")
NESTED = ("history", "env", "config")
# columns every frame has, whatever records it holds
COLUMNS = ("suite", "model", "family", "dataset", "preset", "recipe", "seed", "status", "error",
           "params", "gmacs", "flops_counter", "top1", "top5", "train_img_per_s", "infer_img_per_s",
           "device", "precision", "wall_s", "run_id", "finished_at")


class MalformedRecord(ValueError):
    """A record file that cannot be read or lacks required fields."""


def records_dir(results_dir: str | Path, suite: str) -> Path:
    return Path(results_dir) / "records" / suite


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file and ``os.replace``: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def validate(record: Dict[str, Any]) -> None:
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise MalformedRecord(f"missing fields {missing}")
    if record["status"] not in STATUSES:
        raise MalformedRecord(f"status {record['status']!r} is not one of {STATUSES}")
    if record["schema_version"] > SCHEMA_VERSION:
        raise MalformedRecord(f"schema_version {record['schema_version']} is newer than this "
                              f"code's {SCHEMA_VERSION}; update sase-bench")


def write_record(results_dir: str | Path, record: Dict[str, Any]) -> Path:
    """Validate and atomically write one run's record; returns its path."""
    record = {"schema_version": SCHEMA_VERSION, **record}
    validate(record)
    path = records_dir(results_dir, record["suite"]) / f"{record['run_id']}.json"
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    return path


def read_record(path: Path) -> Dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise MalformedRecord(f"cannot parse: {e}") from None
    if not isinstance(record, dict):
        raise MalformedRecord("not a JSON object")
    validate(record)
    return record


def iter_record_files(results_dir: str | Path) -> List[Path]:
    root = Path(results_dir) / "records"
    return sorted(root.glob("*/*.json")) if root.is_dir() else []


def load_record_dicts(results_dir: str | Path) -> List[Dict[str, Any]]:
    """Every valid record (with nested fields); malformed ones are skipped with a warning naming the file."""
    out = []
    for path in iter_record_files(results_dir):
        try:
            out.append(read_record(path))
        except MalformedRecord as e:
            warnings.warn(f"skipping malformed record {path}: {e}", stacklevel=2)
    return out


def load_records(results_dir: str | Path = "results") -> pd.DataFrame:
    """One row per run, scalar fields as columns (``history``/``env``/``config`` left out).

    Always has the columns in :data:`COLUMNS` (NaN where a record lacks one), plus any
    other scalar field a record carries (e.g. synthesis metrics).
    """
    rows = [{k: v for k, v in r.items() if k not in NESTED} for r in load_record_dicts(results_dir)]
    frame = pd.DataFrame(rows)
    for col in COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.Series(dtype="object")
    return frame
