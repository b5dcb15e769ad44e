"""The CLI end to end, in subprocesses, as a user runs it."""

import json

import pytest
from benchutil import run_cli

from benchmark.results import load_records


@pytest.mark.slow
def test_smoke_run_then_report(tmp_path, tiny_idx):
    res = tmp_path / "results"
    out = run_cli("run", "--suite", "recognition", "--preset", "smoke", "--models", "resnet_s32,swin_s32",
                  "--data", str(tiny_idx), "--seeds", "0,1", "--results-dir", str(res))
    assert out.returncode == 0, out.stderr[-3000:]
    frame = load_records(res)
    assert len(frame) == 4 and set(frame["status"]) == {"completed"}
    assert frame["top1"].between(0, 100).all() and (frame["params"] > 0).all() and (frame["gmacs"] > 0).all()
    rep = run_cli("report", "--results-dir", str(res))
    assert rep.returncode == 0, rep.stderr
    report = res / "report"
    text = (report / "README.md").read_text()
    assert "resnet_s32" in text and "swin_s32" in text and "±" in text
    # task, preset, dataset, recipe identity (name and content hash: adamw-smoke@1a2b3c4d)
    stems = [p.stem for p in report.glob("recognition_smoke_fashion-mnist-train512-val256_adamw-smoke-*.csv")]
    assert len(stems) == 1, sorted(p.name for p in report.iterdir())
    stem = stems[0]
    for suffix in (".csv", ".tex", "_top1_vs_gmacs.png", "_top1_vs_params.png", "_throughput.png"):
        assert (report / f"{stem}{suffix}").stat().st_size > 0, suffix


def test_list_shows_suites_presets_models():
    out = run_cli("list")
    assert out.returncode == 0
    for word in ("recognition", "smoke", "default", "paper", "resnet_s32", "swin_tiny_patch4_window7_224"):
        assert word in out.stdout


def test_profile_json():
    out = run_cli("profile", "--models", "resnet_s32,pvt_v2_s32", "--batch-size", "8", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["model"] for r in rows] == ["resnet_s32", "pvt_v2_s32"]
    for r in rows:
        assert {"model", "img_size", "params", "gmacs", "flops_counter", "infer_img_per_s", "device"} <= set(r)
        assert isinstance(r["params"], int) and r["img_size"] == 32 and r["infer_img_per_s"] > 0


@pytest.mark.parametrize("args, message", [
    (["run", "--suite", "nope"], "unknown suite 'nope'"),
    (["run", "--suite", "recognition", "--preset", "huge"], "no preset 'huge'"),
    (["run", "--suite", "recognition", "--models", "resnet_s99"], "unknown model 'resnet_s99'"),
    (["run", "--suite", "recognition", "--data", "/no/such/path"], "no such file or folder"),
    (["run", "--suite", "recognition", "--set", "recipe.epoch=1"], "unknown config key"),
    (["profile", "--models", "not_a_model"], "unknown model 'not_a_model'"),
])
def test_user_errors_exit_2_without_traceback(args, message, tmp_path):
    out = run_cli(*args, "--results-dir", str(tmp_path)) if args[0] == "run" else run_cli(*args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_bad_image_folder_exits_2_naming_the_file(image_folder, tmp_path):
    (image_folder / "train" / "class0" / "img3.png").write_bytes(b"garbage")
    out = run_cli("run", "--suite", "recognition", "--preset", "paper", "--models", "resnet_s32",
                  "--data", str(image_folder), "--results-dir", str(tmp_path))
    assert out.returncode == 2
    assert "img3.png" in out.stderr and "Traceback" not in out.stderr


def test_report_on_malformed_record_warns_and_goes_on(tmp_path):
    recs = tmp_path / "records" / "recognition"
    recs.mkdir(parents=True)
    (recs / "bad.json").write_text("{")
    out = run_cli("report", "--results-dir", str(tmp_path))
    assert out.returncode == 0 and "bad.json" in out.stderr


@pytest.mark.slow
def test_synthesis_smoke_run_then_report(tmp_path, tiny_idx):
    res = tmp_path / "results"
    env_cache = {"SASE_BENCH_CACHE": str(tmp_path / "cache")}
    out = run_cli("run", "--suite", "synthesis", "--preset", "smoke", "--data", str(tiny_idx),
                  "--results-dir", str(res), "--set", "data.shots=8", extra_env=env_cache)
    assert out.returncode == 0, out.stderr[-3000:]
    frame = load_records(res)
    assert sorted(frame["model"]) == ["fastgan", "sase_gan"] and set(frame["status"]) == {"completed"}
    for col in ("fid", "kid", "swd", "feature_extractor", "fid_samples", "params", "params_d", "gmacs"):
        assert frame[col].notna().all(), col
    assert frame["feature_extractor"].str.startswith("fmnist-cnn-").all()
    rep = run_cli("report", "--results-dir", str(res))
    assert rep.returncode == 0, rep.stderr
    text = (res / "report" / "README.md").read_text()
    assert "Synthesis, preset `smoke`" in text and "samples" in text


def test_profile_gan_json():
    out = run_cli("profile", "--models", "fastgan,sase_gan", "--img-size", "256", "--batch-size", "1", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["model"]: r for r in map(json.loads, out.stdout.splitlines())}
    assert rows["fastgan"]["params"] == 29_127_846 and rows["fastgan"]["params_d"] == 11_526_160
    assert rows["sase_gan"]["params"] == 28_486_942 and rows["sase_gan"]["params_d"] == 11_526_160
    assert rows["sase_gan"]["gmacs"] > 0 and "params_g" not in rows["sase_gan"]


def test_every_verb_and_preset_appears_in_its_help():
    from benchmark.suites import SUITES

    top = run_cli("--help")
    assert top.returncode == 0, top.stderr
    for verb in ("run", "report", "profile", "perf", "list"):
        assert verb in top.stdout, verb
    run = run_cli("run", "--help")
    assert run.returncode == 0, run.stderr
    text = " ".join(run.stdout.split())  # argparse wraps lines
    for suite in SUITES.names():
        presets = ", ".join(p.name for p in SUITES.get(suite).presets)
        assert f"{suite}: {presets}" in text, (suite, presets)
    for verb in ("report", "profile", "perf", "list"):
        out = run_cli(verb, "--help")
        assert out.returncode == 0 and out.stdout.startswith(f"usage: python -m benchmark {verb}"), verb


@pytest.mark.parametrize("where, message", [
    ("benchmark.cli._print_estimate", "interrupted before any run started"),
    ("benchmark.runner.run_plan", "the current run is recorded as 'interrupted'"),
])
def test_ctrl_c_says_whether_a_run_had_started(where, message, tmp_path, tiny_idx, monkeypatch, capsys):
    import signal

    from benchmark.cli import main

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(where, interrupt)
    old = signal.getsignal(signal.SIGTERM)  # main installs its own handler
    try:
        code = main(["run", "--suite", "recognition", "--preset", "smoke", "--models", "resnet_s32", "--data",
                     str(tiny_idx), "--results-dir", str(tmp_path / "results")])
    finally:
        signal.signal(signal.SIGTERM, old)
    err = capsys.readouterr().err
    assert code == 130 and message in err and "Traceback" not in err, err
    if where.endswith("_print_estimate"):
        assert "nothing was recorded" in err and not (tmp_path / "results" / "records").exists()
