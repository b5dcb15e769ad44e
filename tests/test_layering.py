"""The dependency directions of docs/layout: checked on the source, so a regression fails CI.

Each rule says which packages a part of the tree must never import (statically, anywhere in the file,
lazy imports inside functions included).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

RULES = {
    # the model libraries know nothing of the harness
    "sase": ("benchmark",),
    "baselines": ("benchmark",),
    # the report renders records: no trainer, metric, model or task code, and no deep-learning stack
    "benchmark/report": ("benchmark.train", "benchmark.metrics", "benchmark.models", "benchmark.tasks",
                         "benchmark.data", "torch", "timm", "sase", "baselines"),
    # the schema and the store
    "benchmark/results.py": ("benchmark.train", "benchmark.models", "benchmark.tasks", "benchmark.metrics", "torch"),
    # task specs are data: light enough for the report
    "benchmark/spec.py": ("torch", "timm", "benchmark.models", "benchmark.train", "benchmark.metrics"),
    "benchmark/specs": ("torch", "timm", "benchmark.models", "benchmark.train", "benchmark.metrics",
                        "benchmark.tasks"),
    # data feeds training, never the other way round
    "benchmark/data": ("benchmark.train", "benchmark.tasks", "benchmark.metrics"),
    "benchmark/train": ("benchmark.data", "benchmark.tasks", "benchmark.report"),
    "benchmark/metrics": ("benchmark.train", "benchmark.tasks", "benchmark.report"),
}


def _files(part: str):
    path = REPO / part
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("part", sorted(RULES))
def test_dependency_directions(part):
    banned = RULES[part]
    found = [f"{path.relative_to(REPO)} imports {name}" for path in _files(part) for name in _imports(path)
             if any(name == b or name.startswith(b + ".") for b in banned)]
    assert not found, "\n".join(found)


def test_importing_the_report_loads_no_model_or_deep_learning_code():
    code = ("import sys, benchmark.report.render, benchmark.report.verdicts; "
            "from benchmark.spec import load_specs; load_specs(); "
            "print(','.join(m for m in ('torch', 'timm', 'sase', 'baselines', 'benchmark.models') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == ""
