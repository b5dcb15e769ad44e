"""Replace a folder as a whole: the report is rendered beside ``report/`` and swapped in when complete.

``report`` used to delete the old report first and then write file by file, so a SIGTERM, a crash or a
full disk left no README.md (or a 0-byte CSV).  Now :func:`new_folder` gives a hidden sibling
(``.report-new.<random>``), the whole report is written there, and :func:`replace_folder` swaps it in with
two renames on one file system while SIGINT and SIGTERM are held back, so a signal never lands between
them.  Only a SIGKILL or a power cut between the two renames can leave ``report/`` missing, with the
previous report intact as ``.report-old.<pid>``: :func:`recover` puts it back at the next rendering.
Any failure before the swap removes the new folder and leaves ``report/`` untouched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, Sequence

FOLDER_MODE = 0o755  # mkdtemp makes 0700: a shared results folder's report must stay readable
STALE_MINUTES = 60.0  # a rendering takes seconds; older leftovers belong to no live process


def new_folder(out: Path) -> Path:
    """An empty hidden folder beside ``out`` (same file system, so the swap is a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-new."))
    os.chmod(tmp, FOLDER_MODE)
    return tmp


def keep_extras(out: Path, tmp: Path, rendered: Sequence[str]) -> None:
    """Copy into ``tmp`` what ``out`` holds besides rendered files (a user's notes, subfolders)."""
    if not out.is_dir():
        return
    for path in out.iterdir():
        if path.is_file() and path.suffix in rendered:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.copytree(path, tmp / path.name, symlinks=True)
        else:
            shutil.copy2(path, tmp / path.name, follow_symlinks=False)


def replace_folder(tmp: Path, out: Path) -> None:
    """Put ``tmp`` where ``out`` is; the previous ``out`` is removed only once the new one is in place."""
    old = out.with_name(f".{out.name}-old.{os.getpid()}")
    with _signals_held():
        moved = out.exists() or out.is_symlink()
        if moved:
            os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            if moved:
                os.rename(old, out)
            raise
    discard(old)


def recover(out: Path) -> None:
    """Put back a previous report a kill left between the two renames; drop stale leftovers."""
    olds = sorted(out.parent.glob(f".{out.name}-old.*"), key=_mtime)
    if olds and not (out.exists() or out.is_symlink()):
        os.rename(olds.pop(), out)
    cutoff = time.time() - STALE_MINUTES * 60
    for path in olds + [p for p in out.parent.glob(f".{out.name}-new.*") if _mtime(p) < cutoff]:
        discard(path)


def public_name(filename: object, tmp: Path, out: Path) -> str:
    """A path inside ``tmp`` as it will be under ``out``; ``out`` itself for a write that named no file (a full
    disk hit inside ``write()``)."""
    if not filename:
        return str(out)
    try:
        return str(out / Path(str(filename)).relative_to(tmp))
    except ValueError:
        return str(filename)


def discard(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (the main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
