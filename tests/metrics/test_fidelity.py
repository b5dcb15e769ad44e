"""Tests for benchmark.metrics.fidelity and .extractors, with a tiny substitute extractor trained in seconds."""

import logging
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch_fidelity
from benchutil import FMNIST
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from torch_fidelity.utils import create_feature_extractor

from benchmark.data.fashion_mnist import load_split
from benchmark.errors import UserError
from benchmark.metrics import extractors
from benchmark.metrics.extractors import (
    CNNSpec,
    ExtractorChoice,
    FashionCNNFeatures,
    TrainConfig,
    cache_key,
    choose_extractor,
    data_hashes,
    substitute_extractor,
)
from benchmark.metrics.fidelity import FidelityResult, evaluate_fidelity

pytestmark = pytest.mark.skipif(not FMNIST.is_dir(), reason="Fashion-MNIST IDX files are not installed")

TINY = TrainConfig(epochs=1, train_subset=2000)
SNEAKER, SANDAL = 7, 5


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> ExtractorChoice:
    return substitute_extractor(tmp_path_factory.mktemp("extractor"), config=TINY)


@pytest.fixture(scope="module")
def garments():
    x, y = load_split("test")
    return x[y == SNEAKER][:, None], x[y == SANDAL][:, None]


def _evaluate(fake, real, tiny, tmp_path: Path, kid: int = 30, **kw) -> FidelityResult:
    return evaluate_fidelity(fake, real, tiny, kid, tmp_path / "cache", seed=0, cuda=False, **kw)


def test_substitute_is_registered_in_torch_fidelity(tiny):
    assert tiny.kind == "substitute" and tiny.name.startswith("fmnist-cnn-") and len(tiny.name) == 19
    assert issubclass(FEATURE_EXTRACTORS_REGISTRY[tiny.name], FashionCNNFeatures)
    assert 50.0 < tiny.test_accuracy <= 100.0
    fe = create_feature_extractor(tiny.name, ["penultimate"], cuda=False, verbose=False)
    for shape in ((4, 1, 28, 28), (4, 3, 64, 64), (2, 3, 17, 40)):
        (feats,) = fe(torch.randint(0, 256, shape, dtype=torch.uint8))
        assert feats.shape == (shape[0], CNNSpec().feature_dim) and torch.isfinite(feats).all()


def test_cached_weights_are_loaded_not_retrained(tiny, tmp_path, monkeypatch):
    cache_dir = tmp_path / "c"
    first = substitute_extractor(cache_dir, config=replace(TINY, train_subset=500))
    assert len(list(cache_dir.glob("fmnist-cnn-*.pt"))) == 1 and not list(cache_dir.glob("*.tmp"))
    monkeypatch.setattr(extractors, "train_substitute", lambda *a, **k: pytest.fail("retrained"))
    again = substitute_extractor(cache_dir, config=replace(TINY, train_subset=500))
    assert again == first and again.name != tiny.name


def test_cache_key_covers_config_spec_and_data():
    data = data_hashes()
    base = cache_key(CNNSpec(), TrainConfig(), data)
    assert cache_key(CNNSpec(), TrainConfig(), data) == base
    assert cache_key(CNNSpec(), TrainConfig(epochs=1), data) != base
    assert cache_key(CNNSpec(), TrainConfig(train_subset=2000), data) != base
    assert cache_key(CNNSpec(feature_dim=64), TrainConfig(), data) != base
    assert cache_key(CNNSpec(), TrainConfig(), {**data, "train-images-idx3-ubyte.gz": "0" * 64}) != base


def test_fid_zero_on_itself_and_larger_for_another_class(tiny, garments, tmp_path):
    sneakers, sandals = garments
    a, b = sneakers[:50], sneakers[50:100]
    self_ = _evaluate(a, a, tiny, tmp_path)
    same = _evaluate(b, a, tiny, tmp_path)
    other = _evaluate(sandals[:50], a, tiny, tmp_path)
    assert abs(self_.fid) < 1e-3 and self_.swd == 0.0
    assert same.fid < other.fid and same.kid < other.kid and same.swd < other.swd
    assert other.fid > 5 * same.fid


def test_result_records_provenance_and_clamps_kid(tiny, garments, tmp_path):
    sneakers, sandals = garments
    res = _evaluate(sandals[:40], sneakers[:60], tiny, tmp_path, kid=1000)
    assert res.kid_subset_size == 40
    assert res.feature_extractor == tiny.name
    assert (res.fid_samples, res.real_samples) == (40, 60)
    assert res.torch_fidelity_version == torch_fidelity.__version__ == "0.4.0"
    by_name = evaluate_fidelity(sandals[:40], sneakers[:60], tiny.name, None, tmp_path / "cache", 0, cuda=False)
    assert by_name.kid_subset_size == 40 and by_name.fid == pytest.approx(res.fid)


def test_real_statistics_are_cached(tiny, garments, tmp_path, monkeypatch):
    sneakers, sandals = garments
    seen = []
    cls = FEATURE_EXTRACTORS_REGISTRY[tiny.name]
    forward = cls.forward
    monkeypatch.setattr(cls, "forward", lambda self, x: seen.append(len(x)) or forward(self, x))
    real = sneakers[:60]
    _evaluate(sandals[:30], real, tiny, tmp_path)
    assert sum(seen) == 30 + 60
    assert len(list((tmp_path / "cache").glob(f"real-*-{tiny.name}-*.pt"))) == 2  # features and FID statistics
    seen.clear()
    _evaluate(sneakers[100:130], real, tiny, tmp_path)
    assert sum(seen) == 30  # only the generated set
    seen.clear()
    _evaluate(sandals[:30], sneakers[60:120], tiny, tmp_path)  # other real images: a new entry
    assert sum(seen) == 30 + 60


def test_bad_inputs_are_user_errors(tiny, garments, tmp_path):
    sneakers, _ = garments
    with pytest.raises(UserError, match="uint8"):
        _evaluate(sneakers[:10].float(), sneakers[:10], tiny, tmp_path)
    with pytest.raises(UserError, match="size and channel"):
        _evaluate(sneakers[:10].expand(-1, 3, -1, -1), sneakers[:10], tiny, tmp_path)
    with pytest.raises(UserError, match="unknown feature extractor"):
        _evaluate(sneakers[:10], sneakers[:10], "no-such-extractor", tmp_path)


def test_choose_extractor_falls_back_and_logs_once(tiny, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(extractors, "hub_inception_path", lambda: tmp_path / "absent.pth")
    extractors._log_no_inception_once.cache_clear()
    with caplog.at_level(logging.WARNING, logger="benchmark.metrics.extractors"):
        first = choose_extractor(nc=1, cache_dir=tmp_path, config=TINY)
        second = choose_extractor(nc=3, cache_dir=tmp_path, config=TINY)
    assert first == second and first.name == tiny.name  # retrained here: training is deterministic
    assert sum("Inception-v3 weights are unavailable" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(UserError, match="not found"):
        choose_extractor(nc=1, cache_dir=tmp_path, inception_weights=tmp_path / "missing.pth")
    fake = tmp_path / "fake.pth"
    fake.write_bytes(b"not inception")
    with pytest.raises(UserError, match="not torch-fidelity's Inception"):
        choose_extractor(nc=1, cache_dir=tmp_path, inception_weights=fake)


def test_choose_extractor_uses_inception_from_the_hub_cache(tmp_path, monkeypatch):
    weights = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    weights.write_bytes(b"x")
    monkeypatch.setattr(extractors, "hub_inception_path", lambda: weights)
    monkeypatch.setattr(extractors, "INCEPTION_SHA256_PREFIX", extractors.hashlib.sha256(b"x").hexdigest()[:8])
    choice = choose_extractor(nc=1, cache_dir=tmp_path)
    assert (choice.name, choice.kind, choice.weights_path) == ("inception-v3-compat", "inception", weights)


# --- streaming and the evaluation protocol


def test_streamed_evaluation_equals_torch_fidelity_on_the_whole_set(tiny, garments, tmp_path):
    from benchmark.metrics.fidelity import UInt8Images

    sneakers, sandals = garments
    fake, real = sandals[:50], sneakers[:40]
    ours = _evaluate(fake, real, tiny, tmp_path, kid=20)
    ref = torch_fidelity.calculate_metrics(input1=UInt8Images(fake, False), input2=UInt8Images(real, False),
                                           fid=True, kid=True, kid_subset_size=20, kid_subsets=100,
                                           feature_extractor=tiny.name, rng_seed=0, cuda=False, verbose=False,
                                           save_cpu_ram=True)
    assert ours.fid == pytest.approx(ref[torch_fidelity.KEY_METRIC_FID], rel=1e-5)
    assert ours.kid == pytest.approx(ref[torch_fidelity.KEY_METRIC_KID_MEAN], rel=1e-5)
    assert ours.kid_std_kind == "both-sets-subsampled"
    assert _evaluate(fake, real, tiny, tmp_path, kid=100).kid_std_kind == "fake-subsets-only"  # clamped to 40


def test_two_evaluations_of_one_checkpoint_agree(tiny, garments, tmp_path):
    from baselines.fastgan import build_fastgan
    from benchmark.config import GANRecipe
    from benchmark.metrics.fidelity import clear_caches
    from benchmark.tasks.synthesis import evaluate_generator
    from benchmark.train.classify import state_digest

    torch.manual_seed(0)
    G, _ = build_fastgan(32, ngf=8, ndf=8, nz=16, nc=1)
    real = torch.nn.functional.pad(garments[0][:40], (2, 2, 2, 2))  # 32 px
    recipe = GANRecipe(name="t", nz=16, fid_samples=24, eval_batch=8, kid_subset_size=20)
    digest, rng = state_digest(G), torch.get_rng_state()
    first = evaluate_generator(G, recipe, real, tiny, tmp_path / "cache", seed=0, gen_seed=7, device="cpu")
    clear_caches()
    second = evaluate_generator(G, recipe, real, tiny, tmp_path / "cache", seed=0, gen_seed=7, device="cpu")
    assert first == second and first["fid"] > 0
    assert state_digest(G) == digest and torch.equal(torch.get_rng_state(), rng)


def test_fid_memory_does_not_grow_with_the_sample_count(tiny, garments, tmp_path):
    """The generator is called in batches and no tensor holding every generated image is ever built."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from benchmark.metrics.fidelity import evaluate_fidelity_stream

    real = garments[0][:30]
    image = tuple(real.shape[1:])

    class LargestImageTensor(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.rows = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if torch.is_tensor(t) and t.dim() == 4 and tuple(t.shape[1:]) == image:
                    self.rows = max(self.rows, t.shape[0])
            return out

    def largest(n):
        calls = []

        def batches():
            g = torch.Generator().manual_seed(n)
            for start in range(0, n, 8):
                calls.append(min(8, n - start))
                yield torch.randint(0, 256, (calls[-1], *image), dtype=torch.uint8, generator=g)

        with LargestImageTensor() as mode:
            evaluate_fidelity_stream(batches(), n, real, tiny, 20, tmp_path / f"c{n}", 0, cuda=False)
        assert max(calls) == 8 and sum(calls) == n
        return mode.rows

    small, large = largest(40), largest(240)
    assert small == large <= len(real)  # bounded by the real set and the batch, not by the 240 samples
