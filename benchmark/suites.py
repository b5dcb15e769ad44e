"""The registered suites and their presets.

Recognition presets:

* ``smoke``: a few batches of a 512-image Fashion-MNIST subset; proves the wiring.
* ``default``: the full Fashion-MNIST 60k/10k split, 32 px (28 px padded), the
  small-input variant of every family, 2 epochs of AdamW at batch 64 without
  augmentation; about 13 minutes for the five families on 2 CPU cores.
* ``paper``: ImageNet-1k at 224 px from ``--data`` (an ImageFolder with ``train/``
  and ``val/``), the 224 px models, a DeiT-style AdamW recipe (300 epochs).
"""

from __future__ import annotations

from benchmark.config import DataSpec, GANRecipe, Preset, ProfileSpec, Recipe, Suite
from benchmark.registry import Registry

SUITES: Registry[Suite] = Registry("suite")

RECOGNITION = SUITES.add(
    "recognition",
    Suite(
        name="recognition",
        task="recognition",
        description="SASE-ResNet vs ResNet, SE-ResNet, Swin and PVT: top-1/top-5, params, GMACs, img/s",
        presets=(
            Preset(
                name="smoke",
                model_scale="small",
                data=DataSpec("fashion_mnist", img_size=32, train_subset=512, val_subset=256, augment=False),
                recipe=Recipe(name="adamw-smoke", epochs=1, batch_size=64, max_steps_per_epoch=4),
                profile=ProfileSpec(infer_batch=16, train_batch=16, warmup=1, iters=2, windows=1),
                description="a few batches of a tiny subset: proves the wiring in seconds",
            ),
            Preset(
                name="default",
                model_scale="small",
                # no augmentation: in 2 epochs it only slows convergence (Swin: 85.6% without vs 79.2% with)
                data=DataSpec("fashion_mnist", img_size=32, augment=False),
                recipe=Recipe(name="adamw-fmnist-2ep-bs64", optimizer="adamw", lr=2e-3, weight_decay=0.05,
                              epochs=2, batch_size=64, warmup_epochs=0.2, label_smoothing=0.0),
                profile=ProfileSpec(infer_batch=128, train_batch=128, warmup=2, iters=5, windows=3),
                description="full Fashion-MNIST 60k/10k at 32 px, small-input variants, 2 epochs",
            ),
            Preset(
                name="paper",
                model_scale="paper",
                data=DataSpec("image_folder", img_size=224, num_workers=8),
                recipe=Recipe(name="deit-300ep", optimizer="adamw", lr=5e-4, weight_decay=0.05,
                              epochs=300, batch_size=128, warmup_epochs=5, label_smoothing=0.1,
                              grad_clip=None),
                profile=ProfileSpec(infer_batch=64, train_batch=32, warmup=3, iters=10, windows=3),
                description="ImageNet-1k at 224 px (--data PATH), the 224 px models, DeiT-style recipe",
            ),
        ),
    ),
)

FEW_SHOT = DataSpec("fmnist_few_shot", img_size=32, subset="sneaker", shots=100, augment=False)

SYNTHESIS = SUITES.add(
    "synthesis",
    Suite(
        name="synthesis",
        task="synthesis",
        description="SASE-GAN vs FastGAN on few-shot image sets: FID, KID, SWD, params, GMACs, img/s",
        presets=(
            Preset(
                name="smoke",
                model_scale="any",
                data=DataSpec("fmnist_few_shot", img_size=32, subset="sneaker", shots=16, augment=False),
                recipe=GANRecipe(name="fastgan-smoke", iterations=3, batch_size=4, ngf=8, ndf=8, nz=16,
                                 eval_every=0, sample_every=0, ckpt_every=0, fid_samples=32,
                                 kid_subset_size=16),
                profile=ProfileSpec(infer_batch=8, train_batch=8, warmup=1, iters=2, windows=1),
                description="3 iterations on 16 sneakers: proves the wiring in seconds",
            ),
            Preset(
                name="default",
                model_scale="any",
                data=FEW_SHOT,
                recipe=GANRecipe(name="fastgan-fmnist-32px-2k", iterations=2000, batch_size=8, ngf=16, ndf=16,
                                 nz=64, eval_every=400, sample_every=200, ckpt_every=500, fid_samples=1000,
                                 kid_subset_size=100),
                profile=ProfileSpec(infer_batch=64, train_batch=16, warmup=2, iters=5, windows=3),
                description="100-shot Fashion-MNIST sneakers at 32 px, small FastGAN/SASE-GAN, CPU-sized",
            ),
            Preset(
                name="paper",
                model_scale="any",
                data=DataSpec("folder", img_size=256, channels=3),
                recipe=GANRecipe(name="fastgan-256-70k", iterations=70_000, batch_size=8, eval_every=10_000,
                                 sample_every=5_000, ckpt_every=1_000, fid_samples=5_000, kid_subset_size=100),
                profile=ProfileSpec(infer_batch=16, train_batch=8),
                description="a few-shot folder (--data PATH) at 256 px, 70k iterations, batch 8, as published",
            ),
            Preset(
                name="paper1024",
                model_scale="any",
                data=DataSpec("folder", img_size=1024, channels=3),
                recipe=GANRecipe(name="fastgan-1024-75k", iterations=75_000, batch_size=8, eval_every=10_000,
                                 sample_every=5_000, ckpt_every=1_000, fid_samples=5_000, kid_subset_size=100),
                profile=ProfileSpec(infer_batch=4, train_batch=8),
                description="a few-shot folder (--data PATH) at 1024 px, 75k iterations, as published",
            ),
        ),
    ),
)
