"""The model registry of the harness: which timm model belongs to which suite and scale.

The models themselves live in timm's registry (``baselines`` and ``sase`` register
theirs there, so ``timm.create_model`` builds them outside the harness too).  This
registry adds what the harness needs to know about each: its family, its suite,
its scale (``small`` 32 px variants for the smoke/default presets, ``paper`` for the
224 px models) and its input.  Adding a family to a suite is a registration here,
not a change to the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional

import baselines  # noqa: F401  registers the small-input baselines in timm
import sase  # noqa: F401  registers SASE-ResNet in timm
from baselines import fastgan
from benchmark.registry import Registry
from sase import gan as sase_gan
from sase.resnet import S32_ABLATIONS


@dataclass(frozen=True)
class ModelEntry:
    name: str  # the timm model name
    family: str  # ResNet, SE-ResNet, Swin, PVT, SASE-ResNet, ...
    suite: str  # recognition | synthesis
    scale: str  # small | paper | any (synthesis models: the preset picks the size)
    img_size: int
    in_chans: int
    in_suite: bool = True  # False: registered (ablations, larger sizes) but not run by default
    paper_name: Optional[str] = None  # the name used in published tables, when there is one
    build: Optional[Callable] = None  # synthesis: (img_size, ngf, ndf, nz, nc) -> (G, D); recognition: timm


MODELS: Registry[ModelEntry] = Registry("model")


def register(entry: ModelEntry) -> ModelEntry:
    return MODELS.add(entry.name, entry)


def models_for(suite: str, scale: str) -> List[str]:
    """The default model list of a suite at a scale, in registration order."""
    return [e.name for e in MODELS.values()
            if e.suite == suite and e.scale in (scale, "any") and e.in_suite]


def _recognition(name: str, family: str, scale: str, in_suite: bool = True, paper: Optional[str] = None) -> None:
    size, chans = (32, 1) if scale == "small" else (224, 3)
    register(ModelEntry(name, family, "recognition", scale, size, chans, in_suite, paper))


# small-input variants: the smoke and default presets (Fashion-MNIST, 32 px, grey)
_recognition("resnet_s32", "ResNet", "small")
_recognition("seresnet_s32", "SE-ResNet", "small")
_recognition("swin_s32", "Swin", "small")
_recognition("pvt_v2_s32", "PVT", "small")
_recognition("sase_resnet_s32", "SASE-ResNet", "small")
for _name in S32_ABLATIONS:  # ablations of the open design choices: run them with --models
    if _name != "sase_resnet_s32":
        _recognition(_name, "SASE-ResNet", "small", in_suite=False)

# the paper's 224 px models (ImageNet-1k)
_recognition("resnet50", "ResNet", "paper", paper="ResNet-50")
_recognition("resnet101", "ResNet", "paper", in_suite=False, paper="ResNet-101")
_recognition("seresnet50", "SE-ResNet", "paper", paper="SE-ResNet-50")
_recognition("seresnet101", "SE-ResNet", "paper", in_suite=False, paper="SE-ResNet-101")
_recognition("swin_tiny_patch4_window7_224", "Swin", "paper", paper="Swin-T")
_recognition("swin_small_patch4_window7_224", "Swin", "paper", in_suite=False, paper="Swin-S")
_recognition("pvt_v2_b1", "PVT", "paper", in_suite=False, paper="PVTv2-B1")
_recognition("pvt_v2_b2", "PVT", "paper", paper="PVTv2-B2")
_recognition("sase_resnet50", "SASE-ResNet", "paper", paper="SASE-ResNet-50")
_recognition("sase_resnet26", "SASE-ResNet", "paper", in_suite=False)
_recognition("sase_resnet101", "SASE-ResNet", "paper", in_suite=False, paper="SASE-ResNet-101")

# synthesis: one builder per model, sized by the preset (32 px on CPU, 256/1024 px as published)
register(ModelEntry("fastgan", "FastGAN", "synthesis", "any", 256, 3, paper_name="FastGAN",
                    build=fastgan.build_fastgan))
register(ModelEntry("sase_gan", "SASE-GAN", "synthesis", "any", 256, 3, paper_name="SASE-GAN",
                    build=sase_gan.build_sase_gan))
