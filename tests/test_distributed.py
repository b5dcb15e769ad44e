"""torchrun with 2 CPU processes (gloo): one record per run, top-1 over the whole validation set once."""

import os
import subprocess
import sys

import pytest
import torch
from benchutil import REPO

from benchmark.data.batches import TensorBatches
from benchmark.results import load_record_dicts


def _torchrun(*args, timeout=300):
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "benchmark", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout)


@pytest.mark.slow
def test_torchrun_two_processes_recognition(tmp_path, tiny_idx):
    out = _torchrun("run", "--suite", "recognition", "--preset", "smoke", "--models", "resnet_s32,swin_s32",
                    "--data", str(tiny_idx), "--results-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    records = load_record_dicts(tmp_path)
    assert len(records) == 2 and {r["model"] for r in records} == {"resnet_s32", "swin_s32"}
    for r in records:
        assert r["status"] == "completed" and r["world_size"] == 2 and r["dist_backend"] == "gloo"
        assert r["eval_samples"] == r["val_set_size"] == 100  # each image once, no padding
        assert r["global_batch"] == 128 and r["lr_effective"] == pytest.approx(2 * 2e-3)
    assert out.stdout.count("runs completed") == 1  # rank 1 prints nothing


@pytest.mark.slow
def test_torchrun_two_processes_synthesis(tmp_path):
    out = _torchrun("run", "--suite", "synthesis", "--preset", "smoke", "--models", "fastgan",
                    "--results-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    [r] = load_record_dicts(tmp_path)
    assert r["status"] == "completed" and r["world_size"] == 2 and r["fid"] >= 0


@pytest.mark.parametrize("n, world", [(10, 2), (11, 2), (7, 3)])
def test_shards_cover_evaluation_once_and_train_evenly(n, world):
    x, y = torch.zeros(n, 4, 4, dtype=torch.uint8), torch.arange(n)
    seen = []
    for rank in range(world):
        seen += torch.cat([b for _, b in TensorBatches(x, y, 2, 4, rank=rank, world=world)]).tolist()
    assert sorted(seen) == list(range(n))
    steps = {len(TensorBatches(x, y, 2, 4, shuffle=True, rank=r, world=world)) for r in range(world)}
    assert len(steps) == 1


def test_resume_mid_epoch_yields_the_rest_of_the_epoch():
    x, y = torch.zeros(20, 4, 4, dtype=torch.uint8), torch.arange(20)
    full = TensorBatches(x, y, 4, 4, shuffle=True, augment=True, seed=3)
    full.set_epoch(1)
    whole = list(full)
    full.set_epoch(1, start_step=2)
    rest = list(full)
    assert len(rest) == 3
    for (xa, ya), (xb, yb) in zip(whole[2:], rest):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_image_folder_shards_and_resumes(image_folder):
    from benchmark.config import DataSpec
    from benchmark.data.loaders import build_loaders

    spec = DataSpec("image_folder", img_size=32, augment=False)
    ranks = [build_loaders(spec, 2, 3, 0, str(image_folder), rank=r, world=2) for r in range(2)]
    assert sum(sum(len(y) for _, y in r.val) for r in ranks) == ranks[0].val_samples == 9
    train = ranks[0].train
    assert len(train) == 4  # 18 images, 9 per rank, batches of 2, last partial batch dropped
    train.set_epoch(1)
    whole = [y for _, y in train]
    train.set_epoch(1, start_step=1)
    rest = [y for _, y in train]
    assert len(rest) == 3 and all(torch.equal(a, b) for a, b in zip(whole[1:], rest))
