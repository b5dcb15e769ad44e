"""Atomic file writes: a file is either the old one or the new one, never half of one.

Every writer of the harness (records, run configs, checkpoints, cached weights) goes through
:func:`atomic_save`: the content goes to a hidden temp file ``.<name>.<random>.tmp`` in the same folder
(so ``os.replace`` is a rename on one file system), is flushed and fsynced, gets mode 0644 (``mkstemp``
makes 0600, which hid shared records from other users), then replaces the target.  On any error,
``KeyboardInterrupt`` and a full disk included, the temp file is removed and the old target is left
as it was.  A SIGKILL between ``mkstemp`` and ``os.replace`` can still leave a temp file behind:
:func:`clean_stale_temps` removes those once they are old enough not to belong to a live writer.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Callable, List

FILE_MODE = 0o644
STALE_TEMP_MINUTES = 60.0  # a live writer touches its temp file far more often than this


def atomic_save(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` (e.g. ``lambda p: torch.save(obj, p)``), then move the result to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        writer(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_save(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 (whatever the locale says), atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def clean_stale_temps(folder: str | Path, older_than_min: float = STALE_TEMP_MINUTES,
                      recursive: bool = True) -> List[Path]:
    """Remove temp files (``.*.tmp``) under ``folder`` not modified for ``older_than_min`` minutes.

    Such files are what a writer killed mid-write leaves; younger ones may belong to a live writer
    (another process on the same results dir) and are kept.  Returns the removed paths.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    cutoff = time.time() - older_than_min * 60.0
    removed = []
    for p in (folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp")):
        try:
            if p.is_file() and not p.is_symlink() and p.stat().st_mtime < cutoff:
                p.unlink()
                removed.append(p)
        except OSError:  # gone meanwhile, or not ours to remove: leave it
            continue
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; some file systems refuse to open a folder, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
