"""Where the harness keeps caches that outlive a run (feature extractors, real-set statistics)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$SASE_BENCH_CACHE``, else ``$XDG_CACHE_HOME/sase-bench``, else ``~/.cache/sase-bench``."""
    if os.environ.get("SASE_BENCH_CACHE"):
        return Path(os.environ["SASE_BENCH_CACHE"]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser()
    return base / "sase-bench"
