"""The shipped substitute feature extractor: every machine measures FID/KID/SIFID with the same weights."""

from pathlib import Path

import pytest
import torch
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

from benchmark.errors import UserError
from benchmark.metrics import extractors
from benchmark.metrics.extractors import (
    PINNED_NAME,
    PINNED_PATH,
    PINNED_SHA256,
    RETRAIN_ENV,
    CNNSpec,
    FashionCNN,
    FashionCNNFeatures,
    choose_extractor,
    read_pinned,
    substitute_extractor,
    weights_digest,
)

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_weights_load_with_the_recorded_digest_and_name():
    blob = read_pinned()
    assert weights_digest(blob["state_dict"]) == PINNED_SHA256 and PINNED_NAME == "fmnist-cnn-c5e6ce44"
    assert PINNED_SHA256.startswith(PINNED_NAME.rsplit("-", 1)[1])
    choice = extractors.pinned_extractor()
    assert choice.name == PINNED_NAME and choice.kind == "substitute" and 85.0 < choice.test_accuracy <= 100.0
    assert issubclass(FEATURE_EXTRACTORS_REGISTRY[PINNED_NAME], FashionCNNFeatures)
    fe = create_feature_extractor(PINNED_NAME, ["penultimate"], cuda=False, verbose=False)
    (feats,) = fe(torch.randint(0, 256, (4, 3, 40, 40), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)))
    assert feats.shape == (4, CNNSpec().feature_dim) and torch.isfinite(feats).all()


def test_the_default_extractor_is_the_shipped_one_and_nothing_is_trained(tmp_path, monkeypatch):
    monkeypatch.delenv(RETRAIN_ENV, raising=False)
    monkeypatch.setattr(extractors, "hub_inception_path", lambda: tmp_path / "no-inception.pth")
    monkeypatch.setattr(extractors, "train_substitute", lambda *a, **k: pytest.fail("trained"))
    assert substitute_extractor(tmp_path / "cache").name == PINNED_NAME
    assert choose_extractor(nc=3, cache_dir=tmp_path / "cache").name == PINNED_NAME
    assert extractors.resolve_extractor(PINNED_NAME).name == PINNED_NAME
    assert not (tmp_path / "cache").exists()


def test_retraining_only_on_request(tmp_path, monkeypatch):
    calls = []

    def fake_train(spec, config, data_root=None):
        calls.append(config)
        torch.manual_seed(1)
        return {"state_dict": FashionCNN(spec).state_dict(), "test_accuracy": 10.0, "train_seconds": 0.0}

    monkeypatch.setattr(extractors, "train_substitute", fake_train)
    monkeypatch.setattr(extractors, "data_hashes", lambda root=None: {"fake": "0"})
    monkeypatch.setenv(RETRAIN_ENV, "1")
    retrained = substitute_extractor(tmp_path)
    assert len(calls) == 1 and retrained.name != PINNED_NAME and retrained.name.startswith("fmnist-cnn-")
    monkeypatch.setenv(RETRAIN_ENV, "0")
    assert substitute_extractor(tmp_path).name == PINNED_NAME and len(calls) == 1


@pytest.mark.parametrize("damage, message", [
    ("missing", "is missing"),
    ("truncated", "cannot be read"),
    ("other weights", "is corrupt (weights SHA-256"),
])
def test_a_missing_or_corrupt_shipped_file_is_a_clear_user_error(damage, message, tmp_path):
    path = tmp_path / PINNED_PATH.name
    if damage == "truncated":
        path.write_bytes(PINNED_PATH.read_bytes()[:50_000])
    elif damage == "other weights":
        blob = read_pinned()
        blob["state_dict"]["head.1.bias"] = blob["state_dict"]["head.1.bias"] + 1e-3
        torch.save(blob, path)
    with pytest.raises(UserError) as err:
        read_pinned(path)
    text = str(err.value)
    assert message in text and RETRAIN_ENV in text and "git checkout" in text and "\n" not in text


def test_the_weights_ship_with_the_package_and_git_tracks_them():
    tomllib = pytest.importorskip("tomllib")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    inside = PINNED_PATH.relative_to(ROOT / "benchmark" / "metrics")
    assert any(inside.match(glob) for glob in data["benchmark.metrics"])
    ignore = (ROOT / ".gitignore").read_text().splitlines()  # *.pt is ignored everywhere else
    assert f"!{PINNED_PATH.parent.relative_to(ROOT).as_posix()}/*.pt" in ignore
