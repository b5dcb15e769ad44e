"""The notebooks (one per task spec, written by ``scripts/make_notebooks.py``): they run headlessly, top to
bottom, on synthetic smoke-like records and on empty stores; each falls back on its own to the reference; the
committed ones are executed against the current reference records.

Run on their own with ``tox -e notebooks``.  Skipped when nbclient or a ``python3`` Jupyter kernel is
missing.  ``test_notebook_server.py`` opens them in a JupyterLab server.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from benchutil import REPO

from benchmark.results import write_record

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e .[test])")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e .[test])")


def _generator():
    """``scripts/make_notebooks.py`` as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_notebooks", REPO / "scripts" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = _generator()
TASKS = tuple(MAKE.specs())
REGENERATE = f"stale: run `{MAKE.REGENERATE}` (results/reference changed, or the notebooks' cells did)"
FAMILIES = {"resnet_s32": "ResNet", "seresnet_s32": "SE-ResNet", "swin_s32": "Swin", "pvt_v2_s32": "PVT",
            "sase_resnet_s32": "SASE-ResNet"}


def _kernel_available() -> bool:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return "python3" in KernelSpecManager().find_kernel_specs()
    except Exception:
        return False


KERNEL = pytest.mark.skipif(not _kernel_available(), reason="no 'python3' Jupyter kernel (pip install ipykernel)")


def _record(suite: str, model: str, family: str, seed: int, **fields) -> dict:
    return {"run_id": f"20260101T000000-{suite}-smoke-{model}-s{seed}", "suite": suite, "model": model,
            "family": family, "preset": "smoke", "seed": seed, "status": "completed", "device": "cpu", "in_suite": True,
            "precision": "fp32", "finished_at": f"2026-01-01T00:00:0{seed}+00:00", **fields}


def write_smoke_like_records(root: Path, tasks=("recognition", "synthesis", "one-shot")) -> Path:
    """Two seeds of every default model of ``tasks``, with the fields the runner records."""
    root.mkdir(parents=True, exist_ok=True)
    for seed in (0, 1):
        for i, (model, family) in enumerate(FAMILIES.items() if "recognition" in tasks else ()):
            write_record(root, _record("recognition", model, family, seed, dataset="fashion_mnist",
                                       recipe="adamw-smoke", top1=20.0 + 5 * i + seed, top5=60.0 + i,
                                       params=1e6 + 1e5 * i, gmacs=0.012 + 0.001 * i, flops_counter="fvcore",
                                       train_img_per_s=300.0 + seed, infer_img_per_s=1000.0 + i, wall_s=2.0,
                                       history=[{"epoch": e, "top1": 10.0 * e + seed} for e in (1, 2)]))
        for model, family, fid in (("fastgan", "FastGAN", 100.0), ("sase_gan", "SASE-GAN", 90.0)):
            if "synthesis" not in tasks:
                break
            history = [{"iteration": it, "fid": fid + 10 - it / 10 + seed} for it in (0, 50, 100)]
            write_record(root, _record("synthesis", model, family, seed, dataset="fmnist-16shot-sneaker",
                                       recipe="fastgan-smoke", fid=fid + seed, kid=0.01, swd=500.0,
                                       feature_extractor="fmnist-cnn-test", fid_samples=32, params=4e5,
                                       params_d=1.4e5, gmacs=0.038, infer_img_per_s=500.0, wall_s=1.0,
                                       sample_grid="samples/missing.png", history=history))
        for model, family, sifid in (("singan", "SinGAN", 2.0), ("sase_singan", "SASE-SinGAN", 1.8)):
            if "one-shot" not in tasks:
                break
            curve = [{"iter": it, "reconstruction": 0.2 - it / 1000 + 0.01 * seed} for it in range(0, 100, 10)]
            write_record(root, _record("one-shot", model, family, seed, dataset="skimage-photos", image="coffee",
                                       recipe="singan-smoke", sifid_extractor="fmnist-cnn-test", sifid=sifid + seed,
                                       ssim_coarse=0.3 + 0.1 * seed, patch_swd=100.0, diversity=0.5, num_scales=2,
                                       params=1.2e5, params_d=1.1e5, gmacs=0.25, train_s_per_scale=3.0, wall_s=6.0,
                                       pyramid_picture="samples/missing.png",
                                       history=[{"scale": k, "curve": curve} for k in (0, 1)]))
    return root


def _execute(task: str, yours: Path, reference: Path, monkeypatch):
    monkeypatch.setenv("SASE_BENCH_RESULTS", str(yours))
    monkeypatch.setenv("SASE_BENCH_REFERENCE", str(reference))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = MAKE.notebook(MAKE.specs()[task])
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(REPO / "notebooks")}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    return nb


def _text(nb) -> str:
    """Everything the notebook printed or displayed as text, markdown or HTML."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.extend(str(out.get("data", {}).get(k, "")) for k in ("text/markdown", "text/html"))
    return "\n".join(parts)


@KERNEL
@pytest.mark.parametrize("task", TASKS)
def test_notebook_runs_on_smoke_like_records(task, tmp_path, monkeypatch):
    """Your runs shown, and set beside a reference that holds the same settings."""
    yours = write_smoke_like_records(tmp_path / "results")
    reference = shutil.copytree(yours, tmp_path / "reference")
    text = _text(_execute(task, yours, reference, monkeypatch))
    assert "(your runs)" in text
    assert "prediction interval" in text  # the beside table


@KERNEL
@pytest.mark.parametrize("task", TASKS)
def test_notebook_runs_on_an_empty_store(task, tmp_path, monkeypatch):
    text = _text(_execute(task, tmp_path / "empty", tmp_path / "empty-reference", monkeypatch))
    assert "No completed" in text


@KERNEL
def test_each_notebook_falls_back_to_the_reference_on_its_own(tmp_path, monkeypatch):
    """Your recognition runs do not hide the reference's synthesis runs (issue 22)."""
    yours = write_smoke_like_records(tmp_path / "results", tasks=("recognition",))
    reference = write_smoke_like_records(tmp_path / "reference", tasks=("synthesis",))
    text = _text(_execute("synthesis", yours, reference, monkeypatch))
    assert "(the committed reference: you have no completed synthesis runs" in text
    assert "No completed" not in text


def test_one_notebook_per_task_committed_executed_and_current():
    """Every notebook is committed as the generator writes it, executed against today's reference records."""
    found = MAKE.problems(REPO)
    assert not found, "\n".join([*found, REGENERATE])


def test_a_new_reference_record_makes_the_notebooks_stale(tmp_path):
    store = tmp_path / "reference"
    shutil.copytree(REPO / "results" / "reference" / "records", store / "records")
    assert MAKE.records_digest(store) == MAKE.records_digest(REPO / "results" / "reference")
    write_record(store, _record("recognition", "resnet_s32", "ResNet", 7, dataset="fashion_mnist", top1=50.0))
    stale = MAKE.problems(REPO, store)
    assert len([line for line in stale if "the reference now holds" in line]) == len(TASKS)


def test_a_change_to_the_report_code_makes_the_notebooks_stale(tmp_path):
    shown = [p for pattern in MAKE.SHOWN_CODE for p in REPO.glob(pattern)]
    assert any(p.name == "verdicts.py" for p in shown) and any(p.parent.name == "specs" for p in shown)
    copy = tmp_path / "repo"
    for path in shown:
        (copy / path.relative_to(REPO)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy / path.relative_to(REPO))
    assert MAKE.code_digest(copy) == MAKE.code_digest(REPO)
    with open(copy / "benchmark" / "report" / "verdicts.py", "a") as f:
        f.write("\n# changed\n")
    assert MAKE.code_digest(copy) != MAKE.code_digest(REPO)
