"""Typed, frozen configuration: what a run is, resolved before it starts.

A *suite* (recognition, synthesis) has *presets* (smoke, default, paper); a
preset fixes the data, the recipe and the scale of the models.  Everything is a
frozen dataclass so that a resolved config can be hashed, saved beside the run
and compared.  Overrides go through :func:`override`, which rejects unknown keys
instead of silently ignoring them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Protocol, Tuple

from benchmark.errors import UserError

#: Config fields added after runs were recorded, with the value that means "as before": a field at that
#: value is left out of the run key, so adding a field never orphans the completed and interrupted runs of
#: a long deciding preset (they are kept, or resumed, under their old keys).  Paths are into the preset's
#: dict, e.g. ``"recipe.interpolation": "bilinear"``.  A field not listed here changes every key it touches.
#: ``seeds`` (the preset's default seed list) is never part of a run's identity: the seed itself is.
#: ``recipe.*`` entries also leave a recipe's identity (``benchmark.recipes.recipe_identity``) as it was, so
#: records written before the field existed group with those written after.
KEY_NEUTRAL: Dict[str, Any] = {
    "recipe.fid_gen_nearest": None,  # synthesis: FID's images as generated (issue 21 item 11)
    "recipe.fid_resize": None,
    # recognition, the paper-scale recipes (issue 21 items 2-4 and 6): each value is what every run did before
    "recipe.model_no_weight_decay": False,
    "recipe.interpolation": "bilinear",
    "recipe.color_jitter": 0.4,
    "recipe.repeated_aug": 1,
    "recipe.scheduler": "harness",
    "recipe.schedule_per": "step",
    "recipe.warmup_lr": 0.0,
    "recipe.min_lr": 0.0,
    "recipe.scale_lr_bounds": False,
    "recipe.per_family": None,
    "key_description": "",
}


@dataclass(frozen=True)
class DataSpec:
    """Classification data, at what size.  ``name`` (the data kind) is ``fashion_mnist`` or ``image_folder``."""

    name: str
    img_size: int
    train_subset: Optional[int] = None  # first-N stratified subset for quick presets
    val_subset: Optional[int] = None
    augment: bool = True
    num_workers: int = 0


@dataclass(frozen=True)
class FewShotData:
    """A few-shot image set.  ``name`` (the data kind) is ``fmnist_few_shot`` (the embedded set: ``shots``
    images of the Fashion-MNIST class ``subset``) or ``folder`` (a flat folder passed with ``--data``)."""

    name: str
    img_size: int
    subset: Optional[str] = None
    shots: Optional[int] = None
    channels: int = 1  # 1 grey, 3 RGB
    augment: bool = False


class RecipeLike(Protocol):
    """What every recipe has; each task spec names its own frozen recipe type."""

    name: str


@dataclass(frozen=True)
class Recipe:
    """One named training recipe, applied to every model of a suite run."""

    name: str
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 2e-3
    weight_decay: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    epochs: int = 2
    batch_size: int = 128
    warmup_epochs: float = 0.2
    label_smoothing: float = 0.0
    grad_clip: Optional[float] = None
    max_steps_per_epoch: Optional[int] = None  # caps an epoch for the smoke preset
    # lr = lr * global_batch / lr_ref_batch (the linear scaling rule); None: lr is used as given
    lr_ref_batch: Optional[int] = None
    schedule: str = "cosine"  # cosine (per-step, after warm-up) | step (x lr_gamma at each milestone epoch)
    milestones: Tuple[int, ...] = ()
    lr_gamma: float = 0.1
    decay_norm_and_bias: bool = False  # weight decay on norm weights and biases too (classic ResNet recipe)
    randaugment: Optional[str] = None  # timm RandAugment spec, e.g. "rand-m9-mstd0.5-inc1"
    mixup: float = 0.0  # Mixup alpha (timm.data.Mixup); 0 disables
    cutmix: float = 0.0  # CutMix alpha; 0 disables
    random_erasing: float = 0.0  # probability (timm RandomErasing, per-pixel normal fill)
    drop_path: float = 0.0  # stochastic depth rate passed to timm.create_model
    model_ema: float = 0.0  # decay of an EMA of the weights (timm ModelEmaV3), evaluated beside the model; 0: off
    # The fields below came with the paper-scale recipes (issue 21); their defaults are what every run did
    # before (KEY_NEUTRAL), and the CPU recipes keep them.  docs/paper-scale.md says where each value comes from.
    model_no_weight_decay: bool = False  # also no decay on the names the model lists in no_weight_decay() (timm)
    interpolation: str = "bilinear"  # ImageFolder: train crop, RandAugment's geometry, eval resize | bicubic
    color_jitter: float = 0.4  # ImageFolder: timm's ColorJitter strength (timm skips it under RandAugment); 0: off
    repeated_aug: int = 1  # each image this many times in a row of the epoch's order (timm RepeatAugSampler); 1: off
    scheduler: str = "harness"  # harness (ours, LambdaLR; `schedule`) | timm (CosineLRScheduler, as DeiT and Swin)
    schedule_per: str = "step"  # timm scheduler: its unit, step (Swin) | epoch (DeiT, PVT)
    warmup_lr: float = 0.0  # timm scheduler: the lr the warm-up starts from
    min_lr: float = 0.0  # timm scheduler: the cosine's floor
    scale_lr_bounds: bool = False  # timm scheduler: warmup_lr and min_lr follow the batch scaling as lr does (Swin)
    # The per-family table: ((key, ((field, value), ...)), ...), a key being a model family (ModelEntry.family)
    # or a model name; a model trains under this recipe with its family's row, then its own row, applied.
    per_family: Optional[Tuple[Tuple[str, Tuple[Tuple[str, Any], ...]], ...]] = None

    def __post_init__(self) -> None:
        choices = {"interpolation": ("bilinear", "bicubic"), "scheduler": ("harness", "timm"),
                   "schedule_per": ("step", "epoch")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise UserError(f"recipe.{key}={getattr(self, key)!r}; choose one of: {', '.join(allowed)}")
        if self.scheduler == "harness":
            timm_only = [k for k in ("schedule_per", "warmup_lr", "min_lr", "scale_lr_bounds")
                         if getattr(self, k) != KEY_NEUTRAL[f"recipe.{k}"]]
            if timm_only:
                raise UserError(f"recipe.{timm_only[0]} applies to timm's scheduler: set recipe.scheduler=timm")
        elif self.schedule != "cosine":
            raise UserError(f"recipe.scheduler=timm runs a cosine schedule, not recipe.schedule={self.schedule!r}")
        _check_table(self.per_family)

    def row(self, family: str, model: str) -> Dict[str, Any]:
        """What the per-family table sets for ``model`` (of ``family``): its family's row, then its own."""
        rows = dict(self.per_family or ())
        return {**dict(rows.get(family, ())), **dict(rows.get(model, ()))}

    def for_model(self, family: str, model: str) -> "Recipe":
        """The recipe ``model`` trains under: this one with its row applied, without the table."""
        return dataclasses.replace(self, per_family=None, **self.row(family, model))


ROW_EXCLUDED = ("name", "per_family", "max_steps_per_epoch")  # fields a per-family row cannot set


def _check_table(table: Any) -> None:
    if table is None:
        return
    settable = [f.name for f in dataclasses.fields(Recipe) if f.name not in ROW_EXCLUDED]
    if not isinstance(table, tuple) or not all(isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], str)
                                               and isinstance(r[1], tuple) for r in table):
        raise UserError(f"recipe.per_family={table!r}: the per-family table is part of a named recipe "
                        "(e.g. --recipe published) and cannot be given with --set")
    for key, row in table:
        unknown = [field for field, _ in row if field not in settable]
        if unknown:
            raise UserError(f"recipe.per_family[{key}] sets {unknown[0]!r}; a row may set: {', '.join(settable)}")


def without_row_fields(recipe: Any, fields: Tuple[str, ...]) -> Any:
    """``recipe`` with ``fields`` taken out of its per-family rows, so that a value set for the whole recipe (a
    ``--set``, a shortcut such as ``--epochs``, a preset's pins) holds for every model."""
    table = getattr(recipe, "per_family", None)
    if not table:
        return recipe
    rows = tuple((key, tuple((f, v) for f, v in row if f not in fields)) for key, row in table)
    return dataclasses.replace(recipe, per_family=tuple((key, row) for key, row in rows if row))


@dataclass(frozen=True)
class GANRecipe:
    """FastGAN's recipe (Liu et al. 2021): hinge loss with random margins, Adam, DiffAugment, EMA of G.

    The protocol fields (reconstruction reduction, flip, sampling, tanh, BN mode at generation, checkpoint
    selection) default to what the reference code does; each is recorded with the run, so a deviation shows.
    """

    name: str
    iterations: int = 50_000
    batch_size: int = 8
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    ema_decay: float = 0.999
    # EMA warm-up (TF's ExponentialMovingAverage num_updates): update t (0-based) uses min(ema_decay,
    # (1 + t) / (10 + t)); with 0.999 that is ema_decay from t = 8,990 on, and the warm-up's trace in the EMA
    # is then 0.999^(T - 8990): 2e-5 at T = 20k, nothing at paper length (70k).  False: ema_decay throughout
    # (the reference code), whose initial weights still carry 0.999^1000 = 37% at iteration 1,000.
    ema_warmup: bool = True
    ngf: int = 64
    ndf: int = 64
    nz: int = 256
    diffaug: str = "color,translation"
    eval_every: int = 5_000  # FID/KID/SWD at these iterations and at the end
    sample_every: int = 5_000
    ckpt_every: int = 5_000
    fid_samples: int = 5_000
    kid_subset_size: int = 100
    recon_loss: str = "auto"  # auto (LPIPS-VGG when its weights are here, else L1) | lpips | l1
    # Protocol fields; the defaults are the reference code's (FastGAN train.py/eval.py, the authors' SLIM fork).
    recon_reduction: str = "sum"  # sum (reference: per-image loss summed over the batch) | mean
    hflip: bool = True  # random horizontal flip of real images, p = 0.5 per image (reference loader)
    sampling: str = "permutation"  # permutation (a fresh one each epoch, as the reference) | replacement
    tanh: bool = False  # tanh on G's outputs: always at 1024 px, at 256 px only in the authors' Panda run
    eval_bn: str = "train"  # BN at generation: train (reference eval.py) | eval | recalibrate (re-estimated)
    eval_batch: int = 16  # generation batch (reference eval.py --batch 16; train-mode BN depends on it)
    recal_batches: int = 50  # eval_bn=recalibrate: batches of eval_batch that re-estimate the BN statistics
    fid_select: str = "best"  # the reported fid/kid/swd: best (reference: scan the checkpoints) | last
    # Images as the reference's FID sees them (FID/KID only; SWD sees the images as generated).  None: as
    # generated (torch-fidelity resizes to 299 itself).  The reference eval.py saves its samples nearest-resized
    # to 512 px (fid_gen_nearest), and benchmarking/fid.py (--size 256) resizes both sets to 256 px with PIL's
    # antialiased bilinear filter (fid_resize) before Inception; the 1024 px recipes follow both.
    fid_gen_nearest: Optional[int] = None  # generated images nearest-resized to this side first (eval.py)
    fid_resize: Optional[int] = None  # both sets resized to this side, antialiased bilinear (fid.py --size)

    def __post_init__(self) -> None:
        choices = {"recon_reduction": ("sum", "mean"), "sampling": ("permutation", "replacement"),
                   "eval_bn": ("train", "eval", "recalibrate"), "fid_select": ("best", "last")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise UserError(f"recipe.{key}={getattr(self, key)!r}; choose one of: {', '.join(allowed)}")
        if self.eval_batch < 1 or self.recal_batches < 1:
            raise UserError("recipe.eval_batch and recipe.recal_batches must be at least 1")
        for key in ("fid_gen_nearest", "fid_resize"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 16):
                raise UserError(f"recipe.{key}={value!r}; a side in px of at least 16, or none (as generated)")


@dataclass(frozen=True)
class SinGANRecipe:
    """SinGAN's training recipe (defaults: the published ``config.py``).

    The pyramid's bounds (max/min size, scale factor) belong to the data spec
    (:class:`benchmark.data.single_image.OneShotData`), since they fix the image.  The trainer is
    :mod:`benchmark.train.singan`.
    """

    name: str
    iters_per_scale: int = 2000
    nfc: int = 32
    min_nfc: int = 32
    lr_g: float = 5e-4
    lr_d: float = 5e-4
    beta1: float = 0.5
    beta2: float = 0.999
    g_steps: int = 3
    d_steps: int = 3
    gp_weight: float = 0.1
    alpha: float = 10.0  # reconstruction loss weight
    noise_amp: float = 0.1  # noise amplitude per scale = noise_amp * RMSE of the reconstruction
    lr_decay_at: float = 0.8  # fraction of iters_per_scale (1600 of 2000)
    lr_gamma: float = 0.1
    eval_samples: int = 50  # random samples for SIFID, diversity and the structure metrics
    grid_samples: int = 16  # samples in the published grid
    # where the published trainer's code and the paper's text differ, the code's behaviour is the default:
    rec_noise: str = "redraw"  # scale 0's reconstruction noise: "redraw" every iteration, keep the last (the
    #                            code) | "fixed": drawn once (the paper's "fixed noise map")
    quantize_previous: bool = True  # previous image clamped and 8-bit quantised before resizing (the code's
    #                                 imresize); False: float, unclamped
    upsample: str = "factor-crop"  # previous image resized by 1/factor then cropped (the code) | "exact"

    def __post_init__(self) -> None:
        choices = {"rec_noise": ("redraw", "fixed"), "upsample": ("factor-crop", "exact")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise UserError(f"recipe.{key}={getattr(self, key)!r}; choose one of: {', '.join(allowed)}")

    @property
    def decay_iter(self) -> int:
        return int(round(self.lr_decay_at * self.iters_per_scale))


@dataclass(frozen=True)
class ProfileSpec:
    """How cost is measured: the throughput protocol (see :mod:`benchmark.metrics.protocol`).

    Defaults follow timm's ``benchmark.py``: batch 256, 10 warm-up then 40 timed steps (one window),
    TF32 allowed and ``cudnn.benchmark`` on for CUDA, NCHW, eager.  ``precision``: ``auto`` (tf32 on CUDA,
    fp32 on CPU), ``fp32`` (strict IEEE, TF32 off), ``tf32``, ``bf16`` or ``fp16`` (autocast).
    ``cudnn_benchmark``: auto (on for CUDA) | on | off.  ``memory_format``: contiguous | channels_last.
    """

    infer_batch: int = 256
    train_batch: int = 256
    warmup: int = 10
    iters: int = 40  # timed steps per window
    windows: int = 1
    precision: str = "auto"  # auto | fp32 | tf32 | bf16 | fp16
    memory_format: str = "contiguous"  # contiguous | channels_last
    cudnn_benchmark: str = "auto"  # auto | on | off
    compile: bool = False  # torch.compile the measured copy


@dataclass(frozen=True)
class Runtime:
    """How a run executes; none of it changes what is measured, only how fast and how safely.

    ``amp``: ``auto`` is bf16 autocast on CUDA when the GPU supports it and fp32 elsewhere; ``bf16``,
    ``fp16`` (with a gradient scaler) or ``none`` force a choice.  ``channels_last``: ``auto`` is on for
    CUDA only.  ``deterministic`` turns ``cudnn.benchmark`` off and asks torch for deterministic
    kernels.  Checkpoints are written every ``ckpt_every_steps`` optimiser steps and at every epoch end.
    ``compile_mode``: torch.compile's mode; ``reduce-overhead`` replays the step's kernels as CUDA graphs.
    The loss is read back from the device every ``log_every_steps`` steps (progress, NaN check), never per step.
    """

    amp: str = "auto"  # auto | bf16 | fp16 | none
    channels_last: str = "auto"  # auto | on | off
    compile: bool = False  # torch.compile the model (CUDA recommended)
    compile_mode: str = "default"  # default | reduce-overhead (CUDA graphs) | max-autotune
    deterministic: bool = True
    ckpt_every_steps: int = 200  # 0: only at epoch ends
    log_every_steps: int = 50  # progress and the non-finite-loss check


@dataclass(frozen=True)
class Preset:
    """The scale of a suite: which models, which data, which recipe."""

    name: str
    model_scale: str  # "small" (32 px variants) or "paper" (224 px models)
    data: Any  # the task's data spec (DataSpec, FewShotData, ...): its spec lists the kinds it takes
    recipe: RecipeLike  # of the task's recipe type (TaskSpec.recipe_type); checked by tests/test_task_spec.py
    profile: ProfileSpec = field(default_factory=ProfileSpec)
    description: str = ""
    runtime: Runtime = field(default_factory=Runtime)
    pins: Tuple[str, ...] = ()  # recipe fields the preset keeps when --recipe swaps the recipe
    seeds: Tuple[int, ...] = (0,)  # the seeds `run` uses when --seeds is not given (not part of a run's identity)
    # the description the preset's run keys were made with, where the description was edited later (a preset's
    # description is part of its runs' keys; editing the text must not restart hours of completed runs)
    key_description: str = ""

    def with_recipe(self, recipe: Any) -> "Preset":
        """This preset with ``recipe``, keeping the fields it pins (e.g. the smoke preset's sizes)."""
        kept = {k: getattr(self.recipe, k) for k in self.pins if hasattr(recipe, k)}
        return dataclasses.replace(self, recipe=without_row_fields(dataclasses.replace(recipe, **kept), self.pins))


@dataclass(frozen=True)
class Suite:
    """A comparison: a task, and the presets it can run at."""

    name: str
    task: str  # recognition | synthesis
    presets: Tuple[Preset, ...]
    description: str = ""

    def preset(self, name: str) -> Preset:
        for p in self.presets:
            if p.name == name:
                return p
        names = ", ".join(p.name for p in self.presets)
        raise UserError(f"suite {self.name!r} has no preset {name!r}; choose one of: {names}")


def _coerce(value: str, current: Any) -> Any:
    if isinstance(current, bool):
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise UserError(f"expected true/false, got {value!r}")
    if current is None:
        return None if value.lower() == "none" else _guess(value)
    if isinstance(current, tuple):
        return tuple(_guess(v.strip()) for v in value.split(",") if v.strip())
    try:
        return type(current)(value)
    except ValueError:
        raise UserError(f"expected {type(current).__name__}, got {value!r}") from None


def _guess(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def override(cfg: Any, updates: Mapping[str, str]) -> Any:
    """Return ``cfg`` with dotted ``updates`` (``recipe.epochs=1``) applied.

    Unknown keys are a :class:`UserError` that lists the valid ones.
    """
    for key, value in updates.items():
        cfg = _override_one(cfg, key.split("."), value, key)
    return cfg


def _override_one(cfg: Any, path: list, value: str, full_key: str) -> Any:
    names = [f.name for f in dataclasses.fields(cfg)]
    head = path[0]
    if head not in names:
        raise UserError(f"unknown config key {full_key!r}; valid keys here: {', '.join(names)}")
    current = getattr(cfg, head)
    if len(path) > 1:
        if not dataclasses.is_dataclass(current):
            raise UserError(f"config key {full_key!r}: {head!r} has no sub-keys")
        return dataclasses.replace(cfg, **{head: _override_one(current, path[1:], value, full_key)})
    if dataclasses.is_dataclass(current):
        raise UserError(f"config key {full_key!r} is a section; set one of its fields instead")
    optional = "Optional" in str(next(f.type for f in dataclasses.fields(cfg) if f.name == head))
    if optional and value.lower() == "none":
        return without_row_fields(dataclasses.replace(cfg, **{head: None}), (head,))
    try:
        return without_row_fields(dataclasses.replace(cfg, **{head: _coerce(value, current)}), (head,))
    except UserError as e:
        raise UserError(f"--set {full_key}={value}: {e}") from None


def to_dict(cfg: Any) -> Dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(cfg)
