"""The paper-scale recipes (issue 21 items 2, 3, 4, 6 and 7's first point): the `published` recipe's per-family
table, `no_weight_decay()`, timm's scheduler stepped as DeiT and Swin step it, repeated augmentation, the
interpolation and colour jitter of the ImageFolder transforms, a transform that pickles; and a paper-preset run
on a fake ImageFolder under `deit` and under `published`, checked on the optimiser each model trains with."""

import dataclasses
import io
import math
import pickle
import signal

import pytest
import timm
import torch
from torchvision.transforms import ColorJitter, InterpolationMode

from benchmark.config import KEY_NEUTRAL, DataSpec, Recipe, override
from benchmark.data.batches import TensorBatches
from benchmark.data.loaders import build_loaders
from benchmark.data.repeat_aug import ResumableRepeatAugSampler
from benchmark.data.transforms import folder_transforms, per_image_transform
from benchmark.errors import UserError
from benchmark.recipes import RECIPES
from benchmark.suites import SUITES
from benchmark.train.optim import build_optimizer, build_scheduler, warmup_cosine
from benchmark.validate import check_recipe

RECIPE_FIELDS = {f.name for f in dataclasses.fields(Recipe)}
NEUTRAL = {k.split(".", 1)[1]: v for k, v in KEY_NEUTRAL.items()
           if k.startswith("recipe.") and k.split(".", 1)[1] in RECIPE_FIELDS}
CPU_RECIPES = [n for n, r in RECIPES.items() if isinstance(r, Recipe) and n.startswith("adamw-")]
SWIN_T = ("Swin", "swin_tiny_patch4_window7_224")
MICRO = "timm:tiny_timm:test_swin_micro@Swin,timm:tiny_timm:test_resnet_micro@ResNet"


@pytest.mark.parametrize("name", CPU_RECIPES)
def test_the_cpu_recipes_keep_every_new_field_at_its_as_before_value(name):
    recipe = RECIPES.get(name)
    assert NEUTRAL and {k: getattr(recipe, k) for k in NEUTRAL} == NEUTRAL


def test_published_gives_each_family_its_authors_settings_under_one_identity():
    pub = RECIPES.get("published")
    swin = pub.for_model(*SWIN_T)
    assert (swin.drop_path, swin.grad_clip, swin.warmup_epochs, swin.warmup_lr, swin.min_lr) == (0.2, 5.0, 20, 5e-7, 5e-6)
    assert swin.scale_lr_bounds and swin.schedule_per == "step" and swin.repeated_aug == 1 and swin.model_ema == 0
    assert pub.for_model("Swin", "swin_small_patch4_window7_224").drop_path == 0.3  # its own row, over Swin's
    pvt = pub.for_model("PVT", "pvt_v2_b2")
    assert (pvt.drop_path, pvt.grad_clip, pvt.repeated_aug, pvt.model_ema, pvt.schedule_per) == (0.1, None, 3, 0, "epoch")
    r50 = pub.for_model("ResNet", "resnet50")
    assert (r50.optimizer, r50.lr, r50.lr_ref_batch, r50.epochs, r50.milestones, r50.warmup_epochs) == (
        "sgd", 0.1, 256, 90, (30, 60), 0)
    assert r50.randaugment is None and r50.mixup == r50.cutmix == r50.drop_path == r50.color_jitter == 0
    se = pub.for_model("SE-ResNet", "seresnet50")
    assert (se.optimizer, se.lr, se.lr_ref_batch, se.epochs, se.milestones) == ("sgd", 0.6, 1024, 100, (30, 60, 90))
    base = dataclasses.replace(pub, per_family=None)
    assert pub.for_model("SASE-ResNet", "sase_resnet50") == base  # no published recipe: the base, DeiT's
    assert dataclasses.replace(base, name="deit") == RECIPES.get("deit")
    check_recipe(pub)  # every row is a possible recipe


def test_a_value_set_for_the_whole_recipe_holds_for_every_family():
    recognition = SUITES.get("recognition")
    paper = recognition.preset("paper").with_recipe(RECIPES.get("published"))
    set_ = override(paper, {"recipe.epochs": "1", "recipe.drop_path": "0.05"}).recipe
    assert {set_.for_model(*fm).epochs for fm in (SWIN_T, ("ResNet", "resnet50"), ("PVT", "pvt_v2_b2"))} == {1}
    swin = set_.for_model(*SWIN_T)
    assert swin.drop_path == 0.05 and swin.grad_clip == 5.0  # the rest of Swin's row stays
    smoke = recognition.preset("smoke").with_recipe(RECIPES.get("published")).recipe.for_model("ResNet", "resnet50")
    assert (smoke.epochs, smoke.batch_size, smoke.max_steps_per_epoch, smoke.optimizer) == (1, 64, 4, "sgd")


@pytest.mark.parametrize("updates, message", [
    ({"recipe.interpolation": "nearest"}, "choose one of: bilinear, bicubic"),
    ({"recipe.scheduler": "cosine"}, "choose one of: harness, timm"),
    ({"recipe.min_lr": "1e-5"}, "set recipe.scheduler=timm"),
    ({"recipe.per_family": "Swin"}, "cannot be given with --set"),
])
def test_impossible_recipe_values_are_user_errors(updates, message):
    with pytest.raises(UserError, match=message):
        override(SUITES.get("recognition").preset("default"), updates)


def test_a_bad_row_is_a_user_error_naming_it():
    with pytest.raises(UserError, match=r"per_family\[Swin\] sets 'epoch'"):
        Recipe(name="x", per_family=(("Swin", (("epoch", 1),)),))
    bad = dataclasses.replace(RECIPES.get("published"), per_family=(("Swin", (("drop_path", 1.5),)),))
    with pytest.raises(UserError, match=r"recipe\.per_family\[Swin\]\.drop_path=1\.5"):
        check_recipe(bad)


def _tiny_swin():
    return timm.create_model("swin_tiny_patch4_window7_224", embed_dim=16, depths=(1, 1), num_heads=(1, 2),
                             img_size=32, num_classes=3)


def test_no_weight_decay_follows_timms_rule_and_stays_off_for_the_cpu_recipes():
    from timm.optim import param_groups_weight_decay

    model = _tiny_swin()
    ids = lambda params: {id(p) for p in params}  # noqa: E731
    tables = ids(p for n, p in model.named_parameters() if "relative_position_bias_table" in n)
    ours = [ids(g["params"]) for g in build_optimizer(model, RECIPES.get("deit"), 1e-3).param_groups]
    theirs = {g["weight_decay"]: ids(g["params"])
              for g in param_groups_weight_decay(model, 0.05, no_weight_decay_list=model.no_weight_decay())}
    assert tables and ours == [theirs[0.05], theirs[0.0]] and tables <= ours[1]
    cpu = build_optimizer(model, RECIPES.get("adamw-fmnist-24ep-bs64"), 1e-3).param_groups
    assert tables <= ids(cpu[0]["params"])  # the CPU recipes decay them, as they always did
    sgd = build_optimizer(model, RECIPES.get("resnet-sgd"), 0.1).param_groups
    assert ids(sgd[1]["params"]) == tables  # decay on every parameter but those the model exempts


def _lrs(recipe, steps_per_epoch, lr_scale=1.0, steps=None, state=None):
    """The lr of each optimiser step, and the scheduler and optimiser after them."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=recipe.lr * lr_scale)
    sched = build_scheduler(opt, recipe, steps_per_epoch, lr_scale)
    if state:
        opt.load_state_dict(state[0])
        sched.load_state_dict(state[1])
    out = []
    for _ in range(recipe.epochs * steps_per_epoch if steps is None else steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out, sched, opt


def _timm_cosine(t, total, warm, base, start, floor):
    """timm's CosineLRScheduler at unit t: linear warm-up from start, then the cosine over all units to floor."""
    if t < warm:
        return start + t * (base - start) / warm
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * t / total))


def test_timm_scheduler_runs_as_deits_trainer_steps_it():
    """DeiT steps timm's scheduler after each epoch with that epoch: epoch e trains at f(e - 1), the first two
    at warmup_lr; the lrs stay unscaled bounds (warmup_lr 1e-6, min_lr 1e-5)."""
    deit = dataclasses.replace(RECIPES.get("deit"), epochs=12, warmup_epochs=3)
    lrs, _, _ = _lrs(deit, steps_per_epoch=4, lr_scale=2.0)
    want = [_timm_cosine(max(e - 1, 0), 12, 3, 1e-3, 1e-6, 1e-5) for e in range(12) for _ in range(4)]
    assert lrs == pytest.approx(want, rel=1e-12)


def test_timm_scheduler_runs_as_swins_trainer_steps_it():
    """Swin steps it after each step; its warm-up start and floor follow the batch scaling as its lr does."""
    swin = dataclasses.replace(RECIPES.get("published").for_model(*SWIN_T), epochs=6, warmup_epochs=2)
    lrs, _, _ = _lrs(swin, steps_per_epoch=5, lr_scale=2.0)
    want = [_timm_cosine(max(s - 1, 0), 30, 10, 1e-3, 1e-6, 1e-5) for s in range(30)]
    assert lrs == pytest.approx(want, rel=1e-12)


def test_timm_scheduler_resumes_from_plain_checkpoint_data():
    deit = dataclasses.replace(RECIPES.get("deit"), epochs=6, warmup_epochs=2)
    whole, _, _ = _lrs(deit, 3)
    first, sched, opt = _lrs(deit, 3, steps=7)
    buf = io.BytesIO()
    torch.save([opt.state_dict(), sched.state_dict()], buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)  # what a checkpoint may hold
    rest, _, _ = _lrs(deit, 3, steps=len(whole) - 7, state=state)
    assert first + rest == whole


def test_the_harness_schedule_is_unchanged():
    recipe = RECIPES.get("adamw-fmnist-2ep-bs64")
    lrs, sched, _ = _lrs(recipe, steps_per_epoch=10)
    assert isinstance(sched, torch.optim.lr_scheduler.LambdaLR)
    assert lrs == [recipe.lr * warmup_cosine(s, 20, 2) for s in range(20)]


def test_repeated_augmentation_in_memory_repeats_images_in_a_row_and_resumes():
    n = 300
    x, y = torch.zeros(n, 28, 28, dtype=torch.uint8), torch.arange(n)
    make = lambda seed, repeats: TensorBatches(x, y, batch_size=6, img_size=32, shuffle=True, seed=seed,  # noqa: E731
                                               repeats=repeats)
    batches = make(1, 3)
    batches.set_epoch(2)
    order = batches._order().tolist()
    assert len(order) == batches.num_samples == 256  # timm's epoch: 300 // 256 * 256 images
    assert all(order[i] == order[i + 1] == order[i + 2] for i in range(0, 254, 3))
    whole = [yb for _, yb in batches]
    batches.set_epoch(2, start_step=5)
    rest = [yb for _, yb in batches]
    assert len(rest) == len(whole) - 5 and all(torch.equal(a, b) for a, b in zip(whole[5:], rest))
    other = make(2, 3)
    other.set_epoch(2)
    assert other._order().tolist() != order  # the order follows the run's seed (timm's alone would not)
    assert make(1, 1).num_samples == n  # no repeats: as before


def test_repeated_augmentation_on_an_image_folder_is_timms_sampler_and_resumes(image_folder):
    spec = DataSpec("image_folder", img_size=32, augment=False)
    train = build_loaders(spec, 2, 3, 0, str(image_folder), recipe=RECIPES.get("deit")).train
    sampler = train.loader.sampler
    assert isinstance(sampler, ResumableRepeatAugSampler) and len(train) == 9  # 18 images (< 256): all of them
    train.set_epoch(1)
    order = list(sampler)
    assert all(order[i] == order[i + 1] == order[i + 2] for i in range(0, 18, 3))
    whole = [y for _, y in train]
    train.set_epoch(1, start_step=2)
    rest = [y for _, y in train]
    assert len(rest) == 7 and all(torch.equal(a, b) for a, b in zip(whole[2:], rest))


def test_folder_transforms_follow_the_recipe():
    from timm.data import create_transform

    train, val = folder_transforms(RECIPES.get("deit"), 224, True)
    assert train.transforms[0].interpolation == InterpolationMode.BICUBIC  # the random-resized crop
    rand_augment = next(t for t in train.transforms if type(t).__name__ == "RandAugment")
    assert {op.kwargs["resample"] for op in rand_augment.ops} == {3}  # PIL's BICUBIC, not a random pick
    assert (val.transforms[0].interpolation, val.transforms[0].size) == (InterpolationMode.BICUBIC, 256)
    sgd, _ = folder_transforms(RECIPES.get("resnet-sgd"), 224, True)
    assert [type(t).__name__ for t in sgd.transforms] == ["RandomResizedCropAndInterpolation",
                                                           "RandomHorizontalFlip", "MaybeToTensor", "Normalize"]
    cpu_train, cpu_val = folder_transforms(RECIPES.get("adamw-fmnist-2ep-bs64"), 224, True)  # as before
    assert any(isinstance(t, ColorJitter) for t in cpu_train.transforms)
    assert repr(cpu_train) == repr(create_transform(224, is_training=True, auto_augment=None, re_prob=0.0,
                                                    re_mode="pixel"))
    assert repr(cpu_val) == repr(create_transform(224, is_training=False))


def test_the_training_transform_pickles(image_folder):
    """Forkserver (Python 3.14's default on Linux) and spawn pickle the dataset into each DataLoader worker."""
    spec = DataSpec("image_folder", img_size=32)
    dataset = build_loaders(spec, 2, 3, 0, str(image_folder), recipe=RECIPES.get("deit")).train.loader.dataset
    image, _ = pickle.loads(pickle.dumps(dataset))[0]
    assert image.shape == (3, 32, 32)
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=1, multiprocessing_context="forkserver")
    assert next(iter(loader))[0].shape == (2, 3, 32, 32)  # a worker that unpickled it (a few seconds)
    apply = pickle.loads(pickle.dumps(per_image_transform(RECIPES.get("deit"), 28)))
    assert apply(torch.zeros(1, 28, 28, dtype=torch.uint8)).shape == (1, 28, 28)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["deit", "published"])
def test_a_paper_preset_run_trains_every_family_as_its_recipe_says(recipe, image_folder, tmp_path, monkeypatch):
    """A 1-epoch paper-preset run on a fake ImageFolder at 32 px (micro Swin and ResNet from timm's code, in
    tests/tiny_timm.py), with the optimiser, drop-path and gradient clipping of each model caught as it trains."""
    from timm.layers import DropPath

    from benchmark import cli
    from benchmark.results import load_records
    from benchmark.train import classify

    seen, clipped, real_clip = {}, [], torch.nn.utils.clip_grad_norm_

    def spy_optimizer(model, rec, lr):
        opt = build_optimizer(model, rec, lr)
        seen[type(model).__name__] = (model, rec, opt)
        return opt

    def spy_clip(params, max_norm, *args, **kwargs):
        clipped.append(max_norm)
        return real_clip(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(classify, "build_optimizer", spy_optimizer)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy_clip)
    monkeypatch.setenv("SASE_BENCH_CACHE", str(tmp_path / "cache"))
    old = signal.getsignal(signal.SIGTERM)
    try:
        code = cli.main(["run", "--suite", "recognition", "--preset", "paper", "--recipe", recipe, "--models",
                         MICRO, "--data", str(image_folder),
                         "--results-dir", str(tmp_path / "results"), "--device", "cpu", "--jobs", "1",
                         "--epochs", "1", "--batch-size", "4", "--set", "data.img_size=32",
                         "--set", "data.num_workers=0", "--set", "runtime.channels_last=off",
                         "--set", "profile.infer_batch=2", "--set", "profile.train_batch=2",
                         "--set", "profile.warmup=0", "--set", "profile.iters=1"])
    finally:
        signal.signal(signal.SIGTERM, old)
    assert code == 0
    records = load_records(tmp_path / "results")
    assert set(records["status"]) == {"completed"} and records["recipe_id"].nunique() == 1  # one identity
    swin, swin_recipe, swin_opt = seen["SwinTransformer"]
    resnet, resnet_recipe, resnet_opt = seen["ResNet"]
    tables = {id(p) for n, p in swin.named_parameters() if "relative_position_bias_table" in n}
    assert tables and tables <= {id(p) for p in swin_opt.param_groups[1]["params"]}  # never decayed
    drop = max(m.drop_prob for m in swin.modules() if isinstance(m, DropPath))
    if recipe == "published":  # Swin's own settings; ResNet's (torchvision's): SGD, decay on every tensor
        assert drop == pytest.approx(0.2) and swin_recipe.grad_clip == 5.0 and clipped and set(clipped) == {5.0}
        assert isinstance(resnet_opt, torch.optim.SGD) and not resnet_opt.param_groups[1]["params"]
        assert not any(isinstance(m, DropPath) and m.drop_prob > 0 for m in resnet.modules())
        rows = dict(zip(records["family"], records["recipe_row"]))
        assert rows["Swin"]["drop_path"] == 0.2 and rows["ResNet"]["optimizer"] == "sgd"
    else:  # DeiT's for both: drop-path 0.1, no clipping, AdamW without decay on 1-d tensors
        assert drop == pytest.approx(0.1) and swin_recipe.grad_clip is None and not clipped
        assert isinstance(resnet_opt, torch.optim.AdamW) and resnet_opt.param_groups[1]["params"]
        assert records["recipe_row"].isna().all()
