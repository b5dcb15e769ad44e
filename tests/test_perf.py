"""The harness perf benchmark runs and writes what the closing note reports (timings are not asserted)."""

import json

import pytest
from benchutil import run_cli

from benchmark.perf.fid import measure_fid_cache


@pytest.mark.slow
def test_perf_loop_writes_json(tmp_path):
    out = run_cli("perf", "--parts", "loop", "--models", "resnet_s32", "--steps", "2", "--windows", "2",
                  "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    [path] = tmp_path.glob("harness_cpu_*.json")
    result = json.loads(path.read_text())
    [row] = result["loop"]["models"]
    assert row["model"] == "resnet_s32" and row["ratio_ours_over_bare"] > 0 and len(row["ratio_per_window"]) == 2
    assert result["loop"]["target"] == 0.95 and "env" in result


def test_perf_rejects_unknown_parts(tmp_path):
    out = run_cli("perf", "--parts", "loop,speed", "--out", str(tmp_path))
    assert out.returncode == 2 and "unknown part" in out.stderr


def test_fid_second_evaluation_reuses_the_real_statistics():
    row = measure_fid_cache(n_real=20, n_fake=40)
    assert row["same_values"] and row["first_s"] > 0 and row["second_s"] > 0
    assert row["fid_kid_ratio"] > 0 and row["swd_ratio"] > 0
