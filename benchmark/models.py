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
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import baselines  # noqa: F401  registers the small-input baselines in timm
import baselines.resnext  # noqa: F401  registers the paper-scale grouped controls in timm
import sase  # noqa: F401  registers SASE-ResNet in timm
from baselines import fastgan
from baselines.ladder import ABLATION_BUDGET, BUDGETS, RULES, SOLVED, TOLERANCE, ladder_name, solve
from baselines.singan import build_singan
from benchmark.errors import UserError
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
    timm_name: Optional[str] = None  # ``timm:`` entries: the name in timm's registry (``name`` is the harness's)

    @property
    def create_name(self) -> str:
        """The name to give ``timm.create_model``."""
        return self.timm_name or self.name


#: The prefix of a model named on the command line from timm's registry: ``timm:NAME[@FAMILY]``.
TIMM_PREFIX = "timm:"


class ModelRegistry(Registry[ModelEntry]):
    """The registered models, plus any timm model named ``timm:NAME[@FAMILY]`` (see :func:`timm_entry`).

    A ``timm:`` name is resolved from the name alone, in whichever process asks (the runner's worker
    processes are spawned and know only the names), and cached there; it is not listed by :meth:`names`,
    :meth:`values` or :meth:`items`, which keep the harness's own registrations.
    """

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self._resolved: Dict[str, ModelEntry] = {}

    def get(self, name: str) -> ModelEntry:
        if isinstance(name, str) and name.startswith(TIMM_PREFIX) and name not in self._items:
            if name not in self._resolved:
                self._resolved[name] = timm_entry(name)
            return self._resolved[name]
        return super().get(name)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and name.startswith(TIMM_PREFIX) and name not in self._items:
            try:
                self.get(name)
            except UserError:
                return False
            return True
        return super().__contains__(name)


MODELS: ModelRegistry = ModelRegistry("model")


def register(entry: ModelEntry) -> ModelEntry:
    return MODELS.add(entry.name, entry)


def parse_timm_name(name: str) -> Tuple[Optional[str], str, str]:
    """``timm:[MODULE:]NAME[@FAMILY]`` -> (module to import or None, timm name, family).

    ``MODULE`` is a dotted module that registers ``NAME`` in timm's registry when imported (one's own
    architecture); the family defaults to the timm name.
    """
    if not name.startswith(TIMM_PREFIX):
        raise ValueError(f"{name!r} does not start with {TIMM_PREFIX!r}")
    body, _, family = name[len(TIMM_PREFIX):].partition("@")
    module, _, timm_name = body.rpartition(":")
    timm_name, family = timm_name.strip(), family.strip()
    if not timm_name or (_ and not module) or ("@" in name and not family):
        raise UserError(f"model {name!r}: write timm:NAME, timm:NAME@FAMILY or timm:MODULE:NAME@FAMILY "
                        "(e.g. timm:convnext_atto@ConvNeXt)")
    return module or None, timm_name, family or timm_name


def timm_entry(name: str) -> ModelEntry:
    """The recognition entry of ``timm:[MODULE:]NAME[@FAMILY]``: any model in timm's registry (after
    importing ``MODULE``, which registers one's own), run at the small scale: grey input (``in_chans`` 1; the
    task builds it with the data's classes and channels) at the preset's image size (32 px here)."""
    import importlib

    import timm

    module, timm_name, family = parse_timm_name(name)
    if module:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise UserError(f"model {name!r}: cannot import {module!r} ({e}); run from the folder that holds it "
                            "or install it") from None
    if not timm.is_model(timm_name):
        import difflib

        close = difflib.get_close_matches(timm_name, timm.list_models(), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(TIMM_PREFIX + c for c in close)}?" if close else \
            " (timm.list_models() lists them)"
        where = f" after importing {module!r}" if module else ""
        raise UserError(f"model {name!r}: {timm_name!r} is not in timm's registry{where}{hint}")
    params = small_params(timm_name)
    budget = next((tag for tag, n in LADDER_BUDGETS.items()
                   if params is not None and abs(params / n - 1) <= LADDER_TOLERANCE), None)
    return ModelEntry(name, family, RECOGNITION, "small", 32, 1, in_suite=False, params=params, budget=budget,
                      timm_name=timm_name)


def small_params(timm_name: str, img_size: int = 32, in_chans: int = 1, num_classes: int = 10) -> Optional[int]:
    """Params of timm's ``timm_name`` at the small scale (grey 32 px, 10 classes), counted on the meta device
    (no memory, no init cost); None when it cannot be built there.  Within +-10% of a ladder budget, a
    ``timm:`` model carries that budget and sits in its table, beside the ladder members of that size."""
    import timm
    import torch

    try:
        with torch.device("meta"):
            try:
                model = timm.create_model(timm_name, num_classes=num_classes, in_chans=in_chans, img_size=img_size)
            except TypeError as e:  # CNNs take any size and have no img_size argument
                if "img_size" not in str(e):
                    raise
                model = timm.create_model(timm_name, num_classes=num_classes, in_chans=in_chans)
        return sum(p.numel() for p in model.parameters())
    except Exception:  # noqa: BLE001  a model that cannot be built here fails in its run, with its error
        return None


def model_channels(entry: ModelEntry, data_kind: str) -> int:
    """Input channels of ``entry`` on data of kind ``data_kind``: the registered ones, except that a
    ``timm:`` entry takes the data's (grey Fashion-MNIST: 1; an RGB ImageFolder: 3)."""
    if entry.timm_name is None:
        return entry.in_chans
    return 1 if data_kind == "fashion_mnist" else 3


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

    ``scale='any+ablations'`` adds the suite's registered ablations at scale ``any`` to its default list.
    ``scale='ladder'`` gives :func:`ladder_models` (``'ladder:b1m'`` or ``'ladder:b300k,b1m'``: those budgets
    only; ``'ladder:b1m/SASE-ResNet,Swin'``: those families only) and ``'ablation'`` :func:`ablation_models`
    (recognition).
    """
    if scale == "any+ablations":  # the suite's models and its registered ablations (e.g. SASE-SinGAN's residual form)
        return [e.name for e in MODELS.values() if e.suite == suite and e.scale == "any" and (e.in_suite or e.ablation)]
    kind, _, rest = scale.partition(":")
    if kind in ("ladder", "ablation"):
        budgets, _, families = rest.partition("/")
        names = (ladder_models(budgets.split(",") if budgets else None, families.split(",") if families else None)
                 if kind == "ladder" else ablation_models())
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
    strange = sorted(wanted - set(LADDER_FAMILIES.values()))
    if strange:
        raise ValueError(f"unknown ladder family(ies) {strange}; choose from {sorted(set(LADDER_FAMILIES.values()))}")
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
