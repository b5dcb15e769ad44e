"""Issue 21 item 7 (launch robustness) and item 5 (the best epoch beside the last)."""

import dataclasses
import os
import threading

import pytest

from benchmark.config import DataSpec
from benchmark.data import folder_index
from benchmark.data import image_folder as IF
from benchmark.data.loaders import build_loaders, worker_seed
from benchmark.errors import UserError
from benchmark.recipes import DEIT


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SASE_BENCH_CACHE", str(tmp_path / "cache"))


def _paper_run(image_folder, tmp_path, **recipe):
    from benchmark.runner import run_suite
    from benchmark.suites import SUITES

    suite = SUITES.get("recognition")
    preset = suite.preset("paper")
    preset = dataclasses.replace(preset, recipe=dataclasses.replace(preset.recipe, **recipe),
                                 data=dataclasses.replace(preset.data, img_size=32))
    return run_suite(suite, preset, ["resnet_s32"], [0], tmp_path / "results", str(image_folder))


def test_zero_training_steps_is_a_user_error_before_training(image_folder, tmp_path):
    """18 training images at batch 128 with drop_last: no step would train, and no record is written."""
    with pytest.raises(UserError, match="no training step per epoch.*--batch-size"):
        _paper_run(image_folder, tmp_path, batch_size=128)
    assert not list((tmp_path / "results" / "records").rglob("*.json"))


def test_zero_epochs_is_a_user_error(image_folder, tmp_path):
    with pytest.raises(UserError, match="--epochs"):
        _paper_run(image_folder, tmp_path, epochs=0, batch_size=4)


def test_best_epoch_is_the_first_maximum_with_its_top5():
    from benchmark.tasks.recognition import best_epoch

    history = [{"epoch": 1, "top1": 50.0, "top5": 80.0}, {"epoch": 2, "top1": 61.0, "top5": 85.0},
               {"epoch": 3, "top1": 61.0, "top5": 86.0}, {"epoch": 4, "top1": 60.5, "top5": 90.0}]
    assert best_epoch(history) == {"top1_best": 61.0, "top1_best_epoch": 2, "top5_at_best": 85.0}


def _count_checks(monkeypatch):
    calls = []
    real = IF.check_image
    monkeypatch.setattr(IF, "check_image", lambda p: (calls.append(p), real(p)))
    return calls


def test_a_folder_is_checked_once_per_listing(image_folder, monkeypatch):
    calls = _count_checks(monkeypatch)
    samples, _ = IF.scan_split(image_folder, "train")
    assert len(calls) == len(samples) == 18
    IF.scan_split(image_folder, "train")  # another rank, job or run: the listing is unchanged
    assert len(calls) == 18
    touched = image_folder / "train" / "class0" / "img0.png"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    IF.scan_split(image_folder, "train")  # a touched file: another listing, checked again
    assert len(calls) == 36


def test_a_failed_check_leaves_no_marker(image_folder):
    bad = image_folder / "train" / "class1" / "img2.png"
    good = bad.read_bytes()
    bad.write_bytes(b"garbage")
    for _ in range(2):  # checked again each time, never remembered as good
        with pytest.raises(UserError, match="unreadable image .*img2.png"):
            IF.scan_split(image_folder, "train")
    bad.write_bytes(good)
    IF.scan_split(image_folder, "train")
    assert len(list(folder_index.index_dir().glob("*.json"))) == 1


def test_concurrent_scans_check_once(image_folder, monkeypatch):
    """Processes (here threads, each with its own open lock file) wait on the first one's check."""
    calls = _count_checks(monkeypatch)
    threads = [threading.Thread(target=IF.scan_split, args=(image_folder, "val")) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 9


def test_listing_key_follows_paths_sizes_and_times():
    base = [("a/1.jpg", 10, 5), ("b/2.jpg", 20, 6)]
    key = folder_index.listing_key(base)
    assert key == folder_index.listing_key(list(base))
    for changed in ([("a/1.jpg", 11, 5), base[1]], [("a/1.jpg", 10, 7), base[1]], [("a/3.jpg", 10, 5), base[1]],
                    base[:1]):
        assert folder_index.listing_key(changed) != key


def test_dataloader_workers_are_seeded_per_rank(image_folder):
    assert worker_seed(7, 0) == 7 and worker_seed(7, 1) != worker_seed(7, 0)
    spec = DataSpec("image_folder", img_size=32, augment=True)
    base = []
    for rank in (0, 1, 1):
        loader = build_loaders(spec, 2, 3, 0, str(image_folder), rank=rank, world=2, recipe=DEIT).train.loader
        base.append(iter(loader)._base_seed)  # what each worker's seed is derived from
    assert base[0] != base[1] and base[1] == base[2]


def test_decode_part_reports_rates_and_cores_per_gpu():
    from benchmark.perf.decode import cores_per_gpu, measure_decode

    row = measure_decode(n=8)
    assert row["pipeline_img_per_s"] > 0 and row["decode_img_per_s"] > row["pipeline_img_per_s"]
    need = cores_per_gpu(100.0)["cores_per_gpu"]["A100 80GB"]
    assert need["cores"] == pytest.approx(24.7) and "DeepLearningExamples" in need["source"]
