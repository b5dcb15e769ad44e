"""Nothing lost: a run SIGKILLed mid-training and started again with the same command ends bit-identical.

The run uses the DeiT recipe, so RandAugment (Python RNG), Mixup/CutMix (NumPy RNG), random erasing and
drop-path (torch RNG) all have to come back exactly from the checkpoint for the weights to match.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from benchutil import REPO, run_cli

from benchmark.results import load_record_dicts
from benchmark.train.classify import TIMING_KEYS

ARGS = ("run", "--suite", "recognition", "--preset", "smoke", "--recipe", "deit", "--models", "resnet_s32",
        "--set", "recipe.epochs=8", "--set", "recipe.batch_size=16", "--set", "recipe.max_steps_per_epoch=none",
        "--set", "runtime.ckpt_every_steps=4")


def _strip(history):
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in history]


def _kill_mid_training(args, results, delay=0.4, timeout=120):
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while not list(results.glob("runs/*/checkpoints/last.pt")):
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"


@pytest.mark.slow
def test_sigkill_then_same_command_resumes_bit_identically(tmp_path, tiny_idx):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    args = (*ARGS, "--data", str(tiny_idx))
    out = run_cli(*args, "--results-dir", str(whole))
    assert out.returncode == 0, out.stderr[-2000:]

    _kill_mid_training((*args, "--results-dir", str(killed)), killed)
    [dead] = load_record_dicts(killed)
    assert dead["status"] == "interrupted"  # the placeholder written at start: a killed run is never a result
    out = run_cli(*args, "--results-dir", str(killed))
    assert out.returncode == 0, out.stderr[-2000:]

    [a] = load_record_dicts(whole)
    [b] = load_record_dicts(killed)
    assert b["run_id"] == dead["run_id"] and b["resumed"] and not a["resumed"]
    assert b["status"] == "completed"
    assert b["weights_digest"] == a["weights_digest"]
    assert (b["top1"], b["top5"]) == (a["top1"], a["top5"])
    assert _strip(b["history"]) == _strip(a["history"])
    assert len(a["history"]) == 8 and "top1_ema" in a and b["top1_ema"] == a["top1_ema"]  # the EMA resumes too


@pytest.mark.slow
def test_same_command_keeps_a_completed_run_unless_rerun(tmp_path, tiny_idx):
    args = ("run", "--suite", "recognition", "--preset", "smoke", "--models", "resnet_s32", "--data", str(tiny_idx),
            "--results-dir", str(tmp_path))
    assert run_cli(*args).returncode == 0
    again = run_cli(*args)
    assert again.returncode == 0 and "already completed" in again.stderr
    assert len(load_record_dicts(tmp_path)) == 1
    assert run_cli(*args, "--rerun").returncode == 0
    assert len(load_record_dicts(tmp_path)) == 2
    config = json.loads(next(tmp_path.glob("runs/*/config.json")).read_text())
    assert config["model"] == "resnet_s32"


# --- safe checkpoints: checksummed, weights_only, discarded with a reason when bad --------------------

class _Bomb:
    """A pickle that would create a file when unpickled by a full unpickler."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


def _saved(tmp_path):
    from benchmark.train.resume import Checkpointer

    path = tmp_path / "run" / "checkpoints" / "last.pt"
    Checkpointer(path, 1).save({"weights": torch.ones(3), "position": {"epoch": 1}})
    return path


def test_rng_states_round_trip_under_weights_only(tmp_path):
    import random

    import numpy as np

    from benchmark.train.resume import Checkpointer, seed_everything

    seed_everything(7)
    random.gauss(0, 1), np.random.randn()  # a cached Gaussian in both
    g = torch.Generator().manual_seed(3)
    ckpt = Checkpointer(tmp_path / "last.pt", 1)
    ckpt.save({"step": 5}, g)
    expected = (random.random(), random.gauss(0, 1), np.random.randn(), torch.rand(1).item(),
                torch.rand(1, generator=g))
    seed_everything(99)
    g.manual_seed(0)
    state = Checkpointer(tmp_path / "last.pt", 1).load(g)
    assert state["step"] == 5
    assert (random.random(), random.gauss(0, 1), np.random.randn(), torch.rand(1).item(),
            torch.rand(1, generator=g)) == expected


@pytest.mark.parametrize("refresh_checksum", [False, True])
def test_a_pickle_bomb_checkpoint_runs_nothing_and_is_discarded(tmp_path, refresh_checksum):
    import pickle

    from benchmark.train.checkpoint import checksum_path, file_sha256
    from benchmark.train.resume import Checkpointer

    path = _saved(tmp_path)
    target = tmp_path / "pwned"
    with open(path, "wb") as f:
        pickle.dump({"model": _Bomb(target)}, f)
    if refresh_checksum:  # an attacker who also rewrites the checksum still cannot run code
        checksum_path(path).write_text(f"{file_sha256(path)}  last.pt\n")
        torch.save({"model": _Bomb(target)}, path)
        checksum_path(path).write_text(f"{file_sha256(path)}  last.pt\n")
    ckpt = Checkpointer(path, 1)
    assert ckpt.load() is None
    assert not target.exists()
    assert "started afresh" in ckpt.discarded and ckpt.record()["resumed"] is False


@pytest.mark.parametrize("damage", ["truncate", "flip", "no_checksum", "other_checkpoint"])
def test_a_damaged_checkpoint_is_discarded_with_its_reason(tmp_path, damage, caplog):
    from benchmark.train.checkpoint import checksum_path
    from benchmark.train.resume import Checkpointer

    path = _saved(tmp_path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
    elif damage == "no_checksum":
        checksum_path(path).unlink()
    else:
        torch.save({"weights": torch.zeros(3)}, path)
    ckpt = Checkpointer(path, 1)
    with caplog.at_level("WARNING"):
        assert ckpt.load() is None
    reason = {"truncate": "does not match", "flip": "does not match", "no_checksum": "no checksum",
              "other_checkpoint": "does not match"}[damage]
    assert reason in ckpt.discarded and "last.pt" in caplog.text
    assert ckpt.record() == {"checkpoint_discarded": ckpt.discarded, "resumed": False}


def test_a_good_checkpoint_verifies_and_keeps_no_temp_files(tmp_path):
    from benchmark.train.checkpoint import checksum_path
    from benchmark.train.resume import Checkpointer

    path = _saved(tmp_path)
    Checkpointer(path, 1).save({"weights": torch.full((3,), 2.0), "position": {"epoch": 2}})
    ckpt = Checkpointer(path, 1)
    state = ckpt.load()
    assert state["position"]["epoch"] == 2 and ckpt.discarded is None
    assert ckpt.record() == {"checkpoint_discarded": None}
    assert len(checksum_path(path).read_text().splitlines()) == 1
    assert path.stat().st_mode & 0o777 == 0o644
    assert not list(path.parent.glob(".*.tmp"))


def test_a_kill_between_checkpoint_and_checksum_still_verifies(tmp_path, monkeypatch):
    """The checksum file names the new and the old digest while the checkpoint is replaced."""
    from benchmark.train import checkpoint as C

    path = _saved(tmp_path)
    real = C._write_digests
    calls = []

    def die_after_first(p, digests):
        calls.append(list(digests))
        if len(calls) == 2:  # the final rewrite, after os.replace: the process "dies" here
            raise KeyboardInterrupt
        real(p, digests)

    monkeypatch.setattr(C, "_write_digests", die_after_first)
    with pytest.raises(KeyboardInterrupt):
        C.save_checkpoint(path, {"weights": torch.zeros(3)})
    monkeypatch.setattr(C, "_write_digests", real)
    assert len(calls[0]) == 2
    assert torch.equal(C.load_checkpoint(path)["weights"], torch.zeros(3))


def test_stale_temp_files_are_cleaned_and_fresh_ones_kept(tmp_path):
    from benchmark.atomic import clean_stale_temps

    old, fresh, other = tmp_path / "a" / ".last.pt.x1.tmp", tmp_path / ".r.json.x2.tmp", tmp_path / "keep.tmp"
    for p in (old, fresh, other):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert clean_stale_temps(tmp_path, older_than_min=60) == [old]
    assert fresh.exists() and other.exists() and not old.exists()


def test_atomic_write_keeps_the_old_file_when_the_disk_is_full(tmp_path):
    import errno

    from benchmark.atomic import atomic_save, atomic_write_text

    path = atomic_write_text(tmp_path / "r.json", "old")

    def full(tmp):
        tmp.write_text("partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    with pytest.raises(OSError):
        atomic_save(path, full)
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["r.json"]


def test_numpy_values_are_saved_as_plain_data_and_objects_are_refused(tmp_path):
    import numpy as np

    from benchmark.train.checkpoint import load_checkpoint, save_checkpoint

    path = save_checkpoint(tmp_path / "last.pt", {"history": [{"fid": np.float64(12.5), "n": np.int64(3)}],
                                                  "mask": np.arange(3)})
    state = load_checkpoint(path)
    assert state["history"] == [{"fid": 12.5, "n": 3}] and torch.equal(state["mask"], torch.arange(3))
    with pytest.raises(TypeError, match=r"state\['bad'\] is a .*Path"):
        save_checkpoint(tmp_path / "other.pt", {"bad": tmp_path})
