"""The model registry of the harness: which timm model belongs to which suite and scale.

The models themselves live in timm's registry (``baselines`` and ``sase`` register
theirs there, so ``timm.create_model`` builds them outside the harness too).  This
registry adds what the harness needs to know about each: its family, its suite,
its scale (``small`` 32 px variants for the smoke/default presets, ``paper`` for the
224 px models), its input and its parameter count.  Adding a family to a suite is a
registration here, not a change to the suite.

Size ladders (issue 10): every 32 px recognition family, and the two grouped controls of
SASE-ResNet (``ResNeXt``, ``SE-ResNeXt``), has a member at each budget of
:data:`LADDER_BUDGETS` (within +-10 % of its params), named ``<prefix>_<budget>``
(``resnet_s32_b1m``); the width rule is :mod:`baselines.ladder`.  They are ``scale='small'``,
``in_suite=False`` (the default preset keeps its five ``*_s32`` models) and carry their
``budget``.  :func:`ladder_models` and :func:`ablation_models` list them; ``models_for``
also answers the pseudo-scales ``'ladder'`` and ``'ablation'``, so a preset with
``model_scale='ladder'`` runs the ladders.  The SASE ablations of the ladder
(``sase_resnet_s32_b1m_softmax``, ...) are sized to :data:`ABLATION_BUDGET` by the same rule.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional

import baselines  # noqa: F401  registers the small-input baselines in timm
import baselines.resnext  # noqa: F401  registers the paper-scale grouped controls in timm
import sase  # noqa: F401  registers SASE-ResNet in timm
from baselines import fastgan
from baselines.ladder import ABLATION_BUDGET, BUDGETS, RULES, SOLVED, TOLERANCE, ladder_name, solve
from baselines.singan import build_singan
from benchmark.registry import Registry
from benchmark.specs.one_shot import NAME as ONE_SHOT
from benchmark.specs.recognition import NAME as RECOGNITION
from benchmark.specs.synthesis import NAME as SYNTHESIS
from sase import gan as sase_gan
from sase.resnet import LADDER_ABLATIONS, S32_ABLATIONS
from sase.singan import build_sase_singan


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
    params: Optional[int] = None  # recognition: params as registered (10 or 1000 classes); tests check them
    budget: Optional[str] = None  # ladder members: the budget tag of LADDER_BUDGETS (b300k, b1m, b3m)
    ablation: Optional[str] = None  # SASE ablations: the switched choice (softmax, g1, dense, ...)


MODELS: Registry[ModelEntry] = Registry("model")


def register(entry: ModelEntry) -> ModelEntry:
    return MODELS.add(entry.name, entry)


#: Shared parameter budgets of the ladders: tag -> params (the tag is the name suffix).
LADDER_BUDGETS: Dict[str, int] = dict(BUDGETS)
LADDER_TOLERANCE = TOLERANCE
#: Ladder name prefix -> family, in the order the ladder presets list them.
LADDER_FAMILIES: Dict[str, str] = {
    "resnet_s32": "ResNet", "seresnet_s32": "SE-ResNet", "resnext_s32": "ResNeXt", "seresnext_s32": "SE-ResNeXt",
    "swin_s32": "Swin", "pvt_v2_s32": "PVT", "sase_resnet_s32": "SASE-ResNet",
}


def models_for(suite: str, scale: str) -> List[str]:
    """The default model list of a suite at a scale, in registration order.

    ``scale='ladder'`` gives :func:`ladder_models` (``'ladder:b1m'`` or ``'ladder:b300k,b1m'``: those budgets
    only) and ``'ablation'`` :func:`ablation_models` (recognition).
    """
    kind, _, budgets = scale.partition(":")
    if kind in ("ladder", "ablation"):
        names = ladder_models(budgets.split(",") if budgets else None) if kind == "ladder" else ablation_models()
        return [n for n in names if MODELS.get(n).suite == suite]
    return [e.name for e in MODELS.values()
            if e.suite == suite and e.scale in (scale, "any") and e.in_suite]


def ladder_models(budgets: Optional[Iterable[str]] = None, families: Optional[Iterable[str]] = None) -> List[str]:
    """The ladder members (no ablations) at ``budgets`` (tags; default all) of ``families`` (default all),
    budget by budget, families in :data:`LADDER_FAMILIES` order."""
    budgets = list(LADDER_BUDGETS) if budgets is None else list(budgets)
    unknown = [b for b in budgets if b not in LADDER_BUDGETS]
    if unknown:
        raise ValueError(f"unknown ladder budget(s) {unknown}; choose from {list(LADDER_BUDGETS)}")
    wanted = set(LADDER_FAMILIES.values()) if families is None else set(families)
    return [ladder_name(prefix, b) for b in budgets for prefix, family in LADDER_FAMILIES.items()
            if family in wanted and ladder_name(prefix, b) in MODELS]


def ablation_models(budget: str = ABLATION_BUDGET, control: bool = True) -> List[str]:
    """The SASE ladder member at ``budget``, its ablations, and (``control``) the ResNeXt control at that
    budget, i.e. SASE with no branch at all: the ``ablation`` preset's models, one table."""
    names = [e.name for e in MODELS.values() if e.budget == budget and e.family == "SASE-ResNet"]
    return names + ([ladder_member("ResNeXt", budget)] if control else [])


def ladder_member(family: str, budget: str) -> str:
    """The name of ``family``'s ladder member at ``budget`` (``'ResNet', 'b1m'`` -> ``resnet_s32_b1m``)."""
    prefix = next((p for p, f in LADDER_FAMILIES.items() if f == family), None)
    if prefix is None or ladder_name(prefix, budget) not in MODELS:
        raise ValueError(f"no ladder member of family {family!r} at budget {budget!r}")
    return ladder_name(prefix, budget)


def model_params(names: Optional[Iterable[str]] = None) -> Dict[str, int]:
    """Registered params of ``names`` (default: every recognition model that has them)."""
    names = [n for n, e in MODELS.items() if e.params] if names is None else list(names)
    return {n: MODELS.get(n).params for n in names if MODELS.get(n).params}


def build_ladder(prefix: str, k: int, ablation: str = "", **kwargs):
    """A ladder's model at rule step ``k`` (any ``k``, registered or not), e.g. to check or re-solve the rule."""
    from baselines.small import build_ladder_member
    from sase.resnet import build_sase_ladder_member

    widths = RULES[prefix].widths(k)
    if prefix == "sase_resnet_s32":
        return build_sase_ladder_member(widths, ablation, **kwargs)
    return build_ladder_member(prefix, widths, **kwargs)


def solve_ladder(prefix: str, budget: str, ablation: str = "") -> int:
    """Re-solve the width rule of ``prefix`` (and ``ablation``) for ``budget``: the ``k`` that SOLVED must hold."""
    import torch

    def count(k: int) -> int:
        with torch.device("meta"):  # no memory, no init cost
            return sum(p.numel() for p in build_ladder(prefix, k, ablation).parameters())

    return solve(count, LADDER_BUDGETS[budget])


#: Params of every registered recognition model at its registered input and classes (tests rebuild and check).
PARAMS: Dict[str, int] = {
    "resnet_s32": 1_228_394, "seresnet_s32": 1_240_690, "swin_s32": 566_104, "pvt_v2_s32": 1_428_874,
    "sase_resnet_s32": 948_026, "sase_resnet_s32_softmax": 948_026, "sase_resnet_s32_sigmoid": 948_026,
    "sase_resnet_s32_g1": 1_237_090, "sase_resnet_s32_g2": 1_039_698, "sase_resnet_s32_g8": 913_290,
    "sase_resnet_s32_dense": 1_245_242, "sase_resnet_s32_d1": 948_026,
    "resnet_s32_b300k": 308_538, "resnet_s32_b1m": 1_029_450, "resnet_s32_b3m": 3_005_690,
    "seresnet_s32_b300k": 289_410, "seresnet_s32_b1m": 1_040_682, "seresnet_s32_b3m": 3_034_530,
    "resnext_s32_b300k": 298_922, "resnext_s32_b1m": 999_658, "resnext_s32_b3m": 2_962_882,
    "seresnext_s32_b300k": 303_578, "seresnext_s32_b1m": 1_012_354, "seresnext_s32_b3m": 3_003_098,
    "swin_s32_b300k": 320_304, "swin_s32_b1m": 1_065_364, "swin_s32_b3m": 3_162_676,
    "pvt_v2_s32_b300k": 327_938, "pvt_v2_s32_b1m": 998_090, "pvt_v2_s32_b3m": 3_063_170,
    "sase_resnet_s32_b300k": 310_714, "sase_resnet_s32_b1m": 1_016_890, "sase_resnet_s32_b3m": 2_988_850,
    "sase_resnet_s32_b1m_softmax": 1_016_890, "sase_resnet_s32_b1m_sigmoid": 1_016_890,
    "sase_resnet_s32_b1m_g1": 1_036_907, "sase_resnet_s32_b1m_g2": 997_570, "sase_resnet_s32_b1m_g8": 978_370,
    "sase_resnet_s32_b1m_dense": 963_274, "sase_resnet_s32_b1m_d1": 1_016_890,
    "resnet50": 25_557_032, "resnet101": 44_549_160, "seresnet50": 28_088_024, "seresnet101": 49_326_872,
    "swin_tiny_patch4_window7_224": 28_288_354, "swin_small_patch4_window7_224": 49_606_258,
    "pvt_v2_b1": 14_009_000, "pvt_v2_b2": 25_362_856,
    "sase_resnet26": 11_390_952, "sase_resnet50": 17_243_288, "sase_resnet101": 28_859_116,
    "sase_resnet50_4x24d": 25_648_184,
    "resnext50_4x16d": 17_069_096, "seresnext50_4x16d": 19_600_088,
    "resnext50_4x24d": 25_292_968, "seresnext50_4x24d": 27_823_960,
}


def _recognition(name: str, family: str, scale: str, in_suite: bool = True, paper: Optional[str] = None,
                 budget: Optional[str] = None, ablation: Optional[str] = None) -> None:
    size, chans = (32, 1) if scale == "small" else (224, 3)
    register(ModelEntry(name, family, RECOGNITION, scale, size, chans, in_suite, paper, params=PARAMS.get(name),
                        budget=budget, ablation=ablation))


# small-input variants: the smoke and default presets (Fashion-MNIST, 32 px, grey)
_recognition("resnet_s32", "ResNet", "small")
_recognition("seresnet_s32", "SE-ResNet", "small")
_recognition("swin_s32", "Swin", "small")
_recognition("pvt_v2_s32", "PVT", "small")
_recognition("sase_resnet_s32", "SASE-ResNet", "small")
for _name in S32_ABLATIONS:  # ablations of the open design choices: run them with --models
    if _name != "sase_resnet_s32":
        _recognition(_name, "SASE-ResNet", "small", in_suite=False, ablation=_name.removeprefix("sase_resnet_s32_"))

# size ladders of the small variants (and the grouped controls): the ladder preset
for _budget in LADDER_BUDGETS:
    for _prefix, _family in LADDER_FAMILIES.items():
        if _budget in SOLVED.get(_prefix, {}):
            _recognition(ladder_name(_prefix, _budget), _family, "small", in_suite=False, budget=_budget)
for _ablation in LADDER_ABLATIONS:  # the ablation preset: SASE ablations sized to ABLATION_BUDGET
    _recognition(ladder_name("sase_resnet_s32", ABLATION_BUDGET, _ablation), "SASE-ResNet", "small",
                 in_suite=False, budget=ABLATION_BUDGET, ablation=_ablation)

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
# param-matched reading of "smaller models": SASE-ResNet-50 as large as ResNet-50 (bottlenecks 1.5x wider)
_recognition("sase_resnet50_4x24d", "SASE-ResNet", "paper")
_recognition("sase_resnet26", "SASE-ResNet", "paper", in_suite=False)
_recognition("sase_resnet101", "SASE-ResNet", "paper", in_suite=False, paper="SASE-ResNet-101")
# grouped controls (SASE's 4-group value conv, no SASE branches) of sase_resnet50 are in the paper comparison;
# those of the 1.5x-wide SASE-ResNet-50 are registered for --models
_recognition("resnext50_4x16d", "ResNeXt", "paper")
_recognition("seresnext50_4x16d", "SE-ResNeXt", "paper")
_recognition("resnext50_4x24d", "ResNeXt", "paper", in_suite=False)
_recognition("seresnext50_4x24d", "SE-ResNeXt", "paper", in_suite=False)

# synthesis: one builder per model, sized by the preset (32 px on CPU, 256/1024 px as published)
register(ModelEntry("fastgan", "FastGAN", SYNTHESIS, "any", 256, 3, paper_name="FastGAN",
                    build=fastgan.build_fastgan))
register(ModelEntry("sase_gan", "SASE-GAN", SYNTHESIS, "any", 256, 3, paper_name="SASE-GAN",
                    build=sase_gan.build_sase_gan))

# one-shot: a per-scale model factory each (the preset's image fixes the pyramid); SinGAN as published and
# the authors' SASE-SinGAN, plus its residual form (see sase/README.md)
register(ModelEntry("singan", "SinGAN", ONE_SHOT, "any", 250, 3, paper_name="SinGAN", build=build_singan))
register(ModelEntry("sase_singan", "SASE-SinGAN", ONE_SHOT, "any", 250, 3, paper_name="SASE-SinGAN",
                    build=build_sase_singan))
register(ModelEntry("sase_singan_residual", "SASE-SinGAN", ONE_SHOT, "any", 250, 3, in_suite=False,
                    ablation="residual", build=functools.partial(build_sase_singan, residual=True)))
