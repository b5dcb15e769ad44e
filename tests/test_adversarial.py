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


# --- round two (issue 23) ------------------------------------------------------------------------------

ONE_SHOT = ("run", "--suite", "one-shot", "--preset", "smoke")
CASES_23 = [
    ("another task's model", ("run", "--suite", "recognition", "--preset", "smoke", "--models", "fastgan"), 2,
     "belongs to the synthesis suite, not recognition"),
    ("a one-shot model in synthesis", ("run", "--suite", "synthesis", "--preset", "smoke", "--models", "singan"), 2,
     "belongs to the one-shot suite, not synthesis"),
    ("model typo", ("run", "--suite", "recognition", "--preset", "smoke", "--models", "resnet_s23"), 2,
     "did you mean resnet_s32"),
    ("empty name", (*SMOKE, "--set", "name="), 2, "name='': must be a non-empty name"),
    ("name with a newline", (*SMOKE, "--set", "name=a\nb"), 2, "cannot hold control characters"),
    ("empty recipe name", (*SMOKE, "--set", "recipe.name= "), 2, "recipe.name='': must be a non-empty name"),
]


@pytest.mark.parametrize("name, argv, code, fragment", CASES_23, ids=[c[0] for c in CASES_23])
def test_round_two_user_errors_come_before_timing_and_leave_no_folder(name, argv, code, fragment, places, capsys,
                                                                     monkeypatch):
    def no_timing(*args):
        raise AssertionError("the estimate ran before the user error")

    monkeypatch.setattr("benchmark.cli._print_estimate", no_timing)
    test_user_errors_are_one_line_and_exit_2(name, argv, code, fragment, places, capsys)
    assert not Path(places["res"]).exists(), "a user error creates no results folder"


def test_a_held_run_is_refused_before_the_estimate(tiny_idx, tmp_path, capsys, monkeypatch):
    from benchmark.lock import RunLock

    res = tmp_path / "res"
    monkeypatch.setattr("benchmark.runner.run_key", lambda *a, **k: "the-key")
    monkeypatch.setattr("benchmark.cli._print_estimate", lambda *a: pytest.fail("timed a held run"))
    with RunLock(res, "the-key", "recognition resnet_s32 seed 0"):
        got, err = _cli([*SMOKE, "--data", tiny_idx, "--results-dir", res], capsys)
    assert got == 2 and "is already running in pid" in err and "Traceback" not in err, err
    assert not _records(res)


def test_a_file_where_the_locks_go_is_one_line(tiny_idx, tmp_path, capsys, monkeypatch):
    res = tmp_path / "res"
    res.mkdir()
    (res / "locks").write_text("in the way")
    monkeypatch.setattr("benchmark.cli._print_estimate", lambda *a: None)
    got, err = _cli([*SMOKE, "--data", tiny_idx, "--results-dir", res], capsys)
    assert got == 2 and "is in the way of the run locks" in err and "Traceback" not in err, err


# every image kind, through every task's reader: the one loader (data/images.py) decides the pixels

def _image_kinds(root: Path) -> dict:
    """name -> (path, check of the uint8 RGB array a reader returns)."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    grad = (np.linspace(0, 1, 64 * 64).reshape(64, 64) * 65535).astype(np.uint16)
    Image.fromarray(grad).save(root / "g16.png")
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 0], rgba[:, :32, 3] = 200, 255  # the transparent half holds black, which must not show
    Image.fromarray(rgba, "RGBA").save(root / "rgba.png")
    landscape = np.zeros((32, 64, 3), np.uint8)
    img = Image.fromarray(landscape)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view: 32 wide, 64 high
    img.save(root / "rot.jpg", exif=exif, quality=95)
    return {"16-bit grey": (root / "g16.png", lambda a: abs(a.mean() - 127.5) < 2),
            "transparent": (root / "rgba.png", lambda a: (a[:, 32:] == 255).all() and (a[:, :32, 0] == 200).all()),
            "exif rotated": (root / "rot.jpg", lambda a: a.shape[:2] == (64, 32))}


def _read_recognition(path: Path) -> np.ndarray:
    from benchmark.data.image_folder import NamedImageDataset

    return NamedImageDataset([(str(path), 0)], transform=np.asarray)[0][0]


def _read_synthesis(path: Path) -> np.ndarray:
    from benchmark.data.few_shot import _open

    return np.asarray(_open(path, 3))


def _read_one_shot(path: Path) -> np.ndarray:
    from benchmark.data.single_image import list_units, read_rgb

    return read_rgb(list_units(path)[0])


@pytest.mark.parametrize("reader", [_read_recognition, _read_synthesis, _read_one_shot],
                         ids=["recognition", "synthesis", "one-shot"])
@pytest.mark.parametrize("kind", ["16-bit grey", "transparent", "exif rotated"])
def test_every_task_reads_every_image_kind_right(kind, reader, tmp_path):
    path, check = _image_kinds(tmp_path / "kinds")[kind]
    arr = reader(path)
    assert arr.dtype == np.uint8 and arr.shape[2] == 3 and check(arr), (kind, arr.shape, arr.mean())


def test_only_the_image_loader_decodes_images():
    """Image.open appears in data/images.py, and in image_folder.check_image for a header check only."""
    found = {str(p.relative_to(REPO)) for p in (REPO / "benchmark").rglob("*.py") if "Image.open(" in p.read_text()}
    assert found <= {"benchmark/data/images.py", "benchmark/data/image_folder.py"}, found


def _bomb_png(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A PNG header claiming ``width`` x ``height`` (no pixel data needed: the guard reads the header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def _photo(path: Path, seed: int = 0, size=(40, 60)) -> Path:
    from PIL import Image

    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize("bad, fragment", [("bomb", "decompression bomb"), ("garbage", "unreadable image"),
                                           ("tiny", "min_size")])
def test_a_bad_photo_in_a_one_shot_folder_stops_before_any_run(bad, fragment, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(folder / "a_good.png")
    if bad == "bomb":
        _bomb_png(folder / "z_bad.png")
    elif bad == "garbage":
        (folder / "z_bad.png").write_bytes(b"\x89PNG not really")
    else:
        _photo(folder / "z_bad.png", size=(8, 60))
    monkeypatch.setattr("benchmark.runner.task_for", lambda s: pytest.fail("a run started"))
    got, err = _cli([*ONE_SHOT, "--data", folder, "--results-dir", tmp_path / "res"], capsys)
    assert got == 2 and fragment in err and "z_bad.png" in err and "Traceback" not in err, err
    assert not (tmp_path / "res").exists()


def test_one_shot_units_are_named_by_full_file_name_embedded_ones_unchanged(tmp_path):
    from benchmark.data.single_image import list_units, load_single_image
    from benchmark.runner import _data_id
    from benchmark.suites import SUITES

    _photo(tmp_path / "cat.png", 0)
    _photo(tmp_path / "cat.jpg", 1)
    units = list_units(tmp_path)
    assert [u.name for u in units] == ["cat.jpg", "cat.png"]  # two images, never two seeds of "cat"
    assert len({u.source for u in units}) == 2
    preset = SUITES.get("one-shot").preset("smoke")
    assert load_single_image(preset.data, tmp_path / "cat.png").name == "cat.png"
    embedded = list_units(None, preset.data)
    assert all(u.source == f"skimage:{u.name}" and ":" not in u.name for u in embedded)
    assert _data_id("skimage:coffee") == "skimage:coffee"  # the run key's identity of an embedded photo


def test_a_gif_is_refused_alone_as_in_a_folder(tmp_path):
    from PIL import Image

    from benchmark.data.single_image import list_units

    Image.new("P", (40, 40)).save(tmp_path / "anim.gif")
    with pytest.raises(UserError, match=r"\.gif is not an image kind"):
        list_units(tmp_path / "anim.gif")
    with pytest.raises(UserError, match="holds no images"):
        list_units(tmp_path)


# metric ranges: absurd values never reach a mean, a std or a verdict

def _record(run_id: str, **metrics) -> dict:
    return dict(schema_version=1, run_id=run_id, suite="recognition", task="recognition", model="resnet_s32",
                dataset="d", preset="smoke", seed=int(run_id[-1]), status="completed", params=1.0, gmacs=0.1, **metrics)


@pytest.mark.parametrize("field, value", [("top1", 1e308), ("top1", -5.0), ("top5", 100.5), ("gmacs", -1.0),
                                          ("top1_ema", 1e300)])
def test_a_metric_outside_its_valid_range_is_skipped_with_one_warning(field, value, tmp_path):
    from benchmark.results import load_records, write_record

    write_record(tmp_path, _record("ok0", top1=50.0, top5=90.0))
    write_record(tmp_path, _record("ok1", top1=52.0, top5=91.0))
    write_record(tmp_path, {**_record("bad2", top1=51.0, top5=90.0), field: value})
    with pytest.warns(UserWarning, match=rf"bad2.json.*'{field}'") as caught:
        frame = load_records(tmp_path)
    assert sorted(frame["run_id"]) == ["ok0", "ok1"] and len(caught) == 1
    assert np.isfinite(frame["top1"].std())


def test_valid_edges_and_a_negative_kid_are_kept():
    from benchmark.results import validate

    validate(_record("e0", top1=100.0, top5=0.0))
    validate({**_record("e1"), "suite": "synthesis", "task": "synthesis", "fid": 0.0, "kid": -0.002, "swd": 1.0})
    validate({**_record("e2"), "suite": "one-shot", "task": "one-shot", "ssim_coarse": -1.0, "sifid": 0.3})
    from benchmark.results import MalformedRecord

    with pytest.raises(MalformedRecord, match="ssim_coarse"):
        validate({**_record("e3"), "suite": "one-shot", "task": "one-shot", "ssim_coarse": 1.5})


def test_every_metric_column_declares_its_valid_range():
    from benchmark.spec import load_specs

    missing = [f"{s.name}.{c.field}" for s in load_specs().values() for c in s.columns if c.valid is None]
    assert not missing, missing


def test_report_prints_each_bad_record_once(tmp_path, capsys):
    from benchmark.results import write_record

    write_record(tmp_path, _record("ok0", top1=50.0, top5=90.0))
    write_record(tmp_path, _record("bad1", top1=1e308, top5=90.0))
    got, err = _cli(["report", "--results-dir", tmp_path, "--reference", "none"], capsys)
    assert got == 0 and err.count("bad1.json") == 1, err


# the report: replaced whole, or not at all

def _store_with_a_report(tmp_path: Path, capsys) -> Path:
    from benchmark.results import write_record

    write_record(tmp_path, _record("ok0", top1=50.0, top5=90.0))
    assert _cli(["report", "--results-dir", tmp_path, "--reference", "none"], capsys)[0] == 0
    (tmp_path / "report" / "notes.txt").write_text("mine")  # not rendered: kept across renderings
    return tmp_path / "report"


def _unchanged(report: Path, before: dict) -> None:
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".report")], "no leftovers"


def test_a_signal_while_rendering_keeps_the_previous_report(tmp_path, capsys, monkeypatch):
    import signal

    report = _store_with_a_report(tmp_path, capsys)
    before = {p.name: p.read_bytes() for p in report.iterdir()}

    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # main's handler turns it into KeyboardInterrupt, here

    monkeypatch.setattr("benchmark.report.render._status_section", killed)
    old = signal.getsignal(signal.SIGTERM)
    try:
        got, err = _cli(["report", "--results-dir", tmp_path, "--reference", "none"], capsys)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert got == 130 and "the report was not changed" in err and "Traceback" not in err, err
    _unchanged(report, before)


def test_a_full_disk_while_rendering_keeps_the_previous_report(tmp_path, capsys, monkeypatch):
    report = _store_with_a_report(tmp_path, capsys)
    before = {p.name: p.read_bytes() for p in report.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write() raises it: no file name

    monkeypatch.setattr("benchmark.report.tables.write_table", full)
    got, err = _cli(["report", "--results-dir", tmp_path, "--reference", "none"], capsys)
    assert got == 2 and "no space left while writing" in err and str(report) in err, err
    assert "previous report is kept" in err and "resume" not in err and "Traceback" not in err, err
    _unchanged(report, before)
    monkeypatch.undo()
    assert _cli(["report", "--results-dir", tmp_path, "--reference", "none"], capsys)[0] == 0
    assert (report / "notes.txt").read_text() == "mine" and (report / "README.md").stat().st_size > 0


def test_a_kill_between_the_two_renames_is_recovered(tmp_path, capsys):
    report = _store_with_a_report(tmp_path, capsys)
    os.rename(report, tmp_path / ".report-old.12345")  # SIGKILL after the first rename
    from benchmark.report import swap

    swap.recover(report)
    assert (report / "README.md").is_file() and not (tmp_path / ".report-old.12345").exists()


def test_sigterm_during_report_start_up_is_an_interruption(tmp_path, capsys, monkeypatch):
    import signal

    import benchmark.report.render as render

    def half_imported(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt:  # what an extension module's import turns it into
            raise ImportError("cannot import name 'x' (most likely due to a circular import)") from None

    (tmp_path / "records").mkdir()
    monkeypatch.setattr(render, "render_report", half_imported)
    old = signal.getsignal(signal.SIGTERM)
    try:
        got, err = _cli(["report", "--results-dir", tmp_path], capsys)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert got == 130 and "interrupted" in err and "Traceback" not in err, err


# long and odd names through `run` and `report`

def test_long_names_give_short_run_ids_never_a_refusal():
    from benchmark.names import MAX_PART, safe_part
    from benchmark.runner import new_run_id

    for model, seed in (("m" * 300, 20240101), ("sase_resnet_s32_b1m_ablation_no_softmax_g1", 2**63 - 1)):
        run_id = new_run_id("recognition", model, "ablation", seed)
        assert len(run_id) <= MAX_PART and safe_part(run_id) == run_id, run_id
        assert run_id.split("-")[-2] == f"s{seed}"


@pytest.mark.parametrize("name", ["a/b", "x" * 300, "pipe | name", "ünïcode ✓"])
def test_odd_preset_names_run_and_report(name, tmp_path, monkeypatch, capsys):
    import dataclasses

    import benchmark.runner as runner
    from benchmark.suites import SUITES

    suite = SUITES.get("recognition")
    preset = dataclasses.replace(suite.preset("smoke"), name=name)
    monkeypatch.setattr(runner, "task_for", lambda s: lambda ctx: {"top1": 1.0, "top5": 2.0, "params": 1.0,
                                                                   "gmacs": 0.1})
    records = runner.run_suite(suite, preset, ["resnet_s32"], [20240101], tmp_path)
    assert [r["status"] for r in records] == ["completed"]
    got, err = _cli(["report", "--results-dir", tmp_path, "--reference", "none"], capsys)
    assert got == 0 and "Traceback" not in err, err
    text = (tmp_path / "report" / "README.md").read_text()
    table_rows = [line for line in text.splitlines() if line.startswith("| resnet_s32")]
    assert table_rows and all(line.count(" | ") == table_rows[0].count(" | ") for line in table_rows)
    assert all(len(p.name.encode()) < 255 and "/" not in p.name for p in (tmp_path / "report").iterdir())


def test_markdown_cells_escape_pipes_and_line_breaks():
    import pandas as pd

    from benchmark.report.tables import to_markdown

    text = to_markdown(pd.DataFrame({"model": ["a|b", "c\nd"], "x": [1, 2]}))
    assert text.splitlines()[2] == "| a\\|b | 1 |" and text.splitlines()[3] == "| c d | 2 |"


# checkpoints: a full disk, and plain data of the wrong shape

def test_a_full_disk_while_saving_a_checkpoint_is_an_os_error_naming_it(tmp_path, monkeypatch):
    import torch

    from benchmark.train import checkpoint

    path = checkpoint.save_checkpoint(tmp_path / "last.pt", {"w": torch.zeros(3)})

    def full(self, data):
        self.error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise self.error

    monkeypatch.setattr(checkpoint._Writes, "write", full)
    with pytest.raises(OSError) as caught:
        checkpoint.save_checkpoint(path, {"w": torch.ones(100_000)})
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(path)
    assert torch.equal(checkpoint.load_checkpoint(path)["w"], torch.zeros(3))  # the previous one is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt", "last.pt.sha256"]


def test_a_full_disk_while_a_run_checkpoints_stops_the_suite_with_exit_2(tiny_idx, tmp_path, capsys, monkeypatch):
    from benchmark.train import checkpoint

    def full(self, data):
        self.error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        raise self.error

    monkeypatch.setattr(checkpoint._Writes, "write", full)
    monkeypatch.setattr("benchmark.cli._print_estimate", lambda *a: None)
    got, err = _cli([*SMOKE[:-1], "resnet_s32,seresnet_s32", *FAST, "--set", "runtime.ckpt_every_steps=1", "--data",
                     tiny_idx, "--results-dir", tmp_path / "res", "--jobs", "1"], capsys)
    assert got == 2 and "no space left while writing" in err and "last.pt" in err and "Traceback" not in err, err
    records = [json.loads(p.read_text()) for p in _records(tmp_path / "res")]
    assert [(r["model"], r["status"]) for r in records] == [("resnet_s32", "interrupted")], \
        "not a failed model, and the suite does not go on into the same full disk"


class _Net:
    """A run's objects: state_dict / load_state_dict, like a trainer."""

    def __init__(self):
        import torch

        self.lin = torch.nn.Linear(3, 2)
        self.step = 0

    def state_dict(self):
        return {"lin": self.lin.state_dict(), "step": self.step}

    def load_state_dict(self, state):
        self.lin.load_state_dict(state["lin"])
        self.step = state["step"]


@pytest.mark.parametrize("damage", ["key missing", "wrong shape"])
def test_a_checkpoint_of_the_wrong_shape_is_a_fresh_start(damage, tmp_path):
    import torch

    from benchmark.train.checkpoint import save_checkpoint
    from benchmark.train.resume import Checkpointer, capture_rng

    net = _Net()
    state = {"lin": {k: v + 1 for k, v in net.lin.state_dict().items()}, "step": 7}
    if damage == "key missing":
        del state["step"]  # the weights load, then the state turns out incomplete
    else:
        state["lin"]["weight"] = torch.zeros(5, 5)
    save_checkpoint(tmp_path / "last.pt", {**state, "rng_by_rank": [capture_rng()], "world": 1})
    before = {k: v.clone() for k, v in net.lin.state_dict().items()}
    torch.manual_seed(3)
    fresh_draw = torch.rand(1)
    torch.manual_seed(3)
    ckpt = Checkpointer(tmp_path / "last.pt", 1)
    assert ckpt.load_into(net) is None
    assert "does not fit this run" in ckpt.discarded and ckpt.record()["resumed"] is False
    assert all(torch.equal(before[k], v) for k, v in net.lin.state_dict().items()) and net.step == 0
    assert torch.equal(torch.rand(1), fresh_draw), "the RNGs are as at a fresh start"


# profile: memory and sizes

def test_profile_out_of_cpu_memory_is_one_line(capsys, monkeypatch):
    def oom(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 61658234880 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr("benchmark.profile_cmd.profile_classifier", oom)
    got, err = _cli(["profile", "--models", "resnet_s32", "--batch-size", "100000", "--device", "cpu"], capsys)
    assert got == 2 and "out of memory at batch 100000" in err and "smaller --batch-size" in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("size", ["20", "9"])
def test_profile_one_shot_sizes_below_the_coarsest_scale_are_one_line(size, capsys):
    got, err = _cli(["profile", "--models", "singan", "--img-size", size, "--device", "cpu"], capsys)
    assert got == 2 and "smaller than min_size=25" in err and "Traceback" not in err, err


# smaller

def test_one_shot_pictures_are_world_readable(tmp_path):
    import torch

    from benchmark.train.singan_pictures import save_sample_grid

    path = save_sample_grid(torch.zeros(4, 3, 8, 8), tmp_path / "samples" / "run.png")
    assert path.stat().st_mode & 0o777 == 0o644
