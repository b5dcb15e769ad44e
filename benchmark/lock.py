"""One live run per run key: a lock file per key inside the results dir.

Two processes started with the same command and ``--results-dir`` used to adopt one run id, resume
from one live checkpoint and write one record: one measurement lost, exit 0.  Now each run holds
``RESULTS/locks/<run_key>.lock`` with ``fcntl.flock`` (exclusive, non-blocking) while it looks up
its previous records and runs; a second process that wants the same key is refused with a
:class:`UserError` naming the holder.  Different keys (another model, seed, preset or data) lock
different files, so different configurations run side by side.

``flock`` locks belong to the open file: the kernel drops them when the process dies, SIGKILL
included, so a stale lock file never blocks anyone (its text is only a note of the last holder).
Lock files are never deleted (deleting one while another process opens it would break the lock).
Where ``fcntl`` does not exist (Windows) the lock is a no-op.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import IO, Optional

from benchmark.errors import UserError
from benchmark.names import ensure_under, safe_part

try:
    import fcntl
except ImportError:  # pragma: no cover  (not POSIX)
    fcntl = None  # type: ignore[assignment]


def lock_path(results_dir: str | Path, key: str) -> Path:
    path = Path(results_dir) / "locks" / f"{safe_part(key)}.lock"
    ensure_under(results_dir, path)
    return path


class RunLock:
    """Context manager: hold the lock of ``key`` under ``results_dir``; ``what`` names the run in messages."""

    def __init__(self, results_dir: str | Path, key: str, what: str = "") -> None:
        self.results_dir, self.path, self.what = Path(results_dir), lock_path(results_dir, key), what or key
        self._file: Optional[IO[str]] = None

    def acquire(self) -> "RunLock":
        if fcntl is None:
            return self
        f = self._open()
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(f)
            f.close()
            raise UserError(f"run {self.what} is already running in pid {holder.get('pid', '?')} (started "
                            f"{holder.get('started', '?')}); wait for it or use another --results-dir") from None
        except BaseException:
            f.close()
            raise
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "run": self.what,
                            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}) + "\n")
        f.flush()
        self._file = f
        return self

    def _open(self) -> IO[str]:
        """The lock file, opened; a :class:`UserError` when a file or folder is in the way."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return open(self.path, "a+", encoding="utf-8")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            blocker = self.path if self.path.is_dir() else self.path.parent
            raise UserError(f"{blocker} is in the way of the run locks (the results folder keeps them in "
                            f"{self.path.parent}/, one file per run); move it away") from None

    def release(self) -> None:
        if self._file is not None:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(f: IO[str]) -> dict:
    """The note the holder wrote (may be empty: it may not have written it yet)."""
    try:
        f.seek(0)
        note = json.loads(f.read(4096) or "{}")
        return note if isinstance(note, dict) else {}
    except (OSError, ValueError):
        return {}
