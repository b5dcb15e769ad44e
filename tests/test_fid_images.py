"""``--fid-images DIR``: the last FID evaluation's images and the real set as PNG folders, for an outside check
(torch-fidelity's ``fidelity`` CLI); an output option, so no part of a run's identity."""

import json

import numpy as np
import pytest
import torch
from benchutil import run_cli
from PIL import Image

from benchmark.metrics.image_sets import save_image_set
from benchmark.runner import run_key
from benchmark.suites import SUITES


def test_png_folders_hold_the_images_exactly(tmp_path):
    grey = torch.randint(0, 256, (3, 1, 8, 8), dtype=torch.uint8)
    rgb = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    assert save_image_set([grey[:2], grey[2:]], tmp_path / "g") == 3
    assert save_image_set([rgb], tmp_path / "c") == 2
    assert np.array_equal(np.array(Image.open(tmp_path / "g" / "000002.png")), grey[2, 0].numpy())
    assert np.array_equal(np.array(Image.open(tmp_path / "c" / "000001.png")), rgb[1].permute(1, 2, 0).numpy())
    with pytest.raises(ValueError, match="uint8"):
        save_image_set([grey.float()], tmp_path / "bad")


def test_the_option_is_no_part_of_a_runs_identity(tmp_path):
    suite = SUITES.get("synthesis")
    preset = suite.preset("decide")
    plain = run_key(suite, preset, "fastgan", 0, None, "cpu")
    assert run_key(suite, preset, "fastgan", 0, None, "cpu", {"fid_images": str(tmp_path)}) == plain
    assert run_key(suite, preset, "fastgan", 0, None, "cpu", {"inception_weights": "x.pth"}) != plain


@pytest.mark.slow
def test_a_smoke_run_writes_its_fid_images(tmp_path):
    res, out = tmp_path / "results", tmp_path / "fid"
    done = run_cli("run", "--suite", "synthesis", "--preset", "smoke", "--models", "fastgan", "--results-dir",
                   str(res), "--fid-images", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    (record,) = [json.loads(p.read_text()) for p in (res / "records" / "synthesis").glob("*.json")]
    folder = out / record["run_id"]
    assert record["fid_images"] == str(folder)
    assert len(list((folder / "generated").glob("*.png"))) == record["fid_samples"]
    assert len(list((folder / "real").glob("*.png"))) == record["fid_real_samples"]
