"""The notebooks run headlessly, top to bottom, on synthetic smoke-like records and on an empty store.

Run on its own with ``tox -e notebooks``.  Skipped when nbclient or a ``python3``
Jupyter kernel is missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchutil import REPO

from benchmark.results import write_record

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e .[test])")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e .[test])")

NOTEBOOKS = ("recognition", "synthesis")
FAMILIES = {"resnet_s32": "ResNet", "seresnet_s32": "SE-ResNet", "swin_s32": "Swin", "pvt_v2_s32": "PVT",
            "sase_resnet_s32": "SASE-ResNet"}


def _kernel_available() -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return "python3" in KernelSpecManager().find_kernel_specs()
    except Exception:
        return False


pytestmark = pytest.mark.skipif(not _kernel_available(), reason="no 'python3' Jupyter kernel (pip install ipykernel)")


def _record(suite: str, model: str, family: str, seed: int, **fields) -> dict:
    return {"run_id": f"20260101T000000-{suite}-smoke-{model}-s{seed}", "suite": suite, "model": model,
            "family": family, "preset": "smoke", "seed": seed, "status": "completed", "device": "cpu", "in_suite": True,
            "precision": "fp32", "finished_at": f"2026-01-01T00:00:0{seed}+00:00", **fields}


def write_smoke_like_records(root: Path) -> Path:
    """Two seeds of every default model of both suites, with the fields the runner records."""
    for seed in (0, 1):
        for i, (model, family) in enumerate(FAMILIES.items()):
            write_record(root, _record("recognition", model, family, seed, dataset="fashion_mnist",
                                       recipe="adamw-smoke", top1=20.0 + 5 * i + seed, top5=60.0 + i,
                                       params=1e6 + 1e5 * i, gmacs=0.012 + 0.001 * i, flops_counter="fvcore",
                                       train_img_per_s=300.0 + seed, infer_img_per_s=1000.0 + i, wall_s=2.0))
        for model, family, fid in (("fastgan", "FastGAN", 100.0), ("sase_gan", "SASE-GAN", 90.0)):
            history = [{"iteration": it, "fid": fid + 10 - it / 10 + seed} for it in (0, 50, 100)]
            write_record(root, _record("synthesis", model, family, seed, dataset="fmnist-16shot-sneaker",
                                       recipe="fastgan-smoke", fid=fid + seed, kid=0.01, swd=500.0,
                                       feature_extractor="fmnist-cnn-test", fid_samples=32, params=4e5,
                                       params_d=1.4e5, gmacs=0.038, infer_img_per_s=500.0, wall_s=1.0,
                                       sample_grid="samples/missing.png", history=history))
    return root


def _execute(name: str, results: Path, monkeypatch) -> None:
    monkeypatch.setenv("SASE_BENCH_RESULTS", str(results))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO / "notebooks")}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_smoke_like_records(name, tmp_path, monkeypatch):
    _execute(name, write_smoke_like_records(tmp_path / "results"), monkeypatch)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_an_empty_store(name, tmp_path, monkeypatch):
    _execute(name, tmp_path / "empty", monkeypatch)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_committed_without_outputs(name):
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
