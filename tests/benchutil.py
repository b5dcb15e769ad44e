"""Helpers shared by the tests (not fixtures): paths and a CLI runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FMNIST = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 600, extra_env: dict | None = None):
    """Run ``python -m benchmark ARGS`` in a subprocess; returns the CompletedProcess."""
    import subprocess

    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
           **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=timeout)
