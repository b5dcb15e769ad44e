"""Names are data, never paths: the two guards every path built from a user's name goes through.

A preset, recipe or model name can come from ``--set name=...``; a run id is built from such names and
becomes a folder and a file name.  :func:`safe_part` turns any text into one harmless path component
(only ``[A-Za-z0-9._-]``, no leading dot, no ``..``), and :func:`ensure_under` asserts that a path, once
resolved (symlinks and ``..`` included), stays inside the results dir.
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.errors import UserError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_PART = 80


def safe_part(text: object, fallback: str = "x") -> str:
    """``text`` as one path component: unsafe runs become ``_``, dots never lead or repeat."""
    part = _UNSAFE.sub("_", str(text))
    part = re.sub(r"\.{2,}", ".", part).lstrip(".-")[:MAX_PART]
    return part or fallback


def ensure_under(root: str | Path, path: str | Path) -> Path:
    """``path`` resolved; a :class:`UserError` if it is not inside ``root`` (resolved too)."""
    base = Path(root).expanduser().resolve()
    target = Path(path).expanduser().resolve()
    if target != base and base not in target.parents:
        raise UserError(f"refusing to write {path}: it resolves to {target}, outside the results dir {base}")
    return target
