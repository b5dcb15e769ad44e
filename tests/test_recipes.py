"""Named recipes, driven by the registry: every recognition recipe trains a step, every field is honoured."""

import dataclasses

import pytest
import torch

from benchmark.config import Recipe, Runtime, override
from benchmark.data.batches import TensorBatches
from benchmark.data.transforms import batch_erasing, per_image_transform, pillow_posterize_compat
from benchmark.errors import UserError
from benchmark.recipes import RECIPES, recipe_for
from benchmark.suites import SUITES
from benchmark.train import precision
from benchmark.train.augment import TargetMaker
from benchmark.train.classify import fit
from benchmark.train.optim import build_optimizer, build_scheduler, lr_scale, warmup_step

RECOGNITION = [n for n, r in RECIPES.items() if isinstance(r, Recipe)]


def _tiny_batches(recipe, n=16):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 255, (n, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % 10
    common = dict(batch_size=8, img_size=32)
    train = TensorBatches(x, y, shuffle=True, per_image=per_image_transform(recipe, 32),
                          per_batch=batch_erasing(recipe), **common)
    return train, TensorBatches(x, y, **common)


@pytest.mark.parametrize("name", RECOGNITION)
def test_every_recognition_recipe_trains(name):
    recipe = dataclasses.replace(RECIPES.get(name), epochs=1, max_steps_per_epoch=2)
    train, val = _tiny_batches(recipe)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 32, 10))
    history = fit(model, train, val, recipe, torch.device("cpu"), targets=TargetMaker(recipe, 10))
    assert len(history) == 1 and history[0]["val_samples"] == 16


def test_deit_and_resnet_sgd_are_what_their_papers_say():
    deit, sgd = RECIPES.get("deit"), RECIPES.get("resnet-sgd")
    assert (deit.lr, deit.lr_ref_batch, deit.epochs, deit.warmup_epochs) == (5e-4, 512, 300, 5)
    assert (deit.mixup, deit.cutmix, deit.random_erasing, deit.drop_path, deit.label_smoothing) == (
        0.8, 1.0, 0.25, 0.1, 0.1)
    assert deit.randaugment == "rand-m9-mstd0.5-inc1" and deit.model_ema == 0.99996
    assert (deit.interpolation, deit.repeated_aug, deit.model_no_weight_decay) == ("bicubic", 3, True)
    assert (deit.scheduler, deit.schedule_per, deit.warmup_lr, deit.min_lr) == ("timm", "epoch", 1e-6, 1e-5)
    assert (sgd.optimizer, sgd.lr, sgd.lr_ref_batch, sgd.momentum, sgd.weight_decay) == ("sgd", 0.1, 256, 0.9, 1e-4)
    assert sgd.schedule == "step" and sgd.milestones == (30, 60, 80) and sgd.decay_norm_and_bias
    assert sgd.color_jitter == 0 and sgd.randaugment is None  # crop and flip only, as docs/paper-scale.md says


def test_lr_follows_the_global_batch():
    deit = RECIPES.get("deit")
    assert lr_scale(deit, world=8) == pytest.approx(128 * 8 / 512)
    assert lr_scale(dataclasses.replace(deit, lr_ref_batch=None), world=8) == 1.0


def test_step_schedule_and_decay_groups():
    sgd = dataclasses.replace(RECIPES.get("resnet-sgd"), epochs=4, milestones=(2, 3), warmup_epochs=1)
    assert [warmup_step(s, 10, [20, 30], 0.1) for s in (0, 9, 10, 19, 20, 30)] == pytest.approx(
        [0.1, 1.0, 1.0, 1.0, 0.1, 0.01])
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    opt = build_optimizer(model, sgd, 0.1)
    assert len(opt.param_groups[0]["params"]) == 4 and not opt.param_groups[1]["params"]  # wd on everything
    sched = build_scheduler(opt, sgd, steps_per_epoch=10)
    lrs = []
    for _ in range(40):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(0.01) and lrs[15] == pytest.approx(0.1)
    assert lrs[25] == pytest.approx(0.01) and lrs[35] == pytest.approx(0.001)


def test_recipe_must_fit_the_task_and_presets_keep_their_pins():
    with pytest.raises(UserError, match="not a recognition recipe"):
        recipe_for("recognition", "fastgan-smoke")
    smoke = SUITES.get("recognition").preset("smoke").with_recipe(recipe_for("recognition", "deit"))
    assert smoke.recipe.name == "deit" and smoke.recipe.epochs == 1 and smoke.recipe.max_steps_per_epoch == 4
    assert smoke.recipe.mixup == 0.8


def test_override_sets_optional_fields_to_none_and_tuples():
    preset = SUITES.get("recognition").preset("smoke")
    p = override(preset, {"recipe.max_steps_per_epoch": "none", "recipe.milestones": "3,6"})
    assert p.recipe.max_steps_per_epoch is None and p.recipe.milestones == (3, 6)


def test_mixup_gives_soft_targets_and_an_odd_batch_stays_hard():
    tm = TargetMaker(RECIPES.get("deit"), num_classes=10)
    x, y = torch.randn(8, 1, 8, 8), torch.arange(8)
    _, soft = tm(x, y)
    assert soft.shape == (8, 10) and torch.allclose(soft.sum(1), torch.ones(8))
    _, hard = tm(x[:7], y[:7])
    assert hard.dtype == torch.int64
    assert tm.loss(torch.randn(8, 10), soft) > 0


def test_randaugment_on_grey_images_survives_every_magnitude():
    pillow_posterize_compat()
    recipe = dataclasses.replace(RECIPES.get("deit"), randaugment="rand-m10-n3-inc1")
    apply = per_image_transform(recipe, 28)
    x = torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8)
    for _ in range(200):
        assert apply(x).shape == (1, 28, 28)


def test_runtime_resolves_to_fp32_on_cpu_and_refuses_amp_there():
    ex = precision.resolve(Runtime(), "cpu")
    assert ex.as_record() == {"precision": "fp32", "memory_format": "contiguous", "compiled": False,
                              "deterministic": True}
    with pytest.raises(UserError, match="needs CUDA"):
        precision.resolve(Runtime(amp="bf16"), "cpu")
    with pytest.raises(UserError, match="channels_last"):
        precision.resolve(Runtime(channels_last="maybe"), "cpu")
