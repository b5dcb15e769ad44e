"""SHA-256 digests of weights and files: the one place the suite hashes what it needs to compare.

``tensor_digest`` hashes names, dtypes, shapes and bytes of a state dict in sorted order, so it does not
depend on pickling or on the dict's order: equal digests mean bit-equal weights.  ``file_sha256`` reads a
file once per (path, size, mtime).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Mapping, Union

import torch


def tensor_digest(state_dict: Mapping[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def file_sha256(path: Union[str, Path]) -> str:
    st = os.stat(path)
    return _file_sha256(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=None)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
