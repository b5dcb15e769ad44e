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
