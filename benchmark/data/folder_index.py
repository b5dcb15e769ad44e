"""An ImageFolder's header check, done once per listing and shared by every rank, job and run.

Checking every image's header opens each file (and reads the small ones whole): for ImageNet that is 1.33M
files, and it used to happen on every rank of every (model, seed) run.  Now the check is keyed by the split's
*listing*: the SHA-256 of every file's path (relative to the split), size and modification time, in order.
The first process that needs a key takes a file lock on it (``fcntl.flock``), checks the headers and leaves a
small marker, written atomically, in the harness cache (:func:`benchmark.paths.cache_dir`, ``image-index/``);
every other process (the other ranks of the run, side-by-side jobs, later runs) waits on the lock, finds the
marker and skips the check.  A file added, removed, replaced or touched changes the listing, hence the key,
and the split is checked again.  Listing still stats every file, on every rank (metadata only, no image is
opened).  A failed check leaves no marker.  Several nodes share the marker when the cache is on a shared file
system (``SASE_BENCH_CACHE``); otherwise each node checks once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Sequence, Tuple

from benchmark.atomic import atomic_write_text
from benchmark.paths import cache_dir

try:
    import fcntl
except ImportError:  # pragma: no cover  (not POSIX: no lock, each process checks for itself)
    fcntl = None  # type: ignore[assignment]

#: bump when the check itself changes, so that folders checked by the old one are checked again
CHECK_VERSION = 1
#: one file of a listing: (path relative to the split, size in bytes, modification time in ns)
Entry = Tuple[str, int, int]


def listing_key(entries: Sequence[Entry]) -> str:
    """SHA-256 (hex) of the check's version and every entry in order: equal keys mean the same files."""
    digest = hashlib.sha256(f"image-folder-check v{CHECK_VERSION}\n".encode())
    for rel, size, mtime_ns in entries:
        digest.update(f"{rel}\t{size}\t{mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def index_dir() -> Path:
    return cache_dir() / "image-index"


def check_once(entries: Sequence[Entry], check: Callable[[], None], what: str) -> bool:
    """Run ``check()`` unless a process already ran it on this listing; True when it ran here.  ``check``
    raises (a :class:`~benchmark.errors.UserError` naming the file) on a bad image, and then no marker is
    left, so the next run checks again."""
    key = listing_key(entries)
    marker = index_dir() / f"{key}.json"
    with _locked(index_dir() / f"{key}.lock"):
        if marker.is_file():
            return False
        check()
        note = {"checked": what, "files": len(entries), "check_version": CHECK_VERSION,
                "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        atomic_write_text(marker, json.dumps(note) + "\n")
    return True


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (blocking: the waiters are the processes that would repeat the
    check).  The kernel drops it when the holder dies, so a killed check never blocks anyone."""
    if fcntl is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def check_all(paths: List[str], check_one: Callable[[Path], None], chunk: int = 1024) -> None:
    """``check_one`` on every path, in chunks on a few threads (the check waits on the disk more than on the
    CPU); the first failure in listing order is raised and the chunks not yet started are cancelled."""
    parts = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]
    pool = ThreadPoolExecutor(max_workers=min(16, (os.cpu_count() or 1) * 2))
    try:
        for _ in pool.map(lambda part: [check_one(Path(p)) for p in part], parts):
            pass
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
