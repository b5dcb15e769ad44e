"""Safe checkpoints: written atomically with a SHA-256 beside them, read back with ``weights_only=True``.

Checkpoints are files people copy and share, so loading one must never run code: ``torch.load`` is
called with ``weights_only=True`` (tensors, numbers, strings and plain containers only; a pickle whose
``__reduce__`` would run something is refused before anything runs).  Before that, the file's SHA-256
is checked against ``<name>.sha256`` beside it, which catches truncation, bit rot and a file swapped
for another.  Any failure raises :class:`CorruptCheckpoint` with the reason; the caller decides (the
:class:`~benchmark.train.resume.Checkpointer` logs it and starts the run afresh).

The checksum file may list two digests: during a save it names the new checkpoint *and* the one it
replaces, so a kill between replacing the checkpoint and rewriting the checksum leaves a pair that
still verifies (both digests are of files this code wrote).
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Optional

import torch

from benchmark.atomic import atomic_save, atomic_write_text

CHUNK = 1 << 20


class CorruptCheckpoint(Exception):
    """A checkpoint that is missing its checksum, does not match it, or is not a plain-data file."""


def checksum_path(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + ".sha256")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _read_digests(path: Path) -> List[str]:
    try:
        text = checksum_path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    return [line.split()[0].lower() for line in text.splitlines() if line.split()]


def _write_digests(path: Path, digests: List[str]) -> None:
    atomic_write_text(checksum_path(path), "".join(f"{d}  {path.name}\n" for d in digests))


PLAIN_LEAVES = (str, bytes, int, float, bool, type(None), torch.Tensor, torch.Size, torch.dtype, torch.device)


def to_plain(obj: Any, where: str = "state") -> Any:
    """``obj`` with NumPy scalars and arrays turned into Python numbers and tensors, so that
    ``weights_only=True`` reads it back; anything else that is not plain data is a ``TypeError`` naming
    where it is (found when saving, not as a discarded checkpoint when resuming)."""
    import numpy as np

    if isinstance(obj, np.generic):  # first: np.float64 is also a float
        return obj.item()
    if isinstance(obj, PLAIN_LEAVES):
        return obj
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(obj.copy())
    if isinstance(obj, dict):
        items = {k: to_plain(v, f"{where}[{k!r}]") for k, v in obj.items()}
        if all(items[k] is v for k, v in obj.items()):
            return obj  # unchanged: keep the very object (a state_dict's _metadata included)
        out = OrderedDict(items) if isinstance(obj, OrderedDict) else items
        if hasattr(obj, "_metadata"):
            out._metadata = obj._metadata  # type: ignore[attr-defined]
        return out
    if type(obj) in (list, tuple):
        items = [to_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return obj if all(a is b for a, b in zip(items, obj)) else type(obj)(items)
    raise TypeError(f"checkpoint {where} is a {type(obj).__module__}.{type(obj).__qualname__}, not plain data "
                    "(tensors, numbers, strings, lists, dicts): it could not be loaded with weights_only=True")


def save_checkpoint(path: Path, state: Dict[str, Any]) -> Path:
    """``torch.save(state)`` atomically, then its SHA-256 beside it (see the module doc for the order)."""
    path = Path(path)
    state = to_plain(state)
    digest: List[str] = []

    def write(tmp: Path) -> None:
        torch_save(state, tmp, path)
        digest.append(file_sha256(tmp))
        old = [d for d in _read_digests(path) if d != digest[0]] if path.exists() else []
        _write_digests(path, digest + old[:1])  # new and old both verify until the replace below is done

    atomic_save(path, write)
    _write_digests(path, digest)
    return path


class _Writes(io.RawIOBase):
    """A file's ``write`` that keeps the OSError it raised: torch's zip writer turns it into a RuntimeError
    ("unexpected pos ..."), which would hide a full disk behind what looks like a failing model."""

    def __init__(self, f: BinaryIO) -> None:
        super().__init__()
        self.f, self.error = f, None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        try:
            return self.f.write(data)
        except OSError as e:
            self.error = e
            raise


def torch_save(state: Any, path: Path, name: Optional[Path] = None) -> None:
    """``torch.save(state, path)``, where a write the file system refuses (``ENOSPC``, ``EDQUOT``, ``EIO``)
    raises its own :class:`OSError` naming ``name`` (default ``path``), so a full disk is the disk-full user
    error, not a failed model."""
    with open(path, "wb") as f:
        sink = _Writes(f)
        try:
            torch.save(state, sink)
        except (RuntimeError, OSError):
            if sink.error is None:
                raise
            raise OSError(sink.error.errno, sink.error.strerror, str(name or path)) from None


def verify_checkpoint(path: Path) -> None:
    """Raise :class:`CorruptCheckpoint` unless ``path`` matches a digest in its ``.sha256`` file."""
    expected = _read_digests(path)
    if not expected:
        raise CorruptCheckpoint(f"no checksum file {checksum_path(path).name} beside it")
    try:
        actual = file_sha256(path)
    except OSError as e:
        raise CorruptCheckpoint(f"cannot read it: {e}") from None
    if actual not in expected:
        raise CorruptCheckpoint(f"its SHA-256 {actual[:12]}... does not match {checksum_path(path).name} "
                                "(truncated, corrupted or replaced)")


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """The verified state dict at ``path``; never unpickles anything but plain data."""
    verify_checkpoint(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError, OSError, MemoryError, RecursionError) as e:
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        raise CorruptCheckpoint(f"not a plain-data checkpoint ({type(e).__name__}: {first})") from None
    if not isinstance(state, dict):
        raise CorruptCheckpoint(f"holds a {type(state).__name__}, not a dict")
    return state
