"""FID's images as the reference sees them (issue 21 item 11): at 1024 px FastGAN's eval.py saves the samples
nearest-resized to 512 px and its benchmarking/fid.py shrinks both sets to 256 px, antialiased, before Inception;
the 32 px presets keep their images as they are."""

import numpy as np
import pytest
import torch
import torch_fidelity
from PIL import Image
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from benchmark.config import KEY_NEUTRAL, GANRecipe
from benchmark.errors import UserError
from benchmark.metrics.fidelity import FeatureResize, antialiased_resize, evaluate_fidelity, nearest_resize
from benchmark.recipes import FASTGAN_1024, FASTGAN_DATASETS
from benchmark.suites import SUITES

SPY = "test-shape-spy"


class ShapeSpy(FeatureExtractorBase):
    """A feature extractor that remembers the size of what it was given; features: per-channel mean and std."""

    seen = []

    def __init__(self, name, features_list, **_kwargs):
        super().__init__(name, features_list)

    def forward(self, x):
        ShapeSpy.seen.append(tuple(x.shape[-2:]))
        x = x.float()
        return (torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1),)

    @staticmethod
    def get_provided_features_list():
        return ("stats",)

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return "stats"

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)


if SPY not in FEATURE_EXTRACTORS_REGISTRY:
    torch_fidelity.register_feature_extractor(SPY, ShapeSpy)


def test_antialiased_resize_is_pils_bilinear():
    rng = np.random.default_rng(0)
    img = np.kron(rng.integers(0, 256, (16, 16, 3)), np.ones((4, 4, 1))).astype(np.uint8)  # 64 px, some structure
    pil = np.asarray(Image.fromarray(img).resize((16, 16), Image.BILINEAR)).astype(int)
    ours = antialiased_resize(torch.from_numpy(img).permute(2, 0, 1)[None], 16)[0].permute(1, 2, 0).numpy()
    assert ours.dtype == np.uint8 and np.abs(ours.astype(int) - pil).max() <= 1


def test_nearest_resize_keeps_every_other_pixel():
    x = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    assert torch.equal(nearest_resize(x, 32), x[:, :, ::2, ::2])


def test_default_resize_changes_nothing():
    x = torch.randint(0, 256, (2, 1, 32, 32), dtype=torch.uint8)
    none = FeatureResize()
    assert none.real(x) is x and none.fake(x) is x and none.tag == ""
    both = FeatureResize(size=16, gen_nearest=32)
    assert both.fake(x).shape[-2:] == both.real(x).shape[-2:] == (16, 16) and both.tag == "|resize16"


def test_features_see_the_resized_images_and_swd_does_not(tmp_path):
    g = torch.Generator().manual_seed(0)
    fake = torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8, generator=g)
    real = torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8, generator=g)

    def run(resize):
        ShapeSpy.seen.clear()
        res = evaluate_fidelity(fake, real, SPY, 4, tmp_path / "cache", seed=0, cuda=False, batch_size=4,
                                resize=resize)
        return res, set(ShapeSpy.seen)

    plain, seen_plain = run(FeatureResize())
    reference, seen_reference = run(FeatureResize(size=16, gen_nearest=32))
    assert seen_plain == {(64, 64)} and seen_reference == {(16, 16)}
    assert reference.swd == plain.swd and reference.fid != plain.fid


def test_the_1024_preset_follows_the_reference_and_the_32px_presets_do_not():
    assert (FASTGAN_1024.fid_gen_nearest, FASTGAN_1024.fid_resize) == (512, 256)
    synthesis = SUITES.get("synthesis")
    assert synthesis.preset("paper1024").recipe.fid_resize == 256
    for name in ("smoke", "default", "decide"):
        recipe = synthesis.preset(name).recipe
        assert recipe.fid_gen_nearest is None and recipe.fid_resize is None
    assert KEY_NEUTRAL["recipe.fid_gen_nearest"] is None and KEY_NEUTRAL["recipe.fid_resize"] is None
    assert FASTGAN_DATASETS["art-painting"].fid_resize == FASTGAN_DATASETS["ffhq1k"].fid_resize == 256
    assert FASTGAN_DATASETS["obama"].fid_resize is None  # the 256 px recipes are left as they were


@pytest.mark.parametrize("bad", [8, 0, 25.5, "big", True])
def test_bad_sizes_are_user_errors(bad):
    with pytest.raises(UserError, match="fid_resize"):
        GANRecipe(name="x", fid_resize=bad)
