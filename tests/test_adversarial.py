"""Inputs an attacker or a tired user would try: each gives one line and exit 2, or a recorded, explained
outcome; never a traceback, a lost or double-counted record, or a write outside --results-dir.

The cases are a table of (argv, expected exit code, expected message fragment), run through
:func:`benchmark.cli.main` in-process (fast); only the concurrency case needs real processes.  Add a row
for every new bug of these kinds.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from benchutil import REPO
from conftest import write_idx

from benchmark.cli import main
from benchmark.errors import UserError

SMOKE = ("run", "--suite", "recognition", "--preset", "smoke", "--models", "resnet_s32")
FAST = ("--set", "recipe.max_steps_per_epoch=2", "--set", "profile.iters=1", "--set", "profile.windows=1",
        "--set", "profile.warmup=0", "--set", "profile.infer_batch=8", "--set", "profile.train_batch=8")


def _cli(argv, capsys):
    """(exit code, stderr) of ``main(argv)``; argparse's own exits count too."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


def _records(results: Path):
    return list((results / "records").rglob("*.json")) if (results / "records").exists() else []


# (name, argv after SMOKE with {data} {res} {file} placeholders, exit code, message fragment)
CASES = [
    ("empty models", ("run", "--suite", "recognition", "--preset", "smoke", "--models", ""), 2, "--models"),
    ("empty seeds", (*SMOKE, "--seeds", ""), 2, "--seeds takes comma-separated integers"),
    ("blank seeds", (*SMOKE, "--seeds", " , "), 2, "--seeds takes comma-separated integers"),
    ("text seed", (*SMOKE, "--seeds", "zero"), 2, "--seeds takes comma-separated integers"),
    ("negative seed", (*SMOKE, "--seeds=-1"), 2, "between 0 and"),
    ("device gpu", (*SMOKE, "--device", "gpu"), 2, "--device 'gpu': unknown device"),
    ("device cuda:x", (*SMOKE, "--device", "cuda:x"), 2, "unknown device"),
    ("device cpu:0", (*SMOKE, "--device", "cpu:0"), 2, "unknown device"),
    ("results dir is a file", (*SMOKE, "--results-dir", "{file}"), 2, "is a file, not a folder"),
    ("results dir under a file", (*SMOKE, "--results-dir", "{file}/sub"), 2, "cannot write there"),
    ("zero epochs", (*SMOKE, "--set", "recipe.epochs=0"), 2, "recipe.epochs=0: must be a whole number >= 1"),
    ("negative batch", (*SMOKE, "--set", "recipe.batch_size=-4"), 2, "recipe.batch_size=-4"),
    ("nan lr", (*SMOKE, "--set", "recipe.lr=nan"), 2, "recipe.lr=nan: must be a finite number > 0"),
    ("inf lr", (*SMOKE, "--set", "recipe.lr=inf"), 2, "recipe.lr=inf"),
    ("zero lr", (*SMOKE, "--set", "recipe.lr=0"), 2, "recipe.lr=0"),
    ("zero steps per epoch", (*SMOKE, "--set", "recipe.max_steps_per_epoch=0"), 2, "recipe.max_steps_per_epoch=0"),
    ("text steps per epoch", (*SMOKE, "--set", "recipe.max_steps_per_epoch=lots"), 2, "got 'lots'"),
    ("label smoothing 1", (*SMOKE, "--set", "recipe.label_smoothing=1"), 2, "recipe.label_smoothing=1.0"),
    ("zero img size", (*SMOKE, "--set", "data.img_size=0"), 2, "data.img_size=0"),
    ("zero timing windows", (*SMOKE, "--set", "profile.windows=0"), 2, "profile.windows=0"),
    ("gan zero iterations", ("run", "--suite", "synthesis", "--preset", "smoke", "--set", "recipe.iterations=0"),
     2, "recipe.iterations=0"),
    ("gan kid subset over samples", ("run", "--suite", "synthesis", "--preset", "smoke", "--set",
                                     "recipe.kid_subset_size=100000"), 2, "kid_subset_size=100000 is larger"),
    ("missing data", (*SMOKE, "--data", "{res}/nowhere"), 2, "no such file or folder"),
    ("unknown preset", ("run", "--suite", "recognition", "--preset", "huge"), 2, "has no preset 'huge'"),
    ("unknown key", (*SMOKE, "--set", "recipe.epoch=1"), 2, "epoch"),
]


@pytest.fixture
def places(tmp_path, tiny_idx):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    return {"data": str(tiny_idx), "res": str(tmp_path / "res"), "file": str(a_file)}


@pytest.mark.parametrize("name, argv, code, fragment", CASES, ids=[c[0] for c in CASES])
def test_user_errors_are_one_line_and_exit_2(name, argv, code, fragment, places, capsys):
    argv = [a.format(**places) for a in argv]
    if "--data" not in argv:
        argv += ["--data", places["data"]] if argv[2] == "recognition" else []
    if "--results-dir" not in argv:
        argv += ["--results-dir", places["res"]]
    got, err = _cli(argv, capsys)
    assert got == code, err
    assert fragment in err, err
    assert "Traceback" not in err
    assert not _records(Path(places["res"])), "a user error leaves no record"


# --- broken data is found before a run starts ------------------------------------------------------

def _damage(root: Path, how: str) -> str:
    images = root / "train-images-idx3-ubyte.gz"
    if how == "truncated":
        raw = gzip.decompress(images.read_bytes())
        images.write_bytes(gzip.compress(raw[: len(raw) // 2]))
        return "truncated or padded"
    if how == "not gzip":
        images.write_bytes(b"garbage" * 10)
        return "is damaged"
    if how == "bad header":
        images.write_bytes(gzip.compress(b"\x00\x00\x09\x03" + b"\0" * 64))
        return "is not a 3-D uint8 IDX file"
    if how == "missing labels":
        (root / "t10k-labels-idx1-ubyte.gz").unlink()
        return "t10k-labels-idx1-ubyte(.gz) not found"
    if how == "label 12":
        write_idx(root / "train-labels-idx1-ubyte.gz", np.full(200, 12))
        return "a label is 12"
    if how == "count mismatch":
        write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(150))
        return "200 images but 150 labels"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "not gzip", "bad header", "missing labels", "label 12",
                                 "count mismatch"])
def test_corrupt_fashion_mnist_is_a_user_error_before_the_run(how, tiny_idx, tmp_path, capsys):
    fragment = _damage(tiny_idx, how)
    got, err = _cli([*SMOKE, "--data", tiny_idx, "--results-dir", tmp_path / "res"], capsys)
    assert got == 2 and fragment in err and "Traceback" not in err, err
    assert not _records(tmp_path / "res")


# --- the file system says no -----------------------------------------------------------------------

@pytest.mark.parametrize("err_no, fragment", [(errno.ENOSPC, "no space left while writing"),
                                              (errno.EROFS, "cannot write"), (errno.EACCES, "cannot write")])
def test_disk_full_or_read_only_is_one_line(err_no, fragment, tiny_idx, tmp_path, capsys, monkeypatch):
    import benchmark.runner

    def refuse(*args, **kwargs):
        raise OSError(err_no, os.strerror(err_no), str(tmp_path / "res" / "records" / "x.json"))

    monkeypatch.setattr(benchmark.runner, "run_plan", refuse)
    monkeypatch.setattr("benchmark.cli._print_estimate", lambda *a: None)  # times real steps: slow, not tested here
    got, err = _cli([*SMOKE, "--data", tiny_idx, "--results-dir", tmp_path / "res"], capsys)
    assert got == 2 and fragment in err and "x.json" in err and "Traceback" not in err, err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.splitlines()[-1]], err


# --- names are data, never paths -------------------------------------------------------------------

def test_run_ids_are_built_from_sanitised_parts():
    from benchmark.names import safe_part
    from benchmark.runner import new_run_id

    run_id = new_run_id("../../etc", "a/b", "..", -0)
    assert "/" not in run_id and ".." not in run_id and not run_id.startswith(".")
    assert safe_part("..") == "x" and safe_part(".hidden") == "hidden" and safe_part("a..b") == "a.b"


def test_a_hostile_preset_name_writes_only_under_the_results_dir(tmp_path, monkeypatch):
    import dataclasses

    import benchmark.runner as runner
    from benchmark.results import load_records
    from benchmark.suites import SUITES

    suite = SUITES.get("recognition")
    preset = dataclasses.replace(suite.preset("smoke"), name="../../../escaped/x")
    monkeypatch.setattr(runner, "task_for", lambda s: lambda ctx: {"top1": 1.0})
    results = tmp_path / "deep" / "res"
    runner.run_suite(suite, preset, ["resnet_s32"], [0], results)
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert written and all(results.resolve() in p.resolve().parents for p in written), written
    frame = load_records(results)
    assert list(frame["preset"]) == ["../../../escaped/x"] and list(frame["status"]) == ["completed"]


def test_ensure_under_refuses_escapes(tmp_path):
    from benchmark.names import ensure_under

    ensure_under(tmp_path, tmp_path / "records" / "a.json")
    with pytest.raises(UserError, match="outside the results dir"):
        ensure_under(tmp_path, tmp_path / "records" / ".." / ".." / "a.json")
    (tmp_path / "link").symlink_to(tmp_path.parent)
    with pytest.raises(UserError):
        ensure_under(tmp_path, tmp_path / "link" / "a.json")


# --- the store and the lock ------------------------------------------------------------------------

def test_report_into_a_file_is_one_line(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    got, err = _cli(["report", "--results-dir", a_file], capsys)
    assert got == 2 and "a_file" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_report_survives_bad_record_files(tmp_path, capsys):
    from benchmark.results import write_record

    write_record(tmp_path, dict(run_id="ok", suite="recognition", model="resnet_s32", dataset="d", preset="smoke",
                                seed=0, status="completed", top1=50.0, top5=90.0, params=1.0, gmacs=0.1))
    bad = tmp_path / "records" / "recognition"
    (bad / "latin1.json").write_bytes(b"\xff\xfe{")
    (bad / "nan.json").write_text(json.dumps({"run_id": "nan", "suite": "recognition", "model": "m", "dataset": "d",
                                              "preset": "smoke", "seed": 0, "status": "completed",
                                              "schema_version": 1, "top1": "NaN"}))
    got, err = _cli(["report", "--results-dir", tmp_path], capsys)
    assert got == 0 and "latin1.json" in err and "nan.json" in err and "Traceback" not in err, err


def test_one_lock_per_run_key(tmp_path):
    from benchmark.lock import RunLock

    with RunLock(tmp_path, "key-a", "recognition m seed 0"):
        with pytest.raises(UserError, match=rf"run recognition m seed 0 is already running in pid {os.getpid()}"):
            RunLock(tmp_path, "key-a", "recognition m seed 0").acquire()
        with RunLock(tmp_path, "key-b"):  # another configuration runs side by side
            pass
    with RunLock(tmp_path, "key-a"):  # released on exit
        pass


@pytest.mark.slow
def test_two_identical_commands_never_merge(tmp_path, tiny_idx):
    """Started together: one measures, the other refuses (exit 2) or finds it completed; never one merged run."""
    res = tmp_path / "res"
    argv = [sys.executable, "-m", "benchmark", *SMOKE, *FAST, "--data", str(tiny_idx), "--results-dir", str(res)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    t0 = time.time()
    outs = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in outs)
    records = [json.loads(p.read_text()) for p in _records(res)]
    assert [r["status"] for r in records] == ["completed"], (outs, records)
    if codes == [0, 2]:
        [refusal] = [err for code, err in outs if code == 2]
        assert "is already running in pid" in refusal and "Traceback" not in refusal, refusal
    else:  # the second started after the first had finished
        assert codes == [0, 0] and any("already completed" in err for _, err in outs), outs
    assert len(list((res / "runs").iterdir())) == 1
    assert time.time() - t0 < 300
