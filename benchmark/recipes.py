"""Named training recipes, each a frozen config; ``--recipe NAME`` applies one to every model of a run.

Recognition:

* ``deit``: the DeiT recipe (Touvron et al. 2021, table 9; the defaults of DeiT's ``main.py``): AdamW, lr
  5e-4 x global batch / 512, weight decay 0.05 (not on biases, norms and what ``no_weight_decay()`` lists),
  300 epochs, timm's cosine scheduler stepped per epoch with 5 warm-up epochs from 1e-6 and a floor of 1e-5,
  label smoothing 0.1, RandAugment m9 (timm ``rand-m9-mstd0.5-inc1``), Mixup 0.8 / CutMix 1.0 (timm
  ``Mixup``), random erasing 0.25, drop-path 0.1, repeated augmentation (3), bicubic interpolation, and an
  EMA of the weights with decay 0.99996 (DeiT's ``--model-ema`` default; DeiT reports the plain model, and
  so does ``top1``; the EMA's accuracy goes into ``top1_ema``).
* ``published``: every family as its authors trained it, under one recipe identity: DeiT's recipe with a
  per-family table (``per_family``, recorded in every record) for Swin, PVT, ResNet and SE-ResNet; sources
  beside each row below and in ``docs/paper-scale.md``.
* ``resnet-sgd``: the classic ResNet recipe (He et al. 2016, with the linear scaling rule and gradual
  warm-up of Goyal et al. 2017): SGD momentum 0.9, lr 0.1 x global batch / 256, weight decay 1e-4 on every
  parameter (but what ``no_weight_decay()`` lists), 90 epochs, lr x 0.1 at epochs 30, 60 and 80,
  random-resized-crop and flip only (no colour jitter).
* the recipes of the CPU presets (``adamw-smoke``, ``adamw-fmnist-2ep-bs64``), so any run can be repeated
  by name.

Synthesis: FastGAN's recipe at the sizes of the synthesis presets, and the authors' per-dataset settings as
``fastgan-<dataset>`` (``fastgan-panda``: lr 1e-4 and tanh; ``fastgan-ffhq1k``: lr 1e-4 at 1024 px; ...).

``batch_size`` is always per process; under ``torchrun`` the global batch is ``batch_size x world size``
and the recipe's ``lr_ref_batch`` says how the learning rate follows it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Mapping, Union

from benchmark.config import GANRecipe, Recipe, SinGANRecipe
from benchmark.registry import Registry

RECIPES: Registry[Union[Recipe, GANRecipe, SinGANRecipe]] = Registry("recipe")


def _add(recipe):
    return RECIPES.add(recipe.name, recipe)


ADAMW_SMOKE = _add(Recipe(name="adamw-smoke", epochs=1, batch_size=64, max_steps_per_epoch=4, lr_ref_batch=64))
ADAMW_FMNIST = _add(Recipe(name="adamw-fmnist-2ep-bs64", optimizer="adamw", lr=2e-3, weight_decay=0.05,
                           epochs=2, batch_size=64, warmup_epochs=0.2, label_smoothing=0.0, lr_ref_batch=64))
# the deciding preset's: the same recipe trained to its plateau (ResNet at 1M on the 10k subset is flat from
# epoch ~11 of a 16-epoch cosine schedule; Swin learns slowest, hence 24)
ADAMW_FMNIST_DECIDE = _add(dataclasses.replace(ADAMW_FMNIST, name="adamw-fmnist-24ep-bs64", epochs=24))
# a second shared budget for the slowest learner: Swin at 1M still gained 0.62 top-1 over the last quarter of the
# 24-epoch schedule (84.99%, seed 0; every other family < 0.3), so SASE-ResNet vs Swin is decided at twice that
ADAMW_FMNIST_DECIDE_LONG = _add(dataclasses.replace(ADAMW_FMNIST, name="adamw-fmnist-48ep-bs64", epochs=48))
# DeiT's main.py (facebookresearch/deit): its argument defaults, and timm's create_optimizer (no decay on 1-d
# tensors, biases and model.no_weight_decay()) and create_scheduler (CosineLRScheduler in epochs, stepped after
# each epoch), RASampler (3 repeats), --train-interpolation bicubic; 128 per process x 8 = DeiT's 1,024
DEIT = _add(Recipe(name="deit", optimizer="adamw", lr=5e-4, lr_ref_batch=512, weight_decay=0.05, epochs=300,
                   batch_size=128, warmup_epochs=5, label_smoothing=0.1, randaugment="rand-m9-mstd0.5-inc1",
                   mixup=0.8, cutmix=1.0, random_erasing=0.25, drop_path=0.1, model_ema=0.99996,
                   model_no_weight_decay=True, interpolation="bicubic", repeated_aug=3, scheduler="timm",
                   schedule_per="epoch", warmup_lr=1e-6, min_lr=1e-5))
# timm's ColorJitter (0.4 by default) is off: the recipe is crop and flip only, as torchvision's and Goyal's
RESNET_SGD = _add(Recipe(name="resnet-sgd", optimizer="sgd", lr=0.1, lr_ref_batch=256, momentum=0.9,
                         weight_decay=1e-4, decay_norm_and_bias=True, epochs=90, batch_size=64, warmup_epochs=5,
                         schedule="step", milestones=(30, 60, 80), lr_gamma=0.1, color_jitter=0.0,
                         model_no_weight_decay=True))


def _table(rows: Mapping[str, Mapping[str, Any]]):
    """A per-family table in the recipe's frozen form, sorted (its identity does not depend on the order)."""
    return tuple((key, tuple(sorted(row.items()))) for key, row in sorted(rows.items()))


# The classic SGD recipe of the two CNN rows.  A row is applied over the base (DeiT), so it resets every field
# the base sets: no RandAugment, Mixup, erasing, smoothing, drop-path, EMA or repeats; bilinear; no jitter.
_SGD_STEP = dict(optimizer="sgd", momentum=0.9, nesterov=False, weight_decay=1e-4, decay_norm_and_bias=True,
                 warmup_epochs=0, scheduler="harness", schedule="step", lr_gamma=0.1, schedule_per="step",
                 warmup_lr=0.0, min_lr=0.0, scale_lr_bounds=False, label_smoothing=0.0, randaugment=None,
                 mixup=0.0, cutmix=0.0, random_erasing=0.0, drop_path=0.0, model_ema=0.0, repeated_aug=1,
                 interpolation="bilinear", color_jitter=0.0)
PUBLISHED_TABLE = {
    # Swin-T: Swin's config.py, configs/swin_tiny_patch4_window7_224.yaml and main.py at its first release
    # (microsoft/Swin-Transformer 3dc2a55, the code of the published Swin-T): drop-path 0.2, gradient norm
    # clipped at 5.0, 20 warm-up epochs from 5e-7, floor 5e-6, all three lrs x global batch / 512, timm's cosine
    # scheduler stepped per step with the warm-up inside the cosine (warmup_prefix came in 2022), a plain
    # DistributedSampler (no repeats), no EMA; the rest (AdamW, wd 0.05, RandAugment, Mixup, erasing) is DeiT's
    "Swin": dict(drop_path=0.2, grad_clip=5.0, warmup_epochs=20, warmup_lr=5e-7, min_lr=5e-6, scale_lr_bounds=True,
                 schedule_per="step", repeated_aug=1, model_ema=0.0),
    "swin_small_patch4_window7_224": dict(drop_path=0.3),  # configs/swin_small_patch4_window7_224.yaml
    # PVT v2: DeiT's main.py as whai362/PVT runs it (classification/main.py; configs/pvt_v2/pvt_v2_b1.py and
    # pvt_v2_b2.py: drop-path 0.1, no clipping), except the EMA of the weights, commented out there
    "PVT": dict(model_ema=0.0),
    # ResNet: the defaults of torchvision's references/classification/train.py, which trained its resnet50
    # (76.13): SGD lr 0.1 per 256 images (32 per GPU x 8), momentum 0.9, wd 1e-4 on every parameter, 90 epochs,
    # lr x 0.1 every 30, no warm-up, random-resized-crop and flip, bilinear, no label smoothing
    "ResNet": dict(_SGD_STEP, lr=0.1, lr_ref_batch=256, batch_size=32, epochs=90, milestones=(30, 60)),
    # SE-ResNet: the SENet paper (Hu et al. 2018): SGD momentum 0.9, batch 1,024 at lr 0.6 (both also in the
    # authors' README, hujie-frank/SENet), lr x 0.1 every 30 epochs, 100 epochs; its weight decay is not given
    # there: 1e-4, as ResNet's.  The README's rotation and pixel jitter have no timm transform and are left out.
    "SE-ResNet": dict(_SGD_STEP, lr=0.6, lr_ref_batch=1024, batch_size=128, epochs=100, milestones=(30, 60, 90)),
    # SASE-ResNet and its grouped controls (ResNeXt, SE-ResNeXt): no recognition code or recipe was released;
    # they train under the base, DeiT's recipe (that of the transformers SASE is compared with), with no row
}
PUBLISHED = _add(dataclasses.replace(DEIT, name="published", per_family=_table(PUBLISHED_TABLE)))

FASTGAN_SMOKE = _add(GANRecipe(name="fastgan-smoke", iterations=3, batch_size=4, ngf=8, ndf=8, nz=16,
                               eval_every=0, sample_every=0, ckpt_every=0, fid_samples=32, kid_subset_size=16))
FASTGAN_FMNIST_2K = _add(GANRecipe(name="fastgan-fmnist-32px-2k", iterations=2000, batch_size=8, ngf=16, ndf=16,
                                   nz=64, eval_every=400, sample_every=200, ckpt_every=500, fid_samples=1000,
                                   kid_subset_size=100))
# the default preset's: half the iterations, so that 3 seeds of both models fit a CPU session
FASTGAN_FMNIST = _add(GANRecipe(name="fastgan-fmnist-32px-1k", iterations=1000, batch_size=8, ngf=16, ndf=16,
                                nz=64, eval_every=250, sample_every=250, ckpt_every=250, fid_samples=1000,
                                kid_subset_size=50))
# the deciding preset's: the default recipe run on to FID's plateau, evaluated every 500 iterations
FASTGAN_FMNIST_DECIDE = _add(dataclasses.replace(FASTGAN_FMNIST, name="fastgan-fmnist-32px-6k", iterations=6000,
                                                 eval_every=500, sample_every=1000, ckpt_every=500))
FASTGAN_256 = _add(GANRecipe(name="fastgan-256-70k", iterations=70_000, batch_size=8, eval_every=10_000,
                             sample_every=5_000, ckpt_every=1_000, fid_samples=5_000, kid_subset_size=100))
# at 1024 px FID sees what the reference's does: samples saved nearest-resized to 512 px (eval.py), both sets
# shrunk to 256 px, antialiased, before Inception (benchmarking/fid.py --size 256)
FASTGAN_1024 = _add(GANRecipe(name="fastgan-1024-75k", iterations=75_000, batch_size=8, eval_every=10_000,
                              sample_every=5_000, ckpt_every=1_000, fid_samples=5_000, kid_subset_size=100,
                              tanh=True, fid_gen_nearest=512, fid_resize=256))
# The authors' per-dataset runs (Torment123/SLIM_code, FastGAN-SLIM-256/args.txt and FastGAN-SLIM-1024/args.txt):
# lr 2e-4 and no tanh at 256 px except Panda (lr 1e-4, tanh); at 1024 px tanh always, lr 2e-4 except FFHQ-1k.
FASTGAN_DATASETS = {
    name: _add(dataclasses.replace(base, name=f"fastgan-{name}", **changes))
    for base, names, changes in (
        (FASTGAN_256, ("obama", "grumpy-cat", "animalface-cat", "animalface-dog"), {}),
        (FASTGAN_256, ("panda",), {"lr": 1e-4, "tanh": True}),
        (FASTGAN_1024, ("art-painting", "skulls", "anime-face", "shells", "flowers", "pokemon"), {}),
        (FASTGAN_1024, ("ffhq1k",), {"lr": 1e-4}),
    )
    for name in names
}


# One-shot: SinGAN's published recipe (2,000 iterations per scale), and CPU-sized ones for the presets
SINGAN = _add(SinGANRecipe(name="singan-2000", iters_per_scale=2000, eval_samples=100))
SINGAN_CPU = _add(SinGANRecipe(name="singan-cpu-80", iters_per_scale=80, eval_samples=50))
# the deciding preset's: SinGAN's 2,000 iterations per scale, at the CPU geometry (64 px, 4 scales)
SINGAN_DECIDE = _add(SinGANRecipe(name="singan-2000-cpu", iters_per_scale=2000, eval_samples=50))
SINGAN_SMOKE = _add(SinGANRecipe(name="singan-smoke", iters_per_scale=4, eval_samples=8, grid_samples=4))


def recipe_for(task: str, name: str) -> Union[Recipe, GANRecipe]:
    """The named recipe, checked against the task's recipe type (a GAN recipe cannot train a classifier)."""
    from benchmark.errors import UserError
    from benchmark.spec import load_specs

    recipe = RECIPES.get(name)
    want = load_specs().get(task).recipe_type
    if not isinstance(recipe, want):
        fitting = [n for n, r in RECIPES.items() if isinstance(r, want)]
        raise UserError(f"recipe {name!r} is not a {task} recipe; choose one of: {', '.join(fitting)}")
    return recipe


def recipe_identity(fields: Mapping[str, Any]) -> str:
    """``name@hash``: a recipe's name and the first 8 hex digits of the SHA-256 of its fields (canonical
    JSON, keys sorted), so that editing a registered recipe without renaming it makes another identity.
    ``fields`` is the recipe as a dict (``dataclasses.asdict``, or the ``config.preset.recipe`` a record
    stores: :func:`benchmark.results.load_records` recomputes every record's identity from it)."""
    from benchmark.config import KEY_NEUTRAL

    kept = {k: v for k, v in fields.items() if not (f"recipe.{k}" in KEY_NEUTRAL and KEY_NEUTRAL[f"recipe.{k}"] == v)}
    blob = json.dumps(kept, sort_keys=True, default=str)
    return f"{fields.get('name', '?')}@{hashlib.sha256(blob.encode()).hexdigest()[:8]}"


def recipe_id(recipe) -> str:
    """The recipe's identity, always its content: ``adamw-fmnist-2ep-bs64@1a2b3c4d`` (name plus a short hash of
    all its fields), registered or not (``--set recipe.lr=...`` or a preset's pins make another recipe)."""
    return recipe_identity(dataclasses.asdict(recipe))
