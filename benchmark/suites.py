"""The registered suites and their presets.

Recognition presets:

* ``smoke``: a few batches of a 512-image Fashion-MNIST subset; proves the wiring.
* ``default``: the full Fashion-MNIST 60k/10k split, 32 px (28 px padded), the
  small-input variant of every family, 2 epochs of AdamW; minutes on a laptop CPU.
* ``paper``: ImageNet-1k at 224 px from ``--data`` (an ImageFolder with ``train/``
  and ``val/``), the 224 px models, a DeiT-style AdamW recipe (300 epochs).
"""

from __future__ import annotations

from benchmark.config import DataSpec, Preset, ProfileSpec, Recipe, Suite
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
                data=DataSpec("fashion_mnist", img_size=32),
                recipe=Recipe(name="adamw-fmnist-2ep", optimizer="adamw", lr=2e-3, weight_decay=0.05,
                              epochs=2, batch_size=128, warmup_epochs=0.2, label_smoothing=0.0),
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
